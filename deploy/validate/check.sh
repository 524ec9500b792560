#!/usr/bin/env bash
# check.sh: the deployment checks of .ci/run (docs/DEPLOY.md, "How the
# deployment files are checked"). Run from anywhere:
#
#   deploy/validate/check.sh tools     # install what a fresh machine lacks
#   deploy/validate/check.sh systemd   # systemd-analyze verify of the unit
#   deploy/validate/check.sh docker    # the Dockerfile (docker build, or the same static build)
#   deploy/validate/check.sh test      # go vet + go test of this module (helm, k8s, rules, Prometheus, Sentry, scripts)
#
# Tools: helm from the Go module proxy at HELM_VERSION, cached in
# ARAGORA_CI_CACHE (default ~/.cache/aragora-ci); Debian packages otherwise.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

HELM_VERSION=${HELM_VERSION:-v3.21.4}
cache=${ARAGORA_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/aragora-ci}
helm_bin="$cache/helm-$HELM_VERSION/helm"

tools() {
	local pkgs=()
	command -v prometheus >/dev/null && command -v promtool >/dev/null || pkgs+=(prometheus)
	command -v redis-server >/dev/null || pkgs+=(redis-server)
	command -v shellcheck >/dev/null || pkgs+=(shellcheck)
	command -v sqlite3 >/dev/null || pkgs+=(sqlite3)
	command -v pg_dump >/dev/null && command -v pg_isready >/dev/null || pkgs+=(postgresql-client)
	if ((${#pkgs[@]})); then
		echo "installing ${pkgs[*]}"
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
	fi
	if [[ ! -x $helm_bin ]]; then
		echo "installing helm $HELM_VERSION (go install helm.sh/helm/v3/cmd/helm@$HELM_VERSION; cached in $cache)"
		GOBIN="$(dirname "$helm_bin")" GOFLAGS=-buildvcs=false go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
	fi
	echo "helm: $("$helm_bin" version --template '{{.Version}}' 2>/dev/null || echo "$HELM_VERSION")"
	prometheus --version 2>&1 | head -n 1
	echo "$(redis-server --version | cut -d' ' -f1-3), $(shellcheck --version | sed -n 2p), $(pg_dump --version)"
}

# systemd-analyze verify of deploy/systemd/aragora.service, with ExecStart
# pointed at an executable stand-in (verify checks that the file exists and
# is executable, not what it does).
systemd() {
	if ! command -v systemd-analyze >/dev/null; then
		echo "SKIP systemd-analyze verify: systemd-analyze is not installed on this machine"
		return 0
	fi
	local tmp
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' RETURN
	printf '#!/bin/sh\nexit 0\n' >"$tmp/aragora"
	chmod +x "$tmp/aragora"
	sed "s#/opt/aragora/current/aragora#$tmp/aragora#" "$root/deploy/systemd/aragora.service" >"$tmp/aragora.service"
	# verify exits 0 on an unknown directive or a bad value ("ignoring"):
	# any message at all fails the check.
	local out
	out=$(systemd-analyze verify "$tmp/aragora.service" 2>&1) || {
		echo "$out"
		return 1
	}
	if [[ -n $out ]]; then
		echo "$out"
		echo "systemd-analyze verify: the unit has problems (above)"
		return 1
	fi
	echo "systemd-analyze verify: ok (no message)"
	if systemd-analyze security --help 2>/dev/null | grep -q -- --offline; then
		systemd-analyze security --offline=yes "$tmp/aragora.service" 2>/dev/null | tail -n 1 || true
	fi
}

# docker builds and runs the image where a Docker daemon answers. Without
# one it says so and builds what the Dockerfile's build stage builds: the
# same command and flags, from a copy of the context filtered like
# .dockerignore, and checks that the binary is static and carries the
# version and commit.
docker_check() {
	local version=0.0.0-ci commit
	commit=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)
	if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
		local tag=aragora-ci:$$
		docker build --build-arg VERSION=$version --build-arg COMMIT="$commit" -t "$tag" "$root"
		docker run --rm --read-only --tmpfs /tmp "$tag" version
		local cid
		cid=$(docker run -d --read-only --tmpfs /tmp -e ARAGORA_ENV=development "$tag")
		trap 'docker rm -f "$cid" >/dev/null' RETURN
		for _ in $(seq 1 60); do
			[[ $(docker inspect -f '{{.State.Health.Status}}' "$cid") == healthy ]] && break
			sleep 2
		done
		[[ $(docker inspect -f '{{.State.Health.Status}}' "$cid") == healthy ]] || {
			docker logs "$cid"
			return 1
		}
		docker image inspect -f '{{index .Config.Labels "org.opencontainers.image.revision"}}' "$tag" | grep -qx "$commit"
		echo "docker build and read-only run: ok"
		return 0
	fi
	echo "SKIP docker build: no Docker daemon answers here (docker info failed)."
	echo "Instead: the Dockerfile's build command on a context filtered like .dockerignore."
	local tmp
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' RETURN
	# The context: tracked and new files, less what .dockerignore excludes.
	mkdir -p "$tmp/ctx"
	(cd "$root" && git ls-files -co --exclude-standard) |
		grep -vE '^(\.git|\.ci|\.github|deploy|docs|bench|examples|scripts|data|\.nomic)/|_test\.go$|/testdata/|\.(db|db-wal|db-shm|log)$|^(Dockerfile|\.dockerignore)$' |
		grep -vE '(^|/)[^/]*\.md$|^README\.md$' >"$tmp/files" || true
	grep -qx README.md <(cd "$root" && git ls-files) && echo README.md >>"$tmp/files"
	(cd "$root" && while IFS= read -r f; do [[ -f $f ]] && printf '%s\n' "$f"; done <"$tmp/files") >"$tmp/present"
	tar -C "$root" -cf - -T "$tmp/present" | tar -C "$tmp/ctx" -xf -
	local want
	# shellcheck disable=SC2016 # the Dockerfile's text, not expansions
	for want in 'CGO_ENABLED=0' '-X main.Version=${VERSION}' '-X main.buildCommit=${COMMIT}' 'USER 65532:65532' 'HEALTHCHECK' 'org.opencontainers.image.revision'; do
		grep -qF -- "$want" "$root/Dockerfile" || {
			echo "the Dockerfile lost: $want"
			return 1
		}
	done
	# As the Dockerfile, less -trimpath (which only changes file names in
	# the binary and would rebuild every dependency outside the build cache).
	(cd "$tmp/ctx" && CGO_ENABLED=0 go build -buildvcs=false \
		-ldflags "-s -w -X main.Version=$version -X main.buildCommit=$commit" -o "$tmp/aragora" ./cmd/aragora)
	if readelf -l "$tmp/aragora" 2>/dev/null | grep -q 'INTERP'; then
		echo "the binary is dynamically linked"
		return 1
	fi
	go version -m "$tmp/aragora" | grep -q 'CGO_ENABLED=0'
	local v
	v=$("$tmp/aragora" version)
	echo "$v"
	[[ $v == "aragora $version (commit ${commit:0:7},"* ]] || {
		echo "version/commit not injected"
		return 1
	}
	echo "static build with the Dockerfile's flags: ok"
}

run_tests() {
	cd "$here"
	export ARAGORA_HELM="$helm_bin"
	go vet ./...
	go test -count=1 -v -timeout 20m ./... 2>&1 | grep -vE '^=== (RUN|PAUSE|CONT)' | tee "${TMPDIR:-/tmp}/aragora-deploy-validate.log" | grep -E '^(---|ok|FAIL|PASS)|ABSENT|selectors:|SKIP|s (binary|server|debate|breaker|burst|HighError|CircuitBreaker|sentry|RedisDown|series|AragoraDown)' || true
	! grep -qE '^(--- FAIL|FAIL)' "${TMPDIR:-/tmp}/aragora-deploy-validate.log"
}

case ${1:-} in
tools) tools ;;
systemd) systemd ;;
docker) docker_check ;;
test) run_tests ;;
*)
	echo "usage: $0 tools|systemd|docker|test" >&2
	exit 2
	;;
esac
