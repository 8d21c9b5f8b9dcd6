#!/usr/bin/env bash
# Prepare a Debian control node: OS packages and the pinned virtualenv.
#   scripts/bootstrap.sh venv            the virtualenv only
#   scripts/bootstrap.sh os PKG...       apt packages that are missing
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}

need_root() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "bootstrap: installing OS packages needs root (run as root or with sudo)" >&2
    exit 1
  fi
}

os_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  need_root
  echo "bootstrap: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
}

venv() {
  local stamp="$VENV/.requirements.sha256"
  local want
  want=$(cat requirements.txt constraints.txt | sha256sum | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
      os_packages python3-venv
      rm -rf "$VENV"
      "$PYTHON" -m venv "$VENV"
    fi
  fi
  "$VENV/bin/pip" install -q --disable-pip-version-check -r requirements.txt -c constraints.txt
  echo "$want" >"$stamp"
}

link() {
  # The checkout is the collection: expose it where Ansible looks for it.
  mkdir -p ansible_collections/darevel
  ln -sfn ../.. ansible_collections/darevel/postgres
}

case "${1:-}" in
  venv) venv; link ;;
  os) shift; os_packages "$@" ;;
  *) echo "usage: $0 venv | os PKG..." >&2; exit 2 ;;
esac
