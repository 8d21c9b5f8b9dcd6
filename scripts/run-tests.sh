#!/usr/bin/env bash
# Test tiers. `scripts/run-tests.sh all` runs every tier (what `make test` and CI run), goes on
# after a failing tier, prints how long each took and exits non-zero when any failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
BIN=${VENV:-.venv}/bin
export PATH="$PWD/$BIN:$PATH"
export ANSIBLE_CONFIG="$PWD/ansible.cfg"
export PYTHONDONTWRITEBYTECODE=1

tier_unit() { "$BIN/pytest" -q tests/unit; }

tier_lint() { "$BIN/ansible-lint" --profile production --offline; }

tier_sanity() { scripts/sanity.sh; }

# The Docker engine and the locally built images (no outside registry is reachable): the
# integration tier runs the dev files' compose files on them, the molecule tier its scenarios.
# The local registry (scripts/registry.sh, 127.0.0.1:5999) holds the PostgreSQL 15 image under a
# name the engine lacks, for the docker runtime's pull tests. Fast when all are present.
engine_and_images() {
  scripts/docker-engine.sh &&
    tests/images/build.sh bookworm trixie &&
    tests/images/build-postgres.sh 15 17 &&
    scripts/registry.sh darevel-test/postgres:15 >/dev/null
}

# The engine and images are there now: a docker test that finds them missing fails, never skips.
tier_integration() { engine_and_images && DAREVEL_TESTS_NEED_DOCKER=1 "$BIN/pytest" -q tests/integration; }

tier_build() { "$BIN/pytest" -q tests/build; }

# The README's "Use it from your own project", run as written: the tarball installed into a scratch
# project without any ansible.cfg, two native instances on 26801-26802 converged, stopped, purged.
tier_installed() { "$BIN/pytest" -q tests/installed; }

# A simulated fleet: Debian systemd containers (darevel-fleet-*) as hosts over the docker
# connection, on an image with the server packages installed once (tests/fleet/fleet.py).
tier_fleet() {
  scripts/docker-engine.sh && tests/images/build.sh bookworm >/dev/null && "$BIN/pytest" -q tests/fleet
}

tier_molecule() {
  engine_and_images || return 1
  # The scenarios share the platform (container) names: they run one after another.
  local scenario start rc=0
  for scenario in ${MOLECULE_SCENARIOS:-native generic docker}; do
    start=$(date +%s)
    "$BIN/molecule" test -s "$scenario" || rc=1
    echo "=== molecule $scenario: $(( $(date +%s) - start ))s"
  done
  return $rc
}

ALL=(unit lint sanity integration fleet build installed molecule)
tiers=("$@")
[ ${#tiers[@]} -eq 0 ] || [ "${tiers[0]}" = all ] && tiers=("${ALL[@]}")

passed=0 failed=0 summary=()
for tier in "${tiers[@]}"; do
  echo "=== tier: $tier"
  start=$(date +%s)
  if "tier_$tier"; then status=passed; passed=$((passed + 1)); else status=FAILED; failed=$((failed + 1)); fi
  summary+=("$(printf '%-12s %-7s %5ss' "$tier" "$status" "$(( $(date +%s) - start ))")")
done
echo "=== summary"
printf '%s\n' "${summary[@]}"
echo "tiers: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
