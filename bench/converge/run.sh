#!/usr/bin/env bash
# Benchmark: cold converge of six native instances and the no-op rerun, side by side with a
# shell floor that creates the same six clusters in parallel, starts them in parallel and waits
# for pg_isready.
#   bench/converge/run.sh [ROUNDS]      (default 3 rounds; prints a Markdown table of medians)
# Uses scratch clusters bf_* (floor) and bc_* (collection) on ports 26433-26438 / 27433-27438,
# and drops them afterwards. Never touches 5432-5438.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-3}
VERSION=${PG_VERSION:-15}
NAMES=(infra chat slides suite mail sheet)
BIN=${VENV:-.venv}/bin
WORK=$(mktemp -d /tmp/darevel-bench.XXXXXX)
export ANSIBLE_CONFIG=$PWD/ansible.cfg
# The targets of the runtime and plan redesign: cold <= 1.5x the floor, no-op <= 0.3x.
COLD_TARGET=1.50
NOOP_TARGET=0.30
# shellcheck source=bench/lib.sh
. bench/lib.sh

drop_all() {
  local prefix
  for prefix in bf_ bc_; do
    pg_lsclusters --no-header 2>/dev/null | awk -v p="$prefix" 'index($2, p) == 1 {print $1, $2}' |
      while read -r ver name; do pg_dropcluster --stop "$ver" "$name"; done
  done
}
trap 'drop_all; rm -rf "$WORK"' EXIT

floor_once() {
  # Create all six in parallel, then start all six in parallel: postgresql-common cannot start
  # one cluster while another one's configuration is half written.
  local i=0 pids=() start failed=0 took
  start=$(now)
  for name in "${NAMES[@]}"; do
    pg_createcluster "$VERSION" "bf_$name" --port $((26433 + i)) --locale C.UTF-8 -- --data-checksums >/dev/null &
    pids+=($!); i=$((i + 1))
  done
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  i=0; pids=()
  for name in "${NAMES[@]}"; do
    ( pg_ctlcluster --skip-systemctl-redirect "$VERSION" "bf_$name" start &&
      until pg_isready -q -h /var/run/postgresql -p $((26433 + i)); do sleep 0.05; done ) &
    pids+=($!); i=$((i + 1))
  done
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  took=$(echo "$(now) - $start" | bc)
  if [ "$failed" -ne 0 ]; then
    echo "floor: a cluster failed to come up; the round is not valid" >&2
    exit 1
  fi
  echo "$took"
}

catalogue() {
  local i=0
  echo "postgres_instances:"
  for name in "${NAMES[@]}"; do
    echo "  - {name: bc_$name, port: $((27433 + i)), database: bc_$name}"
    i=$((i + 1))
  done
  echo "postgres_runtime: native"
  echo "postgres_credentials_dir: $WORK/credentials"
  echo "postgres_env_dir: $WORK/env"
  echo "postgres_reports_dir: $WORK/reports"
}

catalogue >"$WORK/vars.yml"
cleanup() { drop_all; }
run_rounds "shell floor: 6 x pg_createcluster + start + pg_isready, in parallel" "cold converge, site.yml, 6 instances"
