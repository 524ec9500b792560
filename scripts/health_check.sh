#!/usr/bin/env bash
# health_check.sh: checks a running aragora serve (docs/DEPLOY.md, "Health checks").
# Prints one line and exits like a Nagios plugin: 0 OK, 1 WARNING, 2 CRITICAL,
# 3 UNKNOWN (curl or jq missing).
#
#   scripts/health_check.sh [URL]        # URL default $ARAGORA_URL or http://localhost:8080
set -uo pipefail

url=${1:-${ARAGORA_URL:-http://localhost:8080}}
for tool in curl jq; do
	command -v "$tool" >/dev/null || {
		echo "UNKNOWN: $tool not found"
		exit 3
	}
done

# /api/health answers 503 when the database check fails: keep the body.
if ! health=$(curl -s --max-time 5 "$url/api/health"); then
	echo "CRITICAL: Health endpoint unreachable ($url/api/health)"
	exit 2
fi
if ! status=$(jq -er '.status' <<<"$health" 2>/dev/null); then
	echo "CRITICAL: Health endpoint answered no health document ($url/api/health)"
	exit 2
fi

db=$(jq -r '.checks.database.status // "missing"' <<<"$health")
redis=$(jq -r '.checks.redis.status // "missing"' <<<"$health")
ws=$(jq -r '.checks.websocket.status // "missing"' <<<"$health")
open=$(jq -r '.checks.circuit_breakers.open // 0' <<<"$health")
version=$(jq -r '.version // "?"' <<<"$health")
detail="version=$version database=$db redis=$redis websocket=$ws open_breakers=$open"

if [[ $status == unhealthy || $db != ok ]]; then
	echo "CRITICAL: Service $status - database $db ($detail)"
	exit 2
fi
if [[ $status != healthy ]]; then
	echo "WARNING: Service degraded - $status ($detail)"
	exit 1
fi
ready=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$url/api/health/ready")
if [[ $ready != 200 ]]; then
	echo "WARNING: Service not ready (HTTP $ready from /api/health/ready; $detail)"
	exit 1
fi
if ((open > 0)); then
	echo "WARNING: $open agent circuit breaker(s) open ($detail)"
	exit 1
fi
echo "OK: All checks passed ($detail)"
exit 0
