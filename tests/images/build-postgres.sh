#!/usr/bin/env bash
# Build the local PostgreSQL test images (tests/images/postgres/).
#
#   tests/images/build-postgres.sh [MAJOR...]      default: 15 17
#
# No container registry is reachable, so tests cannot pull the official
# `postgres` image; this builds a stand-in from Debian's PostgreSQL packages
# on the project's Debian test image (tests/images/build.sh), with an
# entrypoint that honours the official image's contract (see
# tests/images/postgres/README.md). Majors and suites: 15 on bookworm, 17 on
# trixie.
#
# Each image is tagged darevel-test/postgres:MAJOR-HASH, HASH being a hash of
# the recipe (this script, the Dockerfile, the entrypoint, the major, the
# suite and the base image's ID), and darevel-test/postgres:MAJOR as a stable
# alias. When the hash tag exists the build is skipped. Prints one image name
# per major on stdout; progress goes to stderr.
#
# Environment:
#   DAREVEL_PG_IMAGE_REPO       image repository (default darevel-test/postgres)
#   DAREVEL_IMAGE_REPO          base image repository (default darevel-test/debian)
#   DAREVEL_IMAGE_REBUILD=1     build even when the tag exists
#   TMPDIR_BASE                 where the build lock lives (/var/tmp)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CONTEXT=$HERE/postgres
REPO=${DAREVEL_PG_IMAGE_REPO:-darevel-test/postgres}
BASE_REPO=${DAREVEL_IMAGE_REPO:-darevel-test/debian}
TMPDIR_BASE=${TMPDIR_BASE:-/var/tmp}
RECIPE_FILES=("$HERE/build-postgres.sh" "$CONTEXT/Dockerfile" "$CONTEXT/docker-entrypoint.sh")

log() { echo "postgres-images: $*" >&2; }
die() { echo "postgres-images: error: $*" >&2; exit 1; }

# The Debian suite whose archive ships MAJOR.
suite_for() {
  case $1 in
    15) echo bookworm ;;
    17) echo trixie ;;
    *) return 1 ;;
  esac
}

# The official image's layout: before 18 the volume is the data directory;
# from 18 on the volume is /var/lib/postgresql and the data lives below it.
pgdata_for() {
  if [ "$1" -ge 18 ]; then echo "/var/lib/postgresql/$1/docker"; else echo /var/lib/postgresql/data; fi
}
volume_for() {
  if [ "$1" -ge 18 ]; then echo /var/lib/postgresql; else echo /var/lib/postgresql/data; fi
}

image_id() { docker image inspect -f '{{.Id}}' "$1" 2>/dev/null; }

recipe_hash() {
  local major=$1 suite=$2 base_id=$3
  {
    cat "${RECIPE_FILES[@]}"
    printf 'major=%s\nsuite=%s\nbase=%s\n' "$major" "$suite" "$base_id"
  } | sha256sum | cut -c1-12
}

# Drop the hash tags of earlier recipes for MAJOR (ignored if still in use).
prune_old() {
  local major=$1 keep=$2 ref
  docker image ls --format '{{.Repository}}:{{.Tag}}' "$REPO" | while read -r ref; do
    case $ref in
      "$REPO:$major-"*) [ "$ref" = "$keep" ] || docker rmi "$ref" >/dev/null 2>&1 || true ;;
    esac
  done
}

build_one() {
  local major=$1 suite base base_id hash tag alias t0=$SECONDS
  suite=$(suite_for "$major")
  base=$BASE_REPO:$suite
  if ! base_id=$(image_id "$base"); then
    log "base image $base missing; building it"
    "$HERE/build.sh" "$suite" >/dev/null
    base_id=$(image_id "$base") || die "tests/images/build.sh did not produce $base"
  fi
  hash=$(recipe_hash "$major" "$suite" "$base_id")
  tag=$REPO:$major-$hash
  alias=$REPO:$major
  if [ "${DAREVEL_IMAGE_REBUILD:-0}" != 1 ] && [ "$(image_id "$tag" || true)" != "" ]; then
    # Keep the alias on this recipe even if someone retagged it.
    [ "$(image_id "$tag")" = "$(image_id "$alias" || true)" ] || docker tag "$tag" "$alias"
  else
    log "building $tag from $base (PostgreSQL $major)"
    # The hash covers the base image's ID; the alias must still point at it.
    [ "$(image_id "$base")" = "$base_id" ] || die "$base changed during the build; run again"
    if ! docker build --quiet=false --pull=false \
        --build-arg "SUITE=$suite" \
        --build-arg "PG_MAJOR=$major" \
        --build-arg "PG_DATA=$(pgdata_for "$major")" \
        --build-arg "PG_VOLUME=$(volume_for "$major")" \
        --label "org.darevel.recipe=$hash" \
        --label "org.darevel.base=$base_id" \
        -t "$tag" "$CONTEXT" >&2; then
      die "docker build of $tag failed"
    fi
    docker tag "$tag" "$alias"
    prune_old "$major" "$tag"
    log "built $tag in $((SECONDS - t0)) s"
  fi
  echo "$tag"
}

main() {
  [ $# -gt 0 ] || set -- 15 17
  local major
  for major in "$@"; do
    suite_for "$major" >/dev/null || die "no Debian suite known for PostgreSQL '$major' (known: 15, 17)"
  done
  "$ROOT/scripts/docker-engine.sh"
  for major in "$@"; do
    build_one "$major"
  done
}

# One build at a time on a machine (parallel CI jobs share the engine). Not
# build.sh's lock: this script may call build.sh, which takes that one.
mkdir -p "$TMPDIR_BASE"
exec 9>"$TMPDIR_BASE/darevel-postgres-images.lock"
flock 9
main "$@"
