#!/usr/bin/env bash
# Build the Debian systemd images the molecule scenarios run in.
#
#   tests/images/build.sh [SUITE...]        default: bookworm trixie
#
# No container registry is reachable, so images are made locally: debootstrap
# (minbase + tests/images/packages.txt) from the machine's own apt mirror,
# tests/images/rootfs-setup.sh inside the root file system, then `docker
# import`. PostgreSQL is not baked in: the role installs it.
#
# Each image is tagged darevel-test/debian:SUITE-HASH, HASH being a hash of the
# recipe (this script, the files it uses, the suite and the mirror URIs), and
# darevel-test/debian:SUITE as a stable alias. When the hash tag exists the
# build is skipped, so a second run takes a moment. Prints one image name per
# suite on stdout; progress goes to stderr.
#
# Environment:
#   DAREVEL_APT_MIRROR           main archive URI (default: from the apt sources)
#   DAREVEL_APT_SECURITY_MIRROR  security archive URI (default: from the apt
#                                sources; "none" to leave it out)
#   DAREVEL_IMAGE_REPO           image repository (default darevel-test/debian)
#   DAREVEL_IMAGE_REBUILD=1      build even when the tag exists
#   TMPDIR_BASE                  where the root file systems are made (/var/tmp)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
REPO=${DAREVEL_IMAGE_REPO:-darevel-test/debian}
TMPDIR_BASE=${TMPDIR_BASE:-/var/tmp}
RECIPE_FILES=("$HERE/build.sh" "$HERE/packages.txt" "$HERE/rootfs-setup.sh")

log() { echo "images: $*" >&2; }
die() { echo "images: error: $*" >&2; exit 1; }

[ $# -gt 0 ] || set -- bookworm trixie
for suite in "$@"; do
  [[ $suite =~ ^[a-z]+$ ]] || die "not a Debian suite name: '$suite'"
done

# --- the machine's apt mirror ------------------------------------------------
# Prints "URI SUITE" for every deb source of the machine, from deb822 files
# (*.sources) and classic one-line files (sources.list, *.list).
host_sources() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    # A stanza ends at a blank line; Enabled: no switches it off.
    awk '
      function flush(  i, j, nu, ns, u, s) {
        if (types ~ /(^|[ \t])deb([ \t]|$)/ && enabled != "no") {
          nu = split(uris, u, /[ \t]+/); ns = split(suites, s, /[ \t]+/)
          for (i = 1; i <= nu; i++) for (j = 1; j <= ns; j++)
            if (u[i] != "" && s[j] != "") print u[i], s[j]
        }
        types = uris = suites = enabled = ""
      }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      {
        key = tolower($0); sub(/:.*/, "", key); gsub(/[ \t]/, "", key)
        val = $0; sub(/^[^:]*:[ \t]*/, "", val); sub(/[ \t]+$/, "", val)
        if (key == "types") types = val
        else if (key == "uris") uris = val
        else if (key == "suites") suites = val
        else if (key == "enabled") enabled = tolower(val)
      }
      END { flush() }
    ' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    # deb [options] URI SUITE COMPONENT...
    sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" | awk '$1 == "deb" && NF >= 4 { print $2, $3 }'
  done
}

# First URI that serves SUITE on this machine (exact suite name match).
uri_for_suite() {
  host_sources | awk -v want="$1" '$2 == want { sub(/\/+$/, "", $1); print $1; exit }'
}

detect_mirrors() {
  local codename
  # shellcheck source=/dev/null
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  [ -n "$codename" ] || die "cannot tell this machine's Debian codename from /etc/os-release"
  MIRROR=${DAREVEL_APT_MIRROR:-$(uri_for_suite "$codename")}
  [ -n "$MIRROR" ] || die "no apt source for '$codename' in /etc/apt/sources.list{,.d/*}; set DAREVEL_APT_MIRROR"
  if [ -n "$(uri_for_suite "$codename-updates")" ]; then WITH_UPDATES=1; else WITH_UPDATES=0; fi
  SECURITY_MIRROR=${DAREVEL_APT_SECURITY_MIRROR:-$(uri_for_suite "$codename-security")}
  [ "$SECURITY_MIRROR" != none ] || SECURITY_MIRROR=
}

# --- recipe hash -------------------------------------------------------------
recipe_hash() {
  {
    cat "${RECIPE_FILES[@]}"
    printf 'suite=%s\nmirror=%s\nupdates=%s\nsecurity=%s\narch=%s\n' \
      "$1" "$MIRROR" "$WITH_UPDATES" "$SECURITY_MIRROR" "$(dpkg --print-architecture)"
  } | sha256sum | cut -c1-12
}

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# --- temporary build directory, cleaned up on any exit ------------------------
WORK=
cleanup() {
  [ -n "$WORK" ] && [ -d "$WORK" ] || return 0
  # debootstrap mounts /proc and /sys in the target; never rm -rf through a mount.
  local m
  awk -v w="$WORK/" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done
  rm -rf --one-file-system "$WORK"
  WORK=
}
trap cleanup EXIT
trap 'exit 130' INT TERM

build_one() {
  local suite=$1 tag=$2 alias=$3 rootfs include
  WORK=$(mktemp -d "$TMPDIR_BASE/darevel-image-$suite.XXXXXX")
  rootfs=$WORK/rootfs
  include=$(sed -e 's/#.*//' "$HERE/packages.txt" | tr -s ' \t\n' '\n' | grep -v '^$' | paste -sd, -)
  log "building $tag from $MIRROR${SECURITY_MIRROR:+ (security: $SECURITY_MIRROR)}"
  log "debootstrap $suite, log in $WORK/debootstrap.log while it runs"
  local t0=$SECONDS
  if ! debootstrap --variant=minbase --components=main --include="$include" \
      "$suite" "$rootfs" "$MIRROR" >"$WORK/debootstrap.log" 2>&1; then
    tail -n 30 "$WORK/debootstrap.log" >&2
    [ -f "$rootfs/debootstrap/debootstrap.log" ] && tail -n 30 "$rootfs/debootstrap/debootstrap.log" >&2
    die "debootstrap $suite failed"
  fi
  cp "$HERE/rootfs-setup.sh" "$rootfs/tmp/rootfs-setup.sh"
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C DEBIAN_FRONTEND=noninteractive \
    SUITE="$suite" MIRROR="$MIRROR" WITH_UPDATES="$WITH_UPDATES" SECURITY_MIRROR="$SECURITY_MIRROR" \
    chroot "$rootfs" /bin/sh /tmp/rootfs-setup.sh
  rm -rf "$rootfs/debootstrap"
  # (docker import refuses STOPSIGNAL, so `docker stop` waits out its timeout.)
  tar -C "$rootfs" --numeric-owner -cf - . | docker import \
    -c 'CMD ["/lib/systemd/systemd"]' \
    -c 'ENV container=docker' \
    -c 'ENV LANG=C.UTF-8' \
    -c "LABEL org.darevel.recipe=${tag##*-}" \
    -m "darevel test image: Debian $suite, systemd" \
    - "$tag" >/dev/null
  docker tag "$tag" "$alias"
  cleanup
  log "built $tag in $((SECONDS - t0)) s"
}

# Drop the hash tags of earlier recipes for SUITE (ignored if still in use).
prune_old() {
  local suite=$1 keep=$2 ref
  docker image ls --format '{{.Repository}}:{{.Tag}}' "$REPO" | while read -r ref; do
    case $ref in
      "$REPO:$suite-"*) [ "$ref" = "$keep" ] || docker rmi "$ref" >/dev/null 2>&1 || true ;;
    esac
  done
}

main() {
  [ "$(id -u)" -eq 0 ] || die "debootstrap needs root"
  "$ROOT/scripts/docker-engine.sh"
  detect_mirrors

  # Leftovers of a build that was killed outright (we hold the lock, so no
  # other build is using them).
  local stale
  for stale in "$TMPDIR_BASE"/darevel-image-*; do
    [ -d "$stale" ] || continue
    log "removing leftover $stale"
    WORK=$stale cleanup
  done

  local suite hash tag alias
  for suite in "$@"; do
    hash=$(recipe_hash "$suite")
    tag=$REPO:$suite-$hash
    alias=$REPO:$suite
    if [ "${DAREVEL_IMAGE_REBUILD:-0}" != 1 ] && image_exists "$tag"; then
      # Keep the alias on this recipe even if someone retagged it.
      [ "$(docker image inspect -f '{{.Id}}' "$tag")" = "$(docker image inspect -f '{{.Id}}' "$alias" 2>/dev/null || true)" ] \
        || docker tag "$tag" "$alias"
    else
      # bootstrap.sh skips recommends, and debootstrap only recommends the keyring.
      "$ROOT/scripts/bootstrap.sh" os debootstrap debian-archive-keyring
      build_one "$suite" "$tag" "$alias"
      prune_old "$suite" "$tag"
    fi
    echo "$tag"
  done
}

# One build at a time on a machine (parallel CI jobs share the engine).
mkdir -p "$TMPDIR_BASE"
exec 9>"$TMPDIR_BASE/darevel-images.lock"
flock 9
main "$@"
