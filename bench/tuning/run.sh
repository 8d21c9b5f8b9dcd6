#!/usr/bin/env bash
# Benchmark: six instances on one host under pgbench at the same time, three configurations side
# by side in one run (same clients, same duration, same data):
#   (a) PostgreSQL defaults (an empty settings file),
#   (b) pgtune-style formulas, each instance as if it owned the host (_tuning.standalone_plan),
#   (c) our plan for the six on the host (_tuning.plan).
#   bench/tuning/run.sh [ROUNDS]      (default 3 rounds, the configurations' order rotated per round;
#                                      prints Markdown tables of medians)
# Environment: BENCH_MEMORY_MB (12288) and BENCH_CPUS (2), the host both planners plan for;
# BENCH_SCALE (25, about 375 MB per instance: above PostgreSQL's default shared_buffers of 128MB,
# below the plan's 448MB on 12 GiB), BENCH_CLIENTS (4), BENCH_SECONDS (45), BENCH_WARMUP (10),
# BENCH_WORKLOAD (pgbench's workload options, "-M prepared -b select-only@9 -b tpcb-like@1": web
# applications, mostly key lookups and some short write transactions; the seed's Keycloak and Java
# backends connect through PgJDBC, which makes a statement server-side prepared from its fifth
# execution), BENCH_CGROUP (1: the six servers run in one memory cgroup limited to the budget,
# BENCH_MEMORY_MB less the planner's OS reserve, so the page cache they can use is the planned
# host's, not this machine's; 0: no limit).
# Each configuration goes to /etc/postgresql/<ver>/<name>/conf.d/50-darevel-settings.conf and the
# clusters restart with an empty cache (the cgroup's pages are dropped), then pg_prewarm reads each
# instance's pgbench tables and indexes and a pgbench warm-up runs; neither is measured.
# Uses scratch clusters tb_* on ports 27533-27538 and drops them afterwards, also on failure.
# Never touches 5432-5438.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-3}
VERSION=${PG_VERSION:-15}
MEMORY_MB=${BENCH_MEMORY_MB:-12288}
CPUS=${BENCH_CPUS:-2}
SCALE=${BENCH_SCALE:-25}
CLIENTS=${BENCH_CLIENTS:-4}
SECONDS_RUN=${BENCH_SECONDS:-45}
WARMUP=${BENCH_WARMUP:-10}
WORKLOAD=${BENCH_WORKLOAD:--M prepared -b select-only@9 -b tpcb-like@1}
USE_CGROUP=${BENCH_CGROUP:-1}
NAMES=(infra chat slides suite mail sheet)
BASE_PORT=27533
PY=${VENV:-.venv}/bin/python
HELPER=bench/tuning/plan.py
SOCKET=/var/run/postgresql
WORK=$(mktemp -d /tmp/darevel-tuning.XXXXXX)

# The memory cgroup of the six servers (not of pgbench: the clients stand for application hosts).
CG=
CG_NAME=darevel-tuning-bench
cg_setup() {
  [ "$USE_CGROUP" = 1 ] || return 0
  LIMIT=$("$PY" "$HELPER" budget "$MEMORY_MB")
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then  # cgroup v2
    CG=/sys/fs/cgroup/$CG_NAME
    grep -qw memory /sys/fs/cgroup/cgroup.subtree_control || echo +memory >/sys/fs/cgroup/cgroup.subtree_control
    mkdir -p "$CG"
    echo "$LIMIT" >"$CG/memory.max"
    [ ! -f "$CG/memory.swap.max" ] || echo 0 >"$CG/memory.swap.max"
  else
    CG=/sys/fs/cgroup/memory/$CG_NAME
    mkdir -p "$CG"
    echo "$LIMIT" >"$CG/memory.limit_in_bytes"
  fi
}
cg_enter() {  # move the calling (sub)shell into the cgroup; its children inherit it
  [ -z "$CG" ] || echo "$BASHPID" >"$CG/cgroup.procs"
}
cg_empty() {  # with the servers stopped: drop the pages charged to the cgroup, reset its peak
  [ -n "$CG" ] || return 0
  if [ -f "$CG/memory.force_empty" ]; then
    echo 0 >"$CG/memory.force_empty"
    echo 0 >"$CG/memory.max_usage_in_bytes"
  else
    echo "$LIMIT" >"$CG/memory.reclaim" 2>/dev/null || true
    echo reset >"$CG/memory.peak" 2>/dev/null || true
  fi
}
cg_peak_mib() {
  [ -n "$CG" ] || { echo -; return; }
  echo $(($(cat "$CG/memory.max_usage_in_bytes" 2>/dev/null || cat "$CG/memory.peak") / 1048576))
}
cg_oom_kills() {
  [ -n "$CG" ] || { echo 0; return; }
  local file=$CG/memory.events  # v2; v1 counts in memory.oom_control
  [ -f "$file" ] || file=$CG/memory.oom_control
  awk '$1 == "oom_kill" {n = $2} END {print n + 0}' "$file"
}

drop_all() {
  # Our settings file first: pg_dropcluster leaves a conf.d that holds files it did not write.
  local dir
  pg_lsclusters --no-header 2>/dev/null | awk -v p=tb_ 'index($2, p) == 1 {print $1, $2}' |
    while read -r ver name; do
      rm -f "/etc/postgresql/$ver/$name/conf.d/50-darevel-settings.conf"
      pg_dropcluster --stop "$ver" "$name" || true
    done
  for dir in /etc/postgresql/*/tb_*; do
    [ -d "$dir" ] || continue
    rm -f "$dir/conf.d/50-darevel-settings.conf"
    rmdir "$dir/conf.d" "$dir" 2>/dev/null || echo "left behind (not empty): $dir" >&2
  done
}
cleanup() {
  local pid
  for pid in $(jobs -p); do kill "$pid" 2>/dev/null || true; done
  drop_all
  if [ -n "$CG" ]; then
    cg_empty
    rmdir "$CG" 2>/dev/null || echo "left behind: $CG" >&2
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port() { echo $((BASE_PORT + $1)); }
as_postgres() { runuser -u postgres -- "$@"; }
sql() { as_postgres psql -XAtq -h "$SOCKET" -p "$1" -d postgres "${@:2}"; }

wait_ready() {  # port: up to 60 s for the server to accept connections
  local tries=0
  until pg_isready -q -h "$SOCKET" -p "$1"; do
    tries=$((tries + 1)); [ "$tries" -le 600 ] || return 1; sleep 0.1
  done
}

start_all() {
  # Start all six in parallel; an instance that does not come up is recorded in WORK/down, not
  # retried and not capped: under (b) that is the over-commit showing.
  local i pids=() log
  : >"$WORK/down"
  for i in "${!NAMES[@]}"; do
    ( cg_enter
      pg_ctlcluster --skip-systemctl-redirect "$VERSION" "tb_${NAMES[$i]}" start >"$WORK/start.${NAMES[$i]}" 2>&1 &&
        wait_ready "$(port "$i")" ) &
    pids+=($!)
  done
  for i in "${!NAMES[@]}"; do
    if ! wait "${pids[$i]}"; then
      echo "${NAMES[$i]}" >>"$WORK/down"
      log=/var/log/postgresql/postgresql-$VERSION-tb_${NAMES[$i]}.log
      { grep -h -E "FATAL|PANIC" "$log" 2>/dev/null | tail -1 | sed 's/^.*\(FATAL\|PANIC\): *//'
      } >"$WORK/reason.${NAMES[$i]}" || true
      echo "tb_${NAMES[$i]} did not start: $(cat "$WORK/reason.${NAMES[$i]}")" >&2
    fi
  done
}

stop_all() {
  local name pids=()
  for name in "${NAMES[@]}"; do
    ( pg_ctlcluster --skip-systemctl-redirect "$VERSION" "tb_$name" stop >/dev/null 2>&1 || true ) &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid"; done
}

create_all() {
  # Create all six, then start all six: postgresql-common cannot start one cluster while another
  # one's configuration is half written.
  local i pids=()
  for i in "${!NAMES[@]}"; do
    # (while the others are half written, pg_createcluster may warn about them: kept in WORK, shown
    # only when it fails)
    pg_createcluster "$VERSION" "tb_${NAMES[$i]}" --port "$(port "$i")" --locale C.UTF-8 \
      >"$WORK/create.${NAMES[$i]}" 2>&1 &
    pids+=($!)
  done
  for i in "${!NAMES[@]}"; do
    wait "${pids[$i]}" || { cat "$WORK/create.${NAMES[$i]}" >&2; exit 1; }
  done
  start_all
  if [ -s "$WORK/down" ]; then echo "a cluster did not start with default settings" >&2; exit 1; fi
}

init_all() {
  local i pids=()
  for i in "${!NAMES[@]}"; do
    { as_postgres pgbench -i -s "$SCALE" -q -h "$SOCKET" -p "$(port "$i")" postgres &&
        sql "$(port "$i")" -c "create extension pg_prewarm"; } >"$WORK/init.${NAMES[$i]}" 2>&1 &
    pids+=($!)
  done
  for i in "${!NAMES[@]}"; do
    wait "${pids[$i]}" || { cat "$WORK/init.${NAMES[$i]}" >&2; exit 1; }
  done
}

apply() {  # config: write each instance's settings file and restart the six
  local name dir="$WORK/conf.$1"
  mkdir -p "$dir"
  "$PY" "$HELPER" conf "$1" "$dir" "$MEMORY_MB" "$CPUS" "$VERSION" | sed "s/^/$1\t/; s/ /\t/" >"$WORK/planned.$1"
  stop_all
  cg_empty
  for name in "${NAMES[@]}"; do
    install -o postgres -g postgres -m 0644 "$dir/$name.conf" \
      "/etc/postgresql/$VERSION/tb_$name/conf.d/50-darevel-settings.conf"
  done
  start_all
}

is_up() { ! grep -qx "$1" "$WORK/down"; }

live_committed() {  # config: the estimate of the settings the running servers report
  local i name list
  list=$(printf "'%s'," shared_buffers wal_buffers work_mem maintenance_work_mem autovacuum_work_mem \
    max_connections max_parallel_workers autovacuum_max_workers hash_mem_multiplier)
  for i in "${!NAMES[@]}"; do
    name=${NAMES[$i]}
    is_up "$name" || continue
    printf '%s %s\n' "$name" "$(sql "$(port "$i")" -c \
      "select string_agg(n || '=' || current_setting(n), ' ') from unnest(array[${list%,}]) n")"
  done | "$PY" "$HELPER" estimate | sed "s/^/$1\t/; s/ /\t/" >"$WORK/live.$1"
}

pss_mib() {  # proportional set size of every cluster's postmaster and its children, MiB
  local name pid p total=0 kb
  for name in "${NAMES[@]}"; do
    is_up "$name" || continue
    pid=$(head -1 "/var/lib/postgresql/$VERSION/tb_$name/postmaster.pid" 2>/dev/null) || continue
    for p in "$pid" $(pgrep -P "$pid"); do
      kb=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || true)
      total=$((total + ${kb:-0}))
    done
  done
  echo $((total / 1024))
}

pgbench_all() {  # seconds label [extra pgbench options]: all running instances at the same time
  local i seconds=$1 label=$2 pids=()
  shift 2
  for i in "${!NAMES[@]}"; do
    is_up "${NAMES[$i]}" || continue
    as_postgres pgbench -n -c "$CLIENTS" -j 1 -T "$seconds" "${WL[@]}" "$@" -h "$SOCKET" -p "$(port "$i")" postgres \
      >"$WORK/$label.${NAMES[$i]}" 2>&1 &
    pids+=($!)
  done
  # A pgbench that fails (its server went away) leaves no "tps =" line: recorded as failed.
  for pid in "${pids[@]}"; do wait "$pid" || echo "a pgbench failed ($label)" >&2; done
}

blocks() {  # per running instance: blocks found in shared_buffers, blocks read from the OS
  local i
  for i in "${!NAMES[@]}"; do
    is_up "${NAMES[$i]}" || continue
    sql "$(port "$i")" -F ' ' -c "select blks_hit, blks_read from pg_stat_database where datname = 'postgres'"
  done
}

measure() {  # config round
  local config=$1 round=$2 i name out pss tps lat ooms
  rm -f "$WORK"/warmup.* "$WORK"/run.*
  ooms=$(cg_oom_kills)
  # Warm-up, not measured: every pgbench table and index read once (into shared_buffers as far as
  # they go, the rest into the page cache), then the workload itself.
  for i in "${!NAMES[@]}"; do
    is_up "${NAMES[$i]}" || continue
    sql "$(port "$i")" -c "select sum(pg_prewarm(c::regclass)) from unnest(array['pgbench_accounts', \
'pgbench_accounts_pkey', 'pgbench_branches', 'pgbench_branches_pkey', 'pgbench_tellers', 'pgbench_tellers_pkey', \
'pgbench_history']) c" >/dev/null &
  done
  wait
  pgbench_all "$WARMUP" "warmup"
  # Same starting point for every configuration: pgbench's own pre-run vacuum, then a checkpoint.
  for i in "${!NAMES[@]}"; do
    is_up "${NAMES[$i]}" || continue
    sql "$(port "$i")" -c "vacuum pgbench_branches" -c "vacuum pgbench_tellers" \
      -c "truncate pgbench_history" -c "checkpoint" &
  done
  wait
  blocks >"$WORK/blocks.before"
  ( sleep $((SECONDS_RUN - 5)); pss_mib >"$WORK/pss" ) &
  pgbench_all "$SECONDS_RUN" "run" -P 5
  wait
  sleep 1  # backends flush their statistics when they exit
  blocks >"$WORK/blocks.after"
  # shared_buffers hits in % of the blocks the measured run asked for, all six instances
  paste "$WORK/blocks.before" "$WORK/blocks.after" | awk -v c="$config" -v r="$round" '
    {h += $3 - $1; m += $4 - $2} END {printf "%s\t%s\t%s\n", c, r, (h + m > 0) ? sprintf("%.1f", 100 * h / (h + m)) : "-"}' \
    >>"$WORK/hits.tsv"
  pss=$(cat "$WORK/pss")
  for name in "${NAMES[@]}"; do
    if ! is_up "$name"; then
      printf '%s\t%s\t%s\tfailed\t-\tdid not start: %s\n' "$config" "$round" "$name" \
        "$(cat "$WORK/reason.$name" 2>/dev/null)" >>"$WORK/runs.tsv"
      continue
    fi
    out="$WORK/run.$name"
    tps=$(awk '/^tps = / {print $3}' "$out")
    lat=$(awk '/^latency average = / {print $4}' "$out")
    if [ -z "$tps" ] || [ -z "$lat" ]; then
      printf '%s\t%s\t%s\tfailed\t-\tpgbench failed: %s\n' "$config" "$round" "$name" \
        "$(grep -v '^progress' "$out" | tail -1)" >>"$WORK/runs.tsv"
    else
      printf '%s\t%s\t%s\t%s\t%s\n' "$config" "$round" "$name" "$tps" "$lat" >>"$WORK/runs.tsv"
    fi
  done
  # Host TPS per 5 s interval (the sum over the instances; the last, partial interval left out),
  # lowest and highest as % of the mean.
  cat "$WORK"/run.* | awk -v end="$SECONDS_RUN" '/^progress: / && $2 + 0 < end {t[$2] += $4} END {
      n = 0; s = 0; for (k in t) {n++; s += t[k]}; if (n == 0 || s == 0) {print "-\t-"; exit}
      m = s / n; lo = 1e18; hi = 0
      for (k in t) {if (t[k] < lo) lo = t[k]; if (t[k] > hi) hi = t[k]}
      printf "%.0f\t%.0f\n", 100 * lo / m, 100 * hi / m }' >"$WORK/steady"
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$config" "$round" "$pss" "$(cat "$WORK/steady")" "$(cg_peak_mib)" \
    "$(($(cg_oom_kills) - ooms))" >>"$WORK/rounds.tsv"
  printf 'round %s %-10s host TPS %s, started %s/6, PSS %s MiB, cgroup peak %s MiB, 5 s intervals %s%% of mean\n' "$round" "$config" \
    "$(awk -v c="$config" -v r="$round" '$1 == c && $2 == r && $4 != "failed" {s += $4} END {printf "%.0f", s}' \
      "$WORK/runs.tsv")" "$((6 - $(wc -l <"$WORK/down")))" "$pss" "$(cg_peak_mib)" "$(tr '\t' '-' <"$WORK/steady")" >&2
}

[ "$SECONDS_RUN" -gt 5 ] || { echo "BENCH_SECONDS must be above 5" >&2; exit 2; }
read -ra WL <<<"$WORKLOAD"
drop_all
cg_setup
started=$(date +%s)
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
echo "creating six clusters tb_* on ports $BASE_PORT-$((BASE_PORT + 5)); pgbench -i -s $SCALE on each" >&2
create_all
init_all
echo "initialised in $(($(date +%s) - started)) s" >&2
configs=(defaults standalone ours)
for round in $(seq "$ROUNDS"); do
  for k in 0 1 2; do
    config=${configs[$(((round - 1 + k) % 3))]}
    apply "$config"
    live_committed "$config"
    measure "$config" "$round"
  done
done
cat "$WORK"/planned.* >"$WORK/planned.tsv"
cat "$WORK"/live.* >"$WORK/committed.tsv"
total=$(($(date +%s) - started))

echo "**Six instances under pgbench at the same time ($WORKLOAD), $CLIENTS clients each, \
$SECONDS_RUN s, scale $SCALE, median of $ROUNDS rounds**"
echo
"$PY" "$HELPER" report "$WORK" "$MEMORY_MB" "$CPUS" "$VERSION" "${LIMIT:-0}"
echo
echo "Machine: $(nproc) CPUs ($(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)), \
$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo) RAM, \
swap $(awk '/^SwapTotal/ {printf "%.0f MiB", $2 / 1024}' /proc/meminfo), \
$(awk -F'"' '/^PRETTY_NAME=/ {print $2}' /etc/os-release), kernel $(uname -r), $(pgbench --version | sed 's/^pgbench (PostgreSQL)/PostgreSQL/'); \
load average before the run $LOAD. Wall time $total s."
echo
echo "Commands (per instance, all six at the same time; the configurations' order rotates per round):"
echo
echo '```'
echo "BENCH_MEMORY_MB=$MEMORY_MB BENCH_CPUS=$CPUS BENCH_SCALE=$SCALE BENCH_CLIENTS=$CLIENTS \
BENCH_SECONDS=$SECONDS_RUN BENCH_WARMUP=$WARMUP BENCH_WORKLOAD='$WORKLOAD' BENCH_CGROUP=$USE_CGROUP bench/tuning/run.sh $ROUNDS"
if [ -n "$CG" ]; then
  echo "# the six servers start inside the memory cgroup $CG, limit ${LIMIT} bytes ($((LIMIT / 1048576)) MiB)"
fi
echo "pg_createcluster $VERSION tb_<name> --port $BASE_PORT..$((BASE_PORT + 5)) --locale C.UTF-8"
echo "pgbench -i -s $SCALE -q -h $SOCKET -p <port> postgres; psql -c 'create extension pg_prewarm'"
echo "# per configuration and round: settings -> /etc/postgresql/$VERSION/tb_<name>/conf.d/50-darevel-settings.conf,"
echo "# pg_ctlcluster --skip-systemctl-redirect $VERSION tb_<name> stop (all six)${CG:+; echo 0 > memory.force_empty}; ... start"
echo "psql -c \"select pg_prewarm(...)\"    # pgbench_accounts, _branches, _tellers, _history and their pkeys"
echo "pgbench -n -c $CLIENTS -j 1 -T $WARMUP $WORKLOAD -h $SOCKET -p <port> postgres        # warm-up"
echo "psql -c 'vacuum pgbench_branches' -c 'vacuum pgbench_tellers' -c 'truncate pgbench_history' -c checkpoint"
echo "pgbench -n -c $CLIENTS -j 1 -T $SECONDS_RUN $WORKLOAD -P 5 -h $SOCKET -p <port> postgres   # measured"
echo '```'
