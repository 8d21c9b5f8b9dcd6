# shellcheck shell=bash
# Shared by the converge benchmarks (sourced): rounds of floor / cold converge / no-op rerun,
# medians and the Markdown table. The caller defines floor_once, cleanup, BIN, WORK and ROUNDS,
# and writes the scratch catalogue to $WORK/vars.yml.

now() { date +%s.%N; }

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# converge_once EXPECTED_CHANGED|any: seconds taken by one site.yml run on the scratch catalogue.
converge_once() {
  local start
  start=$(now)
  "$BIN/ansible-playbook" playbooks/site.yml -e "@$WORK/vars.yml" >"$WORK/last.log" 2>&1 || {
    cat "$WORK/last.log" >&2; exit 1; }
  grep -q "changed=$1" "$WORK/last.log" || [ "$1" = any ] || {
    echo "expected changed=$1" >&2; tail -5 "$WORK/last.log" >&2; exit 1; }
  echo "$(now) - $start" | bc
}

# run_rounds FLOOR_LABEL COLD_LABEL: the rounds, side by side, then the table of medians.
run_rounds() {
  local floors=() colds=() noops=() round floor f c n
  cleanup
  for round in $(seq "$ROUNDS"); do
    floor=$(floor_once) || exit 1
    floors+=("$floor"); cleanup
    rm -rf "$WORK/credentials" "$WORK/env"
    colds+=("$(converge_once any)")
    noops+=("$(converge_once 0)")
    cleanup
    echo "round $round: floor ${floors[-1]} s, cold ${colds[-1]} s, no-op ${noops[-1]} s" >&2
  done
  f=$(median "${floors[@]}"); c=$(median "${colds[@]}"); n=$(median "${noops[@]}")
  printf '| measure (median of %d) | seconds | x floor | target |\n|---|---|---|---|\n' "$ROUNDS"
  printf '| %s | %.2f | 1.00 | |\n' "$1" "$f"
  printf '| %s | %.2f | %.2f | <= %s |\n' "$2" "$c" "$(echo "$c / $f" | bc -l)" "${COLD_TARGET:-2.00}"
  printf '| no-op rerun, site.yml (changed=0) | %.2f | %.2f | <= %s |\n' "$n" "$(echo "$n / $f" | bc -l)" "${NOOP_TARGET:-1.00}"
}
