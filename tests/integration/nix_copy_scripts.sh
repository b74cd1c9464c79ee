#!/usr/bin/env bash
# The programs of buildImage's passthru, built by nix/copy-scripts.nix with the real
# nix2container (tests/nix/cases.nix against tests/nix/stub-pkgs.nix), run against real
# services: bin/copy-to-containerd, whose address "$XDG_RUNTIME_DIR/containerd/containerd.sock"
# is expanded when it runs, loads the image into containerd VERSION (nix-snapshotter as
# its nix proxy plugin) and `ctr run --snapshotter nix` prints the image's output;
# bin/copy-to-registry (plainHTTP, upper-case name written lower case) pushes to
# Debian's docker-registry on loopback and the manifest reads back with the Nix layer.
#
# Usage: tests/integration/nix_copy_scripts.sh 1.7|2.1     (root; exit 77 = skipped)
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/daemon_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/daemon_common.sh"

version="${1:?usage: nix_copy_scripts.sh 1.7|2.1}"
N2C="${NIXSNAP_NIX2CONTAINER:-${NIXSNAP_BIN_DIR}/nix2container}"
require_root
require_cmd nix-build nix-instantiate nix-store docker-registry skopeo jq
require_daemon_bin
require_snapctl
[[ -x "${N2C}" ]] || fail "nix2container not built at ${N2C}"
busybox="${BUSYBOX:-/bin/busybox}"
[[ -x "${busybox}" ]] || skip "${busybox} not found (apt-get install busybox-static)"
ldd "${busybox}" >/dev/null 2>&1 && skip "${busybox} is dynamically linked; builders need busybox-static"
containerd_bin_dir "${version}" >/dev/null
tmp_root
T="${NIXSNAP_TMP}"

step "start docker-registry on loopback"
cat >"${T}/registry.yml" <<YAML
version: 0.1
storage:
  filesystem:
    rootdirectory: ${T}/registry
YAML
start_registry registry "${T}/registry.yml"
port="${REGISTRY_PORT}"

step "build the image and its copy scripts with the real nix2container"
# Builds run as nixbld users: give them a readable copy of the tools.
mkdir -p "${T}/busybox" "${T}/n2c/bin"
cp "${busybox}" "${T}/busybox/busybox"
cp "${N2C}" "${T}/n2c/bin/nix2container"
chmod -R a+rX "${T}/busybox" "${T}/n2c"
chmod 755 "${T}"
cases="${NIXSNAP_REPO_ROOT}/tests/nix/cases.nix"
build() {
  nix-build "${cases}" --argstr busyboxDir "${T}/busybox" --argstr nix2containerBin "${T}/n2c" \
    --argstr registry "127.0.0.1:${port}" -A "$1" --out-link "${T}/result-$1" 2>"${T}/build-$1.log" || {
    tail -n 30 "${T}/build-$1.log" >&2
    fail "nix-build -A $1"
  }
}
image="$(build echoImage)"
load="$(build echoLoad)"
push="$(build echoPush)"
assert_eq "copy-to-containerd" "$(ls "${load}/bin")" "copy-to-containerd package bin/"
assert_eq "copy-to-registry" "$(ls "${push}/bin")" "copy-to-registry package bin/"

step "start nix-snapshotter and containerd ${version} at \$XDG_RUNTIME_DIR/containerd/containerd.sock"
xdg="${T}/xdg"
daemon_start nix-snapshotter "${T}/ns.sock" "${T}/root"
CONTAINERD_NIX_SOCKET="${T}/ns.sock" containerd_start "${version}" "${xdg}/containerd"
assert_eq "${xdg}/containerd/containerd.sock" "${CONTAINERD_ADDRESS}" "containerd socket"

step "copy-to-containerd loads the image (address from \$XDG_RUNTIME_DIR)"
# Neither CONTAINERD_ADDRESS nor the default socket may be what makes it work.
out="$(env -u CONTAINERD_ADDRESS XDG_RUNTIME_DIR="${xdg}" "${load}/bin/copy-to-containerd")"
note "${out}"
assert_contains "$(ctr_cmd -n nix-copy images ls -q)" "localhost/nix-copy-echo:latest"
assert_contains "$(ctr_cmd -n nix-copy snapshots --snapshotter nix ls)" "Committed"
assert_eq "" "$(ctr_cmd -n default images ls -q)" "nothing in namespace default"
run_out="$(ctr_cmd -n nix-copy run --rm --snapshotter nix localhost/nix-copy-echo:latest nix-copy-1)"
assert_eq "hello from copy-to-containerd" "${run_out}" "container output"

step "copy-to-containerd without XDG_RUNTIME_DIR fails naming it, and loads nothing"
ctr_cmd -n nix-copy images rm --sync localhost/nix-copy-echo:latest >/dev/null
assert_fails env -u XDG_RUNTIME_DIR -u CONTAINERD_ADDRESS "${load}/bin/copy-to-containerd"
assert_contains "${ASSERT_OUTPUT}" "XDG_RUNTIME_DIR is not set"
assert_eq "" "$(ctr_cmd -n nix-copy images ls -q)" "no image after the refused run"

step "copy-to-registry pushes under the lower-case name"
out="$("${push}/bin/copy-to-registry")"
note "${out}"
assert_contains "${out}" "127.0.0.1:${port}/nix-copy/echo:v1"
raw="$(skopeo inspect --tls-verify=false --raw "docker://127.0.0.1:${port}/nix-copy/echo:v1")"
assert_contains "$(jq -r '.layers[-1].annotations | keys | join(" ")' <<<"${raw}")" "containerd.io/snapshot/nix-"
local_digest="$(skopeo inspect --format '{{.Digest}}' "oci-archive:${image}")"
assert_contains "${out}" "${local_digest}"
step "nix_copy_scripts on containerd ${version}: all good"
