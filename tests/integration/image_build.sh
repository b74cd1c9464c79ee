#!/usr/bin/env bash
# nix2container build, checked by independent OCI readers: skopeo inspect/copy and umoci
# read the archive; the Nix layer holds the closure's mountpoints, each of the type of
# what is mounted there (a store path that is a symlink to a directory gets a directory);
# a closureInfo gives the closure format (one nix-closure annotation), --legacy-nix-layer
# and a plain list the legacy one; a copyToRoot root that is a symlink to another store
# path is followed; the config keys are case-insensitive; a docker archive (made by
# skopeo) works as --from-image; bad input (non-store closure line, a closure path absent
# from the store, unknown config key, corrupt base, a copyToRoot path, or the target of a
# symlink root, outside the closure) fails naming the problem.
# Needs Nix (nix-store --add makes the store paths, rooted in the temp dir), no
# containerd or root.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N2C="${NIXSNAP_NIX2CONTAINER:-${NIXSNAP_BIN_DIR:-${NIXSNAP_REPO_ROOT}/build/src/cmd}/nix2container}"
[[ -x "${N2C}" ]] || fail "nix2container not built at ${N2C}"
require_cmd skopeo umoci tar nix-store
# The default image name is nix:0<OUT>:latest and image names are lowercase, so this test
# needs a lowercase temp root (mktemp's XXXX is mixed case). The random part: a run killed
# before its cleanup (ctest's TIMEOUT) leaves its folder, and a later run may get its PID.
if [[ -z "${NIXSNAP_TMP:-}" ]]; then
  printf -v NIXSNAP_TMP '/tmp/nixsnap-ib-%s-%08x' "$$" "${SRANDOM}"
  mkdir -m 700 "${NIXSNAP_TMP}" || fail "cannot create ${NIXSNAP_TMP}"
  export NIXSNAP_TMP
  defer _nixsnap_remove_tmp "${NIXSNAP_TMP}"
fi
tmp_root
T="${NIXSNAP_TMP}"
F="${NIXSNAP_FIXTURES}"

# add_path SRC: adds SRC (a directory, file or symlink) to the store, rooted under T.
add_path() {
  local p
  p="$(nix-store --add "$1")" || fail "nix-store --add $1"
  nix-store --realise "${p}" --add-root "${T}/roots/$(basename "$1")" >/dev/null
  printf '%s\n' "${p}"
}
mkdir -p "${T}/src/n2c-test-a/bin" "${T}/roots"
printf '#!/bin/sh\necho a\n' >"${T}/src/n2c-test-a/bin/a"
p1="$(add_path "${T}/src/n2c-test-a")"
printf 'data\n' >"${T}/src/n2c-test-file"
p2="$(add_path "${T}/src/n2c-test-file")"
ln -s "${p1}" "${T}/src/n2c-test-link"
p3="$(add_path "${T}/src/n2c-test-link")"
[[ -L "${p3}" && -d "${p3}" ]] || fail "${p3} is not a symlink to a directory"
mkdir -p "${T}/src/n2c-closure-info"
printf '%s\n%s\n%s\n' "${p1}" "${p2}" "${p3}" >"${T}/src/n2c-closure-info/store-paths"
: >"${T}/src/n2c-closure-info/registration"
info="$(add_path "${T}/src/n2c-closure-info")"
printf '%s\n%s\n\n' "${p1}" "${p2}" >"${T}/closure"
printf '{"entrypoint":["%s/bin/a"],"env":["A=1"],"WorkingDir":"/"}\n' "${p1}" >"${T}/config.json"

step "build from a plain list: legacy format; inspect with skopeo"
"${N2C}" build --config "${T}/config.json" --closure "${T}/closure" "${T}/img.tar" >/dev/null
info_json="$(skopeo inspect "oci-archive:${T}/img.tar")"
note "${info_json}"
assert_contains "${info_json}" '"Architecture": "'"$(dpkg --print-architecture 2>/dev/null || echo amd64)"'"'
assert_contains "${info_json}" '"A=1"'
raw="$(skopeo inspect --raw "oci-archive:${T}/img.tar")"
assert_contains "${raw}" '"containerd.io/snapshot/nix-layer":"true"'
assert_contains "${raw}" '"containerd.io/snapshot/nix-store-path.0":"'"${p1}"'"'
assert_contains "${raw}" '"containerd.io/snapshot/nix-store-path.1":"'"${p2}"'"'
assert_not_contains "${raw}" 'nix-closure'
index="$(tar -xOf "${T}/img.tar" index.json)"
assert_contains "${index}" '"io.containerd.image.name":"nix:0'"${T}"'/img.tar:latest"'
tar -xOf "${T}/img.tar" manifest.json | grep -q '"Layers"' || fail "no docker manifest.json"

step "skopeo copy and umoci unpack read it; the layer holds the mountpoints"
skopeo copy -q "oci-archive:${T}/img.tar" "oci:${T}/layout:v1"
umoci unpack --rootless --image "${T}/layout:v1" "${T}/bundle" >/dev/null
[[ -d "${T}/bundle/rootfs${p1}" ]] || fail "mountpoint ${p1} missing in the unpacked rootfs"
[[ -f "${T}/bundle/rootfs${p2}" ]] || fail "mountpoint ${p2} (a file store path) is not a file"
assert_eq "0" "$(find "${T}/bundle/rootfs${p1}" -mindepth 1 | wc -l)" "mountpoints are empty"

step "a closureInfo gives the closure format: one annotation, a mountpoint per store-paths line"
printf '["%s"]\n' "${p3}" >"${T}/copy.json"
"${N2C}" build --config "${T}/config.json" --closure "${info}/store-paths" \
  --copy-to-root "${T}/copy.json" --ref localhost/ib-closure:1 "${T}/cl.tar" >/dev/null
raw="$(skopeo inspect --raw "oci-archive:${T}/cl.tar")"
note "${raw}"
assert_contains "${raw}" '"annotations":{"containerd.io/snapshot/nix-closure":"'"${info}"'"}'
assert_not_contains "${raw}" 'nix-store-path'
skopeo copy -q "oci-archive:${T}/cl.tar" "oci:${T}/layout:cl"
umoci unpack --rootless --image "${T}/layout:cl" "${T}/bundle-cl" >/dev/null
R="${T}/bundle-cl/rootfs"
[[ -d "${R}${p1}" && ! -L "${R}${p1}" ]] || fail "mountpoint ${p1} is not a directory"
[[ -f "${R}${p2}" ]] || fail "mountpoint ${p2} is not a file"
[[ -d "${R}${p3}" && ! -L "${R}${p3}" ]] ||
  fail "mountpoint of ${p3} (a symlink to a directory) is not a directory: $(ls -ld "${R}${p3}")"
[[ ! -e "${R}${info}" ]] || fail "a mountpoint for the closureInfo itself (nothing is mounted there)"
assert_eq "${p1}/bin/a" "$(readlink "${R}/bin/a")" "copyToRoot symlink root followed into ${p1}"
[[ ! -e "${R}/n2c-test-link" && ! -L "${R}/n2c-test-link" ]] ||
  fail "copyToRoot symlink root linked as one entry"
"${N2C}" build --closure "${info}" --ref localhost/ib-closure:2 "${T}/cl2.tar" >/dev/null
assert_contains "$(skopeo inspect --raw "oci-archive:${T}/cl2.tar")" "\"${info}\""

step "--legacy-nix-layer: the legacy format from the same closureInfo"
"${N2C}" build --legacy-nix-layer --closure "${info}/store-paths" --ref localhost/ib-legacy:1 \
  "${T}/legacy.tar" >/dev/null
raw="$(skopeo inspect --raw "oci-archive:${T}/legacy.tar")"
assert_contains "${raw}" '"containerd.io/snapshot/nix-store-path.2":"'"${p3}"'"'
assert_not_contains "${raw}" 'nix-closure'

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
absent="/nix/store/00000000000000000000000000000000-n2c-test-absent"
printf '%s\n%s\n' "${p1}" "${absent}" >"${T}/absent-closure"
assert_fails "${N2C}" build --closure "${T}/absent-closure" "${T}/x.tar"
assert_contains "${ASSERT_OUTPUT}" "${absent}"
assert_fails "${N2C}" build --closure "${T}/src" "${T}/x.tar"
assert_contains "${ASSERT_OUTPUT}" "closureInfo"
assert_fails "${N2C}" build --closure "${T}/closure" --ref 'bad ref!!' "${T}/x.tar"
assert_contains "${ASSERT_OUTPUT}" 'bad ref!!'
mkdir -p "${T}/Upper Dir"
assert_fails "${N2C}" build --closure "${T}/closure" "${T}/Upper Dir/x.tar"
assert_contains "${ASSERT_OUTPUT}" "--ref"
assert_fails "${N2C}" build --closure "${T}/closure" --copy-to-root "${T}/copy.json" "${T}/x.tar"
assert_contains "${ASSERT_OUTPUT}" "copyToRoot path ${p3} is not in the closure"
printf '%s\n' "${p3}" >"${T}/link-only-closure"
assert_fails "${N2C}" build --closure "${T}/link-only-closure" --copy-to-root "${T}/copy.json" \
  "${T}/x.tar"
assert_contains "${ASSERT_OUTPUT}" "leads to ${p1}, which is not in the closure"
[[ ! -e "${T}/x.tar" ]] || fail "a failed build left ${T}/x.tar behind"

step "image_build: all good"
