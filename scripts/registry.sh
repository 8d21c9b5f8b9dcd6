#!/usr/bin/env bash
# A local container registry for the tests: Debian's docker-registry on 127.0.0.1.
#
#   scripts/registry.sh [IMAGE...]
#
# Makes sure a registry answers on 127.0.0.1:$DAREVEL_REGISTRY_PORT (quiet and
# immediate when it already does), then puts each IMAGE from the engine into it
# as 127.0.0.1:PORT/IMAGE and removes that name from the engine again (the
# image itself stays under its own name), so that a test naming the registry's
# copy makes the engine really pull it. A push is skipped when the registry
# already holds the same image. Prints the registry name of each IMAGE on stdout.
#
# Installs Debian's docker-registry (through scripts/bootstrap.sh) when it is
# missing. These machines have no systemd as PID 1, so the registry runs in the
# background as `docker-registry serve CONFIG`, the configuration written here.
# The engine pushes to and pulls from 127.0.0.0/8 over plain HTTP without
# any setting.
#
# Environment:
#   DAREVEL_REGISTRY_PORT   port on 127.0.0.1          (default 5999)
#   DAREVEL_REGISTRY_DIR    configuration and storage  (default /var/lib/darevel-registry)
#   DAREVEL_REGISTRY_LOG    the registry's log file    (default /var/log/darevel-registry.log)
#   DAREVEL_REGISTRY_WAIT   seconds to wait for it     (default 30)
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=${DAREVEL_REGISTRY_PORT:-5999}
DIR=${DAREVEL_REGISTRY_DIR:-/var/lib/darevel-registry}
LOG=${DAREVEL_REGISTRY_LOG:-/var/log/darevel-registry.log}
WAIT=${DAREVEL_REGISTRY_WAIT:-30}
ADDR=127.0.0.1:$PORT
CONFIG=$DIR/config.yml

log() { echo "registry: $*" >&2; }
die() { echo "registry: error: $*" >&2; exit 1; }

# GET http://$ADDR$1 (python3 rather than curl, which a fresh machine may lack); the body on stdout.
get() {
  python3 - "http://$ADDR$1" <<'PY'
import sys, urllib.request
request = urllib.request.Request(sys.argv[1], headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"})
with urllib.request.urlopen(request, timeout=10) as response:
    sys.stdout.write(response.read().decode())
PY
}

# The registry API's base answers 200 with {} when no authentication is configured.
answers() { get /v2/ >/dev/null 2>&1; }

# The image ID (its config digest) of NAME:TAG in the registry, empty when it lacks it.
registry_config_digest() {
  local repo=${1%:*} tag=${1##*:}
  get "/v2/$repo/manifests/$tag" 2>/dev/null \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["config"]["digest"])' 2>/dev/null || true
}

write_config() {
  mkdir -p "$DIR/data"
  chmod 0755 "$DIR"
  cat >"$CONFIG.new" <<EOF
# Written by scripts/registry.sh: the tests' registry, on the loopback address only.
version: 0.1
log:
  level: warn
  fields:
    service: darevel-test-registry
storage:
  filesystem:
    rootdirectory: $DIR/data
  delete:
    enabled: true
http:
  addr: $ADDR
  headers:
    X-Content-Type-Options: [nosniff]
EOF
  mv "$CONFIG.new" "$CONFIG"
}

start() {
  answers && return 0
  [ "$(id -u)" -eq 0 ] || die "no registry answers on $ADDR and starting one needs root"
  command -v docker-registry >/dev/null 2>&1 || scripts/bootstrap.sh os docker-registry
  if ss -Hltn "sport = :$PORT" 2>/dev/null | grep -q .; then
    die "port $PORT on this machine is held by something that is not a registry; free it or set DAREVEL_REGISTRY_PORT"
  fi
  write_config
  log "starting docker-registry on $ADDR (config: $CONFIG, log: $LOG)"
  scripts/daemon.sh "$LOG" docker-registry serve "$CONFIG"
  for _ in $(seq "$WAIT"); do
    if answers; then
      log "registry is up"
      return 0
    fi
    sleep 1
  done
  tail -n 20 "$LOG" >&2 2>/dev/null || true
  die "no registry answered on $ADDR within ${WAIT}s; see $LOG"
}

put() {
  local image=$1 remote id
  case $image in *:*) ;; *) image=$image:latest ;; esac
  remote=$ADDR/$image
  id=$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null) || die "$image is not on the engine; build it first"
  if [ "$(registry_config_digest "$image")" != "$id" ]; then
    log "pushing $image as $remote"
    docker tag "$image" "$remote"
    docker push "$remote" >&2 || { docker rmi "$remote" >/dev/null 2>&1 || true; die "docker push $remote failed"; }
  fi
  # Only the registry holds this name: the engine must pull it.
  if docker image inspect "$remote" >/dev/null 2>&1; then
    docker rmi "$remote" >/dev/null
  fi
  echo "$remote"
}

start
for image in "$@"; do
  put "$image"
done
