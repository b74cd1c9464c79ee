#!/usr/bin/env bash
# The image service's start-up check of containerd's disable_snapshot_annotations, against
# the real containerd (1.7 or 2.1, given as $1) with its CRI configured both ways:
#   true  -> the daemon log carries the warning (Nix layers would unpack as plain tars)
#   false -> it does not;
#   unset -> containerd's default (true) applies: the warning again.
# containerd 1.7 reports the setting in CRI Status(verbose); 2.1 does not, and the daemon
# reads the running containerd's effective config (`<its binary> --config <its file>
# config dump`) instead; the "checked ..." log line names which source was used.
# Usage: cri_annotations_check.sh 1.7|2.1     Exit: 0 pass, 1 fail, 77 skip.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/integration/lib.sh
source "${here}/lib.sh"
# shellcheck source=tests/integration/daemon_common.sh
source "${here}/daemon_common.sh"

version="${1:-1.7}"
require_root
[[ -x "${NIXSNAP_BIN}" ]] || skip "nix-snapshotter not built at ${NIXSNAP_BIN}"
require_snapctl
containerd_bin_dir "${version}" >/dev/null
tmp_root
T="${NIXSNAP_TMP}"

warning="Nix layers would unpack as plain tars"
checked="checked containerd's CRI image config"
case "${version}" in
  1.7) source_field='source="CRI Status"' ;;
  *) source_field='source="containerd config dump"' ;;
esac

# start_containerd_unset DIR: containerd VERSION with the rig's config minus its
# disable_snapshot_annotations line, so containerd's default applies (true in 1.7 and
# 2.x). containerd_start always writes the key, hence this short-hand start.
start_containerd_unset() {
  local dir="$1" bin cfg
  bin="$(containerd_bin_dir "${version}")"
  cfg="$(containerd_write_config "${version}" "${dir}")"
  sed -i '/disable_snapshot_annotations/d' "${cfg}"
  start_bg "containerd-$(basename "${dir}")" \
    env PATH="${bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    "${bin}/containerd" --config "${cfg}"
  wait_for_socket "${dir}/containerd.sock" 30 "${BG_PID}"
  wait_until 30 "${bin}/ctr" --address "${dir}/containerd.sock" version
  CONTAINERD_ADDRESS="${dir}/containerd.sock"
}

# check_with VALUE: containerd with disable_snapshot_annotations = VALUE (true, false, or
# unset for containerd's default) and a daemon whose image service points at it; sets
# CHECK_LOG to the daemon log once the check has finished. Not in $(...): the processes
# it starts must stay registered for cleanup.
CHECK_LOG=""
check_with() {
  local value="$1" d="${T}/${1}"
  mkdir -p "${d}"
  export CONTAINERD_NIX_SOCKET="${d}/ns.sock"
  if [[ "${value}" == unset ]]; then
    start_containerd_unset "${d}/c-${value}"
  else
    if [[ "${version}" == 1.7 ]]; then
      printf '[plugins."io.containerd.grpc.v1.cri".containerd]\n' >"${d}/extra.toml"
    else
      printf '[plugins."io.containerd.cri.v1.images"]\n' >"${d}/extra.toml"
    fi
    printf '  disable_snapshot_annotations = %s\n' "${value}" >>"${d}/extra.toml"
    containerd_start "${version}" "${d}/c-${value}" "${d}/extra.toml"
    grep -q "disable_snapshot_annotations = ${value}" "${d}/c-${value}/config.toml" ||
      fail "containerd config does not set disable_snapshot_annotations = ${value}"
  fi
  printf '[image_service]\nenable = true\ncontainerd_address = "%s"\n' "${CONTAINERD_ADDRESS}" \
    >"${d}/ns.toml"
  daemon_start "ns-${value}" "${d}/ns.sock" "${d}/ns-root" --config "${d}/ns.toml"
  local log="${T}/ns-${value}.log"
  wait_until 60 grep -qE "${checked}|cannot check containerd" "${log}"
  CHECK_LOG="$(cat "${log}")"
}

step "containerd ${version}, disable_snapshot_annotations = true: the daemon warns"
check_with true
log_true="${CHECK_LOG}"
assert_contains "${log_true}" "${checked}" "check did not finish: ${log_true}"
assert_contains "${log_true}" "${source_field}" "check used another source"
assert_contains "${log_true}" "${warning}" "no warning with annotations disabled"
grep -F "${warning}" <<<"${log_true}" >&2

step "containerd ${version}, disable_snapshot_annotations = false: no warning"
check_with false
log_false="${CHECK_LOG}"
assert_contains "${log_false}" "${checked}" "check did not finish: ${log_false}"
assert_contains "${log_false}" "${source_field}" "check used another source"
assert_not_contains "${log_false}" "${warning}" "warning although annotations are enabled"

step "containerd ${version}, disable_snapshot_annotations not set: the default (true) warns"
check_with unset
log_unset="${CHECK_LOG}"
assert_contains "${log_unset}" "${checked}" "check did not finish: ${log_unset}"
assert_contains "${log_unset}" "${source_field}" "check used another source"
assert_contains "${log_unset}" "${warning}" "no warning with containerd's default"

step "PASS cri_annotations_check ${version}"
