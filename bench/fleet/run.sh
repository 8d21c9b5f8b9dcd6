#!/usr/bin/env bash
# Benchmark: converge time of a simulated fleet of 1, 2, 4 and 8 hosts, each a Debian systemd
# container with two native instances, in one site.yml run with the forks of ansible.cfg.
#   flock /tmp/darevel-heavy.lock bench/fleet/run.sh [SIZES] [ROUNDS]   (default 1,2,4,8 and 1 round)
# TASK_CPU_PREFIX=/tmp/fleet also writes the control node's CPU seconds per task of each run to
# /tmp/fleet-<hosts>-hosts-<round>-<cold|noop>.tsv (bench/fleet/callback/task_cpu.py).
# Needs the Docker engine and darevel-test/debian:bookworm (tests/images/build.sh); containers
# are named darevel-fleet-* and removed afterwards. Prints a Markdown table (docs/benchmarks.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${VENV:-.venv}/bin
export ANSIBLE_CONFIG=$PWD/ansible.cfg PYTHONDONTWRITEBYTECODE=1
scripts/docker-engine.sh
tests/images/build.sh bookworm >/dev/null
echo "forks: $(awk -F' *= *' '$1 == "forks" {print $2}' ansible.cfg), CPUs: $(nproc)" >&2
exec "$BIN/python" bench/fleet/bench.py "${1:-1,2,4,8}" "${2:-1}"
