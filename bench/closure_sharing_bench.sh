#!/usr/bin/env bash
# Issue 10's image-sharing benchmarks: IMAGES images (different small configs) that share
# one closure of PATHS store paths, shipped two ways:
#   nix    our `nix2container build --closure <closureInfo>/store-paths` (closure format:
#          one small layer of mountpoints annotated nix-closure=<closureInfo>);
#   plain  the same closure's files as one ordinary tar+gzip layer per image (as
#          bench/image_bench.sh's "plain"; the same files give the same layer bytes).
#   1. Sharing: bytes pushed to a loopback docker-registry (growth of its blob storage,
#      which stores a blob once) for all IMAGES images, and bytes containerd stores after
#      CRI-pulling all of them from that registry (growth of its content store and of
#      nix-snapshotter's snapshot dirs; the closure in /nix/store is reported apart).
#   2. Cold start: time from PullImage to a started container, through nix-snapshotter's
#      CRI image service and containerd's CRI (cri-client, as kubelet), on a node whose
#      store lacks the closure: `nix:0<archive store path>` with the archive and the
#      closure substituted from a loopback HTTP binary cache, against a registry pull of
#      the plain image from the loopback registry. Medians of --runs interleaved runs;
#      between runs the images are removed, containerd's garbage collector empties its
#      content store and snapshots, and the substituted paths are deleted again.
# Starts docker-registry, an HTTP server, containerd 1.7 (CRI on snapshotter nix) and
# nix-snapshotter in a temp dir; stops exactly those PIDs. Every store path it makes is
# rooted under the temp dir while needed (other tests may run nix-collect-garbage).
# Run under the integration flock:
#   flock /tmp/nixsnap-integration.lock bench/closure_sharing_bench.sh [options]
#
# Usage: bench/closure_sharing_bench.sh [--runs N] [--images N] [--paths N] [--size BYTES]
#                                       [--compression xz|zstd|none] [--out FILE]
#   --runs N         interleaved cold-start runs per format (default 3)
#   --images N       images sharing the closure (default 5)
#   --paths N        closure size in store paths (default 200; at least 8)
#   --size BYTES     random payload per generated leaf path (default 32768)
#   --compression C  the binary cache's NAR compression (default xz)
#   --out FILE       also write the report there (default <build>/bench-sharing-report.txt)
# Env: NIXSNAP_BUILD_DIR (default <repo>/build) holds src/cmd/{nix-snapshotter,nix2container}
#      and tests/tools/cri/cri-client.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "${here}/.." && pwd)"
# shellcheck source=tests/integration/lib.sh
source "${repo}/tests/integration/lib.sh"
# shellcheck source=tests/integration/fixtures/common.sh
source "${repo}/tests/integration/fixtures/common.sh"

RUNS=3
IMAGES=5
PATHS=200
SIZE=32768
COMPRESSION=xz
BUILD="${NIXSNAP_BUILD_DIR:-${repo}/build}"
OUT=""
while (($#)); do
  case "$1" in
    --runs) RUNS="$2"; shift ;;
    --images) IMAGES="$2"; shift ;;
    --paths) PATHS="$2"; shift ;;
    --size) SIZE="$2"; shift ;;
    --compression) COMPRESSION="$2"; shift ;;
    --out) OUT="$2"; shift ;;
    -h | --help) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) printf 'closure_sharing_bench.sh: unknown argument %s (see --help)\n' "$1" >&2; exit 2 ;;
  esac
  shift
done
((PATHS >= 8)) || { printf 'closure_sharing_bench.sh: --paths must be at least 8\n' >&2; exit 2; }
((IMAGES >= 1 && RUNS >= 1)) || { printf 'closure_sharing_bench.sh: --images and --runs must be at least 1\n' >&2; exit 2; }
OUT="${OUT:-${BUILD}/bench-sharing-report.txt}"
DAEMON="${BUILD}/src/cmd/nix-snapshotter"
N2C="${BUILD}/src/cmd/nix2container"
CRI="${BUILD}/tests/tools/cri/cri-client"

require_root
require_cmd nix-build nix-store tar gzip sha256sum python3 curl
[[ -x /usr/bin/docker-registry ]] || skip "docker-registry not installed"
for b in "${DAEMON}" "${N2C}" "${CRI}"; do
  [[ -x "${b}" ]] || skip "not built: ${b} (targets nix-snapshotter, nix2container, cri-client)"
done
containerd_bin_dir 1.7 >/dev/null
tmp_root
T="${NIXSNAP_TMP}"
F="${NIXSNAP_FIXTURES}"

now_ns() { date +%s%N; }
ms_since() { echo $((($(now_ns) - $1) / 1000000)); }
# blob_bytes DIR: bytes in the regular files below DIR (0 when absent).
blob_bytes() { { find "$1" -type f -printf '%s\n' 2>/dev/null || true; } | awk '{ s += $1 } END { print s + 0 }'; }
du_bytes() { du -sb "$1" 2>/dev/null | cut -f1; }

# --- the closure: top -> hello (4 paths incl. busybox) + a fan; one closureInfo -----------
seed="sharing-bench-$$-${RANDOM}"
msg="hello from the sharing bench"
step "building a ${PATHS}-path closure with Nix (leaf payload ${SIZE} bytes, seed ${seed})"
# A busybox of our own (the seed appended after its ELF image): its store path is ours, so
# the cold node can lack it too without touching the busybox other fixtures share.
cp /bin/busybox "${T}/busybox"
printf '\n%s\n' "${seed}" >>"${T}/busybox"
export BUSYBOX="${T}/busybox"
make_busybox_dir "${T}/bb" "${BUSYBOX}"
hello="$(bash "${F}/nix_closure.sh" hello --seed "${seed}" --message "${msg}" \
  --out-link "${T}/hello-root")"
fan="$(bash "${F}/nix_closure.sh" fan $((PATHS - 6)) --seed "${seed}" --size "${SIZE}" \
  --out-link "${T}/fan-root")"
# One root over both, so that one closureInfo lists the whole closure.
cat >"${T}/top.nix" <<NIX
derivation {
  name = "sharing-bench-top";
  system = builtins.currentSystem;
  builder = "\${builtins.path { path = ${T}/bb; name = "busybox-static"; }}/bin/busybox";
  hello = builtins.storePath ${hello};
  fan = builtins.storePath ${fan};
  args = [ "sh" "-e" "-c" "mkdir \$out; echo \$hello \$fan > \$out/refs" ];
}
NIX
top="$(nix-build "${T}/top.nix" --quiet --out-link "${T}/top-root" --option substituters '')"
info="$(nix-build "${F}/closure_info.nix" --quiet --out-link "${T}/info-root" \
  --option substituters '' --arg busyboxDir "${T}/bb" --argstr rootPath "${top}")"
cp "${info}/store-paths" "${T}/closure"
count="$(wc -l <"${T}/closure")"
closure_bytes="$(xargs du -scb <"${T}/closure" | tail -n1 | cut -f1)"
note "closure: ${count} store paths, ${closure_bytes} bytes; closureInfo ${info}"

# config I: image I's config (same program, its own Env, label and working dir).
config() {
  printf '{"Entrypoint":["%s/bin/hello"],"Env":["BENCH_IMAGE=%s"],"WorkingDir":"/","Labels":{"bench.image":"%s"}}\n' \
    "${hello}" "$1" "$1"
}

# --- the plain images: one ordinary layer holding the closure's files, per image ------------
step "one ordinary tar+gzip layer of the closure (tar, gzip -n), ${IMAGES} plain archives"
mkdir -p "${T}/plain-layer"
# shellcheck disable=SC2046
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu -C / \
  -cf "${T}/plain-layer/layer.tar" $(sed 's|^/||' "${T}/closure")
diff_id="$(sha256sum "${T}/plain-layer/layer.tar" | cut -d' ' -f1)"
gzip -n -6 "${T}/plain-layer/layer.tar"
layer="$(sha256sum "${T}/plain-layer/layer.tar.gz" | cut -d' ' -f1)"
layer_bytes="$(stat -c %s "${T}/plain-layer/layer.tar.gz")"
# build_plain OUT NAME CONFIG_JSON: an OCI archive of that one layer under CONFIG_JSON.
build_plain() {
  local out="$1" name="$2" cfg="$3" w
  w="$(mktemp -d "${T}/plain.XXXX")"
  mkdir -p "${w}/layout/blobs/sha256"
  cp "${T}/plain-layer/layer.tar.gz" "${w}/layout/blobs/sha256/${layer}"
  python3 - "${w}" "${diff_id}" "${layer}" "${name}" "${cfg}" <<'EOF'
import hashlib, json, os, sys
w, diff_id, layer, name, cfg = sys.argv[1:]
blobs = os.path.join(w, "layout", "blobs", "sha256")
def put(obj):
    data = json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, digest), "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + digest, "size": len(data)}
config = put({"architecture": "amd64", "os": "linux", "config": json.loads(cfg),
              "rootfs": {"type": "layers", "diff_ids": ["sha256:" + diff_id]}})
size = os.path.getsize(os.path.join(blobs, layer))
manifest = put({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": dict(config, mediaType="application/vnd.oci.image.config.v1+json"),
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                            "digest": "sha256:" + layer, "size": size}]})
index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
         "manifests": [dict(manifest, mediaType="application/vnd.oci.image.manifest.v1+json",
                            annotations={"io.containerd.image.name": name,
                                         "org.opencontainers.image.ref.name": name.rsplit(":", 1)[1]})]}
with open(os.path.join(w, "layout", "index.json"), "w") as f:
    json.dump(index, f, sort_keys=True, separators=(",", ":"))
with open(os.path.join(w, "layout", "oci-layout"), "w") as f:
    f.write('{"imageLayoutVersion":"1.0.0"}')
EOF
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "${w}/layout" -cf "${out}" .
  rm -rf "${w}"
}
# archive_blob_bytes ARCHIVE: bytes of the blobs (layers, config, manifest) an archive holds.
archive_blob_bytes() {
  tar -tvf "$1" | awk '$6 ~ /blobs\/sha256\/./ { s += $3 } END { print s + 0 }'
}

step "${IMAGES} nix archives (nix2container build --closure ${info}/store-paths)"
for ((i = 1; i <= IMAGES; i++)); do
  config "${i}" >"${T}/config-${i}.json"
  "${N2C}" build --config "${T}/config-${i}.json" --closure "${info}/store-paths" \
    --ref "localhost/bench/nix-${i}:1" "${T}/nix-${i}.tar" >/dev/null
  build_plain "${T}/plain-${i}.tar" "localhost/bench/plain-${i}:1" "$(cat "${T}/config-${i}.json")"
done

# --- the nix:0 archive: a store path built by Nix, as buildImage makes it -------------------
step "nix:0 archive built by a Nix derivation running nix2container build (as cri_redis.sh)"
build_nix_image_archive "${T}/nix-archive" "sharing-bench-image.tar" "${N2C}" "${top}" \
  "$(cat "${T}/config-1.json")" || fail "could not build the nix:0 archive"
archive="$(readlink -f "${T}/nix-archive/image")"
nix_ref="nix:0${archive}"
# The set to delete for a cold node: the archive, the closure (with our own busybox) and
# the derivations naming them (Nix deletes no path that a valid path still references).
mapfile -t cold < <({ echo "${archive}"; echo "${info}"; cat "${T}/closure"; } |
  xargs nix-store -q --referrers-closure | sort -u)
# make_cold: deletes whatever of that set is valid; the cache still holds it all.
make_cold() {
  local valid=()
  mapfile -t valid < <(nix-store --check-validity --print-invalid "${cold[@]}" 2>/dev/null |
    sort | comm -13 - <(printf '%s\n' "${cold[@]}" | sort))
  ((${#valid[@]} == 0)) || nix-store --delete "${valid[@]}" >"${T}/delete.log" 2>&1 ||
    fail "could not delete the closure locally: $(tail -n 3 "${T}/delete.log")"
  [[ ! -e "${archive}" && ! -e "${info}" && ! -e "${hello}" ]] || fail "closure still present after delete"
}
# At exit (after the processes stop, before the temp root goes; also after a failure):
# drop the roots on our paths and delete what is still valid of them.
forget_store_paths() {
  rm -rf "${T}/ns-root/gcroots"
  rm -f "${T}/hello-root" "${T}/fan-root" "${T}/top-root" "${T}/info-root" "${T}/nix-archive/image"
  (make_cold) || printf 'warning: some store paths of this bench could not be deleted\n' >&2
}
defer forget_store_paths
step "binary cache of the archive's closure (compression ${COMPRESSION})"
bash "${F}/make_binary_cache.sh" --compression "${COMPRESSION}" "${T}/cache" "${archive}" >/dev/null
cache_bytes="$(blob_bytes "${T}/cache")"
serve_dir "${T}/cache"

# --- processes -------------------------------------------------------------------------
step "docker-registry on loopback (plain HTTP)"
cat >"${T}/registry.yml" <<YML
version: 0.1
storage:
  filesystem:
    rootdirectory: ${T}/registry
YML
start_registry registry "${T}/registry.yml"
reg="${REGISTRY_HOST}"
export CONTAINERD_REGISTRY_CONFIG_PATH="${T}/certs.d"
mkdir -p "${CONTAINERD_REGISTRY_CONFIG_PATH}/${reg}"
printf 'server = "http://%s"\n[host."http://%s"]\n  capabilities = ["pull", "resolve"]\n' \
  "${reg}" "${reg}" >"${CONTAINERD_REGISTRY_CONFIG_PATH}/${reg}/hosts.toml"

export CONTAINERD_NIX_SOCKET="${T}/ns.sock"
CONTAINERD_LOG_LEVEL=warn containerd_start 1.7 "${T}/cd"
printf '[image_service]\nenable = true\ncontainerd_address = "%s"\n' "${CONTAINERD_ADDRESS}" >"${T}/ns.toml"
# The daemon (and the nix-store it runs) substitutes from the loopback cache only.
NIX_CONFIG=$'substituters = '"${HTTP_URL}"$'\nrequire-sigs = false\nnarinfo-cache-negative-ttl = 0' \
  start_bg nix-snapshotter "${DAEMON}" --config "${T}/ns.toml" --address "${T}/ns.sock" \
  --root "${T}/ns-root" --log-level warn
NS_PID="${BG_PID}"
wait_for_socket "${T}/ns.sock" 20 "${NS_PID}"
cri() { "${CRI}" --image-endpoint "${T}/ns.sock" --runtime-endpoint "${CONTAINERD_ADDRESS}" --timeout 300 "$@"; }
wait_until 60 cri list
bash "${F}/make_busybox_image.sh" "${T}/busybox.tar" >/dev/null
ctr_cmd -n k8s.io images import --snapshotter nix "${T}/busybox.tar" >/dev/null
wait_until 20 cri status localhost/nixsnap-busybox:latest
CONTENT="${T}/cd/root/io.containerd.content.v1.content/blobs"
SNAPS="${T}/ns-root/snapshots"
REG_BLOBS="${T}/registry/docker/registry/v2/blobs"

# --- 1. sharing: registry and containerd bytes -------------------------------------------
# share FORMAT: pushes and CRI-pulls the IMAGES images of FORMAT; appends "FORMAT pushed
# image_blobs content snapshots".
share() {
  local fmt="$1" i r0 c0 s0 sum=0
  step "1. ${fmt}: push ${IMAGES} images to ${reg}, CRI-pull them from there"
  r0="$(blob_bytes "${REG_BLOBS}")"
  for ((i = 1; i <= IMAGES; i++)); do
    "${N2C}" -l fatal push --ref "${reg}/bench/${fmt}-${i}:1" "${T}/${fmt}-${i}.tar" >/dev/null
    sum=$((sum + $(archive_blob_bytes "${T}/${fmt}-${i}.tar")))
  done
  c0="$(du_bytes "${CONTENT}")"
  s0="$(du_bytes "${SNAPS}")"
  for ((i = 1; i <= IMAGES; i++)); do
    cri pull "${reg}/bench/${fmt}-${i}:1" >/dev/null
  done
  printf '%s %s %s %s %s\n' "${fmt}" $(($(blob_bytes "${REG_BLOBS}") - r0)) "${sum}" \
    $(($(du_bytes "${CONTENT}") - c0)) $(($(du_bytes "${SNAPS}") - s0)) >>"${T}/share.results"
  note "$(tail -n1 "${T}/share.results") (format pushed image_blobs content snapshots)"
}
# drained: containerd holds no more blobs and nix snapshots than before the first pull (the
# sandbox image's; containerd may since have collected some of the import's), and
# the daemon holds no GC root.
drained() {
  (($(ctr_cmd -n k8s.io content ls -q | wc -l) <= base_blobs)) &&
    (($(ctr_cmd -n k8s.io snapshots --snapshotter nix ls | tail -n +2 | wc -l) <= base_snaps)) &&
    [[ -z "$(find "${T}/ns-root/gcroots" -mindepth 1 -maxdepth 1)" ]]
}
# drain: waits until drained, or fails saying what is left.
drain() {
  local i
  for ((i = 0; i < 600; i++)); do
    drained && return 0
    sleep 0.2
  done
  fail "containerd or the daemon still holds something after 120 s: blobs" \
    "$(ctr_cmd -n k8s.io content ls -q | wc -l) (${base_blobs} wanted), snapshots:" \
    "$(ctr_cmd -n k8s.io snapshots --snapshotter nix ls | tail -n +2), roots:" \
    "$(find "${T}/ns-root/gcroots" -mindepth 1 -maxdepth 2)"
}
base_blobs="$(ctr_cmd -n k8s.io content ls -q | wc -l)"
base_snaps="$(ctr_cmd -n k8s.io snapshots --snapshotter nix ls | tail -n +2 | wc -l)"
: >"${T}/share.results"
share nix
# A container of one nix image proves the pulled images run on the shared closure.
cri run "${reg}/bench/nix-1:1" --name share-check --log-dir "${T}/pods" >"${T}/share-run" ||
  fail "running ${reg}/bench/nix-1:1: $(cat "${T}/share-run")"
wait_until 30 grep -q "${msg}" "${T}/pods/share-check.log"
pod="$(awk '$1 == "pod" { print $2 }' "${T}/share-run")"
wait_until 30 cri stop-pod "${pod}"
wait_until 30 cri rm-pod "${pod}"
share plain
for fmt in nix plain; do
  for ((i = 1; i <= IMAGES; i++)); do cri rm "${reg}/bench/${fmt}-${i}:1" >/dev/null; done
done
drain

# --- 2. cold start: PullImage to a started container ---------------------------------------
# (StopPodSandbox right after the container exited can race the shim's exit, "ttrpc:
# closed": retried.)
# cold_start FORMAT R: PullImage + run; appends "pull_ms run_ms total_ms" to FORMAT.results.
cold_start() {
  local fmt="$1" r="$2" ref t0 pull total pod
  if [[ "${fmt}" == nix ]]; then ref="${nix_ref}"; make_cold; else ref="${reg}/bench/plain-1:1"; fi
  t0=$(now_ns)
  cri pull "${ref}" >/dev/null
  pull=$(ms_since "${t0}")
  cri run "${ref}" --name "cold-${fmt}-${r}" --log-dir "${T}/pods" >"${T}/run.out" ||
    fail "running ${ref}: $(cat "${T}/run.out")"
  total=$(ms_since "${t0}")
  wait_until 30 grep -q "${msg}" "${T}/pods/cold-${fmt}-${r}.log"
  printf '%s %s %s\n' "${pull}" $((total - pull)) "${total}" >>"${T}/${fmt}.results"
  pod="$(awk '$1 == "pod" { print $2 }' "${T}/run.out")"
  wait_until 30 cri stop-pod "${pod}"
  wait_until 30 cri rm-pod "${pod}"
  cri rm "${ref}" >/dev/null
  drain
}
step "2. cold start: removing the local roots of the closure and the archive"
rm -f "${T}/hello-root" "${T}/fan-root" "${T}/top-root" "${T}/info-root" "${T}/nix-archive/image"
: >"${T}/nix.results"
: >"${T}/plain.results"
for ((r = 1; r <= RUNS; r++)); do
  step "2. cold start run ${r}/${RUNS}"
  if ((r % 2)); then cold_start nix "${r}"; cold_start plain "${r}"; else cold_start plain "${r}"; cold_start nix "${r}"; fi
  note "nix: $(tail -n1 "${T}/nix.results")   plain: $(tail -n1 "${T}/plain.results") (pull_ms run_ms total_ms)"
done
make_cold  # leave nothing of ours valid in the store

# --- report ------------------------------------------------------------------------------
{
  printf '# closure sharing benchmarks, %s; %s CPUs, load %s; containerd %s\n' \
    "$(date -u '+%Y-%m-%d %H:%M UTC')" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" \
    "$("${CONTAINERD_BIN}/containerd" --version | awk '{print $3}')"
  python3 - "${T}/share.results" "${T}/nix.results" "${T}/plain.results" "${count}" \
    "${closure_bytes}" "${IMAGES}" "${RUNS}" "${cache_bytes}" "${COMPRESSION}" "${layer_bytes}" <<'EOF'
import statistics, sys
share_p, nix_p, plain_p, count, closure, images, runs, cache, comp, layer = sys.argv[1:]
share = {l.split()[0]: list(map(int, l.split()[1:])) for l in open(share_p) if l.strip()}
n, p = share["nix"], share["plain"]
print(f"== 1. {images} images sharing one {count}-path closure ({closure} bytes in /nix/store)")
print(f"{'bytes':40}{'nix':>12}{'plain':>12}{'nix/plain':>11}")
def row(what, a, b):
    print(f"{what:40}{a:>12}{b:>12}{a / b if b else float('nan'):>11.4f}")
row("pushed to the registry (blob growth)", n[0], p[0])
row("blobs of the images, summed per image", n[1], p[1])
row("containerd content store growth", n[2], p[2])
row("snapshot dirs growth", n[3], p[3])
row("containerd total (content + snapshots)", n[2] + n[3], p[2] + p[3])
row("node total (+ closure in /nix/store)", n[2] + n[3] + int(closure), p[2] + p[3])
def load(path):
    rows = [list(map(int, l.split())) for l in open(path) if l.strip()]
    return [statistics.median(c) for c in zip(*rows)], [(min(c), max(c)) for c in zip(*rows)]
(nm, nr), (pm, pr) = load(nix_p), load(plain_p)
print(f"== 2. cold start, PullImage to a started container: medians of {runs} runs")
print(f"   (nix: archive + closure substituted from a loopback binary cache of {cache} bytes, {comp};")
print(f"    plain: registry pull of the same closure as one ordinary layer of {layer} bytes)")
print(f"{'ms':40}{'nix':>12}{'plain':>12}{'nix/plain':>11}")
for i, what in enumerate(["PullImage", "RunPodSandbox+Create+Start", "total"]):
    print(f"{what:40}{nm[i]:>12.0f}{pm[i]:>12.0f}{nm[i] / pm[i]:>11.2f}")
print(f"{'total range':40}{'%d-%d' % nr[2]:>12}{'%d-%d' % pr[2]:>12}")
EOF
} | tee "${OUT}"
step "report written to ${OUT}"
