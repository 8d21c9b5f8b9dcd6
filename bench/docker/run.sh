#!/usr/bin/env bash
# Benchmark: cold converge of six containers (docker runtime) and the no-op rerun, side by side
# with a shell floor that `docker run`s the same six containers in parallel and waits for
# pg_isready in each.
#   bench/docker/run.sh [ROUNDS]      (default 3; prints a Markdown table of medians)
# Uses the local test image (tests/images/build-postgres.sh), scratch containers and volumes
# bench-floor-* and bench-conv-* on ports 28433-28438 / 29433-29438, and removes them afterwards.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-3}
NAMES=(infra chat slides suite mail sheet)
BIN=${VENV:-.venv}/bin
IMAGE=${BENCH_IMAGE:-darevel-test/postgres:15}
WORK=$(mktemp -d /tmp/darevel-bench-docker.XXXXXX)
export ANSIBLE_CONFIG=$PWD/ansible.cfg
# shellcheck source=bench/lib.sh
. bench/lib.sh

cleanup() {
  local ids
  mapfile -t ids < <(docker ps -aq --filter name='^bench-(floor|conv)-')
  [ ${#ids[@]} -eq 0 ] || docker rm -f "${ids[@]}" >/dev/null
  mapfile -t ids < <(docker volume ls -q --filter name='^bench-(floor|conv)-')
  [ ${#ids[@]} -eq 0 ] || docker volume rm "${ids[@]}" >/dev/null
}
trap 'cleanup; rm -rf "$WORK"' EXIT

floor_once() {
  local i=0 pids=() start failed=0 took
  start=$(now)
  for name in "${NAMES[@]}"; do
    ( docker run -d --name "bench-floor-$name" -v "bench-floor-$name-data:/var/lib/postgresql/data" \
        -p "127.0.0.1:$((28433 + i)):5432" -e POSTGRES_PASSWORD=bench -e POSTGRES_USER="${name}_owner" \
        -e POSTGRES_DB="$name" -e POSTGRES_INITDB_ARGS=--data-checksums "$IMAGE" \
        -c shared_buffers=256MB -c max_connections=100 -c work_mem=4MB >/dev/null &&
      until docker exec "bench-floor-$name" pg_isready -q -h 127.0.0.1 2>/dev/null; do sleep 0.1; done ) &
    pids+=($!); i=$((i + 1))
  done
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  took=$(echo "$(now) - $start" | bc)
  if [ "$failed" -ne 0 ]; then
    echo "floor: a container failed to come up; the round is not valid" >&2
    exit 1
  fi
  echo "$took"
}

catalogue() {
  local i=0
  echo "postgres_runtime: docker"
  echo "postgres_docker_image: \"${IMAGE%:*}:{version}\""
  echo "postgres_instances:"
  for name in "${NAMES[@]}"; do
    echo "  - {name: bench_$name, port: $((29433 + i)), database: bench_$name, container: bench-conv-$name, volume: bench-conv-$name-data}"
    i=$((i + 1))
  done
  echo "postgres_credentials_dir: $WORK/credentials"
  echo "postgres_env_dir: $WORK/env"
  echo "postgres_reports_dir: $WORK/reports"
}

tests/images/build-postgres.sh 15 >/dev/null
catalogue >"$WORK/vars.yml"
run_rounds "shell floor: 6 x docker run in parallel + pg_isready" "cold converge, site.yml, docker runtime, 6 containers"
