#!/usr/bin/env bash
# emergency_recovery.sh: recovery from a complete outage of aragora under
# systemd (docs/DEPLOY.md, "Emergency recovery"). Run as root.
#
#   scripts/emergency_recovery.sh [--dry-run] [--keep-redis]
#
# 1. Stop the service (graceful SIGTERM within TimeoutStopSec), then SIGKILL
#    what is left of `aragora serve` only; other aragora commands (a nomic
#    run, a tail of the logs) are not touched.
# 2. Clear caches: FLUSHDB of the Redis database in ARAGORA_REDIS_URL (deny-list
#    cache, rate-limit buckets: the store keeps revocations, so nothing is
#    lost); --keep-redis skips it. No lock file needs removing: the SQLite
#    lock is an flock that dies with its process, and a nomic lock whose pid is
#    dead is replaced by the next run.
# 3. Check Redis and Postgres; restart the one that does not answer.
# 4. Start with safe defaults through a runtime drop-in (gone at reboot):
#    ARAGORA_MAX_CONCURRENT_DEBATES=3, ARAGORA_RATE_LIMIT_DISABLED=1.
#    Remove it once stable: rm -r /run/systemd/system/aragora.service.d/emergency.conf
#    /run/aragora-emergency.env && systemctl daemon-reload && systemctl restart aragora
# 5. Wait until /api/health/ready answers 200 (60 s) and print /api/health.
set -uo pipefail

dry=0
flush=1
for a in "$@"; do
	case $a in
	--dry-run) dry=1 ;;
	--keep-redis) flush=0 ;;
	*)
		echo "usage: $0 [--dry-run] [--keep-redis]" >&2
		exit 2
		;;
	esac
done

ENV_FILE=${ENV_FILE:-/etc/aragora/aragora.env}
UNIT=${UNIT:-aragora}
# The command line of the server process (the nomic loop and log tails do not match).
SERVE_PATTERN=${SERVE_PATTERN:-aragora serve}
DROPIN_DIR=${DROPIN_DIR:-/run/systemd/system/$UNIT.service.d}
EMERGENCY_ENV=${EMERGENCY_ENV:-/run/aragora-emergency.env}
if [[ -r $ENV_FILE ]]; then
	set -a
	# shellcheck disable=SC1090
	. "$ENV_FILE"
	set +a
fi
url=${ARAGORA_URL:-http://localhost:${ARAGORA_API_PORT:-8080}}

step() { printf '\n== %s\n' "$*"; }
run() {
	echo "+ $*"
	((dry)) || "$@"
}

step "1. stop $UNIT"
run systemctl stop "$UNIT"
pids=$(pgrep -f "$SERVE_PATTERN" || true)
if [[ -n $pids ]]; then
	echo "still running after stop: $(echo "$pids" | tr '\n' ' ')"
	for p in $pids; do
		run kill -KILL "$p"
	done
fi

step "2. clear caches"
if [[ -n ${ARAGORA_REDIS_URL:-} ]] && ((flush)); then
	run redis-cli -u "$ARAGORA_REDIS_URL" FLUSHDB
else
	echo "skipped (no ARAGORA_REDIS_URL, or --keep-redis)"
fi

step "3. dependencies"
if [[ -n ${ARAGORA_REDIS_URL:-} ]]; then
	if redis-cli -u "$ARAGORA_REDIS_URL" ping >/dev/null 2>&1; then
		echo "redis: ok"
	else
		echo "redis: no answer"
		run systemctl restart redis-server
	fi
fi
case ${ARAGORA_DATABASE_URL:-} in
postgres://* | postgresql://*)
	if pg_isready -q -d "$ARAGORA_DATABASE_URL"; then
		echo "postgres: ok"
	else
		echo "postgres: no answer"
		run systemctl restart postgresql
	fi
	;;
*) echo "postgres: not configured (SQLite store)" ;;
esac

step "4. start with safe defaults"
if ((dry)); then
	echo "+ write $EMERGENCY_ENV and $DROPIN_DIR/emergency.conf"
else
	mkdir -p "$DROPIN_DIR"
	printf 'ARAGORA_MAX_CONCURRENT_DEBATES=3\nARAGORA_RATE_LIMIT_DISABLED=1\n' >"$EMERGENCY_ENV"
	printf '# emergency_recovery.sh: safe defaults, until removed\n[Service]\nEnvironmentFile=%s\n' "$EMERGENCY_ENV" >"$DROPIN_DIR/emergency.conf"
fi
run systemctl daemon-reload
run systemctl start "$UNIT"

step "5. verify"
if ((dry)); then
	echo "+ wait for $url/api/health/ready, then curl $url/api/health"
	exit 0
fi
for _ in $(seq 1 60); do
	if [[ $(curl -s --max-time 2 -o /dev/null -w '%{http_code}' "$url/api/health/ready") == 200 ]]; then
		curl -s --max-time 5 "$url/api/health"
		echo
		echo "recovered; remove the safe defaults when stable: rm $DROPIN_DIR/emergency.conf $EMERGENCY_ENV && systemctl daemon-reload && systemctl restart $UNIT"
		exit 0
	fi
	sleep 1
done
echo "NOT READY after 60 s: journalctl -u $UNIT -n 100 --no-pager" >&2
curl -s --max-time 5 "$url/api/health" >&2
exit 1
