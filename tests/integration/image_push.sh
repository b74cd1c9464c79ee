#!/usr/bin/env bash
# nix2container push against Debian's docker-registry on loopback (plain HTTP, a free
# port, storage in the temp dir): the pushed image reads back with skopeo, with the Nix
# layer's annotations intact; pushing again uploads nothing new and still succeeds.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N2C="${NIXSNAP_NIX2CONTAINER:-${NIXSNAP_BIN_DIR:-${NIXSNAP_REPO_ROOT}/build/src/cmd}/nix2container}"
[[ -x "${N2C}" ]] || fail "nix2container not built at ${N2C}"
require_cmd docker-registry skopeo nix-store
tmp_root
T="${NIXSNAP_TMP}"

port="$(free_port)"
cat >"${T}/registry.yml" <<YAML
version: 0.1
storage:
  filesystem:
    rootdirectory: ${T}/registry
http:
  addr: 127.0.0.1:${port}
YAML
step "starting docker-registry on 127.0.0.1:${port}"
start_bg registry docker-registry serve "${T}/registry.yml"
wait_until 20 curl -fsS "http://127.0.0.1:${port}/v2/"

# A real store path (nix2container build refuses absent ones), rooted in the temp dir.
mkdir -p "${T}/push-test"
p1="$(nix-store --add "${T}/push-test")"
nix-store --realise "${p1}" --add-root "${T}/push-test-root" >/dev/null
printf '%s\n' "${p1}" >"${T}/closure"
"${N2C}" build --closure "${T}/closure" --ref "localhost:${port}/nix/push:1" "${T}/img.tar" >/dev/null

step "push, then read back with skopeo"
out="$("${N2C}" push --plain-http --ref "localhost:${port}/nix/push:1" "${T}/img.tar")"
note "${out}"
raw="$(skopeo inspect --tls-verify=false --raw "docker://localhost:${port}/nix/push:1")"
assert_contains "${raw}" '"containerd.io/snapshot/nix-store-path.0":"'"${p1}"'"'
local_digest="$(skopeo inspect --format '{{.Digest}}' "oci-archive:${T}/img.tar")"
assert_contains "${out}" "${local_digest}"

step "pushing again succeeds"
"${N2C}" push --plain-http --ref "localhost:${port}/nix/push:1" "${T}/img.tar" >/dev/null

step "a bad reference fails naming it"
assert_fails "${N2C}" push --plain-http --ref "nohost" "${T}/img.tar"
assert_contains "${ASSERT_OUTPUT}" "nohost"
step "image_push: all good"
