#!/usr/bin/env bash
# Issue 3's benchmark: a closure of about 100 store paths shipped two ways, in one run:
#   nix    `nix2container build` (one tiny Nix layer + store-path annotations), then
#          `nix2container load` into containerd (snapshotter nix; the paths are already in
#          the local store) and a first `ctr run --snapshotter nix`;
#   plain  the same closure packed as one ordinary tar+gzip layer (an OCI archive made
#          here with tar, gzip -n and sha256sum), `ctr images import --snapshotter
#          overlayfs` and a first `ctr run --snapshotter overlayfs`.
# Reports archive size, build time and load + first run time (medians of --runs
# interleaved runs; the images and their content are removed, and containerd's garbage
# collector run, between runs) and the nix/plain ratios.
# Starts containerd 1.7 and nix-snapshotter in a temp dir; stops exactly those PIDs.
#
# Usage: bench/image_bench.sh [--runs N] [--paths N] [--size BYTES] [--out FILE]
#   --runs N      interleaved runs (default 5)
#   --paths N     closure size in store paths (default 100; at least 5)
#   --size BYTES  payload per generated leaf path (default 65536)
#   --out FILE    also write the report there (default <build>/bench-image-report.txt)
# Env: NIXSNAP_BUILD_DIR (default <repo>/build) holds src/cmd/{nix-snapshotter,nix2container};
#      NIXSNAP_DAEMON and NIXSNAP_NIX2CONTAINER override the two binaries.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "${here}/.." && pwd)"
# shellcheck source=tests/integration/lib.sh
source "${repo}/tests/integration/lib.sh"

RUNS=5
PATHS=100
SIZE=65536
BUILD="${NIXSNAP_BUILD_DIR:-${repo}/build}"
OUT=""
while (($#)); do
  case "$1" in
    --runs) RUNS="$2"; shift ;;
    --paths) PATHS="$2"; shift ;;
    --size) SIZE="$2"; shift ;;
    --out) OUT="$2"; shift ;;
    -h | --help) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) printf 'image_bench.sh: unknown argument %s (see --help)\n' "$1" >&2; exit 2 ;;
  esac
  shift
done
((PATHS >= 5)) || { printf 'image_bench.sh: --paths must be at least 5\n' >&2; exit 2; }
OUT="${OUT:-${BUILD}/bench-image-report.txt}"
DAEMON="${NIXSNAP_DAEMON:-${BUILD}/src/cmd/nix-snapshotter}"
N2C="${NIXSNAP_NIX2CONTAINER:-${BUILD}/src/cmd/nix2container}"

require_root
require_cmd nix-build nix-store tar gzip sha256sum python3
[[ -x "${DAEMON}" ]] || skip "no daemon at ${DAEMON} (build the nix-snapshotter target)"
[[ -x "${N2C}" ]] || skip "no nix2container at ${N2C} (build the nix2container target)"
containerd_bin_dir 1.7 >/dev/null
tmp_root
T="${NIXSNAP_TMP}"
F="${NIXSNAP_FIXTURES}"

now_ns() { date +%s%N; }
ms_since() { echo $((($(now_ns) - $1) / 1000000)); }

# --- the closure: hello (4 paths incl. busybox) + a fan of PATHS-4 paths ------------------
step "building a ${PATHS}-path closure with Nix (leaf payload ${SIZE} bytes)"
seed="image-bench-${PATHS}-${SIZE}"
hello="$(bash "${F}/nix_closure.sh" hello --seed "${seed}" --message "hello from the image bench" \
  --out-link "${T}/hello-root")"
fan="$(bash "${F}/nix_closure.sh" fan $((PATHS - 5)) --seed "${seed}" --size "${SIZE}" \
  --out-link "${T}/fan-root")"
{ nix-store -qR "${hello}"; nix-store -qR "${fan}"; } | sort -u >"${T}/closure"
count="$(wc -l <"${T}/closure")"
note "closure: ${count} store paths, $(xargs du -scb <"${T}/closure" | tail -n1 | cut -f1) bytes"
printf '{"Entrypoint":["%s/bin/hello"]}\n' "${hello}" >"${T}/config.json"

# --- the plain image: one ordinary layer holding the closure's files ---------------------
# build_plain OUT NAME: writes an OCI archive whose single tar+gzip layer holds every
# closure path under nix/store/ (as an ordinary image built from the same files would).
build_plain() {
  local out="$1" name="$2" w
  w="$(mktemp -d "${T}/plain.XXXX")"
  mkdir -p "${w}/layout/blobs/sha256"
  local b="${w}/layout/blobs/sha256"
  # shellcheck disable=SC2046
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu -C / \
    -cf "${w}/layer.tar" $(sed 's|^/||' "${T}/closure")
  local diff_id
  diff_id="$(sha256sum "${w}/layer.tar" | cut -d' ' -f1)"
  gzip -n -6 "${w}/layer.tar"
  local layer layer_size
  layer="$(sha256sum "${w}/layer.tar.gz" | cut -d' ' -f1)"
  layer_size="$(stat -c %s "${w}/layer.tar.gz")"
  mv "${w}/layer.tar.gz" "${b}/${layer}"
  python3 - "${w}" "${b}" "${diff_id}" "${layer}" "${layer_size}" "${name}" "${hello}" <<'EOF'
import hashlib, json, os, sys
w, blobs, diff_id, layer, layer_size, name, hello = sys.argv[1:]
def put(obj):
    data = json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, digest), "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + digest, "size": len(data)}
config = put({"architecture": "amd64", "os": "linux",
              "config": {"Entrypoint": [hello + "/bin/hello"]},
              "rootfs": {"type": "layers", "diff_ids": ["sha256:" + diff_id]}})
manifest = put({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": dict(config, mediaType="application/vnd.oci.image.config.v1+json"),
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                            "digest": "sha256:" + layer, "size": int(layer_size)}]})
tag = name.rsplit(":", 1)[1]
index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
         "manifests": [dict(manifest, mediaType="application/vnd.oci.image.manifest.v1+json",
                            annotations={"io.containerd.image.name": name,
                                         "org.opencontainers.image.ref.name": tag})]}
with open(os.path.join(w, "layout", "index.json"), "w") as f:
    json.dump(index, f, sort_keys=True, separators=(",", ":"))
with open(os.path.join(w, "layout", "oci-layout"), "w") as f:
    f.write('{"imageLayoutVersion":"1.0.0"}')
EOF
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "${w}/layout" -cf "${out}" .
  rm -rf "${w}"
}

# --- processes ---------------------------------------------------------------------------
cat >"${T}/ns.toml" <<EOF
[image_service]
enable = false
EOF
start_bg nix-snapshotter "${DAEMON}" --config "${T}/ns.toml" --address "${T}/ns.sock" \
  --root "${T}/ns-root" --log-level warn
wait_for_socket "${T}/ns.sock" 20 "${BG_PID}"
CONTAINERD_NIX_SOCKET="${T}/ns.sock" CONTAINERD_LOG_LEVEL=warn containerd_start 1.7 "${T}/cd"
n2c() { "${N2C}" --address "${CONTAINERD_ADDRESS}" --namespace default "$@"; }

# run_nix R / run_plain R: one build, load and first run; appends "build_ms load_ms run_ms
# size_bytes".
run_nix() {
  local r="$1" name="localhost/bench-nix:r$1" t0 build load run
  t0=$(now_ns)
  "${N2C}" build --config "${T}/config.json" --closure "${T}/closure" --ref "${name}" \
    "${T}/nix-${r}.tar" >/dev/null
  build=$(ms_since "${t0}")
  t0=$(now_ns)
  n2c load "${T}/nix-${r}.tar" >/dev/null
  load=$(ms_since "${t0}")
  t0=$(now_ns)
  out="$(ctr_cmd run --rm --snapshotter nix "${name}" "bench-nix-${r}")"
  run=$(ms_since "${t0}")
  [[ "${out}" == "hello from the image bench" ]] || fail "nix image printed: ${out}"
  printf '%s %s %s %s\n' "${build}" "${load}" "${run}" "$(stat -c %s "${T}/nix-${r}.tar")" >>"${T}/nix.results"
  ctr_cmd images rm --sync "${name}" >/dev/null
}
run_plain() {
  local r="$1" name="localhost/bench-plain:r$1" t0 build load run
  t0=$(now_ns)
  build_plain "${T}/plain-${r}.tar" "${name}"
  build=$(ms_since "${t0}")
  t0=$(now_ns)
  ctr_cmd images import --snapshotter overlayfs "${T}/plain-${r}.tar" >/dev/null
  load=$(ms_since "${t0}")
  t0=$(now_ns)
  out="$(ctr_cmd run --rm --snapshotter overlayfs "${name}" "bench-plain-${r}")"
  run=$(ms_since "${t0}")
  [[ "${out}" == "hello from the image bench" ]] || fail "plain image printed: ${out}"
  printf '%s %s %s %s\n' "${build}" "${load}" "${run}" "$(stat -c %s "${T}/plain-${r}.tar")" >>"${T}/plain.results"
  ctr_cmd images rm --sync "${name}" >/dev/null
}

: >"${T}/nix.results"
: >"${T}/plain.results"
for ((r = 1; r <= RUNS; r++)); do
  step "run ${r}/${RUNS}"
  if ((r % 2)); then run_nix "${r}"; run_plain "${r}"; else run_plain "${r}"; run_nix "${r}"; fi
  note "nix:   $(tail -n1 "${T}/nix.results")   plain: $(tail -n1 "${T}/plain.results") (build_ms load_ms run_ms bytes)"
  rm -f "${T}/nix-${r}.tar" "${T}/plain-${r}.tar"
done

: >"${OUT}"
python3 - "${T}/nix.results" "${T}/plain.results" "${count}" "${RUNS}" <<'EOF' | tee -a "${OUT}"
import statistics, sys
def load(p):
    rows = [list(map(int, l.split())) for l in open(p) if l.strip()]
    return [statistics.median(col) for col in zip(*rows)]
nix, plain = load(sys.argv[1]), load(sys.argv[2])
print(f"== {sys.argv[3]}-path closure as a Nix image vs one ordinary layer: medians of {sys.argv[4]} runs")
print(f"{'':24}{'nix':>12}{'plain':>12}{'nix/plain':>11}")
nix.insert(3, nix[1] + nix[2])
plain.insert(3, plain[1] + plain[2])
for i, what in enumerate(["build (ms)", "load (ms)", "first run (ms)", "load + first run (ms)",
                          "archive size (bytes)"]):
    print(f"{what:24}{nix[i]:>12.0f}{plain[i]:>12.0f}{nix[i] / plain[i]:>11.3f}")
EOF
step "report written to ${OUT}"
