#!/usr/bin/env bash
# backup.sh: the daily backup of aragora (docs/DEPLOY.md, "Backups").
#
#   scripts/backup.sh                     # from cron: 15 3 * * * aragora /opt/aragora/current/scripts/backup.sh
#
# Reads the server's configuration (ARAGORA_DATABASE_URL, ARAGORA_DATA_DIR, ...)
# from the environment, or from ENV_FILE (default /etc/aragora/aragora.env)
# when that file exists and ARAGORA_DATABASE_URL is not set.
#   Postgres store: pg_dump -Fc of the schema ARAGORA_DB_SCHEMA (public), which
#                   holds every aragora table -> BACKUP_DIR/aragora_<stamp>.dump,
#                   checked with pg_restore --list.
#   SQLite store:   aragora backup --out BACKUP_DIR: consistent online copies of
#                   aragora.db, agent_elo.db and continuum.db (safe while serving).
#   Redis:          with BACKUP_REDIS=1, BGSAVE and a copy of REDIS_DUMP
#                   (/var/lib/redis/dump.rdb) -> BACKUP_DIR/redis_<stamp>.rdb.
# Backups older than RETENTION_DAYS (30) are deleted. Exit 0 on success,
# 1 on a failed backup, 2 on a configuration error.
set -euo pipefail

BACKUP_DIR=${BACKUP_DIR:-/backups/aragora}
RETENTION_DAYS=${RETENTION_DAYS:-30}
ENV_FILE=${ENV_FILE:-/etc/aragora/aragora.env}
ARAGORA_BIN=${ARAGORA_BIN:-$(command -v aragora || echo /opt/aragora/current/aragora)}
REDIS_DUMP=${REDIS_DUMP:-/var/lib/redis/dump.rdb}

log() { printf '%s backup: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }
die() { log "ERROR: $2" >&2; exit "$1"; }

if [[ -z ${ARAGORA_DATABASE_URL:-} && -r $ENV_FILE ]]; then
	set -a
	# shellcheck disable=SC1090
	. "$ENV_FILE"
	set +a
fi

# The store URL, as the server resolves it (docs/configuration.md).
db_url=${ARAGORA_DATABASE_URL:-}
if [[ -z $db_url && -n ${SUPABASE_URL:-} ]]; then
	[[ -n ${SUPABASE_DB_PASSWORD:-} ]] || die 2 "SUPABASE_URL is set without SUPABASE_DB_PASSWORD"
	ref=${SUPABASE_URL#*://}
	ref=${ref%%.*}
	db_url="postgres://postgres:${SUPABASE_DB_PASSWORD}@db.${ref}.supabase.co:5432/postgres?sslmode=require"
fi

mkdir -p "$BACKUP_DIR" || die 2 "cannot create BACKUP_DIR=$BACKUP_DIR"
stamp=$(date -u +%Y%m%d_%H%M%S)

case $db_url in
postgres://* | postgresql://*)
	command -v pg_dump >/dev/null || die 2 "pg_dump not found (apt-get install postgresql-client)"
	out="$BACKUP_DIR/aragora_${stamp}.dump"
	log "pg_dump -> $out"
	# Every table of aragora lives in ARAGORA_DB_SCHEMA (public by default):
	# dump that schema, not what else shares the database.
	pg_dump -Fc --no-owner --schema="${ARAGORA_DB_SCHEMA:-public}" --dbname="$db_url" --file="$out.partial" || {
		rm -f "$out.partial"
		die 1 "pg_dump failed"
	}
	pg_restore --list "$out.partial" >/dev/null || {
		rm -f "$out.partial"
		die 1 "the dump does not read back (pg_restore --list)"
	}
	mv "$out.partial" "$out"
	log "ok: $out ($(du -h "$out" | cut -f1))"
	;;
"" | sqlite://*)
	[[ -x $ARAGORA_BIN ]] || die 2 "aragora binary not found (set ARAGORA_BIN)"
	log "aragora backup --out $BACKUP_DIR"
	"$ARAGORA_BIN" backup --out "$BACKUP_DIR" || die 1 "aragora backup failed"
	;;
*)
	die 2 "unsupported ARAGORA_DATABASE_URL scheme: ${db_url%%://*}"
	;;
esac

if [[ ${BACKUP_REDIS:-0} == 1 ]]; then
	command -v redis-cli >/dev/null || die 2 "redis-cli not found"
	redis=(redis-cli)
	[[ -n ${ARAGORA_REDIS_URL:-} ]] && redis=(redis-cli -u "$ARAGORA_REDIS_URL")
	before=$("${redis[@]}" LASTSAVE)
	"${redis[@]}" BGSAVE >/dev/null || die 1 "redis BGSAVE failed"
	for _ in $(seq 1 60); do
		[[ $("${redis[@]}" LASTSAVE) != "$before" ]] && break
		sleep 1
	done
	cp "$REDIS_DUMP" "$BACKUP_DIR/redis_${stamp}.rdb" || die 1 "cannot copy $REDIS_DUMP"
	log "ok: $BACKUP_DIR/redis_${stamp}.rdb"
fi

# Retention: only our own files.
find "$BACKUP_DIR" -maxdepth 1 -type f \( -name 'aragora_*.dump' -o -name 'aragora_*.db' -o -name 'agent_elo_*.db' \
	-o -name 'continuum_*.db' -o -name 'redis_*.rdb' \) -mtime +"$RETENTION_DAYS" -print -delete |
	sed 's/^/removed (older than '"$RETENTION_DAYS"' days): /'
log "done"
