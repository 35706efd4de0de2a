# The Go-built programs the test suites run beside the daemon, pinned by version (sourced by .ci/run;
# also usable by hand: `. tools/scripts/go-peers.sh && install_go_peers`). Each is built once with
# `go install` into $cache/NAME-VERSION and reused from there.
TRIVY_VERSION=0.74.0
# The last release before v0.69: it pulls trivy-checks:1 and wipes its VEX cache on a 304.
TRIVY_OLD_VERSION=0.68.2
# The tools Trivy's self-hosting guide names, for interop tests and as benchmark peers.
CRANE_VERSION=0.22.1
ORAS_VERSION=1.3.6
REGCLIENT_VERSION=0.11.7
# Checks the mirror's signatures as a user would (cosign verify / verify-blob --key).
COSIGN_VERSION=2.6.5

go_peer() { # NAME MODULE VERSION [ENV=VALUE...] -- [go install flags...]
  local name=$1 module=$2 version=$3
  shift 3
  local envs=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do envs+=("$1"); shift; done
  [ "${1:-}" = "--" ] && shift
  local cache="${XDG_CACHE_HOME:-$HOME/.cache}/trivy-mirror-ci"
  local dir="$cache/$name-v$version"
  if [ ! -x "$dir/$name" ]; then
    if ! command -v go >/dev/null; then
      echo "go is needed to build $name v$version (Go 1.26: /usr/local/go/bin)" >&2
      return 1
    fi
    echo "building $name v$version with go install (once; cached in $dir)" >&2
    rm -rf "$dir.partial"
    env "${envs[@]}" GOBIN="$dir.partial" GOFLAGS=-buildvcs=false \
      go install "$@" "$module@v$version" || return 1
    rm -rf "$dir"
    mv "$dir.partial" "$dir"
  fi
  echo "$dir/$name"
}

install_go_peers() {
  [ -d /usr/local/go/bin ] && export PATH="$PATH:/usr/local/go/bin"
  local trivy_ldflags="-s -w -X github.com/aquasecurity/trivy/pkg/version/app.ver="
  TRIVY_BIN=$(go_peer trivy github.com/aquasecurity/trivy/cmd/trivy "$TRIVY_VERSION" GOEXPERIMENT=jsonv2 \
    -- -ldflags "${trivy_ldflags}$TRIVY_VERSION" | tail -n 1) || return 1
  TRIVY_OLD_BIN=$(go_peer trivy github.com/aquasecurity/trivy/cmd/trivy "$TRIVY_OLD_VERSION" \
    GOEXPERIMENT=jsonv2 -- -ldflags "${trivy_ldflags}$TRIVY_OLD_VERSION" | tail -n 1) || return 1
  export TRIVY_BIN TRIVY_OLD_BIN
  local bin
  for spec in "crane github.com/google/go-containerregistry/cmd/crane $CRANE_VERSION" \
    "oras oras.land/oras/cmd/oras $ORAS_VERSION" \
    "regctl github.com/regclient/regclient/cmd/regctl $REGCLIENT_VERSION" \
    "regsync github.com/regclient/regclient/cmd/regsync $REGCLIENT_VERSION" \
    "cosign github.com/sigstore/cosign/v2/cmd/cosign $COSIGN_VERSION"; do
    set -- $spec
    bin=$(go_peer "$1" "$2" "$3" | tail -n 1) || return 1
    export PATH="$(dirname "$bin"):$PATH"
  done
  echo "trivy: $("$TRIVY_BIN" --version | head -n 1) ($TRIVY_BIN)"
  echo "older trivy: $("$TRIVY_OLD_BIN" --version | head -n 1) ($TRIVY_OLD_BIN)"
}
