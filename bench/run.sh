#!/usr/bin/env bash
# Runs the snapshotter benchmarks of issue 2 in one go and prints their tables:
#   1. snapshots API latency/throughput, 1 and 8 clients, interleaved over four targets:
#        cd-nix        containerd 1.7 -> proxy plugin "nix" -> our daemon
#        cd-overlayfs  containerd 1.7's built-in overlayfs snapshotter
#        nix-direct    our daemon's socket
#        standin       containerd's overlay snapshotter behind contrib/snapshotservice (Go,
#                      bench/standin), the architecture of the original nix-snapshotter
#        cd-standin    containerd 1.7 -> proxy plugin "standin" -> a second stand-in: what
#                      any proxy snapshotter pays for containerd's proxy hop
#      ratios: cd-nix/cd-overlayfs, cd-standin/cd-overlayfs, cd-nix/cd-standin and
#      nix-direct/standin;
#   2. Mounts on top of a 16-layer chain with 100 and 1,000 store-path labels per layer
#      (dummy store paths in a private store_dir of a second daemon);
#   3. Prepare of a Nix layer with 3,000 valid store paths (real Nix, /nix/store).
# Everything runs in a temp dir /tmp/nixsnap-XXXX; exactly the PIDs started here are
# stopped at exit. Needs root, Nix, Go and containerd 1.7 from scripts/setup.
#
# Usage: bench/run.sh [--runs N] [--iterations N] [--chain-iterations N] [--nix-paths N]
#                     [--only ops|chain|nixlayer] [--out FILE]
#   --runs N            measured runs per figure (default 5; medians are reported)
#   --iterations N      iterations (x5 ops) per ops run (default 200)
#   --chain-iterations  Mounts calls per chain run (default 200)
#   --nix-paths N       store paths on the Nix layer (default 3000)
#   --only WHAT         run one part only
#   --out FILE          also write the report there (default <build>/bench-report.txt)
#   --daemon PATH       use this nix-snapshotter binary (default <build>/src/cmd/...)
#   --no-build          do not run cmake (use what is built)
# Env: NIXSNAP_BUILD_DIR (default <repo>/build), NIXSNAP_CONTAINERD (default 1.7).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "${here}/.." && pwd)"
# shellcheck source=tests/integration/lib.sh
source "${repo}/tests/integration/lib.sh"

RUNS=5
ITERATIONS=200
CHAIN_ITERATIONS=200
NIX_PATHS=3000
ONLY=""
BUILD="${NIXSNAP_BUILD_DIR:-${repo}/build}"
OUT=""
DAEMON=""
NO_BUILD=0
CD_VERSION="${NIXSNAP_CONTAINERD:-1.7}"

while (($#)); do
  case "$1" in
    --runs) RUNS="$2"; shift ;;
    --iterations) ITERATIONS="$2"; shift ;;
    --chain-iterations) CHAIN_ITERATIONS="$2"; shift ;;
    --nix-paths) NIX_PATHS="$2"; shift ;;
    --only) ONLY="$2"; shift ;;
    --out) OUT="$2"; shift ;;
    --daemon) DAEMON="$2"; shift ;;
    --no-build) NO_BUILD=1 ;;
    -h | --help) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) printf 'run.sh: unknown argument %s (see --help)\n' "$1" >&2; exit 2 ;;
  esac
  shift
done
OUT="${OUT:-${BUILD}/bench-report.txt}"
now_ms() { date +%s%3N; }
want() { [[ -z "${ONLY}" || "${ONLY}" == "$1" ]]; }

require_root
require_cmd go nix-store cmake

# --- build ----------------------------------------------------------------------------
targets=(snapshots_bench mounts_chain_bench nix_layer_bench)
[[ -n "${DAEMON}" ]] || targets+=(nix-snapshotter)
if ((NO_BUILD == 0)); then
  step "building ${targets[*]} in ${BUILD}"
  if [[ ! -f "${BUILD}/CMakeCache.txt" ]]; then
    cmake -S "${repo}" -B "${BUILD}" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  fi
  cmake --build "${BUILD}" -j2 --target "${targets[@]}" >/dev/null ||
    fail "build failed (run cmake --build ${BUILD} to see why)"
fi
DAEMON="${DAEMON:-${BUILD}/src/cmd/nix-snapshotter}"
BENCH="${BUILD}/bench"
[[ -x "${DAEMON}" ]] || fail "no daemon at ${DAEMON}"

tmp_root
T="${NIXSNAP_TMP}"

step "building the Go stand-in (GOPATH mode, Debian's containerd sources)"
mkdir -p "${BUILD}/bench/go-cache" "${T}/gopath"
(cd "${here}/standin" && GO111MODULE=off GOFLAGS='' GOPATH="${T}/gopath:/usr/share/gocode" \
  GOCACHE="${BUILD}/bench/go-cache" go build -o "${T}/standin" .) ||
  fail "building bench/standin"

# --- processes ------------------------------------------------------------------------
# Daemon A is containerd's proxy plugin only: containerd's garbage collector removes every
# backend snapshot it has no record of, so direct clients must not share it. Daemon B is
# for the direct-socket and Nix-layer benches. Both use the real /nix/store.
cat >"${T}/ns.toml" <<EOF
[image_service]
enable = false
EOF
start_bg nix-snapshotter-cd "${DAEMON}" --config "${T}/ns.toml" --address "${T}/na.sock" \
  --root "${T}/na-root" --log-level warn
wait_for_socket "${T}/na.sock" 20 "${BG_PID}"
NA_PID="${BG_PID}"
start_bg nix-snapshotter "${DAEMON}" --config "${T}/ns.toml" --address "${T}/ns.sock" \
  --root "${T}/ns-root" --log-level warn
wait_for_socket "${T}/ns.sock" 20 "${BG_PID}"
NS_PID="${BG_PID}"

start_bg standin "${T}/standin" --address "${T}/so.sock" --root "${T}/so-root"
wait_for_socket "${T}/so.sock" 20 "${BG_PID}"
SO_PID="${BG_PID}"
# A second stand-in behind containerd (containerd's GC owns its backend snapshots).
start_bg standin-cd "${T}/standin" --address "${T}/sc.sock" --root "${T}/sc-root"
wait_for_socket "${T}/sc.sock" 20 "${BG_PID}"
printf '[proxy_plugins]\n  [proxy_plugins.standin]\n    type = "snapshot"\n    address = "%s"\n' \
  "${T}/sc.sock" >"${T}/cd-extra.toml"

CONTAINERD_NIX_SOCKET="${T}/na.sock" CONTAINERD_LOG_LEVEL=warn \
  containerd_start "${CD_VERSION}" "${T}/cd" "${T}/cd-extra.toml"
CD_SOCK="${CONTAINERD_ADDRESS}"

report() { tee -a "${OUT}"; }
: >"${OUT}"
{
  printf '# nix-snapshotter benchmarks, %s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
  printf '# machine: %s, %s CPUs, kernel %s; containerd %s; runs=%s\n' "$(uname -m)" "$(nproc)" \
    "$(uname -r)" "$("${CONTAINERD_BIN}/containerd" --version | awk '{print $3}')" "${RUNS}"
  printf '# daemon pids %s (behind containerd) and %s (direct), stand-in pid %s, containerd pid %s\n' \
    "${NA_PID}" "${NS_PID}" "${SO_PID}" "${CONTAINERD_PID}"
} | report

# --- 1. snapshots API -----------------------------------------------------------------
if want ops; then
  step "1. snapshots API: 5 targets x clients 1,8 x ${RUNS} runs, interleaved"
  "${BENCH}/snapshots_bench" \
    --target "cd-nix=${CD_SOCK},nix,bench" \
    --target "cd-overlayfs=${CD_SOCK},overlayfs,bench" \
    --target "cd-standin=${CD_SOCK},standin,bench" \
    --target "nix-direct=${T}/ns.sock,nix" \
    --target "standin=${T}/so.sock,overlayfs" \
    --compare cd-nix/cd-overlayfs --compare cd-standin/cd-overlayfs \
    --compare cd-nix/cd-standin --compare nix-direct/standin \
    --clients 1,8 --iterations "${ITERATIONS}" --runs "${RUNS}" \
    --csv "${OUT%.txt}-ops.csv" | report
  if ! is_running "${NS_PID}" || ! is_running "${NA_PID}"; then fail "a daemon died during the ops bench"; fi
fi

# --- 2. Mounts on a deep chain ----------------------------------------------------------
if want chain; then
  step "2. Mounts on a 16-layer chain with 100 and 1,000 store paths per layer"
  mkdir -p "${T}/store"
  # Dummy paths Nix does not know: "realised" by a builder that does nothing (true).
  cat >"${T}/chain.toml" <<EOF
store_dir = "${T}/store"
external_builder = "true"
[image_service]
enable = false
EOF
  start_bg nix-snapshotter-chain "${DAEMON}" --config "${T}/chain.toml" \
    --address "${T}/nc.sock" --root "${T}/nc-root" --log-level warn
  wait_for_socket "${T}/nc.sock" 20 "${BG_PID}"
  "${BENCH}/mounts_chain_bench" --target "nix-direct=${T}/nc.sock,nix" --store-dir "${T}/store" \
    --layers 16 --paths 100,1000 --iterations "${CHAIN_ITERATIONS}" --runs "${RUNS}" | report
fi

# --- 3. Nix layer with many valid paths -------------------------------------------------
if want nixlayer; then
  step "3. Prepare of a Nix layer with ${NIX_PATHS} valid store paths"
  mkdir -p "${T}/nixpaths"
  (
    cd "${T}/nixpaths"
    for ((i = 0; i < NIX_PATHS; i++)); do
      printf 'nixsnap bench path %05d\n' "${i}" >"nixsnap-bench-path-$(printf '%05d' "${i}")"
    done
  )
  start=$(now_ms)
  (cd "${T}/nixpaths" && nix-store --add nixsnap-bench-path-*) >"${T}/nix-paths.txt"
  note "nix-store --add of ${NIX_PATHS} files took $(($(now_ms) - start)) ms"
  [[ "$(wc -l <"${T}/nix-paths.txt")" == "${NIX_PATHS}" ]] || fail "nix-store --add gave the wrong count"
  # Reference, interleaved with the runs: one nix-store process realising and rooting all
  # of them (what a single-process design costs on this machine at that moment).
  mkdir -p "${T}/refroots"
  "${BENCH}/nix_layer_bench" --target "nix-direct=${T}/ns.sock,nix" \
    --paths-file "${T}/nix-paths.txt" --runs "${RUNS}" \
    --reference-cmd "rm -f ${T}/refroots/r*; nix-store --realise \$(cat ${T}/nix-paths.txt) --add-root ${T}/refroots/r >/dev/null" |
    report
  rm -rf "${T}/refroots"
fi

step "report written to ${OUT}"
