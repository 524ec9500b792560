#!/usr/bin/env bash
# Runs the runbook's commands (docs/operations.md: Quick Reference "Key
# Commands", "Health Checks" with health_check.sh verbatim, the read-only
# lines of Common Issues 1-6, "Debate State Corruption" and the manual
# graceful restart of Recovery Procedures 1) against `aragora serve`.
#
# Run by TestE2ERunbookCommands with `aragora` on PATH and WORK (a scratch
# directory), API_PORT, WS_PORT and ISOLATED set. With ISOLATED=1 it runs
# in private network and PID namespaces (unshare -rnpf --mount-proc), so the
# commands run exactly as written (port 8080, `pgrep -f "aragora serve"`).
# Otherwise localhost:8080 is rewritten to localhost:$API_PORT and the
# pgrep-based recipes are skipped. Lines the runbook means for other hosts
# or tools (journalctl, systemctl, redis-cli, psql) are not run.
set -u
fail() { echo "FAIL: $*"; exit 1; }

if [ "${ISOLATED:-0}" = 1 ]; then
	ip link set lo up || fail "loopback"
fi
export ARAGORA_DATA_DIR="$WORK/data" ARAGORA_LOCAL_ADMIN=1 ARAGORA_LOG_DIR="$WORK/log"
export ARAGORA_DEMO_DELAY_MS=50
cd "$WORK" || fail "cd"

HOST=127.0.0.1
if [ "${ISOLATED:-0}" = 1 ]; then
	HOST=0.0.0.0 # as the restart recipe's server binds
fi
aragora serve --api-port "$API_PORT" --ws-port "$WS_PORT" --host "$HOST" >"$WORK/serve1.out" 2>&1 &
for _ in $(seq 1 300); do
	curl -sf "http://localhost:$API_PORT/api/health/ready" >/dev/null && break
	sleep 0.2
done
curl -sf "http://localhost:$API_PORT/api/health/ready" >/dev/null || { cat "$WORK/serve1.out"; fail "server not ready"; }

# rb CMD: runs a runbook command line (with the port rewritten when not
# isolated), requires exit 0 and leaves its stdout in $OUT.
rb() {
	local line=$1
	if [ "$API_PORT" != 8080 ]; then
		line=${line//localhost:8080/localhost:$API_PORT}
	fi
	echo "\$ $1"
	# Run from a file: a `bash -c '...aragora...'` command line would match
	# the runbook's own `pgrep -f aragora` (docs/operations.md).
	printf '%s\n' "$line" >"$WORK/cmd.sh"
	bash "$WORK/cmd.sh" >"$WORK/stdout" 2>"$WORK/stderr" || { cat "$WORK/stdout" "$WORK/stderr"; fail "exit status of: $1"; }
	OUT=$(cat "$WORK/stdout")
	printf '%s\n' "$OUT" | head -c 600
	echo
}
# shape JQ: requires the jq expression to be true for $OUT.
shape() {
	printf '%s' "$OUT" | jq -e "$1" >/dev/null || fail "shape $1 of: $OUT"
}

# A debate to look at.
curl -sf -X POST "http://localhost:$API_PORT/api/debates" -d '{"topic":"Runbook check: adopt Postgres?","rounds":1}' >/dev/null || fail "create debate"

echo "== Key Commands"
rb 'curl http://localhost:8080/api/health'
shape '.status == "healthy" and (.checks.database.status == "ok") and (.checks | has("redis") and has("websocket") and has("circuit_breakers") and has("memory_mb") and has("active_debates"))'
rb 'curl http://localhost:8080/api/ws/stats'
shape '(.connections | type) == "number" and .max_connections > 0'
rb 'curl http://localhost:8080/api/rate-limits/status'
shape '.enabled == true and (.client.classes | has("general"))'

echo "== Health Checks"
rb 'curl http://localhost:8080/api/health | jq'
shape '.status == "healthy"'
cat >"$WORK/health_check.sh" <<'SCRIPT'
#!/bin/bash
# health_check.sh

HEALTH=$(curl -sf http://localhost:8080/api/health)
if [ $? -ne 0 ]; then
  echo "CRITICAL: Health endpoint unreachable"
  exit 2
fi

STATUS=$(echo $HEALTH | jq -r '.status')
if [ "$STATUS" != "healthy" ]; then
  echo "WARNING: Service degraded - $STATUS"
  exit 1
fi

# Check component health
DB_STATUS=$(echo $HEALTH | jq -r '.checks.database.status')
if [ "$DB_STATUS" != "ok" ]; then
  echo "WARNING: Database check failed"
  exit 1
fi

echo "OK: All checks passed"
exit 0
SCRIPT
if [ "$API_PORT" != 8080 ]; then
	sed -i "s/localhost:8080/localhost:$API_PORT/" "$WORK/health_check.sh"
fi
echo '$ bash health_check.sh'
bash "$WORK/health_check.sh" || fail "health_check.sh"

echo "== Common Issues 1: WebSocket Disconnections"
rb "curl http://localhost:8080/api/health | jq '.checks.websocket'"
shape '.status == "ok" and (.connections | type) == "number" and .max_connections > 0'
rb 'curl http://localhost:8080/api/ws/stats'
shape 'has("by_listener")'
if [ "${ISOLATED:-0}" = 1 ]; then
	rb 'kill -USR1 $(pgrep -f aragora)  # Graceful reload if supported'
	sleep 0.5
	rb 'curl http://localhost:8080/api/health'
	shape '.status == "healthy"'
fi

echo "== Common Issues 2: Rate Limit False Positives"
rb 'curl http://localhost:8080/api/rate-limits/config'
shape '.algorithm == "gcra" and .window_seconds == 60 and .classes.debate_create.rpm == 10'
rb "grep \"rate_limit\" $ARAGORA_LOG_DIR/api.log | tail -20"

echo "== Common Issues 3: Agent Timeout Handling"
rb 'curl http://localhost:8080/api/agents/circuit-breakers'
shape 'type == "object"'
rb 'curl http://localhost:8080/api/metrics | grep agent_response'
[ -n "$OUT" ] || fail "no agent_response series"
rb 'curl -X POST http://localhost:8080/api/agents/claude/reset-circuit'
shape '.agent == "claude" and .state == "closed"'
rb 'curl -X POST http://localhost:8080/api/debug/agent-test \
  -H "Content-Type: application/json" \
  -d '"'"'{"agent": "claude", "prompt": "Say hello"}'"'"
# Without ANTHROPIC_API_KEY the agent is known but unavailable.
shape '.error.code == "agent_unavailable" and .error.details.agent == "claude"'
rb "curl http://localhost:8080/api/debug/agent-test -d '{\"agent\":\"demo-analyst\"}'"
shape '.ok == true and .agent == "demo-analyst"'

echo "== Common Issues 5: Memory Pressure"
if [ "${ISOLATED:-0}" = 1 ]; then
	rb 'ps aux | grep aragora'
	rb 'cat /proc/$(pgrep -f aragora)/status | grep -E "VmRSS|VmSize"'
fi

echo "== Common Issues 6: Consensus Failures"
rb 'curl http://localhost:8080/api/metrics | grep consensus'
[ -n "$OUT" ] || fail "no consensus series"
rb 'curl http://localhost:8080/api/debates?status=no_consensus&limit=10; wait'
shape 'type == "array"'

echo "== Debate State Corruption"
rb "curl http://localhost:8080/api/debates?status=running | jq '[.[] | select(.duration_seconds > 600)]'"
shape '. == []'
rb 'curl -X POST http://localhost:8080/api/admin/cleanup-stale-debates'
shape '(.threshold_seconds | type) == "number" and (.timed_out | type) == "array"'

# The runbook's header lines carry <access_token> / $ADMIN_TOKEN: a real
# token from `aragora token create`, minted again after each rotation or
# revocation. Header-less admin lines rely on ARAGORA_LOCAL_ADMIN=1.
aragora users create --email admin@example.com --role owner --generate-password >"$WORK/user.out" 2>&1 || { cat "$WORK/user.out"; fail "users create"; }
mint() { aragora token create --user "$1" 2>"$WORK/mint.err" || { cat "$WORK/mint.err"; fail "token create"; }; }
ACCESS_TOKEN=$(mint admin@example.com)
# rbt CMD: rb with <access_token> replaced by the current token.
rbt() { rb "${1//<access_token>/$ACCESS_TOKEN}"; }
code() { curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $1" "http://localhost:$API_PORT$2"; }

echo "== Admin Console Access Issues"
rbt 'curl -H "Authorization: Bearer <access_token>" http://localhost:8080/api/auth/me'
shape '.user.email == "admin@example.com" and .user.role == "owner" and .auth.method == "jwt" and .api_key == null'
rb 'curl http://localhost:8080/api/health'
shape '.status == "healthy"'
rbt 'curl -H "Authorization: Bearer <access_token>" http://localhost:8080/api/system/circuit-breakers'
shape '(.summary.total | type) == "number" and (.breakers | type) == "object"'
rbt 'curl -H "Authorization: Bearer <access_token>" http://localhost:8080/api/system/errors?limit=5'
shape '.buffer_size == 500 and (.errors | type) == "array"'
rbt 'curl -H "Authorization: Bearer <access_token>" http://localhost:8080/api/system/rate-limits'
shape '(.top_limited | type) == "array" and has("redis") and has("classes")'

echo "== Developer Portal Issues"
rbt 'curl -H "Authorization: Bearer <access_token>" http://localhost:8080/api/auth/me'
shape '.user.role == "owner"'
rbt 'curl -X POST -H "Authorization: Bearer <access_token>" http://localhost:8080/api/auth/api-key'
shape '(.api_key | startswith("ara_")) and (.prefix | startswith("ara_")) and .replaced_prefix == null'
API_KEY=$(printf '%s' "$OUT" | jq -r .api_key)
[ "$(code "$API_KEY" /api/auth/me)" = 200 ] || fail "the new API key does not authenticate"
rbt 'curl -X DELETE -H "Authorization: Bearer <access_token>" http://localhost:8080/api/auth/api-key'
shape '.revoked == true and (.prefix | startswith("ara_"))'
[ "$(code "$API_KEY" /api/auth/me)" = 401 ] || fail "a deleted API key still authenticates"
rbt 'curl -H "Authorization: Bearer <access_token>" http://localhost:8080/api/billing/usage'
shape '(.period.label | test("^[0-9]{4}-[0-9]{2}$")) and (.tokens.input | type) == "number" and (.by_provider | type) == "array"'

echo "== Common Issues 5: Memory Pressure (cache cleanup)"
rb 'curl -X POST http://localhost:8080/api/admin/cleanup-caches'
shape '(.freed | has("event_rings") and has("receipts") and has("rate_limit_buckets") and has("idempotency_records") and has("denylist_entries")) and (.heap_inuse_after_bytes | type) == "number"'

echo "== Security Incident Response: Containment"
OLD_TOKEN=$ACCESS_TOKEN
rb 'curl -X POST http://localhost:8080/api/admin/rotate-keys'
shape '(.kid | startswith("k")) and (.previous_kid | type) == "string" and .previous_valid_until == null'
[ "$(code "$OLD_TOKEN" /api/auth/me)" = 401 ] || fail "a token of the retired key still works"
ACCESS_TOKEN=$(mint admin@example.com)
[ "$(code "$ACCESS_TOKEN" /api/system/errors)" = 200 ] || fail "a token minted after rotation is refused"

echo "== Security Incident Response: Revoke Access"
OLD_TOKEN=$ACCESS_TOKEN
rb 'curl -X POST http://localhost:8080/api/admin/revoke-all-tokens'
shape '.token_generation >= 1 and (.revoked_before | type) == "string"'
[ "$(code "$OLD_TOKEN" /api/auth/me)" = 401 ] || fail "a token issued before revoke-all still works"
rb 'curl -X POST http://localhost:8080/api/admin/force-password-reset'
shape '.users_affected >= 1'
ACCESS_TOKEN=$(mint admin@example.com)
[ "$(code "$ACCESS_TOKEN" /api/system/errors)" = 403 ] || fail "force-password-reset did not restrict the owner"

echo "== Token Revocation"
aragora users create --email responder@example.com --role admin --generate-password >"$WORK/user.out" 2>&1 || { cat "$WORK/user.out"; fail "users create responder"; }
ADMIN_TOKEN=$(mint responder@example.com)
export ADMIN_TOKEN
rb 'curl -H "Authorization: Bearer $ADMIN_TOKEN" \
  http://localhost:8080/api/admin/audit-log?limit=100'
shape '(.entries | length) > 0 and any(.entries[]; .action == "admin.rotate_keys" and .actor.type == "local") and any(.entries[]; .action == "admin.revoke_all_tokens")'
rb 'curl -X POST -H "Authorization: Bearer $ADMIN_TOKEN" \
  http://localhost:8080/api/admin/revoke-token \
  -d '"'"'{"token_id": "tok_xyz123"}'"'"''
shape '.token_id == "tok_xyz123" and .revoked == true and .known == false'
rb 'curl http://localhost:8080/api/admin/revoked-tokens'
shape '.token_generation >= 1 and any(.revoked[]; .token_id == "tok_xyz123")'

echo "== Recovery Procedures 1: Service Restart (manual)"
if [ "${ISOLATED:-0}" = 1 ]; then
	# The runbook's recipe, verbatim; the new process binds while the old
	# one drains (SO_REUSEPORT).
	rb 'kill -TERM $(pgrep -f "aragora serve")
sleep 5
aragora serve --api-port 8080 --ws-port 8766 &'
	for _ in $(seq 1 300); do
		curl -sf http://localhost:8080/api/health/ready >/dev/null && break
		sleep 0.2
	done
	rb 'curl http://localhost:8080/api/health'
	shape '.status == "healthy"'
	for _ in $(seq 1 300); do
		[ "$(pgrep -fc 'aragora serve')" = 1 ] && break
		sleep 0.2
	done
	[ "$(pgrep -fc 'aragora serve')" = 1 ] || fail "the old server did not exit"
fi

echo "RUNBOOK CHECKS PASSED"
