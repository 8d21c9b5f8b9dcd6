#!/usr/bin/env bash
# Entrypoint of the darevel PostgreSQL test image (Debian packages).
#
# Honours the container contract of the official `postgres` image, so that
# tests can use this image where users run the official one:
#
#   POSTGRES_PASSWORD        superuser password; required on first start unless
#                            POSTGRES_HOST_AUTH_METHOD=trust
#   POSTGRES_USER            superuser name (default postgres)
#   POSTGRES_DB              database created on first start (default: the user)
#   POSTGRES_INITDB_ARGS     extra initdb arguments (shell words)
#   POSTGRES_INITDB_WALDIR   optional separate WAL directory
#   POSTGRES_HOST_AUTH_METHOD  pg_hba method for remote hosts (scram-sha-256)
#   <VAR>_FILE               read <VAR> from a file (Docker secrets), for
#                            PASSWORD, USER, DB and INITDB_ARGS
#   /docker-entrypoint-initdb.d/*   run once, in name order, on first start:
#                            *.sh executed (if executable) or sourced, *.sql,
#                            *.sql.gz, *.sql.xz, *.sql.zst fed to psql
#
# The data directory is initialised only when it holds no cluster yet;
# afterwards the container just starts the server. Arguments: `-c x=y ...`
# alone means `postgres -c x=y ...`; `postgres ...` starts the server with
# those arguments; anything else is run as given (e.g. `bash`, `psql`).
set -Eeuo pipefail

log() { printf '%s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# PGDATA when nothing sets it: the official image's layout by major version.
pg_major() {
  if [ -n "${PG_MAJOR:-}" ]; then
    printf '%s\n' "$PG_MAJOR"
  else
    postgres --version | sed -E 's/.* ([0-9]+)(\.[0-9]+)?.*/\1/'
  fi
}
default_pgdata() {
  local major
  major=$(pg_major)
  if [ "$major" -ge 18 ]; then
    printf '/var/lib/postgresql/%s/docker\n' "$major"
  else
    printf '/var/lib/postgresql/data\n'
  fi
}

# VAR or VAR_FILE (not both); the file's content without its final newline.
load_var() {
  local name=$1 default=${2:-} file_name="${1}_FILE"
  local value=${!name:-} file=${!file_name:-}
  if [ -n "$value" ] && [ -n "$file" ]; then
    die "both $name and $file_name are set; they are exclusive"
  fi
  if [ -n "$file" ]; then
    [ -r "$file" ] || die "$file_name: cannot read '$file'"
    value=$(<"$file")
  fi
  [ -n "$value" ] || value=$default
  export "$name=$value"
  unset "$file_name"
}

# Does this postgres command line only ask something (help, version, -C)
# rather than start a server? Then there is nothing to initialise.
only_asks() {
  local arg
  for arg in "$@"; do
    case $arg in
      '-?' | --help | --describe-config | -V | --version | -C | -C?*) return 0 ;;
    esac
  done
  return 1
}

# --- as root: directories and ownership, then the same script as postgres --
prepare_as_root() {
  install -d -m 3777 -o postgres -g postgres /var/run/postgresql
  mkdir -p "$PGDATA"
  # Only touch ownership when it is wrong (a big volume takes a while).
  if [ "$(stat -c %U "$PGDATA")" != postgres ]; then
    chown -R postgres:postgres "$PGDATA"
  fi
  chmod 0700 "$PGDATA"
  if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then
    mkdir -p "$POSTGRES_INITDB_WALDIR"
    chown postgres:postgres "$POSTGRES_INITDB_WALDIR"
    chmod 0700 "$POSTGRES_INITDB_WALDIR"
  fi
}

# --- first start ------------------------------------------------------------
has_cluster() { [ -s "$PGDATA/PG_VERSION" ]; }

check_auth_settings() {
  local method=$POSTGRES_HOST_AUTH_METHOD
  if [ -z "$POSTGRES_PASSWORD" ] && [ "$method" != trust ]; then
    cat >&2 <<'MSG'
error: the database is not initialised and no superuser password is given.
  Set POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE) to a non-empty value, e.g.
    docker run -e POSTGRES_PASSWORD=secret ...
  or, to accept every connection without a password (tests only, never
  anything reachable), set POSTGRES_HOST_AUTH_METHOD=trust.
MSG
    exit 1
  fi
  if [ "$method" = trust ]; then
    log "warning: POSTGRES_HOST_AUTH_METHOD=trust: any client that reaches the port connects without a password" >&2
  fi
}

run_initdb() {
  local -a extra=()
  # Shell words, so that quoted values with spaces survive.
  eval "extra=( ${POSTGRES_INITDB_ARGS} )"
  local -a args=(--pgdata="$PGDATA" --username="$POSTGRES_USER" --auth-local=trust --auth-host=trust)
  [ -z "${POSTGRES_INITDB_WALDIR:-}" ] || args+=(--waldir="$POSTGRES_INITDB_WALDIR")
  log "initdb: $PGDATA (superuser $POSTGRES_USER)"
  initdb "${args[@]}" "${extra[@]}"
}

# psql against the temporary server, over its Unix socket.
psql_local() {
  psql -X -q -v ON_ERROR_STOP=1 --no-password --username="$POSTGRES_USER" "$@"
}

# For sourced init scripts: run SQL (stdin or psql arguments) in POSTGRES_DB.
docker_process_sql() {
  psql_local --dbname="$POSTGRES_DB" "$@"
}

start_temp_server() {
  # Unix socket only: nothing outside the container can connect during init.
  pg_ctl --pgdata="$PGDATA" --wait --silent \
    --options="-c listen_addresses='' -p ${PGPORT:-5432}" start
}

stop_temp_server() {
  pg_ctl --pgdata="$PGDATA" --wait --silent --mode=fast stop
}

# The superuser's password and the database, without the password ever
# being on a command line or in a statement log.
set_password_and_db() {
  local encryption=scram-sha-256
  [ "$POSTGRES_HOST_AUTH_METHOD" != md5 ] || encryption=md5
  if [ -n "$POSTGRES_PASSWORD" ]; then
    psql_local --dbname=postgres <<SQL
SET log_statement = 'none';
SET log_min_duration_statement = -1;
SET password_encryption = '$encryption';
\\getenv pw POSTGRES_PASSWORD
\\getenv su POSTGRES_USER
ALTER ROLE :"su" WITH PASSWORD :'pw';
SQL
  fi
  if [ "$POSTGRES_DB" != postgres ]; then
    psql_local --dbname=postgres <<'SQL'
\getenv db POSTGRES_DB
SELECT format('CREATE DATABASE %I', :'db')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
SQL
  fi
}

run_init_scripts() {
  local f
  shopt -s nullglob
  for f in /docker-entrypoint-initdb.d/*; do
    case $f in
      *.sh)
        if [ -x "$f" ]; then
          log "initdb.d: running $f"
          "$f"
        else
          log "initdb.d: sourcing $f"
          set +u
          # shellcheck source=/dev/null
          . "$f"
          set -u
        fi
        ;;
      *.sql) log "initdb.d: $f"; docker_process_sql -f "$f" ;;
      *.sql.gz) log "initdb.d: $f"; gzip -dc "$f" | docker_process_sql ;;
      *.sql.xz) log "initdb.d: $f"; xz -dc "$f" | docker_process_sql ;;
      *.sql.zst) log "initdb.d: $f"; zstd -dc "$f" | docker_process_sql ;;
      *) log "initdb.d: ignoring $f" ;;
    esac
  done
  shopt -u nullglob
}

initialise() {
  check_auth_settings
  run_initdb
  printf 'host all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD" >>"$PGDATA/pg_hba.conf"
  # Clients inside the container may need the password too (scripts using -h).
  export PGPASSWORD="${PGPASSWORD:-$POSTGRES_PASSWORD}"
  start_temp_server
  set_password_and_db
  run_init_scripts
  stop_temp_server
  unset PGPASSWORD
  log "PostgreSQL init process complete; ready for start up."
}

main() {
  [ $# -gt 0 ] || set -- postgres
  # `docker run IMAGE -c x=y` means the server with those options.
  if [ "${1:0:1}" = - ]; then
    set -- postgres "$@"
  fi
  if [ "$1" != postgres ] || only_asks "${@:2}"; then
    exec "$@"
  fi

  export PGDATA=${PGDATA:-$(default_pgdata)}
  load_var POSTGRES_PASSWORD
  load_var POSTGRES_USER postgres
  load_var POSTGRES_DB "$POSTGRES_USER"
  load_var POSTGRES_INITDB_ARGS
  export POSTGRES_HOST_AUTH_METHOD=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}

  if [ "$(id -u)" = 0 ]; then
    prepare_as_root
    # Debian has no gosu; setpriv (util-linux) switches without a fork, so
    # the server still ends up as PID 1.
    export HOME=/var/lib/postgresql
    exec setpriv --reuid=postgres --regid=postgres --init-groups -- "${BASH_SOURCE[0]}" "$@"
  fi

  if has_cluster; then
    log "PostgreSQL data directory $PGDATA holds a cluster (version $(<"$PGDATA/PG_VERSION")); skipping initialisation"
  else
    initialise
  fi
  exec "$@"
}

main "$@"
