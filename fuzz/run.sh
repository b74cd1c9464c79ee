#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) in their own build folder and runs
# each for a bounded time over its checked-in seed corpus and dictionary. Fails on any
# crash, sanitizer report, timeout (> 10 s for one input) or memory blow-up (> 2 GiB).
# Exits 77 (skip) with the reason when clang or libFuzzer is missing.
#
# Usage: fuzz/run.sh [TARGET...]        (default: every target)
# Environment:
#   NIXSNAP_FUZZ_SECONDS    run time per target (default 20; CI runs 12 targets: 4 min)
#   NIXSNAP_FUZZ_BUILD_DIR  build folder (default <repo>/build-fuzz)
#   NIXSNAP_FUZZ_JOBS       build parallelism (default 2)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${NIXSNAP_FUZZ_BUILD_DIR:-${REPO}/build-fuzz}"
SECONDS_PER_TARGET="${NIXSNAP_FUZZ_SECONDS:-20}"
JOBS="${NIXSNAP_FUZZ_JOBS:-2}"
CC_BIN="${NIXSNAP_FUZZ_CC:-clang-14}"
CXX_BIN="${NIXSNAP_FUZZ_CXX:-clang++-14}"

skip() {
  echo "fuzz/run.sh: SKIP: $*" >&2
  exit 77
}

command -v "${CXX_BIN}" >/dev/null || skip "${CXX_BIN} not found (apt-get install clang-14 libclang-rt-14-dev)"
probe="$(mktemp -d)"
trap 'rm -rf "${probe}"' EXIT
printf 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n' \
  >"${probe}/p.cc"
"${CXX_BIN}" -fsanitize=fuzzer,address,undefined "${probe}/p.cc" -o "${probe}/p" 2>"${probe}/err" ||
  skip "${CXX_BIN} cannot link libFuzzer with ASan/UBSan (libclang-rt-14-dev missing?): $(head -c 300 "${probe}/err")"

TARGETS=("$@")
if ((${#TARGETS[@]} == 0)); then
  mapfile -t TARGETS < <(find "${REPO}/fuzz/targets" -maxdepth 1 -name 'fuzz_*.cc' -printf '%f\n' | sed 's/\.cc$//' | sort)
fi

echo "==> building ${#TARGETS[@]} fuzz targets in ${BUILD}"
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
if [[ ! -f "${BUILD}/build.ninja" && ! -f "${BUILD}/Makefile" ]]; then
  generator=()
  command -v ninja >/dev/null && generator=(-G Ninja)
  cmake -S "${REPO}" -B "${BUILD}" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER="${CC_BIN}" -DCMAKE_CXX_COMPILER="${CXX_BIN}" "${launcher[@]}" \
    -DNIXSNAP_BUILD_FUZZ=ON -DNIXSNAP_BUILD_TESTS=OFF -DNIXSNAP_BUILD_BENCH=OFF >"${BUILD}.configure.log" 2>&1 ||
    {
      tail -30 "${BUILD}.configure.log" >&2
      exit 1
    }
fi
cmake --build "${BUILD}" -j "${JOBS}" --target "${TARGETS[@]}"

# libFuzzer's own exit codes (crash, timeout, OOM, leak) all become 1: 77 means skip.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
# libFuzzer ends a -max_total_time run with _Exit, so the targets' atexit cleanup of their
# scratch dirs (fuzz_util.h) never runs: give them a TMPDIR the EXIT trap removes.
mkdir "${probe}/tmp"
export TMPDIR="${probe}/tmp"
failed=()
for t in "${TARGETS[@]}"; do
  seeds="${REPO}/fuzz/corpus/${t#fuzz_}"
  work="${BUILD}/corpus/${t#fuzz_}"   # grows with what the runs find; seeds stay clean
  artifacts="${BUILD}/artifacts/${t}"
  mkdir -p "${work}" "${artifacts}"
  dict=()
  d="${REPO}/fuzz/dict/${t#fuzz_}.dict"
  if [[ -f "${d}" ]]; then
    dict=(-dict="${d}")
  fi
  log="${BUILD}/${t}.log"
  echo "==> ${t}: ${SECONDS_PER_TARGET}s"
  if "${BUILD}/fuzz/${t}" -max_total_time="${SECONDS_PER_TARGET}" -rss_limit_mb=2048 -timeout=10 \
    -error_exitcode=1 -timeout_exitcode=1 -print_final_stats=1 "${dict[@]}" \
    -artifact_prefix="${artifacts}/" "${work}" "${seeds}" >"${log}" 2>&1; then
    grep -E '^stat::number_of_executed_units|^#[0-9]+.*DONE' "${log}" | tail -2 | sed 's/^/    /'
  else
    echo "    FAILED (log ${log}); last lines:" >&2
    tail -40 "${log}" | sed 's/^/    /' >&2
    find "${artifacts}" -mindepth 1 -maxdepth 1 -printf "%f\n" | sed 's/^/    artifact: /' >&2
    failed+=("${t}")
  fi
done
if ((${#failed[@]})); then
  echo "fuzz/run.sh: ${#failed[@]} target(s) failed: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz/run.sh: all ${#TARGETS[@]} targets ran ${SECONDS_PER_TARGET}s without a finding"
