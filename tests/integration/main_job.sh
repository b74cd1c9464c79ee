#!/usr/bin/env bash
# The main job, end to end with real parts only: a locally built Nix closure (hello ->
# libgreet -> hello-data, busybox) -> `nix2container build` -> `nix2container load` into a
# private containerd (VERSION) whose [proxy_plugins.nix] is nix-snapshotter -> `ctr run
# --snapshotter nix` prints the program's output and sees exactly the closure under
# /nix/store. Then: loading again is a no-op; --copy-to-root gives /bin/hello;
# --from-image with an ordinary busybox image; the closure deleted locally and
# substituted from a loopback HTTP binary cache during unpack; removing image and
# container plus containerd's GC removes the snapshots and GC roots, after which Nix
# collects the paths.
#
# Usage: tests/integration/main_job.sh 1.7|2.1     (root; exit 77 = skipped)
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/daemon_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/daemon_common.sh"

version="${1:?usage: main_job.sh 1.7|2.1}"
N2C="${NIXSNAP_NIX2CONTAINER:-${NIXSNAP_BIN_DIR}/nix2container}"
require_root
require_cmd nix-build nix-store
require_daemon_bin
require_snapctl
[[ -x "${N2C}" ]] || fail "nix2container not built at ${N2C}"
containerd_bin_dir "${version}" >/dev/null
tmp_root
T="${NIXSNAP_TMP}"
F="${NIXSNAP_FIXTURES}"
seed="main-job-${version}-$$-${RANDOM}"
msg="hello from the main job ${version}"

step "build a Nix closure (seed ${seed})"
hello="$(bash "${F}/nix_closure.sh" hello --seed "${seed}" --message "${msg}" \
  --out-link "${T}/hello-root")"
nix-store -qR "${hello}" >"${T}/closure"
note "closure: $(tr '\n' ' ' <"${T}/closure")"
assert_eq 4 "$(wc -l <"${T}/closure")" "closure size"
busybox_path="$(grep -- '-busybox-static$' "${T}/closure")"

step "nix2container build (twice: byte-identical whatever the umask and TMPDIR)"
printf '{"entrypoint":["%s/bin/hello"]}\n' "${hello}" >"${T}/config.json"
printf '["%s"]\n' "${hello}" >"${T}/copy.json"
"${N2C}" build --config "${T}/config.json" --closure "${T}/closure" \
  --copy-to-root "${T}/copy.json" --ref "localhost/main-job:${version}" "${T}/image.tar"
mkdir -p "${T}/othertmp"
(umask 077 && TMPDIR="${T}/othertmp" "${N2C}" build --config "${T}/config.json" \
  --closure "${T}/closure" --copy-to-root "${T}/copy.json" \
  --ref "localhost/main-job:${version}" "${T}/image2.tar")
assert_eq "$(sha256sum <"${T}/image.tar")" "$(sha256sum <"${T}/image2.tar")" "deterministic"

step "start nix-snapshotter and containerd ${version}"
daemon_start nix-snapshotter "${T}/ns.sock" "${T}/root"
CONTAINERD_NIX_SOCKET="${T}/ns.sock" containerd_start "${version}" "${T}/cd"
n2c() { "${N2C}" --address "${CONTAINERD_ADDRESS}" --namespace default "$@"; }

step "nix2container load"
out="$(n2c load "${T}/image.tar")"
note "${out}"
assert_contains "${out}" "localhost/main-job:${version}"
assert_contains "$(ctr_cmd images ls)" "localhost/main-job:${version}"
sn="$(ctr_cmd snapshots --snapshotter nix ls)"
note "${sn}"
assert_contains "${sn}" "Committed"

step "loading the same archive again is a no-op"
start_ns=$(date +%s%N)
n2c load "${T}/image.tar" >/dev/null
assert_eq "${sn}" "$(ctr_cmd snapshots --snapshotter nix ls)" "snapshots unchanged"
note "second load took $((($(date +%s%N) - start_ns) / 1000000)) ms"

step "bad archives fail naming the problem and leave nothing visible"
images_before="$(ctr_cmd images ls -q | sort)"
head -c 2000 "${T}/image.tar" >"${T}/truncated.tar"
assert_fails n2c load "${T}/truncated.tar"
assert_contains "${ASSERT_OUTPUT}" "truncated"
mkdir -p "${T}/evil" && tar -C "${T}/evil" -xf "${T}/image.tar"
ln -s /etc/passwd "${T}/evil/index.json.link"
(cd "${T}/evil" && rm index.json && mv index.json.link index.json &&
  tar -cf "${T}/symlinked.tar" oci-layout index.json manifest.json blobs)
assert_fails n2c load "${T}/symlinked.tar"
assert_contains "${ASSERT_OUTPUT}" "index.json"
assert_eq "${images_before}" "$(ctr_cmd images ls -q | sort)" "no image from a bad archive"
assert_eq "${sn}" "$(ctr_cmd snapshots --snapshotter nix ls)" "no snapshot from a bad archive"
assert_fails "${N2C}" --address "${T}/nothing.sock" load "${T}/image.tar"
assert_contains "${ASSERT_OUTPUT}" "${T}/nothing.sock"

step "ctr run --snapshotter nix prints the program's output"
run_out="$(ctr_cmd run --rm --snapshotter nix "localhost/main-job:${version}" mj1)"
note "${run_out}"
assert_eq "${msg}" "${run_out}" "container output"

step "the container sees exactly the closure under /nix/store"
seen="$(ctr_cmd run --rm --snapshotter nix "localhost/main-job:${version}" mj2 \
  "${busybox_path}/bin/busybox" ls /nix/store | sort)"
want="$(xargs -n1 basename <"${T}/closure" | sort)"
assert_eq "${want}" "${seen}" "store paths in the container"

step "--copy-to-root: /bin/hello works"
assert_eq "${msg}" "$(ctr_cmd run --rm --snapshotter nix "localhost/main-job:${version}" mj3 \
  /bin/hello)" "/bin/hello"

step "--from-image with an ordinary busybox base"
bash "${F}/make_busybox_image.sh" "${T}/base.tar" localhost/mj-base:latest >/dev/null
"${N2C}" build --from-image "${T}/base.tar" --config "${T}/config.json" \
  --closure "${T}/closure" --ref "localhost/main-job-based:${version}" "${T}/based.tar"
n2c load "${T}/based.tar" >/dev/null
both="$(ctr_cmd run --rm --snapshotter nix "localhost/main-job-based:${version}" mj4 \
  /bin/busybox sh -c "${hello}/bin/hello; ls /bin/busybox")"
note "${both}"
assert_contains "${both}" "${msg}"
assert_contains "${both}" "/bin/busybox"

step "GC: remove images, let containerd collect, the GC roots go, Nix collects the paths"
ctr_cmd images rm --sync "localhost/main-job:${version}" "localhost/main-job-based:${version}" \
  >/dev/null
for _ in $(seq 1 300); do # up to 60 s: a generous bound for a loaded machine
  [[ -z "$(ctr_cmd snapshots --snapshotter nix ls | tail -n +2)" ]] && break
  sleep 0.2
done
assert_eq "" "$(ctr_cmd snapshots --snapshotter nix ls | tail -n +2)" "snapshots after GC"
roots="$(find "${T}/root/gcroots" -mindepth 1 2>/dev/null || true)"
assert_eq "" "${roots}" "GC roots after GC"
rm -f "${T}/hello-root"
nix-store --delete "${hello}" >/dev/null 2>&1 || fail "nix could not collect ${hello}"
[[ ! -e "${hello}" ]] || fail "${hello} still present after nix-store --delete"

step "binary cache: the closure deleted locally is substituted over HTTP during unpack"
hello2="$(bash "${F}/nix_closure.sh" hello --seed "${seed}-cache" --message "${msg} cached")"
nix-store -qR "${hello2}" >"${T}/closure2"
bash "${F}/make_binary_cache.sh" "${T}/cache" "${hello2}" >/dev/null
printf '{"Entrypoint":["%s/bin/hello"]}\n' "${hello2}" >"${T}/config2.json"
"${N2C}" build --config "${T}/config2.json" --closure "${T}/closure2" \
  --ref "localhost/main-job-cached:${version}" "${T}/cached.tar"
grep -v -- '-busybox-static$' "${T}/closure2" | xargs nix-store --delete >/dev/null 2>&1 ||
  fail "could not delete the closure locally"
[[ ! -e "${hello2}" ]] || fail "${hello2} still present"
daemon_stop "${DAEMON_PID}" nix-snapshotter
serve_dir "${T}/cache"
export NIX_CONFIG=$'substituters = '"${HTTP_URL}"$'\nrequire-sigs = false\nnarinfo-cache-negative-ttl = 0'
daemon_start nix-snapshotter2 "${T}/ns.sock" "${T}/root"
unset NIX_CONFIG
n2c load "${T}/cached.tar" >/dev/null
assert_eq "${msg} cached" "$(ctr_cmd run --rm --snapshotter nix \
  "localhost/main-job-cached:${version}" mj5)" "output of the substituted closure"
[[ -e "${hello2}" ]] || fail "${hello2} was not substituted"

step "main job on containerd ${version}: all good"
