#!/usr/bin/env bash
# Make sure a Docker engine answers on this machine.
#
#   scripts/docker-engine.sh
#
# Quiet and immediate when `docker info` already works. Otherwise installs
# Debian's docker.io (through scripts/bootstrap.sh) when dockerd is missing,
# starts dockerd in the background (these machines have no systemd as PID 1,
# so nothing else starts it) and waits for it to answer.
#
# Environment:
#   DOCKERD_LOG        dockerd's log file   (default /var/log/dockerd-darevel.log)
#   DOCKERD_WAIT       seconds to wait      (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."

LOG=${DOCKERD_LOG:-/var/log/dockerd-darevel.log}
WAIT=${DOCKERD_WAIT:-60}

answers() { docker info >/dev/null 2>&1; }

command -v docker >/dev/null 2>&1 && answers && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "docker-engine: no Docker engine answers and starting one needs root" >&2
  exit 1
fi

if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
  scripts/bootstrap.sh os docker.io
fi

# A dockerd may be running but still starting up; only start one if none is.
if ! pgrep -x dockerd >/dev/null 2>&1; then
  # A stale pid file left by a killed dockerd makes the new one refuse to start.
  if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
    rm -f /var/run/docker.pid
  fi
  echo "docker-engine: starting dockerd (log: $LOG)" >&2
  scripts/daemon.sh "$LOG" dockerd
fi

for _ in $(seq "$WAIT"); do
  if answers; then
    echo "docker-engine: engine is up" >&2
    exit 0
  fi
  sleep 1
done

echo "docker-engine: no Docker engine answered within ${WAIT}s; see $LOG:" >&2
tail -n 20 "$LOG" >&2 2>/dev/null || true
exit 1
