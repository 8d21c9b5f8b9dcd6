#!/usr/bin/env bash
# Ansible's own floor under a single-host converge on this machine, without this collection: the
# wall time of a playbook of one no-op task (ansible-playbook's start) and of one with 10
# ansible.builtin.ping tasks, on localhost over the local connection as site.yml's run in
# bench/converge. (10 pings - start) / 10 is the least one module task costs; a no-op converge
# of M module tasks and N others cannot take less than start + M x that + N x a few ms.
#   flock /tmp/darevel-heavy.lock bench/converge/ansible_floor.sh [ROUNDS]   (default 3; medians)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-3}
BIN=${VENV:-.venv}/bin
WORK=$(mktemp -d /tmp/darevel-bench-floor.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
export ANSIBLE_CONFIG=$PWD/ansible.cfg
# shellcheck source=bench/lib.sh
. bench/lib.sh

play() {
  printf -- '- hosts: localhost\n  gather_facts: false\n  tasks:\n'
  local _i
  for _i in $(seq "$2"); do printf '    - %s\n' "$1"; done
}
play "ansible.builtin.meta: noop" 1 >"$WORK/start.yml"
play "ansible.builtin.ping:" 10 >"$WORK/ping.yml"

timed() {
  local start
  start=$(now)
  "$BIN/ansible-playbook" -i inventories/local "$1" >/dev/null
  echo "$(now) - $start" | bc
}

starts=() pings=()
for _round in $(seq "$ROUNDS"); do
  starts+=("$(timed "$WORK/start.yml")")
  pings+=("$(timed "$WORK/ping.yml")")
done
start=$(median "${starts[@]}")
ping=$(median "${pings[@]}")
echo "| measure (median of $ROUNDS) | seconds |"
echo "|---|---|"
printf '| ansible-playbook start (one meta task) | %.2f |\n' "$start"
printf '| 10 x ansible.builtin.ping | %.2f |\n' "$ping"
printf '| one module task, (10 pings - start) / 10 | %.3f |\n' "$(echo "($ping - $start) / 10" | bc -l)"
