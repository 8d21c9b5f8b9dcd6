#!/usr/bin/env bash
# Benchmark: back up six native instances holding pgbench data.
#   floor: plain `pg_dump -Fc` of each instance's database, one after another (no globals, no row
#          counts, no checksums, no fsync, nothing verified);
#   ours:  playbooks/backup.yml for the six (globals, dumps, row counts in the dump's snapshot,
#          fsync, sha256 manifest, verification, retention; instances in parallel, at most the
#          host's cores at a time), the whole ansible-playbook run timed;
#   code:  the same backup without Ansible: pg_backup's module_utils (_backup.run_batch, what the
#          module and the scheduled backup run) for the six, at most the host's cores at a time
#          (BENCH_WORKERS overrides), timed inside Python;
#   drill: playbooks/restore_drill.yml -e fresh_backup=false for the six (restore of the backup just
#          taken into scratch databases, row counts compared, scratch dropped), when present.
#   bench/backup/run.sh [ROUNDS]        (default 3; prints a Markdown table of medians)
# Environment: BENCH_SCALE (20, pgbench scale: about 300 MB per instance), PG_VERSION (15).
# Uses scratch clusters bk_bench_* on ports 25531-25536 and drops them afterwards, also on failure.
# Never touches 5432-5438.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-3}
VERSION=${PG_VERSION:-15}
SCALE=${BENCH_SCALE:-20}
NAMES=(infra chat slides suite mail sheet)
BASE_PORT=25531
BIN=${VENV:-.venv}/bin
PGBIN=/usr/lib/postgresql/$VERSION/bin
WORK=$(mktemp -d /tmp/darevel-backup-bench.XXXXXX)
export ANSIBLE_CONFIG=$PWD/ansible.cfg

now() { date +%s.%N; }
# CPU seconds the whole machine has spent busy so far (user, nice, system, irq, softirq: the server
# backends, pg_dump, Python, the kernel), from /proc/stat in USER_HZ ticks.
busy() { awk -v hz="$(getconf CLK_TCK)" 'NR == 1 {printf "%.2f\n", ($2 + $3 + $4 + $7 + $8) / hz}' /proc/stat; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
port_of() { echo $((BASE_PORT + $1)); }

cleanup() {
  local i
  for i in "${!NAMES[@]}"; do
    pg_dropcluster --stop "$VERSION" "bk_bench_${NAMES[$i]}" >/dev/null 2>&1 || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

{
  echo "postgres_runtime: native"
  echo "postgres_version: $VERSION"
  echo "postgres_tuning_memory_mb: 4096"
  echo "postgres_tuning_cpus: 2"
  echo "postgres_backup_root: $WORK/ours"
  echo "postgres_reports_dir: $WORK/reports"
  echo "postgres_credentials_dir: $WORK/credentials"
  echo "postgres_env_dir: $WORK/env"
  echo "postgres_instances:"
  for i in "${!NAMES[@]}"; do
    echo "  - {name: bk_bench_${NAMES[$i]}, port: $(port_of "$i"), database: bench_${NAMES[$i]}}"
  done
} >"$WORK/vars.yml"

items=$(for i in "${!NAMES[@]}"; do printf '{"name": "bk_bench_%s", "version": %s, "port": %s},' \
  "${NAMES[$i]}" "$VERSION" "$(port_of "$i")"; done)
"$BIN/ansible" localhost -m darevel.postgres.pg_instance \
  -a "{\"instances\": [${items%,}], \"state\": \"started\"}" >"$WORK/create.log" 2>&1 || {
  cat "$WORK/create.log" >&2; exit 1; }

echo "loading pgbench scale $SCALE into six instances" >&2
for i in "${!NAMES[@]}"; do
  (
    port=$(port_of "$i")
    runuser -u postgres -- "$PGBIN/createdb" -h /var/run/postgresql -p "$port" "bench_${NAMES[$i]}"
    runuser -u postgres -- "$PGBIN/pgbench" -q -i -s "$SCALE" -h /var/run/postgresql -p "$port" "bench_${NAMES[$i]}"
  ) >"$WORK/load-$i.log" 2>&1 &
  if (( i % 2 == 1 )); then wait; fi
done
wait
total=0
for i in "${!NAMES[@]}"; do
  size=$(runuser -u postgres -- psql -X -At -h /var/run/postgresql -p "$(port_of "$i")" -d "bench_${NAMES[$i]}" \
    -c "SELECT pg_database_size(current_database())")
  total=$((total + size))
done
echo "data: $((total / 1024 / 1024)) MiB in six instances" >&2

floor_once() {  # prints "wall-seconds machine-CPU-seconds"
  local i start cpu
  rm -rf "$WORK/floor" && mkdir -p "$WORK/floor"
  cpu=$(busy); start=$(now)
  for i in "${!NAMES[@]}"; do
    "$PGBIN/pg_dump" -Fc -h /var/run/postgresql -p "$(port_of "$i")" -U postgres \
      -f "$WORK/floor/${NAMES[$i]}.dump" "bench_${NAMES[$i]}"
  done
  echo "$(echo "$(now) - $start" | bc) $(echo "$(busy) - $cpu" | bc)"
}

code_once() {  # code_once COMPRESSION: prints "wall-seconds machine-CPU-seconds"
  local cpu wall
  cpu=$(busy)
  wall=$("$BIN/python" - "$WORK" "${BENCH_WORKERS:-0}" "$VERSION" "$BASE_PORT" "$1" "${NAMES[@]}" <<'PY'
import sys
import time
sys.path.insert(0, ".")  # the checkout is ansible_collections/darevel/postgres
from ansible_collections.darevel.postgres.plugins.module_utils._backup import run_batch
work, workers, version, base, comp = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
items = [{"name": "bk_bench_" + n, "version": version, "port": base + i} for i, n in enumerate(sys.argv[6:])]
options = {"runtime": "native", "root": work + "/code", "format": "custom", "jobs": 1, "compression": comp,
           "retention": {"keep_last": 1, "daily": 0, "weekly": 0}, "prune": True}
start = time.monotonic()
outcome = run_batch(items, options, workers)
elapsed = time.monotonic() - start
assert not outcome["errors"] and all(r["verified"] for r in outcome["results"]), outcome["errors"]
print("%.3f" % elapsed)
PY
)
  echo "$wall $(echo "$(busy) - $cpu" | bc)"
}

ours_once() {
  local start
  start=$(now)
  "$BIN/ansible-playbook" playbooks/backup.yml -e "@$WORK/vars.yml" >"$WORK/ours.log" 2>&1 || {
    cat "$WORK/ours.log" >&2; exit 1; }
  echo "$(now) - $start" | bc
}

drill_once() {  # a failed drill is reported, not fatal: the backup figures stand on their own
  local start
  start=$(now)
  if "$BIN/ansible-playbook" playbooks/restore_drill.yml -e "@$WORK/vars.yml" -e fresh_backup=false \
      >"$WORK/drill.log" 2>&1; then
    echo "$(now) - $start" | bc
  else
    tail -40 "$WORK/drill.log" >&2
    echo failed
  fi
}

has_drill=0
git ls-files --error-unmatch playbooks/restore_drill.yml >/dev/null 2>&1 && has_drill=1
floors=() codes=() fasts=() ours=() drills=() floor_cpus=() code_cpus=() fast_cpus=()
for round in $(seq "$ROUNDS"); do
  read -r wall cpu < <(floor_once); floors+=("$wall"); floor_cpus+=("$cpu")
  read -r wall cpu < <(code_once auto); codes+=("$wall"); code_cpus+=("$cpu")
  read -r wall cpu < <(code_once gzip:1); fasts+=("$wall"); fast_cpus+=("$cpu")
  ours+=("$(ours_once)")
  drill_note=""
  if [ "$has_drill" = 1 ]; then drills+=("$(drill_once)"); drill_note=", drill ${drills[-1]} s"; fi
  echo "round $round: floor ${floors[-1]} s (CPU ${floor_cpus[-1]} s), code ${codes[-1]} s (CPU ${code_cpus[-1]} s)," \
    "code gzip:1 ${fasts[-1]} s (CPU ${fast_cpus[-1]} s), ours ${ours[-1]} s$drill_note" >&2
done
floor_size=$(du -sb "$WORK/floor" | cut -f1)
ours_dir=$(find "$WORK/ours/bk_bench_infra" -mindepth 1 -maxdepth 1 -name '2*' | sort | tail -1)
grep -A12 "instance  database" "$WORK/ours.log" | sed -n '2,10p' >&2 || true

f=$(median "${floors[@]}"); c=$(median "${codes[@]}"); g=$(median "${fasts[@]}"); o=$(median "${ours[@]}")
fc=$(median "${floor_cpus[@]}"); cc=$(median "${code_cpus[@]}"); gc=$(median "${fast_cpus[@]}")
cores=$(nproc)
# The CPU columns: the whole machine's busy CPU seconds during the measure, the cores that kept busy
# on average (CPU / wall), and the least wall time that CPU work can take on this host's cores.
row() {  # row LABEL WALL CPU TARGET
  printf '| %s | %.2f | %.2f | %.1f | %.2f | %.2f (%.2f) | %s |\n' "$1" "$2" "$(echo "$2 / $f" | bc -l)" "$3" \
    "$(echo "$3 / $2" | bc -l)" "$(echo "$3 / $cores" | bc -l)" "$(echo "$3 / $cores / $f" | bc -l)" "$4"
}
printf '| measure (median of %d, pgbench scale %d, %d MiB in six instances) | seconds | x floor | CPU s | cores busy | CPU / %d cores, s (x floor) | target |\n' \
  "$ROUNDS" "$SCALE" "$((total / 1024 / 1024))" "$cores"
printf '|---|---|---|---|---|---|---|\n'
row "floor: pg_dump -Fc of the six, one after another" "$f" "$fc" ""
row "pg_backup code, the six (no Ansible), compression auto (gzip:6)" "$c" "$cc" "<= 0.70"
row "pg_backup code, the six (no Ansible), compression gzip:1" "$g" "$gc" ""
printf '| playbooks/backup.yml, the six (whole run) | %.2f | %.2f | | | | <= 0.70 |\n' "$o" "$(echo "$o / $f" | bc -l)"
if [ "$has_drill" = 1 ]; then
  if printf '%s\n' "${drills[@]}" | grep -q failed; then
    printf '| playbooks/restore_drill.yml, the six (whole run) | failed (see the log above) | | | | | |\n'
  else
    d=$(median "${drills[@]}")
    printf '| playbooks/restore_drill.yml -e fresh_backup=false, the six (whole run) | %.2f | %.2f | | | | |\n' "$d" "$(echo "$d / $f" | bc -l)"
  fi
else
  printf '| playbooks/restore_drill.yml | not in this checkout yet | | | | | |\n'
fi
echo "floor archives: $((floor_size / 1024 / 1024)) MiB; one of our backups (infra): $(du -sm "$ours_dir" | cut -f1) MiB" >&2
