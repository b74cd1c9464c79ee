#!/usr/bin/env bash
# nix2container build, checked by independent OCI readers: skopeo inspect/copy and umoci
# read the archive; the Nix layer holds the closure's mountpoints; the config keys are
# case-insensitive; a docker archive (made by skopeo) works as --from-image; bad input
# (non-store closure line, unknown config key, corrupt base) fails naming the problem.
# Needs no Nix, containerd or root: the store paths are syntactically valid but absent
# (absent paths become directory mountpoints).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N2C="${NIXSNAP_NIX2CONTAINER:-${NIXSNAP_BIN_DIR:-${NIXSNAP_REPO_ROOT}/build/src/cmd}/nix2container}"
[[ -x "${N2C}" ]] || fail "nix2container not built at ${N2C}"
require_cmd skopeo umoci tar
# The default image name is nix:0<OUT>:latest and image names are lowercase, so this test
# needs a lowercase temp root (mktemp's XXXX is mixed case).
if [[ -z "${NIXSNAP_TMP:-}" ]]; then
  NIXSNAP_TMP="/tmp/nixsnap-ib-$$"
  mkdir -m 700 "${NIXSNAP_TMP}" || fail "cannot create ${NIXSNAP_TMP}"
  export NIXSNAP_TMP
  defer _nixsnap_remove_tmp "${NIXSNAP_TMP}"
fi
tmp_root
T="${NIXSNAP_TMP}"
F="${NIXSNAP_FIXTURES}"

p1=/nix/store/00000000000000000000000000000000-nix2container-test-a
p2=/nix/store/11111111111111111111111111111111-nix2container-test-b
printf '%s\n%s\n\n' "${p1}" "${p2}" >"${T}/closure"
printf '{"entrypoint":["%s/bin/a"],"env":["A=1"],"WorkingDir":"/"}\n' "${p1}" >"${T}/config.json"

step "build and inspect with skopeo"
"${N2C}" build --config "${T}/config.json" --closure "${T}/closure" "${T}/img.tar" >/dev/null
info="$(skopeo inspect "oci-archive:${T}/img.tar")"
note "${info}"
assert_contains "${info}" '"Architecture": "'"$(dpkg --print-architecture 2>/dev/null || echo amd64)"'"'
assert_contains "${info}" '"A=1"'
raw="$(skopeo inspect --raw "oci-archive:${T}/img.tar")"
assert_contains "${raw}" '"containerd.io/snapshot/nix-layer":"true"'
assert_contains "${raw}" '"containerd.io/snapshot/nix-store-path.0":"'"${p1}"'"'
assert_contains "${raw}" '"containerd.io/snapshot/nix-store-path.1":"'"${p2}"'"'
index="$(tar -xOf "${T}/img.tar" index.json)"
assert_contains "${index}" '"io.containerd.image.name":"nix:0'"${T}"'/img.tar:latest"'
tar -xOf "${T}/img.tar" manifest.json | grep -q '"Layers"' || fail "no docker manifest.json"

step "skopeo copy and umoci unpack read it; the layer holds the mountpoints"
skopeo copy -q "oci-archive:${T}/img.tar" "oci:${T}/layout:v1"
umoci unpack --rootless --image "${T}/layout:v1" "${T}/bundle" >/dev/null
[[ -d "${T}/bundle/rootfs${p1}" ]] || fail "mountpoint ${p1} missing in the unpacked rootfs"
[[ -d "${T}/bundle/rootfs${p2}" ]] || fail "mountpoint ${p2} missing in the unpacked rootfs"
assert_eq "0" "$(find "${T}/bundle/rootfs${p1}" -mindepth 1 | wc -l)" "mountpoints are empty"

step "docker archive as --from-image: base layers first"
bash "${F}/make_busybox_image.sh" "${T}/base.tar" localhost/ib-base:latest >/dev/null 2>&1
skopeo copy -q "oci-archive:${T}/base.tar" "docker-archive:${T}/base-docker.tar:localhost/ib-base:latest"
"${N2C}" build --from-image "${T}/base-docker.tar" --closure "${T}/closure" \
  --ref localhost/ib:1 "${T}/based.tar" >/dev/null
based="$(skopeo inspect "oci-archive:${T}/based.tar")"
assert_eq 2 "$(skopeo inspect --format '{{len .Layers}}' "oci-archive:${T}/based.tar")" "layers"
assert_contains "${based}" "PATH="

step "bad input fails naming the problem"
printf '%s\n/etc/passwd\n' "${p1}" >"${T}/bad-closure"
assert_fails "${N2C}" build --closure "${T}/bad-closure" "${T}/x.tar"
assert_contains "${ASSERT_OUTPUT}" "line 2"
assert_contains "${ASSERT_OUTPUT}" "/etc/passwd"
echo '{"Entrypoint":["/a"],"Bogus":1}' >"${T}/bad-config.json"
assert_fails "${N2C}" build --config "${T}/bad-config.json" "${T}/x.tar"
assert_contains "${ASSERT_OUTPUT}" '"Bogus"'
head -c 3000 "${T}/base.tar" >"${T}/truncated.tar"
assert_fails "${N2C}" build --from-image "${T}/truncated.tar" "${T}/x.tar"
assert_contains "${ASSERT_OUTPUT}" "truncated"
assert_fails "${N2C}" build --closure "${T}/closure" --ref 'bad ref!!' "${T}/x.tar"
assert_contains "${ASSERT_OUTPUT}" 'bad ref!!'
mkdir -p "${T}/Upper Dir"
assert_fails "${N2C}" build --closure "${T}/closure" "${T}/Upper Dir/x.tar"
assert_contains "${ASSERT_OUTPUT}" "--ref"
[[ ! -e "${T}/x.tar" ]] || fail "a failed build left ${T}/x.tar behind"

step "image_build: all good"
