#!/usr/bin/env bash
# depcheck.sh enforces the dependency direction of the code base (layers
# L0 agent, similarity, receipt, evidence, clientip; consensus; L1 store, memory, ratelimit,
# breaker, agent/agenttest, agent/demo; L2 debate and webhook, then nomic; L3 backends,
# provider adapters, metrics and tracing; L3½ lifecycle (the debate lifecycle: over
# the store and event ports, no HTTP, no driver); L4 server (the HTTP/WS
# edge); L5 service (the composition), then cli (the CLI), cmd, examples and the
# benchmark harness internal/bench on top).
# It checks only the packages that exist, so it can run while the tree grows.
#
# Usage: scripts/depcheck.sh      (from anywhere inside the repository)
# Exit status: 0 when every rule holds, 1 otherwise (each violation printed).
set -euo pipefail
cd "$(dirname "$0")/.."

mod=$(go list -m)
fail=0
violation() {
	echo "depcheck: FAIL: $*" >&2
	fail=1
}

# existing prints ./dir for each argument that is a Go package directory.
existing() {
	local d
	for d in "$@"; do
		if compgen -G "$d/*.go" >/dev/null; then
			echo "./$d"
		fi
	done
}

drivers='modernc|pgx|go-redis|client_golang|websocket|net/http/pprof|getsentry'
backends="$mod/(store/(sqlitestore|pgstore|redisstore)|ratelimit/redislimit)"
adapters="$mod/agent/(anthropic|openai|gemini|mistral|xai|deepseek|ollama|openrouter)"
# otelsdk matches the OpenTelemetry SDK, exporters, instrumentation
# libraries and the OTLP protobuf: only the tracing adapter links them.
otelsdk='^go[.]opentelemetry[.]io/(otel/sdk|otel/exporters|contrib|proto)(/|$)'

# Rule 1: the core (L0-L2) links no driver, server library, pprof or Sentry,
# no OpenTelemetry at all (not even the API: tracing turns the engine's
# events and agent middleware into spans from outside), and none of our
# backends, adapters, metrics, tracing or server.
mapfile -t core < <(existing agent similarity receipt evidence clientip consensus store memory ratelimit breaker debate webhook nomic)
if ((${#core[@]})); then
	bad=$(go list -e -deps "${core[@]}" | grep -E "$drivers|^go\.opentelemetry\.io/|^$backends\$|^$adapters\$|^$mod/(server|metrics|tracing|store/memstore|cmd/.*)\$" || true)
	[[ -z $bad ]] || violation "core packages (${core[*]}) depend on: $(echo "$bad" | tr '\n' ' ')"
fi

# Rule 2: agent, similarity, receipt, evidence and clientip import only
# the standard library (and each other, and internal/enum, the text form
# of the closed sets of names).
mapfile -t l0 < <(existing agent similarity receipt evidence clientip)
if ((${#l0[@]})); then
	bad=$(go list -e -deps -f '{{if not .Standard}}{{.ImportPath}}{{end}}' "${l0[@]}" |
		grep -vxE "$mod/(agent|similarity|receipt|evidence|clientip|internal/enum)" || true)
	[[ -z $bad ]] || violation "stdlib-only packages (${l0[*]}) depend on: $(echo "$bad" | tr '\n' ' ')"
fi

# Rule 3: every import between known packages goes to a strictly lower
# layer. Packages not in the map (test helpers such as store/storetest,
# internal helpers, agent/registry) are not checked here.
go list -e -f '{{.ImportPath}} {{join .Imports " "}}' ./... | awk -v mod="$mod" '
function layer(p) {
	if (index(p, mod "/") != 1) return -1
	p = substr(p, length(mod) + 2)
	if (p ~ /^(agent|similarity|receipt|evidence|clientip)$/) return 0
	if (p == "consensus") return 1
	if (p ~ /^(store|memory|ratelimit|breaker|agent\/agenttest|agent\/demo)$/) return 2
	if (p == "debate" || p == "webhook") return 3
	if (p == "nomic") return 4
	if (p ~ /^(store\/[a-z]+store|ratelimit\/redislimit|metrics|tracing|agent\/(anthropic|openai|gemini|mistral|xai|deepseek|ollama|openrouter))$/) return 5
	if (p == "lifecycle") return 6
	if (p == "server") return 7
	if (p == "service") return 8
	if (p ~ /^(cmd|examples)\// || p == "cli" || p == "internal/bench") return 9
	return -1
}
{
	from = layer($1)
	if (from < 0) next
	for (i = 2; i <= NF; i++) {
		to = layer($i)
		if (to < 0) continue
		if (to >= from && from < 9) {
			printf "depcheck: FAIL: %s (layer %d) imports %s (layer %d): imports must go to lower layers\n", $1, from, $i, to > "/dev/stderr"
			bad = 1
		}
	}
}
END { exit bad }' || fail=1

# Rule 4: only the composition (service), cli, cmd/, examples/ and the benchmark
# harness (internal/bench, used by cmd/benchall alone) link more than one
# backend, and a backend never imports debate, nomic, lifecycle or server.
while read -r pkg deps; do
	case $pkg in "$mod"/service | "$mod"/cli | "$mod"/cmd/* | "$mod"/examples/* | "$mod"/internal/bench) continue ;; esac
	n=$(tr ' ' '\n' <<<"$deps" | grep -cxE "$backends" || true)
	((n < 2)) || violation "$pkg links $n backends: $(tr ' ' '\n' <<<"$deps" | grep -xE "$backends" | tr '\n' ' ')"
	if [[ $pkg =~ ^$backends$ ]]; then
		bad=$(tr ' ' '\n' <<<"$deps" | grep -xE "$mod/(debate|nomic|lifecycle|server|service)" || true)
		[[ -z $bad ]] || violation "backend $pkg depends on $(echo "$bad" | tr '\n' ' ')"
	fi
done < <(go list -e -f '{{.ImportPath}} {{join .Deps " "}}' ./...)

# Rule 5: server depends on ports only: no backend (memstore included), no
# provider adapter, no Prometheus, no error reporter (Sentry), no tracing
# (it names spans through Config.OnRoute) or OpenTelemetry, no driver.
if compgen -G "server/*.go" >/dev/null; then
	bad=$(go list -e -deps ./server | grep -E "^$backends\$|^$adapters\$|^$mod/(store/memstore|metrics|tracing|internal/errreport)\$|^go\.opentelemetry\.io/|modernc|pgx|go-redis|client_golang|getsentry" || true)
	[[ -z $bad ]] || violation "server depends on: $(echo "$bad" | tr '\n' ' ')"
fi

# Rule 6: the benchmark harness links every backend and the server, so only
# the benchmark command may import it.
bad=$(go list -e -f '{{.ImportPath}} {{join .Imports " "}}' ./... |
	awk -v h="$mod/internal/bench" -v c="$mod/cmd/benchall" '$1 != c && $1 != h { for (i = 2; i <= NF; i++) if ($i == h) print $1 }')
[[ -z $bad ]] || violation "only cmd/benchall may import internal/bench; imported by: $(echo "$bad" | tr '\n' ' ')"

# Rule 7: the lifecycle is below the server: no HTTP, no backend, no
# adapter, no driver, no Prometheus, no tracing or OpenTelemetry (its
# Config.Tracer hooks are plain Go), no server or composition.
if compgen -G "lifecycle/*.go" >/dev/null; then
	bad=$(go list -e -deps ./lifecycle | grep -E "^$backends\$|^$adapters\$|^$mod/(store/memstore|metrics|tracing|server|service|agent/registry)\$|^go\.opentelemetry\.io/|^net/http\$|$drivers" || true)
	[[ -z $bad ]] || violation "lifecycle depends on: $(echo "$bad" | tr '\n' ' ')"
fi

# Rule 8: nothing below the composition imports it, and the CLI (cli,
# cmd/aragora) reaches the server only through it.
bad=$(go list -e -f '{{.ImportPath}} {{join .Imports " "}}' ./... | awk -v mod="$mod" '
	$1 !~ "^" mod "/(cli|cmd|examples|internal/bench)(/|$)" { for (i = 2; i <= NF; i++) if ($i == mod "/service") print $1 }
	$1 == mod "/cmd/aragora" || $1 == mod "/cli" { for (i = 2; i <= NF; i++) if ($i == mod "/server") print $1 " imports server" }' || true)
[[ -z $bad ]] || violation "$(echo "$bad" | tr '\n' ' ')"

# Rule 9: the web console imports only the standard library: it talks to
# the API from the browser, never to the server's packages.
if compgen -G "console/*.go" >/dev/null; then
	bad=$(go list -e -deps -f '{{if not .Standard}}{{.ImportPath}}{{end}}' ./console | grep -vx "$mod/console" || true)
	[[ -z $bad ]] || violation "console depends on: $(echo "$bad" | tr '\n' ' ')"
fi

# Rule 10: the agent registry and the provider template (examples/provider,
# what a third party copies) stay on the agent layer: no store, backend,
# lifecycle, server, composition, metrics or driver, so that a provider
# plugs into the library, the CLI and the service alike.
mapfile -t plug < <(existing agent/registry examples/provider)
if ((${#plug[@]})); then
	bad=$(go list -e -deps "${plug[@]}" | grep -E "^$backends\$|^$mod/(store|store/memstore|lifecycle|server|service|metrics|debate)\$|$drivers" || true)
	[[ -z $bad ]] || violation "${plug[*]} depend on: $(echo "$bad" | tr '\n' ' ')"
fi

# Rule 11: only the tracing adapter (and its test receiver,
# tracing/tracingtest) imports the OpenTelemetry SDK, the exporters,
# otelhttp and the OTLP protobuf; the composition reaches them through it.
bad=$(go list -e -f '{{.ImportPath}} {{join .Imports " "}}' ./... | awk -v mod="$mod" -v re="$otelsdk" '
	$1 != mod "/tracing" && $1 != mod "/tracing/tracingtest" { for (i = 2; i <= NF; i++) if ($i ~ re) print $1 " imports " $i }' || true)
[[ -z $bad ]] || violation "$(echo "$bad" | tr '\n' ' ')"

# Rule 12: the peer and concurrent benchmarks (internal/bench/peerbench,
# internal/bench/enginebench with its fake providers, their measuring tools
# internal/bench/measure and the binaries cmd/benchpeer and
# cmd/benchconcurrent) link the engine and the demo agents only, as the
# Python process the peer one is compared to loads only its library: their
# peak RSS must not count backends.
leanpkgs=(internal/bench/measure internal/bench/peerbench internal/bench/enginebench cmd/benchpeer cmd/benchconcurrent)
mapfile -t lean < <(existing "${leanpkgs[@]}")
if ((${#lean[@]})); then
	nonstd='{{if not .Standard}}{{.ImportPath}}{{end}}'
	bad=$(go list -e -deps -f "$nonstd" "${lean[@]}" | grep -vxF -f <(go list -e -deps -f "$nonstd" ./debate ./agent/demo) |
		grep -vxE "$mod/($(IFS='|'; echo "${leanpkgs[*]}"))" || true)
	[[ -z $bad ]] || violation "${lean[*]} depend on more than the engine: $(echo "$bad" | tr '\n' ' ')"
fi

if ((fail)); then
	exit 1
fi
echo "depcheck: ok ($(go list ./... | wc -l | tr -d ' ') packages)"
