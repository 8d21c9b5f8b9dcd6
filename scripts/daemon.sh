#!/usr/bin/env bash
# Starts a long-running server in the background, detached, with only stdin, stdout and stderr:
#   scripts/daemon.sh LOG COMMAND [ARG...]
# A caller's other descriptors must not live on in the server: `flock FILE make test` hands its
# lock's descriptor down, and a dockerd that kept it would hold the lock until it stops.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 LOG COMMAND [ARG...]" >&2
  exit 2
fi
LOG=$1
shift
mkdir -p "$(dirname "$LOG")"
(
  for fd in /proc/self/fd/*; do
    fd=${fd##*/}
    if [ "$fd" -gt 2 ]; then eval "exec $fd>&-"; fi
  done 2>/dev/null
  exec setsid "$@" >>"$LOG" 2>&1 </dev/null
) &
