#!/usr/bin/env bash
# nix2container push against Debian's docker-registry on loopback (plain HTTP, a port the
# kernel picks, storage in the temp dir): the pushed image reads back with skopeo, with the Nix
# layer's annotations intact; pushing again uploads nothing new and still succeeds.
# As the original, localhost and loopback registries get plain HTTP without --plain-http,
# and short names go to Docker Hub's registry host (seen through a refused proxy: no
# network here).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N2C="${NIXSNAP_NIX2CONTAINER:-${NIXSNAP_BIN_DIR:-${NIXSNAP_REPO_ROOT}/build/src/cmd}/nix2container}"
[[ -x "${N2C}" ]] || fail "nix2container not built at ${N2C}"
require_cmd docker-registry skopeo nix-store
tmp_root
T="${NIXSNAP_TMP}"

cat >"${T}/registry.yml" <<YAML
version: 0.1
storage:
  filesystem:
    rootdirectory: ${T}/registry
YAML
step "starting docker-registry"
start_registry registry "${T}/registry.yml"
port="${REGISTRY_PORT}"

# A real store path (nix2container build refuses absent ones), rooted in the temp dir.
mkdir -p "${T}/push-test"
p1="$(nix-store --add "${T}/push-test")"
nix-store --realise "${p1}" --add-root "${T}/push-test-root" >/dev/null
printf '%s\n' "${p1}" >"${T}/closure"
"${N2C}" build --closure "${T}/closure" --ref "localhost:${port}/nix/push:1" "${T}/img.tar" >/dev/null

step "--version prints the CMake project version"
want="$(sed -n 's/^project(nix_snapshotter VERSION \([0-9.]*\).*/\1/p' "${NIXSNAP_REPO_ROOT}/CMakeLists.txt")"
assert_eq "nix2container version ${want}" "$("${N2C}" --version)" "nix2container --version"

step "push to localhost:PORT without --plain-http (plain HTTP is automatic), read back"
out="$("${N2C}" push --ref "localhost:${port}/nix/push:1" "${T}/img.tar")"
note "${out}"
raw="$(skopeo inspect --tls-verify=false --raw "docker://localhost:${port}/nix/push:1")"
assert_contains "${raw}" '"containerd.io/snapshot/nix-store-path.0":"'"${p1}"'"'
local_digest="$(skopeo inspect --format '{{.Digest}}' "oci-archive:${T}/img.tar")"
assert_contains "${out}" "${local_digest}"

step "push to 127.0.0.1:PORT without --plain-http, read back"
"${N2C}" -l fatal push --ref "127.0.0.1:${port}/nix/by-ip:2" "${T}/img.tar" >/dev/null
remote_digest="$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://127.0.0.1:${port}/nix/by-ip:2")"
assert_eq "${local_digest}" "${remote_digest}" "digest pushed to 127.0.0.1"

step "pushing again with --plain-http succeeds"
"${N2C}" push --plain-http --ref "localhost:${port}/nix/push:1" "${T}/img.tar" >/dev/null

step "Docker Hub names go to registry-1.docker.io over https"
refused="http://127.0.0.1:$(free_port)"
for ref in redis docker.io/library/redis index.docker.io/user/app user/app:1; do
  assert_fails env https_proxy="${refused}" HTTPS_PROXY="${refused}" no_proxy= NO_PROXY= \
    "${N2C}" push --ref "${ref}" "${T}/img.tar"
  assert_contains "${ASSERT_OUTPUT}" "https://registry-1.docker.io/v2/"
done

step "a bad reference fails naming it"
assert_fails "${N2C}" push --ref "localhost:${port}/Nix/Upper:1" "${T}/img.tar"
assert_contains "${ASSERT_OUTPUT}" "localhost:${port}/Nix/Upper:1"
step "image_push: all good"
