#!/usr/bin/env bash
# Runs containerd's snapshotter conformance suite (snapshots/testsuite, from Debian's
# golang-github-containerd-containerd-dev) against containerd's in-process overlay
# snapshotter (baseline) and against the nix-snapshotter daemon, then checks that every
# case that passes for overlayfs here also passes for nix.
#
# Usage: tests/conformance/run.sh [NIX_SNAPSHOTTER_BIN] [WORK_DIR]
#   NIX_SNAPSHOTTER_BIN  default: $NIXSNAP_BIN_DIR/nix-snapshotter
#   WORK_DIR             where the compiled test binary is cached (default: $NIXSNAP_BUILD_DIR
#                        or <repo>/build)/conformance
# Exit: 0 pass, 1 fail, 77 skip (not root, no Go, no containerd sources).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "${here}/../.." && pwd)"
bin="${1:-${NIXSNAP_BIN_DIR:-${repo}/build/src/cmd}/nix-snapshotter}"
work="${2:-${NIXSNAP_BUILD_DIR:-${repo}/build}/conformance}"
gocode=/usr/share/gocode

skip() { printf 'SKIP: %s\n' "$*" >&2; exit 77; }
[[ "$(id -u)" == 0 ]] || skip "the suite mounts overlayfs: needs root"
command -v go >/dev/null || skip "needs go (golang-go)"
[[ -d "${gocode}/src/github.com/containerd/containerd/snapshots/testsuite" ]] ||
  skip "needs golang-github-containerd-containerd-dev in ${gocode}"
[[ -x "${bin}" ]] || { printf 'FAIL: nix-snapshotter binary not found at %s\n' "${bin}" >&2; exit 1; }

# GOPATH mode: our package lives in a private GOPATH; Debian's sources are the second entry.
gopath="${work}/gopath"
pkg="${gopath}/src/nixsnap/conformance"
mkdir -p "${pkg}" "${work}/gocache"
cp -f "${here}/conformance_test.go" "${pkg}/conformance_test.go"
testbin="${work}/conformance.test"
if [[ ! -x "${testbin}" || "${here}/conformance_test.go" -nt "${testbin}" ]]; then
  printf '==> compiling the conformance suite (GOPATH mode)\n' >&2
  (cd "${pkg}" && GO111MODULE=off GOFLAGS='' GOPATH="${gopath}:${gocode}" \
    GOCACHE="${work}/gocache" go test -c -o "${testbin}" .)
fi

# Test temp dirs (and the daemons' sockets inside them) stay short under /tmp.
export TMPDIR=/tmp
run_suite() {
  local name="$1" out="$2" rc=0
  printf '==> running the suite against %s\n' "${name}" >&2
  "${testbin}" -test.root -test.v -test.count=1 -test.timeout=15m \
    -test.run "^${name}\$" -nixsnap.bin="${bin}" >"${out}" 2>&1 || rc=$?
  printf '    %s exited %s (log %s)\n' "${name}" "${rc}" "${out}" >&2
}
run_suite TestOverlay "${work}/overlay.log"
run_suite TestNix "${work}/nix.log"

# "--- PASS: TestOverlay/Basic (0.01s)" -> "Basic"
cases() { sed -n "s/^ *--- $2: $1\/\([^ ]*\) .*/\1/p" "$3" | sort -u; }
mapfile -t base_pass < <(cases TestOverlay PASS "${work}/overlay.log")
mapfile -t base_fail < <(cases TestOverlay FAIL "${work}/overlay.log")
mapfile -t nix_pass < <(cases TestNix PASS "${work}/nix.log")
mapfile -t nix_fail < <(cases TestNix FAIL "${work}/nix.log")

printf '\nconformance report (containerd snapshots/testsuite)\n'
printf '  overlayfs baseline: %d passed, %d failed %s\n' "${#base_pass[@]}" "${#base_fail[@]}" \
  "${base_fail[*]:+(${base_fail[*]})}"
printf '  nix-snapshotter:    %d passed, %d failed %s\n' "${#nix_pass[@]}" "${#nix_fail[@]}" \
  "${nix_fail[*]:+(${nix_fail[*]})}"

((${#base_pass[@]} > 0)) || { printf 'FAIL: the overlayfs baseline passed nothing; see %s\n' "${work}/overlay.log" >&2; exit 1; }
missing=()
for c in "${base_pass[@]}"; do
  if ! printf '%s\n' "${nix_pass[@]}" | grep -qxF -- "${c}"; then
    missing+=("${c}")
  fi
done
if ((${#missing[@]} > 0)); then
  printf 'FAIL: passes for overlayfs but not for nix: %s\n' "${missing[*]}" >&2
  grep -E -- "--- FAIL|_test.go:[0-9]+:|testsuite.go:[0-9]+:" "${work}/nix.log" | head -n 60 >&2 || true
  exit 1
fi
printf 'PASS: every case that passes for overlayfs passes for nix (%d cases)\n' "${#base_pass[@]}"
