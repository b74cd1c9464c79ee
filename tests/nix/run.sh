#!/usr/bin/env bash
# Tests the Nix side of the project with Debian's Nix (no nixpkgs needed):
#   (a) every .nix file in the repository parses (nix-instantiate --parse);
#   (b) nix/build-image.nix and nix/copy-scripts.nix evaluate and BUILD against
#       tests/nix/stub-pkgs.nix, and nix2container gets the right arguments: closure
#       file, config JSON, copyToRoot list, --ref naming, resolvedByNix naming,
#       --from-image; the copy scripts run nix2container push/load as documented;
#   (c) the NixOS and Home Manager modules evaluate against tests/nix/stub-module-lib.nix
#       and produce the expected units and containerd settings (tests/nix/modules.nix);
#   (d) the rootless launch scripts and the preload script run against recording fakes;
#   (e) flake.nix's outputs evaluate with tests/nix/stub-nixpkgs as nixpkgs, and the
#       package (its filtered source) and example images build through the overlay.
# With NIXSNAP_NIX2CONTAINER=/path/to/nix2container (the real binary) the images are
# built by it instead of a recording fake, and the archives are inspected too.
#
# Exit status: 0 pass, 1 failure, 77 skipped (the reason is printed).
set -euo pipefail

here="$(cd "$(dirname "$(readlink -f "$0")")" && pwd)"
repo="$(cd "${here}/../.." && pwd)"

skip() {
  echo "SKIP: $*"
  exit 77
}
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}
pass() { echo "ok: $*"; }

for tool in nix-instantiate nix-build nix-store jq; do
  command -v "${tool}" >/dev/null || skip "${tool} not found (apt-get install nix-bin jq)"
done
busybox="${BUSYBOX:-/bin/busybox}"
[[ -x "${busybox}" ]] || skip "${busybox} not found (apt-get install busybox-static)"
if ldd "${busybox}" >/dev/null 2>&1; then
  skip "${busybox} is dynamically linked; builders need busybox-static"
fi
if [[ $(id -u) -ne 0 && ! -S /nix/var/nix/daemon-socket/socket ]]; then
  skip "Nix can build only as root (single-user) or through a running nix-daemon"
fi

tmp="$(mktemp -d /tmp/nixsnap-nix-XXXX)"
# The result links below are the GC roots of what this test builds; removing them
# leaves the paths to the garbage collector.
trap 'rm -rf "${tmp}"' EXIT

# ---------------------------------------------------------------- (a) parsing
parsed=0
while IFS= read -r -d '' file; do
  if nix-instantiate --parse "${file}" >/dev/null 2>"${tmp}/parse.err"; then
    parsed=$((parsed + 1))
  else
    fail "does not parse: ${file#"${repo}"/}: $(head -c 400 "${tmp}/parse.err")"
  fi
done < <(find "${repo}" \( -path "${repo}/.git" -o -path "${repo}/.deps" -o -path "${repo}/build*" \
  -o -name node_modules \) -prune -o -name '*.nix' -type f -print0)
if ((parsed == 0)); then
  fail "no .nix file found under ${repo}"
else
  pass "${parsed} .nix files parse"
fi

# Nix cannot evaluate anything when it cannot write its store: say so once.
if ! nix-instantiate --eval -E '1' >/dev/null 2>"${tmp}/eval.err"; then
  ((failures == 0)) || exit 1
  skip "nix-instantiate cannot evaluate: $(head -c 300 "${tmp}/eval.err")"
fi

# ---------------------------------------------------------------- (b) buildImage
mkdir -p "${tmp}/busybox"
cp "${busybox}" "${tmp}/busybox/busybox"
chmod 755 "${tmp}/busybox" "${tmp}/busybox/busybox"
nix_args=(--argstr busyboxDir "${tmp}/busybox")

real=""
if [[ -n "${NIXSNAP_NIX2CONTAINER:-}" ]]; then
  [[ -x "${NIXSNAP_NIX2CONTAINER}" ]] || {
    fail "NIXSNAP_NIX2CONTAINER=${NIXSNAP_NIX2CONTAINER} is not executable"
    exit 1
  }
  # Imported into the store: builds run as nixbld users, who must be able to run it.
  mkdir -p "${tmp}/n2c/bin"
  cp "${NIXSNAP_NIX2CONTAINER}" "${tmp}/n2c/bin/nix2container"
  chmod 755 "${tmp}/n2c" "${tmp}/n2c/bin" "${tmp}/n2c/bin/nix2container"
  nix_args+=(--argstr nix2containerBin "${tmp}/n2c")
  real=1
  echo "using the real nix2container: ${NIXSNAP_NIX2CONTAINER}"
fi

# build ATTR: builds tests/nix/cases.nix's ATTR, prints its store path.
build() {
  nix-build "${here}/cases.nix" "${nix_args[@]}" -A "$1" --out-link "${tmp}/result-$1" \
    2>"${tmp}/build-$1.log" || {
    echo "nix-build -A $1 failed:" >&2
    tail -n 30 "${tmp}/build-$1.log" >&2
    return 1
  }
}
# evalStr EXPR_ATTR: the string value of a cases.nix attribute.
evalStr() { nix-instantiate --eval --strict --json "${here}/cases.nix" "${nix_args[@]}" -A "$1" | jq -r .; }

# argsOf FILE: the recorded argv of the fake nix2container, one per line.
argsOf() { sed -n 's/^ARG //p' "$1"; }
# argAfter FILE FLAG: the value following FLAG in the recorded argv.
argAfter() { argsOf "$1" | awk -v flag="$2" 'found { print; exit } $0 == flag { found = 1 }'; }
# expectEq WHAT EXPECTED ACTUAL
expectEq() {
  if [[ "$2" == "$3" ]]; then
    pass "$1"
  else
    fail "$1"$'\n'"  expected: $2"$'\n'"  actual:   $3"
  fi
}
# closureOf PATH...: sorted closure, as closureInfo's store-paths lists it.
closureOf() { nix-store -qR "$@" | sort -u; }

hello="$(build hello)" || exit 1
hello_lib="$(build helloLib)" || exit 1
unrelated="$(build unrelated)" || exit 1

checkFakeImages() {
  local img args config closure roots
  # --- helloImage: the common case.
  img="$(build helloImage)" || return 1
  expectEq "helloImage derivation name" "nix-image-hello.tar" "${img#*-}"
  config="$(argAfter "${img}" --config)"
  closure="$(argAfter "${img}" --closure)"
  roots="$(argAfter "${img}" --copy-to-root)"
  args="$(argsOf "${img}" | tr '\n' ' ')"
  expectEq "helloImage argv" \
    "build --config ${config} --closure ${closure} --copy-to-root ${roots} --ref localhost/hello:latest ${img} " \
    "${args}"
  expectEq "helloImage config JSON" \
    "{\"Entrypoint\":[\"${hello}/bin/hello\"],\"Env\":[\"GREETING=hi there\"],\"WorkingDir\":\"/\"}" \
    "$(jq -cS . "${config}")"
  expectEq "helloImage config file is the store path writeText made" \
    "${config}" "$(nix-store -q --references "${img}" | grep -- '-hello-config.json$' || true)"
  expectEq "helloImage closure lists config, copyToRoot and their references" \
    "$(closureOf "${config}" "${hello}")" "$(cat "${closure}")"
  expectEq "helloImage closure holds the library hello refers to" \
    "${hello_lib}" "$(grep -x -- "${hello_lib}" "${closure}" || true)"
  expectEq "helloImage closure leaves unrelated paths out" "" \
    "$(grep -x -- "${unrelated}" "${closure}" || true)"
  expectEq "helloImage copyToRoot JSON" "[\"${hello}\"]" "$(jq -c . "${roots}")"
  expectEq "helloImage.imageRef" "localhost/hello:latest" "$(evalStr helloImageRef)"

  # --- redisImage: resolvedByNix, copyToRoot as a single derivation.
  img="$(build redisImage)" || return 1
  expectEq "resolvedByNix derivation name" "nix-image-redis.tar" "${img#*-}"
  config="$(argAfter "${img}" --config)"
  closure="$(argAfter "${img}" --closure)"
  roots="$(argAfter "${img}" --copy-to-root)"
  expectEq "resolvedByNix argv has no --ref (nix2container names it nix:0\$out:latest)" \
    "build --config ${config} --closure ${closure} --copy-to-root ${roots} ${img} " \
    "$(argsOf "${img}" | tr '\n' ' ')"
  expectEq "resolvedByNix imageRef" "nix:0${img}" "$(evalStr redisImage.imageRef)"
  expectEq "lower-case config keys pass through" \
    "{\"entrypoint\":[\"${hello}/bin/hello\",\"--port\",\"6379\"]}" "$(jq -cS . "${config}")"
  expectEq "single copyToRoot derivation becomes a list" "[\"${hello}\"]" "$(jq -c . "${roots}")"
  expectEq "resolvedByNix closure" "$(closureOf "${config}" "${hello}")" "$(cat "${closure}")"

  # --- layeredImage: fromImage, custom tag, empty config.
  local base
  base="$(build helloImage)"
  img="$(build layeredImage)" || return 1
  config="$(argAfter "${img}" --config)"
  closure="$(argAfter "${img}" --closure)"
  roots="$(argAfter "${img}" --copy-to-root)"
  expectEq "fromImage argv" \
    "build --config ${config} --closure ${closure} --copy-to-root ${roots} --from-image ${base} --ref localhost/layered:v1.2 ${img} " \
    "$(argsOf "${img}" | tr '\n' ' ')"
  expectEq "empty config is {}" "{}" "$(jq -c . "${config}")"
  expectEq "empty copyToRoot is []" "[]" "$(jq -c . "${roots}")"
  expectEq "closure of an empty image is its config file alone" "${config}" "$(cat "${closure}")"

  # --- configOnlyImage: closure comes from the config's references alone.
  img="$(build configOnlyImage)" || return 1
  expectEq "name without a slash" "nix-image-config-only.tar" "${img#*-}"
  config="$(argAfter "${img}" --config)"
  closure="$(argAfter "${img}" --closure)"
  expectEq "config references make the closure" "$(closureOf "${config}")" "$(cat "${closure}")"
  expectEq "config-only closure has config and library" "2" "$(wc -l <"${closure}" | tr -d ' ')"
}

checkCopyScripts() {
  local image script
  image="$(build helloImage)" || return 1
  script="$(build pushScript)" || return 1
  NIX2CONTAINER_ARGS_FILE="${tmp}/push.args" "${script}" --extra
  expectEq "copyToRegistry runs nix2container push" \
    "push --plain-http --ref localhost/hello:latest --extra ${image} " \
    "$(argsOf "${tmp}/push.args" | tr '\n' ' ')"
  script="$(build pushScriptNamed)" || return 1
  NIX2CONTAINER_ARGS_FILE="${tmp}/push2.args" "${script}"
  expectEq "copyToRegistry imageName/imageTag" "push --ref 127.0.0.1:5000/hello:v2 ${image} " \
    "$(argsOf "${tmp}/push2.args" | tr '\n' ' ')"
  script="$(build loadScript)" || return 1
  NIX2CONTAINER_ARGS_FILE="${tmp}/load.args" "${script}"
  expectEq "copyToContainerd runs nix2container load" \
    "--address /tmp/nixsnap-x/containerd.sock --namespace k8s.io load ${image} " \
    "$(argsOf "${tmp}/load.args" | tr '\n' ' ')"
  script="$(build loadScriptDefaults)" || return 1
  NIX2CONTAINER_ARGS_FILE="${tmp}/load2.args" "${script}"
  expectEq "copyToContainerd defaults leave address/namespace to the environment" \
    "load ${image} " "$(argsOf "${tmp}/load2.args" | tr '\n' ' ')"
}

# closureInfoOf IMAGE: the closure-info output buildImage passed to nix2container.
closureInfoOf() {
  nix-store -q --outputs "$(nix-store -q --references "$(nix-store -qd "$1")" |
    grep -- '-closure-info.drv$')"
}

# checkArchive ARCHIVE NAME CLOSURE_INFO: a real archive names NAME and its Nix layer
# carries the closure format's one annotation, naming CLOSURE_INFO (buildImage passes a
# closureInfo, so nix2container's default format applies), and a mountpoint for every
# line of CLOSURE_INFO/store-paths.
checkArchive() {
  local archive="$1" name="$2" info="$3" dir
  dir="$(mktemp -d "${tmp}/archive-XXXX")"
  tar -xf "${archive}" -C "${dir}" || {
    fail "${archive} is not a tar archive"
    return 0
  }
  expectEq "$(basename "${archive}") index names the image" "${name}" \
    "$(jq -r '.manifests[0].annotations["io.containerd.image.name"]' "${dir}/index.json")"
  local manifest_digest manifest layer
  manifest_digest="$(jq -r '.manifests[0].digest' "${dir}/index.json")"
  manifest="${dir}/blobs/${manifest_digest/://}"
  expectEq "$(basename "${archive}") Nix layer annotations: the closure format" \
    "{\"containerd.io/snapshot/nix-closure\":\"${info}\"}" \
    "$(jq -c '.layers[-1].annotations' "${manifest}")"
  layer="${dir}/blobs/$(jq -r '.layers[-1].digest | sub(":"; "/")' "${manifest}")"
  expectEq "$(basename "${archive}") Nix layer has a mountpoint per store-paths line" \
    "$(sed 's|^/||' "${info}/store-paths" | sort)" \
    "$(tar -tzf "${layer}" | sed 's|/$||' | grep -xFf <(sed 's|^/||' "${info}/store-paths") | sort)"
}

checkRealImages() {
  local img
  img="$(build helloImage)" || return 1
  checkArchive "${img}" "localhost/hello:latest" "$(closureInfoOf "${img}")"
  img="$(build redisImage)" || return 1
  checkArchive "${img}" "nix:0${img}:latest" "$(closureInfoOf "${img}")"
  expectEq "resolvedByNix archive references its closure (Nix sees the store paths)" \
    "${hello}" "$(nix-store -qR "${img}" | grep -x -- "${hello}" || true)"

  # fromImage: the base's layers come first and keep their Nix annotations.
  local dir manifest base
  base="$(build helloImage)" || return 1
  img="$(build layeredImage)" || return 1
  dir="$(mktemp -d "${tmp}/archive-XXXX")"
  tar -xf "${img}" -C "${dir}"
  expectEq "fromImage archive is named by --ref" "localhost/layered:v1.2" \
    "$(jq -r '.manifests[0].annotations["io.containerd.image.name"]' "${dir}/index.json")"
  manifest="${dir}/blobs/$(jq -r '.manifests[0].digest | sub(":"; "/")' "${dir}/index.json")"
  expectEq "fromImage base layer first, with its closure annotated" "$(closureInfoOf "${base}")" \
    "$(jq -r '.layers[0].annotations["containerd.io/snapshot/nix-closure"]' "${manifest}")"
}

if [[ -n "${real}" ]]; then
  checkRealImages || fail "building images with the real nix2container"
else
  checkFakeImages || fail "building images with the fake nix2container"
  checkCopyScripts || fail "building or running the copy scripts"
fi

# ---------------------------------------------------------------- (c) modules
# modules.nix evaluates to { count; failures = [ names of failed checks ]; }.
if out="$(nix-instantiate --eval --strict --json "${here}/modules.nix" 2>&1)"; then
  count="$(jq '.count' <<<"${out}")"
  if [[ "$(jq '.failures | length' <<<"${out}")" == "0" ]]; then
    pass "${count} module checks (NixOS rootful, rootless, Home Manager)"
  else
    while IFS= read -r name; do
      fail "module check: ${name}"
    done < <(jq -r '.failures[]' <<<"${out}")
  fi
else
  fail "evaluating tests/nix/modules.nix: ${out}"
fi

# ---------------------------------------------------------------- (d) rootless scripts
# nix/rootless.nix and nix/preload-script.nix run against recording fakes.
checkRootlessScripts() {
  local rl="${tmp}/rootless" script log
  mkdir -p "${rl}/run" "${rl}/home"
  rlBuild() {
    nix-build "${here}/rootless-cases.nix" "${nix_args[@]:0:3}" -A "$1" --out-link "${rl}/result-$1" \
      2>"${rl}/build-$1.log" || {
      echo "building rootless-cases.nix -A $1 failed:" >&2
      tail -n 30 "${rl}/build-$1.log" >&2
      return 1
    }
  }
  # runFake SCRIPT: runs it as a user service would, with the fakes' log in ${rl}/log.
  runFake() {
    rm -f "${rl}/log"
    env -i HOME="${rl}/home" XDG_RUNTIME_DIR="${rl}/run" NIXSNAP_FAKE_LOG="${rl}/log" "$@"
  }
  local pkg containerd_script child data="${rl}/home/.local/share"
  pkg="$(rlBuild package)" || return 1
  containerd_script="$(rlBuild containerd)" || return 1
  mkdir -p "${rl}/run/containerd-rootless" && touch "${rl}/run/containerd-rootless/stale"
  runFake "${containerd_script}" || fail "rootless containerd script exited $?"
  child="$(sed -n 's/^rootlesskit .* \(\/nix\/store\/[^ ]*-containerd-rootless-child\)$/\1/p' "${rl}/log")"
  expectEq "rootlesskit gets state dir, network, copy-ups and the child" \
    "rootlesskit --state-dir=${rl}/run/containerd-rootless --net=slirp4netns --mtu=65520 --slirp4netns-sandbox=auto --slirp4netns-seccomp=auto --disable-host-loopback --port-driver=builtin --copy-up=/etc --copy-up=/run --copy-up=/var/lib --propagation=rslave ${child}" \
    "$(cat "${rl}/log")"
  expectEq "stale rootlesskit state is removed" "" "$(ls "${rl}/run/containerd-rootless" | grep stale || true)"
  expectEq "per-user directories exist" "ok" \
    "$([[ -d ${rl}/run/containerd && -d ${rl}/run/nix-snapshotter && -d ${data}/containerd ]] && echo ok)"

  # The child runs inside rootlesskit's mount namespace: here a private one with fresh
  # /run and /var/lib, so nothing on this machine changes.
  if [[ $(id -u) -eq 0 ]] && unshare -m true 2>/dev/null; then
    rm -f "${rl}/log"
    unshare -m sh -c 'mount -t tmpfs nixsnap-run /run && mount -t tmpfs nixsnap-lib /var/lib && exec "$@"' \
      sh env -i HOME="${rl}/home" XDG_RUNTIME_DIR="${rl}/run" NIXSNAP_FAKE_LOG="${rl}/log" "${child}" ||
      fail "rootless containerd child exited $?"
    expectEq "child mounts the per-user dirs at the default paths, then runs containerd" \
      "mount --bind ${rl}/run/containerd /run/containerd|mount --bind ${rl}/run/nix-snapshotter /run/nix-snapshotter|mount --bind ${data}/containerd /var/lib/containerd|containerd --config $(sed -n 's/^exec containerd --config //p' "${child}")" \
      "$(paste -sd '|' "${rl}/log")"
  else
    echo "note: not running the rootless child (needs root and unshare -m)"
  fi

  script="$(rlBuild snapshotter)" || return 1
  runFake "${script}" || fail "rootless snapshotter script exited $?"
  local config
  config="$(grep -o -- '--config [^ ]*' "${script}" | cut -d' ' -f2)"
  expectEq "snapshotter enters containerd's namespaces with its per-user root" \
    "nsenter --user --preserve-credentials --mount --net --target 4242 -- ${pkg}/bin/nix-snapshotter --config ${config} --root ${data}/containerd/io.containerd.snapshotter.v1.nix|nix-snapshotter --config ${config} --root ${data}/containerd/io.containerd.snapshotter.v1.nix" \
    "$(paste -sd '|' "${rl}/log")"
  script="$(rlBuild snapshotterWithRoot)" || return 1
  runFake "${script}" || fail "rootless snapshotter script (settings.root) exited $?"
  expectEq "settings.root turns --root off" "nix-snapshotter --config ${config}" "$(tail -n 1 "${rl}/log")"

  script="$(rlBuild preload)" || return 1
  runFake "${script}" >/dev/null || fail "preload script exited $?"
  local a=/nix/store/00000000000000000000000000000000-a.tar b=/nix/store/11111111111111111111111111111111-b.tar
  local addr="--address ${rl}/run/containerd/containerd.sock"
  expectEq "preload loads every image into every namespace" \
    "nix2container ${addr} --namespace default load ${a}|nix2container ${addr} --namespace default load ${b}|nix2container ${addr} --namespace k8s.io load ${a}|nix2container ${addr} --namespace k8s.io load ${b}" \
    "$(paste -sd '|' "${rl}/log")"
}
checkRootlessScripts || fail "building or running the rootless scripts"

# ---------------------------------------------------------------- (e) flake
# flake.nix's outputs with tests/nix/stub-nixpkgs as nixpkgs; the example images are
# built through the overlay and package.nix's passthru.
export NIXSNAP_BUSYBOX_DIR="${tmp}/busybox"
if out="$(nix-instantiate --eval --strict --json "${here}/flake-outputs.nix" -A checks 2>&1)"; then
  if [[ "$(jq '.failures | length' <<<"${out}")" == "0" ]]; then
    pass "$(jq '.count' <<<"${out}") flake output checks"
  else
    while IFS= read -r name; do
      fail "flake check: ${name}"
    done < <(jq -r '.failures[]' <<<"${out}")
  fi
else
  fail "evaluating tests/nix/flake-outputs.nix: ${out}"
fi

checkFlakePackages() {
  local system pkg img config
  system="$(nix-instantiate --eval --json -E builtins.currentSystem | jq -r .)"
  flakeBuild() {
    nix-build "${here}/flake-outputs.nix" -A "outputs.packages.${system}.$1" \
      --out-link "${tmp}/flake-$1" 2>"${tmp}/flake-$1.log" || {
      echo "building the flake's $1 failed:" >&2
      tail -n 30 "${tmp}/flake-$1.log" >&2
      return 1
    }
  }
  pkg="$(flakeBuild default)" || return 1
  for entry in ./CMakeLists.txt ./src ./proto; do
    expectEq "package source has ${entry}" "${entry}" "$(grep -x -- "${entry}" "${pkg}/source-listing" || true)"
  done
  expectEq "package source leaves out docs, tests, vm, build dirs and Nix files" "" \
    "$(grep -E '^\./(docs|tests|vm|modules|nix|build[^/]*|flake\.nix|package\.nix)(/|$)' "${pkg}/source-listing" | head -3)"
  img="$(flakeBuild hello)" || return 1
  config="$(argAfter "${img}" --config)"
  expectEq "flake hello image is named localhost/hello:latest" "localhost/hello:latest" \
    "$(argAfter "${img}" --ref)"
  expectEq "flake hello image runs hello" "1" \
    "$(jq '.entrypoint | length' "${config}")"
  expectEq "flake hello image is built by the package's nix2container" \
    "${pkg}/bin/nix2container" "$(grep -o -- "${pkg}/bin/nix2container" "$(nix-store -qd "${img}")" | head -n 1)"
  img="$(flakeBuild redis)" || return 1
  expectEq "flake redis image is resolvedByNix" "nix-image-redis.tar" "${img#*-}"
  expectEq "flake redis image has no --ref" "" "$(argAfter "${img}" --ref)"
}
checkFlakePackages || fail "building the flake's packages"

if ((failures > 0)); then
  echo "${failures} check(s) failed"
  exit 1
fi
echo "all Nix checks passed"
