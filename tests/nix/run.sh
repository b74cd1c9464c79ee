#!/usr/bin/env bash
# Tests the Nix side of the project with Debian's Nix (no nixpkgs needed):
#   (a) every .nix file in the repository parses (nix-instantiate --parse);
#   (b) nix/build-image.nix and nix/copy-scripts.nix evaluate and BUILD against
#       tests/nix/stub-pkgs.nix (tests/nix/build-image-checks.sh): nix2container gets
#       the closureInfo's store-paths, config JSON, copyToRoot list, --ref (lower
#       case), resolvedByNix naming, --from-image (incl. a dockerTools-style archive);
#       the passthru; bin/copy-to-{registry,containerd} run nix2container push/load,
#       expand $VARS in the address at run time and run no injected shell code; the
#       original README's Usage snippet builds verbatim (tests/nix/readme-usage.nix);
#   (c) with nixpkgs' real lib (tests/nix/nixpkgs-lib.sh finds it; SKIP otherwise), the
#       README's four installation snippets and the NixOS / Home Manager modules evaluate
#       against stand-ins declaring only real NixOS / Home Manager options, and render
#       the expected units, containerd settings and variables (tests/nix/modules.nix);
#       and the option tree equals the original's modules' (tests/nix/option-tree.nix,
#       read from its local mirror; SKIP without it);
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

# checkFakeImages, checkCopyScripts, checkRealImages
# shellcheck source=tests/nix/build-image-checks.sh
source "${here}/build-image-checks.sh"

if [[ -n "${real}" ]]; then
  checkRealImages || fail "building images with the real nix2container"
else
  checkFakeImages || fail "building images with the fake nix2container"
  checkCopyScripts || fail "building or running the copy scripts"
  checkReadmeUsage || fail "the original README's usage snippet"
fi

# ---------------------------------------------------------------- (c) modules
# modules.nix evaluates to { count; failures; summaries; renders; }.
# shellcheck source=tests/nix/nixpkgs-lib.sh
source "${here}/nixpkgs-lib.sh"
libdir=""
if libdir="$(nixpkgs_lib_dir "${tmp}")"; then
  export NIXSNAP_NIXPKGS_LIB="${libdir}"
  # NIX_PATH empty: importing default.nix for its modules must not look up <nixpkgs>.
  if out="$(NIX_PATH='' nix-instantiate --eval --strict --json "${here}/modules.nix" --argstr libPath "${libdir}" \
    -A count -A failures -A summaries 2>"${tmp}/modules.err")"; then
    count="$(jq -s '.[0]' <<<"${out}")"
    if [[ "$(jq -s '.[1] | length' <<<"${out}")" == "0" ]]; then
      pass "${count} module checks with nixpkgs' module system (README snippets, NixOS, Home Manager)"
      jq -s -r '.[2] | to_entries[] | "   README snippet, \(.key): \(.value)"' <<<"${out}"
    else
      while IFS= read -r name; do
        fail "module check: ${name}"
      done < <(jq -s -r '.[1][]' <<<"${out}")
    fi
  else
    fail "evaluating tests/nix/modules.nix: $(grep -v 'evaluation warning' "${tmp}/modules.err" | head -c 2000)"
  fi
  # The option tree against the original's modules (read from its local mirror, never
  # kept here): same names, types and defaults.
  original_git="${NIXSNAP_ORIGINAL_GIT:-/work/.mirror/pdtpartners+nix-snapshotter/repo}"
  mkdir -p "${tmp}/original"
  if [[ -d "${original_git}" ]] &&
    git --git-dir="${original_git}" archive HEAD modules 2>/dev/null | tar -x -C "${tmp}/original" 2>/dev/null &&
    [[ -f "${tmp}/original/modules/nixos/containerd.nix" ]]; then
    if out="$(nix-instantiate --eval --strict --json "${here}/option-tree.nix" --argstr libPath "${libdir}" \
      --arg originalDir "${tmp}/original/modules" 2>"${tmp}/option-tree.err")"; then
      for flavour in nixos home; do
        problems="$(jq -r --arg f "${flavour}" '.[$f] | (.missing | map("missing: " + .)) + .typeDiffers + .defaultDiffers | .[]' <<<"${out}")"
        if [[ -z "${problems}" ]]; then
          pass "${flavour}: the original's $(jq --arg f "${flavour}" '.[$f].compared' <<<"${out}") options exist here with the same types and defaults"
        else
          while IFS= read -r line; do fail "${flavour} option tree: ${line}"; done <<<"${problems}"
        fi
        echo "   ${flavour} options only this project has: $(jq -r --arg f "${flavour}" '.[$f].extras | join(", ")' <<<"${out}")"
      done
    else
      fail "evaluating tests/nix/option-tree.nix: $(grep -v 'evaluation warning' "${tmp}/option-tree.err" | head -c 2000)"
    fi
  else
    echo "SKIP: option tree against the original's modules: no mirror at ${original_git} (set NIXSNAP_ORIGINAL_GIT)"
  fi
else
  echo "SKIP: module-system checks (README snippets, NixOS, Home Manager): ${NIXPKGS_LIB_WHY}"
fi

# ---------------------------------------------------------------- (d) rootless scripts
# nix/rootless.nix, nix/rootless-snapshotter.nix and nix/preload-script.nix run against
# recording fakes (they use nixpkgs' lib: skipped with (c)).
checkRootlessScripts() {
  local rl="${tmp}/rootless" script
  mkdir -p "${rl}/run" "${rl}/home"
  rlBuild() {
    nix-build "${here}/rootless-cases.nix" "${nix_args[@]:0:3}" --argstr libPath "${libdir}" -A "$1" \
      --out-link "${rl}/result-$1" 2>"${rl}/build-$1.log" || {
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
  child="$(rlBuild child)" || return 1
  mkdir -p "${rl}/run/containerd-rootless" && touch "${rl}/run/containerd-rootless/stale"
  runFake "${containerd_script}" || fail "rootless containerd script exited $?"
  expectEq "rootlesskit gets state dir, network, copy-ups and the child" \
    "rootlesskit --state-dir=${rl}/run/containerd-rootless --net=slirp4netns --mtu=65520 --slirp4netns-sandbox=auto --slirp4netns-seccomp=auto --disable-host-loopback --port-driver=builtin --copy-up=/etc --copy-up=/run --copy-up=/var/lib --propagation=rslave ${child}" \
    "$(cat "${rl}/log")"
  expectEq "stale rootlesskit state is removed" "absent" "$([[ -e ${rl}/run/containerd-rootless/stale ]] && echo present || echo absent)"
  expectEq "bind-mount sources exist" "ok" \
    "$([[ -d ${rl}/run/containerd && -d ${rl}/run/nix-snapshotter && -d ${data}/containerd ]] && echo ok)"

  # The child runs inside rootlesskit's mount namespace: here a private one with fresh
  # /run and /var/lib, so nothing on this machine changes.
  if [[ $(id -u) -eq 0 ]] && unshare -m true 2>/dev/null; then
    rm -f "${rl}/log"
    unshare -m sh -c 'mount -t tmpfs nixsnap-run /run && mount -t tmpfs nixsnap-lib /var/lib && exec "$@"' \
      sh env -i HOME="${rl}/home" XDG_RUNTIME_DIR="${rl}/run" NIXSNAP_FAKE_LOG="${rl}/log" "${child}" ||
      fail "rootless containerd child exited $?"
    expectEq "child bind-mounts each source on its mount point, then runs containerd --config" \
      "mount --bind ${data}/containerd /var/lib/containerd|mount --bind ${rl}/run/containerd /run/containerd|mount --bind ${rl}/run/nix-snapshotter /run/nix-snapshotter|containerd --config /nix/store/00000000000000000000000000000000-containerd.toml" \
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
  runFake "${script}/bin/preload-containerd" >/dev/null || fail "preload script exited $?"
  local a=/nix/store/00000000000000000000000000000000-a.tar b=/nix/store/11111111111111111111111111111111-b.tar
  local addr="--address ${rl}/run/containerd/containerd.sock"
  expectEq "preload loads each target's archives into its namespace (\$XDG_RUNTIME_DIR expanded)" \
    "nix2container ${addr} --namespace default load ${a}|nix2container ${addr} --namespace default load ${b}|nix2container ${addr} --namespace k8s.io load ${a}" \
    "$(paste -sd '|' "${rl}/log")"
}
if [[ -n "${libdir}" ]]; then
  checkRootlessScripts || fail "building or running the rootless scripts"
else
  echo "SKIP: rootless launch scripts: ${NIXPKGS_LIB_WHY}"
fi

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
  img="$(flakeBuild image-hello)" || return 1
  config="$(argAfter "${img}" --config)"
  expectEq "flake image-hello is named ghcr.io/pdtpartners/hello:latest" "ghcr.io/pdtpartners/hello:latest" \
    "$(argAfter "${img}" --ref)"
  expectEq "flake image-hello runs hello" "1" \
    "$(jq '.entrypoint | length' "${config}")"
  expectEq "flake image-hello is built by the package's nix2container" \
    "${pkg}/bin/nix2container" "$(grep -o -- "${pkg}/bin/nix2container" "$(nix-store -qd "${img}")" | head -n 1)"
  img="$(flakeBuild image-redisResolvedByNix)" || return 1
  expectEq "flake image-redisResolvedByNix is resolvedByNix" "nix-image-redis.tar" "${img#*-}"
  expectEq "flake image-redisResolvedByNix has no --ref" "" "$(argAfter "${img}" --ref)"
  img="$(flakeBuild image-redisWithShell)" || return 1
  expectEq "flake image-redisWithShell is based on image-redis" "nix-image-redis.tar" \
    "$(basename "$(argAfter "${img}" --from-image)" | cut -d- -f2-)"
}
checkFlakePackages || fail "building the flake's packages"

if ((failures > 0)); then
  echo "${failures} check(s) failed"
  exit 1
fi
echo "all Nix checks passed"
