#!/usr/bin/env bash
# Closure-layer benchmarks (issue 10) against one nix-snapshotter on the real /nix/store:
#   1. Prepare (one realise, one GC root, one closure query, the store-paths check) and
#      Remove of a layer labelled nix-closure=<closureInfo of PATHS valid paths>;
#   2. Mounts on top of a chain of LAYERS committed closure layers of CHAIN_PATHS paths each.
# The store paths come from one Nix evaluation (bench/closure_paths.nix, builtins.toFile);
# the closureInfos from tests/integration/fixtures/closure_info.nix (a raw derivation,
# busybox builder), rooted under the temp dir for the run only.
# Run under the integration flock (it adds to the Nix store other tests garbage-collect):
#   flock /tmp/nixsnap-integration.lock bench/closure_bench.sh [--runs N] [--paths N]
#         [--layers N] [--chain-paths N] [--iterations N] [--out FILE]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "${here}/.." && pwd)"
# shellcheck source=tests/integration/lib.sh
source "${repo}/tests/integration/lib.sh"
# shellcheck source=tests/integration/fixtures/common.sh
source "${repo}/tests/integration/fixtures/common.sh"

RUNS=5
PATHS=10000
LAYERS=16
CHAIN_PATHS=1000
ITERATIONS=200
BUILD="${NIXSNAP_BUILD_DIR:-${repo}/build}"
OUT=""
while (($#)); do
  case "$1" in
    --runs) RUNS="$2"; shift ;;
    --paths) PATHS="$2"; shift ;;
    --layers) LAYERS="$2"; shift ;;
    --chain-paths) CHAIN_PATHS="$2"; shift ;;
    --iterations) ITERATIONS="$2"; shift ;;
    --out) OUT="$2"; shift ;;
    *) printf 'closure_bench.sh: unknown argument %s\n' "$1" >&2; exit 2 ;;
  esac
  shift
done
OUT="${OUT:-${BUILD}/bench-closure-report.txt}"
require_root
require_cmd nix-instantiate nix-build
DAEMON="${BUILD}/src/cmd/nix-snapshotter"
BENCH="${BUILD}/bench/closure_layer_bench"
[[ -x "${DAEMON}" && -x "${BENCH}" ]] || fail "build nix-snapshotter and closure_layer_bench first"
tmp_root
T="${NIXSNAP_TMP}"
make_busybox_dir "${T}/bb"

# roots COUNT LAYERS: the root paths (one per line) of closure_paths.nix.
roots() {
  nix-instantiate --eval --strict --json --read-write-mode "${here}/closure_paths.nix" \
    --arg count "$1" --arg layers "$2" --argstr seed "$$-$1" |
    python3 -c 'import json, sys; print("\n".join(json.load(sys.stdin)))'
}
# info ROOT LINK: a closureInfo of ROOT's closure, rooted at LINK.
info() {
  nix-build "${repo}/tests/integration/fixtures/closure_info.nix" --quiet --out-link "$2" \
    --option substituters '' --arg busyboxDir "${T}/bb" --argstr rootPath "$1"
}

step "making ${PATHS} store paths and ${LAYERS} x ${CHAIN_PATHS} more (one evaluation each)"
start=$(date +%s%3N)
big_root="$(roots "${PATHS}" 1)"
big="$(info "${big_root}" "${T}/big")"
note "closureInfo ${big}: $(wc -l <"${big}/store-paths") paths ($(($(date +%s%3N) - start)) ms)"
i=0
while IFS= read -r r; do
  info "${r}" "${T}/chain-${i}" >>"${T}/chain"
  i=$((i + 1))
done < <(roots "${CHAIN_PATHS}" "${LAYERS}")

printf '[image_service]\nenable = false\n' >"${T}/ns.toml"
start_bg nix-snapshotter "${DAEMON}" --config "${T}/ns.toml" --address "${T}/ns.sock" \
  --root "${T}/root" --log-level warn
wait_for_socket "${T}/ns.sock" 20 "${BG_PID}"
{
  printf '# closure-layer benchmarks, %s; %s CPUs, load %s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')" \
    "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
  "${BENCH}" --target "nix-direct=${T}/ns.sock,nix" --closure "${big}" --chain-file "${T}/chain" \
    --runs "${RUNS}" --iterations "${ITERATIONS}"
} | tee "${OUT}"
step "report written to ${OUT}"
