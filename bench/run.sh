#!/usr/bin/env bash
# Runs Aragora's benchmark scenarios (issue 8). Usage, from the repo root:
#   bench/run.sh [scenario[,scenario...]|all] [runs]       e.g. bench/run.sh all 3
# Environment: ARAGORA_BIN (default /tmp/aragora-bench), BENCH_FANOUT
# (default 100,1000,10000), BENCH_REDIS, BENCH_POSTGRES (empty skips).
set -euo pipefail
cd "$(dirname "$0")/.."
scenario=${1:-all}
runs=${2:-3}
bin=${ARAGORA_BIN:-/tmp/aragora-bench}
# 10k WebSocket subscribers need ~10.1k descriptors in this process and in the server (each its own limit).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 11000 ]; then
	echo "run.sh: ulimit -n is $(ulimit -n); fanout of 10000 needs about 10100 per process (raise the hard limit)" >&2
fi
case ",$scenario," in
*,all,*|*,http,*|*,fanout,*)
	go build -o "$bin" ./cmd/aragora ;;
esac
go build -o /tmp/benchall ./cmd/benchall
# The peer and concurrent scenarios' runs exec these lean binaries (the engine, the demo
# agents and, for concurrent, the fake providers), found next to benchall.
go build -o /tmp/benchpeer ./cmd/benchpeer
go build -o /tmp/benchconcurrent ./cmd/benchconcurrent
exec /tmp/benchall -scenario "$scenario" -runs "$runs" -aragora "$bin" \
	-fanout "${BENCH_FANOUT:-100,1000,10000}" \
	-redis "${BENCH_REDIS-redis://127.0.0.1:6379/15}" \
	-postgres "${BENCH_POSTGRES-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}" \
	-md -out /tmp/bench-results.json
