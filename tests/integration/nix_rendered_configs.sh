#!/usr/bin/env bash
# What the NixOS / Home Manager modules render, given to the real programs:
#   - the README NixOS snippet's containerd config (version 2) to containerd 1.7 and 2.1,
#     the README Home Manager snippet's rootless config (version 3) to containerd 2.1 and
#     the rootless version-2 config to containerd 1.7 (state paths moved into a temp dir):
#     `containerd config dump` shows the CRI unpacking with snapshotter nix (annotations
#     on) and the transfer service's unpack_config; the running containerd lists the
#     proxy plugin nix and reaches the real nix-snapshotter through it;
#   - the rendered nix-snapshotter TOML files start the real daemon;
#   - the preload units' script (nix/preload-script.nix) loads an archive into two
#     namespaces of the rendered containerd with the real nix2container;
#   - the rendered systemd units pass `systemd-analyze verify` (store paths are replaced
#     by stub executables in the temp dir: the stand-in packages are never built).
# Needs root, nix-instantiate, jq, nixpkgs' lib (tests/nix/nixpkgs-lib.sh), containerd
# 1.7/2.1 from scripts/setup and the built nix-snapshotter ($NIXSNAP_BIN_DIR).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/nix/nixpkgs-lib.sh
source "${NIXSNAP_REPO_ROOT}/tests/nix/nixpkgs-lib.sh"

require_root
require_cmd nix-instantiate jq
snapshotter_bin="${NIXSNAP_BIN_DIR:-${NIXSNAP_REPO_ROOT}/build/src/cmd}/nix-snapshotter"
[[ -x "${snapshotter_bin}" ]] || skip "nix-snapshotter not built (${snapshotter_bin})"
containerd_bin_dir 1.7 >/dev/null
containerd_bin_dir 2.1 >/dev/null
tmp_root
libdir="$(nixpkgs_lib_dir "${NIXSNAP_TMP}")" || skip "${NIXPKGS_LIB_WHY}"
export NIXSNAP_NIXPKGS_LIB="${libdir}"

step "rendering the modules' files (tests/nix/modules.nix renders)"
renders="${NIXSNAP_TMP}/renders"
mkdir -p "${renders}/user"
nix-instantiate --eval --strict --json "${NIXSNAP_REPO_ROOT}/tests/nix/modules.nix" \
  --argstr libPath "${libdir}" --argstr tmpDir "${NIXSNAP_TMP}" -A renders \
  2>"${NIXSNAP_TMP}/render.err" >"${NIXSNAP_TMP}/renders.json" ||
  fail "evaluating tests/nix/modules.nix: $(head -c 2000 "${NIXSNAP_TMP}/render.err")"
while IFS= read -r name; do
  jq -r --arg n "${name}" '.[$n]' "${NIXSNAP_TMP}/renders.json" >"${renders}/${name}"
done < <(jq -r 'keys[]' "${NIXSNAP_TMP}/renders.json")

# --- the daemon with each rendered nix-snapshotter TOML ---------------------------------
# start_snapshotter NAME: starts the real daemon with renders/nix-snapshotter-NAME.toml.
start_snapshotter() {
  local name="$1" dir
  dir="$(sed -n 's/^address = "\(.*\)\/nix-snapshotter.sock"$/\1/p' "${renders}/nix-snapshotter-${name}.toml")"
  [[ "${dir}" == "${NIXSNAP_TMP}"/* ]] || fail "rendered ${name} address is not under the temp dir: ${dir}"
  mkdir -p "${dir}"
  start_bg "nix-snapshotter-${name}" "${snapshotter_bin}" --config "${renders}/nix-snapshotter-${name}.toml"
  wait_for_socket "${dir}/nix-snapshotter.sock" 30 "${BG_PID}"
  note "nix-snapshotter runs with the rendered ${name} config"
}
step "nix-snapshotter starts with the rendered configs"
start_snapshotter rootful
if [[ -e /dev/fuse ]] && command -v fuse-overlayfs >/dev/null; then
  start_snapshotter rootless
else
  # fuse_overlayfs = true: the daemon checks for fuse-overlayfs at start.
  note "no /dev/fuse or fuse-overlayfs: the rootless config is started with fuse_overlayfs = false"
  sed -i 's/^fuse_overlayfs = true$/fuse_overlayfs = false/' "${renders}/nix-snapshotter-rootless.toml"
  start_snapshotter rootless
fi

# --- containerd with each rendered config ------------------------------------------------
# check_containerd VERSION CONFIG STATE_NAME: config dump and a running containerd.
check_containerd() {
  local version="$1" config="${renders}/$2" name="$3" bin dump
  bin="$(containerd_bin_dir "${version}")"
  step "containerd ${version} with $2"
  dump="$("${bin}/containerd" --config "${config}" config dump 2>"${NIXSNAP_TMP}/dump.err")" ||
    fail "containerd ${version} config dump of $2: $(cat "${NIXSNAP_TMP}/dump.err")"
  # The effective CRI image settings, in the layout this containerd uses.
  local images
  if [[ "${version}" == 2.1 ]]; then
    images="$(awk '/^  \[plugins.'"'"'io.containerd.cri.v1.images'"'"'\]$/ { on = 1; next } /^  \[/ { on = 0 } on' <<<"${dump}")"
  else
    images="$(awk '/^    \[plugins."io.containerd.grpc.v1.cri".containerd\]$/ { on = 1; next } /^    \[/ { on = 0 } on' <<<"${dump}")"
  fi
  grep -Eq "^ *snapshotter = ['\"]nix['\"]" <<<"${images}" ||
    fail "CRI snapshotter is not nix (containerd ${version}, $2): ${images}"
  grep -Eq "disable_snapshot_annotations = false" <<<"${images}" ||
    fail "CRI disable_snapshot_annotations is not false (containerd ${version}, $2): ${images}"
  grep -Eq "snapshotter = ['\"]nix['\"]" <<<"$(grep -A3 'unpack_config' <<<"${dump}")" ||
    fail "transfer unpack_config has no snapshotter nix (containerd ${version}, $2)"
  note "config dump: CRI snapshotter nix, annotations passed, transfer unpacks with nix"

  local dir="${NIXSNAP_TMP}/${name}"
  mkdir -p "${dir}"
  start_bg "containerd-${version}-${name}" env PATH="${bin}:${PATH}" "${bin}/containerd" --config "${config}"
  local pid="${BG_PID}"
  wait_for_socket "${dir}/containerd.sock" 30 "${pid}"
  wait_until 30 "${bin}/ctr" --address "${dir}/containerd.sock" version
  local plugins
  plugins="$("${bin}/ctr" --address "${dir}/containerd.sock" plugins ls)"
  grep -Eq '^io\.containerd\.snapshotter\.v1[[:space:]]+nix[[:space:]].*[[:space:]]ok[[:space:]]*$' <<<"${plugins}" ||
    fail "containerd ${version} does not list the proxy plugin nix as ok: $(grep nix <<<"${plugins}")"
  grep -Eq '^io\.containerd\.grpc\.v1[[:space:]]+cri[[:space:]].*[[:space:]]ok[[:space:]]*$' <<<"${plugins}" ||
    fail "containerd ${version}: CRI plugin not ok with $2: $(grep cri <<<"${plugins}")"
  # Through the proxy plugin to the real nix-snapshotter.
  "${bin}/ctr" --address "${dir}/containerd.sock" snapshots --snapshotter nix prepare \
    "nixsnap-probe-${version}-${name}" >/dev/null ||
    fail "containerd ${version} cannot prepare a snapshot through the nix proxy plugin"
  assert_contains "$("${bin}/ctr" --address "${dir}/containerd.sock" snapshots --snapshotter nix ls)" \
    "nixsnap-probe-${version}-${name}"
  "${bin}/ctr" --address "${dir}/containerd.sock" snapshots --snapshotter nix rm "nixsnap-probe-${version}-${name}"
  note "containerd ${version}: proxy plugin nix ok, a snapshot made through it, CRI ok"
  stop_pid "${pid}" "containerd-${version}-${name}"
}
check_containerd 1.7 containerd-rootful-v2.toml rootful
check_containerd 2.1 containerd-rootful-v2.toml rootful
check_containerd 2.1 containerd-rootless-v3.toml rootless-v3
check_containerd 1.7 containerd-rootless-v2.toml rootless-v2

# --- the preload script against the rendered rootful setup ---------------------------------
# nix/preload-script.nix's text with the real nix2container, two targets (namespaces
# default and k8s.io) on the rendered containerd 2.1, the socket given as a shell
# variable as users give "$XDG_RUNTIME_DIR/...": each image lands in its namespace,
# unpacked for snapshotter nix.
n2c_bin="${NIXSNAP_BIN_DIR:-${NIXSNAP_REPO_ROOT}/build/src/cmd}/nix2container"
if [[ -x "${n2c_bin}" ]]; then
  step "preload-containerd's script loads into the rendered containerd 2.1"
  mkdir -p "${NIXSNAP_TMP}/pkg/bin"
  ln -s "${n2c_bin}" "${NIXSNAP_TMP}/pkg/bin/nix2container"
  "${n2c_bin}" build --ref localhost/preload-probe:latest "${NIXSNAP_TMP}/probe.tar" >/dev/null
  # shellcheck disable=SC2016  # a Nix expression: ${...} and $PRELOAD_SOCKET are not for the shell
  nix-instantiate --eval --strict --json --argstr libPath "${libdir}" --argstr tmp "${NIXSNAP_TMP}" \
    --arg script "${NIXSNAP_REPO_ROOT}/nix/preload-script.nix" -E '
    { libPath, tmp, script }:
    import script {
      lib = import (libPath + "/lib");
      writeShellScriptBin = name: text: text;
      package = "${tmp}/pkg";
      targets = [
        { archives = [ "${tmp}/probe.tar" ]; address = "$PRELOAD_SOCKET"; namespace = "default"; }
        { archives = [ "${tmp}/probe.tar" ]; address = "$PRELOAD_SOCKET"; namespace = "k8s.io"; }
      ];
    }' | jq -r . >"${NIXSNAP_TMP}/preload.sh" || fail "evaluating nix/preload-script.nix"
  bin="$(containerd_bin_dir 2.1)"
  start_bg containerd-2.1-preload env PATH="${bin}:${PATH}" "${bin}/containerd" \
    --config "${renders}/containerd-rootful-v2.toml"
  pid="${BG_PID}"
  wait_for_socket "${NIXSNAP_TMP}/rootful/containerd.sock" 30 "${pid}"
  wait_until 30 "${bin}/ctr" --address "${NIXSNAP_TMP}/rootful/containerd.sock" version
  PRELOAD_SOCKET="${NIXSNAP_TMP}/rootful/containerd.sock" bash "${NIXSNAP_TMP}/preload.sh" >/dev/null ||
    fail "the preload script failed"
  for ns in default k8s.io; do
    assert_contains "$("${bin}/ctr" --address "${NIXSNAP_TMP}/rootful/containerd.sock" -n "${ns}" images ls -q)" \
      "localhost/preload-probe:latest"
  done
  # Unpacked for nix: the image's snapshot chain is in nix-snapshotter.
  [[ -n "$("${bin}/ctr" --address "${NIXSNAP_TMP}/rootful/containerd.sock" -n default snapshots --snapshotter nix ls | tail -n +2)" ]] ||
    fail "the preloaded image was not unpacked for snapshotter nix"
  note "preloaded into namespaces default and k8s.io, unpacked for nix"
  stop_pid "${pid}" containerd-2.1-preload
else
  note "SKIP (preload script): nix2container not built (${n2c_bin})"
fi

# --- systemd units ----------------------------------------------------------------------------
step "systemd-analyze verify on the rendered units"
if ! command -v systemd-analyze >/dev/null; then
  note "SKIP (systemd-analyze): not installed (Debian package systemd)"
else
  units="${NIXSNAP_TMP}/units"
  # System and user units apart: their names are the same (containerd.service, ...).
  mkdir -p "${units}/system" "${units}/user"
  for unit in "${renders}"/*.service; do
    # Store paths become paths under the temp dir; each executable a command names exists.
    sed "s|/nix/store/|${NIXSNAP_TMP}/store/|g" "${unit}" >"${units}/system/$(basename "${unit}")"
  done
  for unit in "${renders}"/user/*.service; do
    sed "s|/nix/store/|${NIXSNAP_TMP}/store/|g" "${unit}" >"${units}/user/$(basename "${unit}")"
  done
  while IFS= read -r exe; do
    mkdir -p "$(dirname "${exe}")"
    printf '#!/bin/sh\n' >"${exe}"
    chmod 755 "${exe}"
  done < <(sed -n 's/^Exec[A-Za-z]*=\([^ ]*\).*/\1/p' "${units}"/*/*.service | sort -u)
  for kind in system user; do
    verify_out="$(systemd-analyze verify --man=no "${units}/${kind}"/*.service 2>&1)" ||
      fail "systemd-analyze verify (${kind} units): ${verify_out}"
    # Warnings (unknown keys, bad values) do not change the exit status: any message
    # about our files fails the test; the host's own units may warn too.
    ours="$(grep -F "${units}/" <<<"${verify_out}" || true)"
    [[ -z "${ours}" ]] || fail "systemd-analyze verify (${kind} units): ${ours}"
    note "${kind} units verified: $(cd "${units}/${kind}" && echo *.service)"
  done
fi
echo "PASS: rendered containerd configs (1.7, 2.1), nix-snapshotter configs and units"
