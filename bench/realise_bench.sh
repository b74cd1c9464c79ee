#!/usr/bin/env bash
# Issue 14's benchmark: snapshot writes through containerd while slow Nix realisations are
# in flight, and the wall time of 4 slow realisations started together (bench/
# realise_bench.cc). nix-snapshotter runs with a private store_dir of made-up store paths
# and an `external_builder` that sleeps --slow-seconds per path (a slow substitution
# without a binary cache), behind containerd 1.7's proxy plugin.
# With --baseline DAEMON the same figures are measured for a second binary (e.g. a build
# from before the change) and printed after the first.
# Everything runs in a temp dir /tmp/nixsnap-XXXX; exactly the PIDs started here are
# stopped at exit. Needs root and containerd 1.7 from scripts/setup.
#
# Usage: bench/realise_bench.sh [--runs N] [--iterations N] [--slow-seconds S]
#                               [--daemon PATH] [--baseline PATH] [--out FILE] [--no-build]
#   --runs N          runs per figure (default 3; medians are reported)
#   --iterations N    write cycles (Prepare, Commit, View, Remove) per run (default 50)
#   --slow-seconds S  builder time per path (default 5)
#   --daemon PATH     nix-snapshotter to measure (default <build>/src/cmd/nix-snapshotter)
#   --baseline PATH   also measure this nix-snapshotter binary
#   --out FILE        also write the report there (default <build>/bench-realise-report.txt)
#   --no-build        do not run cmake (use what is built)
# Env: NIXSNAP_BUILD_DIR (default <repo>/build), NIXSNAP_CONTAINERD (default 1.7).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "${here}/.." && pwd)"
# shellcheck source=tests/integration/lib.sh
source "${repo}/tests/integration/lib.sh"

RUNS=3
ITERATIONS=50
SLOW=5
BUILD="${NIXSNAP_BUILD_DIR:-${repo}/build}"
DAEMON=""
BASELINE=""
OUT=""
NO_BUILD=0
CD_VERSION="${NIXSNAP_CONTAINERD:-1.7}"
while (($#)); do
  case "$1" in
    --runs) RUNS="$2"; shift ;;
    --iterations) ITERATIONS="$2"; shift ;;
    --slow-seconds) SLOW="$2"; shift ;;
    --daemon) DAEMON="$2"; shift ;;
    --baseline) BASELINE="$2"; shift ;;
    --out) OUT="$2"; shift ;;
    --no-build) NO_BUILD=1 ;;
    -h | --help) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) printf 'realise_bench.sh: unknown argument %s (see --help)\n' "$1" >&2; exit 2 ;;
  esac
  shift
done
OUT="${OUT:-${BUILD}/bench-realise-report.txt}"

require_root
targets=(realise_bench)
[[ -n "${DAEMON}" ]] || targets+=(nix-snapshotter)
if ((NO_BUILD == 0)); then
  step "building ${targets[*]} in ${BUILD}"
  cmake --build "${BUILD}" -j2 --target "${targets[@]}" >/dev/null ||
    fail "build failed (run cmake --build ${BUILD} to see why)"
fi
DAEMON="${DAEMON:-${BUILD}/src/cmd/nix-snapshotter}"
[[ -x "${DAEMON}" ]] || fail "no daemon at ${DAEMON}"
[[ -z "${BASELINE}" || -x "${BASELINE}" ]] || fail "no baseline daemon at ${BASELINE}"

tmp_root
T="${NIXSNAP_TMP}"
mkdir -p "${T}/store"
cat >"${T}/builder" <<EOB
#!/bin/sh
# EXE OUTLINK STOREPATH: a slow substitution of a made-up path (it exists already).
echo "\$(date +%s%N) start \$2" >>"${T}/builder.log"
sleep ${SLOW}
echo "\$(date +%s%N) end \$2" >>"${T}/builder.log"
EOB
chmod +x "${T}/builder"
: >"${T}/builder.log"
cat >"${T}/ns.toml" <<EOF
store_dir = "${T}/store"
external_builder = "${T}/builder"
[image_service]
enable = false
EOF

report() { tee -a "${OUT}"; }
: >"${OUT}"
n=0
for daemon in "${DAEMON}" ${BASELINE:+"${BASELINE}"}; do
  n=$((n + 1))
  step "measuring ${daemon}"
  start_bg "nix-snapshotter-${n}" "${daemon}" --config "${T}/ns.toml" --address "${T}/ns${n}.sock" \
    --root "${T}/root${n}" --log-level warn
  pid="${BG_PID}"
  wait_for_socket "${T}/ns${n}.sock" 20 "${pid}"
  CONTAINERD_NIX_SOCKET="${T}/ns${n}.sock" CONTAINERD_LOG_LEVEL=warn \
    containerd_start "${CD_VERSION}" "${T}/cd${n}"
  {
    printf '# %s, %s; %s CPUs; containerd %s; builder %ss per path; runs=%s\n' "${daemon}" \
      "$(date -u '+%Y-%m-%d %H:%M UTC')" "$(nproc)" \
      "$("${CONTAINERD_BIN}/containerd" --version | awk '{print $3}')" "${SLOW}" "${RUNS}"
    "${BUILD}/bench/realise_bench" --direct "${T}/ns${n}.sock" \
      --writes "cd=${CONTAINERD_ADDRESS},nix,bench" --store-dir "${T}/store" \
      --builder-log "${T}/builder.log" --runs "${RUNS}" --iterations "${ITERATIONS}"
    printf '\n'
  } | report
  stop_pid "${CONTAINERD_PID}" containerd
  stop_pid "${pid}" "nix-snapshotter-${n}"
done
