# shellcheck shell=bash
# Shared by the daemon_*.sh tests: locating the binaries and starting nix-snapshotter.
# Source after lib.sh.

NIXSNAP_BIN_DIR="${NIXSNAP_BIN_DIR:-${NIXSNAP_REPO_ROOT}/build/src/cmd}"
NIXSNAP_TOOLS_DIR="${NIXSNAP_TOOLS_DIR:-${NIXSNAP_REPO_ROOT}/build/tests/tools}"
NIXSNAP_BIN="${NIXSNAP_BIN_DIR}/nix-snapshotter"
SNAPCTL="${NIXSNAP_TOOLS_DIR}/snapctl"

require_daemon_bin() {
  [[ -x "${NIXSNAP_BIN}" ]] || fail "nix-snapshotter not built at ${NIXSNAP_BIN} (set NIXSNAP_BIN_DIR)"
}
require_snapctl() {
  [[ -x "${SNAPCTL}" ]] || fail "snapctl not built at ${SNAPCTL} (set NIXSNAP_TOOLS_DIR)"
}

# daemon_config FILE [EXTRA_TOML_LINES]: writes a config with the image service off.
daemon_config() {
  local file="$1" extra="${2:-}"
  printf '%s\n[image_service]\nenable = false\n' "${extra}" >"${file}"
}

# daemon_start NAME SOCKET ROOT [EXTRA_ARGS...]: starts nix-snapshotter (config
# $NIXSNAP_TMP/NAME.toml unless --config is in EXTRA_ARGS) and waits for its socket.
# Sets DAEMON_PID.
DAEMON_PID=""
daemon_start() {
  local name="$1" sock="$2" root="$3"
  shift 3
  local -a args=("$@")
  if [[ " ${args[*]} " != *" --config "* ]]; then
    daemon_config "${NIXSNAP_TMP}/${name}.toml"
    args=(--config "${NIXSNAP_TMP}/${name}.toml" "${args[@]}")
  fi
  start_bg "${name}" "${NIXSNAP_BIN}" "${args[@]}" --address "${sock}" --root "${root}" \
    --log-level debug
  DAEMON_PID="${BG_PID}"
  wait_for_socket "${sock}" 60 "${DAEMON_PID}"
  wait_until 30 "${SNAPCTL}" --address "${sock}" list
}

# wait_containerd_reaches_nix TIMEOUT_SECONDS: waits until the last started containerd
# reaches nix-snapshotter through its proxy plugin, by preparing and removing a probe
# snapshot. (`ctr snapshots ls` is no probe: in a namespace without snapshots containerd
# answers it from its own metadata without calling the snapshotter.)
wait_containerd_reaches_nix() {
  wait_until "$1" _nix_probe_round_trip "nixsnap-probe-$$"
}
_nix_probe_round_trip() {
  ctr_cmd snapshots --snapshotter nix prepare "$1" >/dev/null &&
    ctr_cmd snapshots --snapshotter nix rm "$1"
}

# daemon_stop PID NAME: SIGTERM, and check it exited 0 within the timeout.
daemon_stop() {
  local pid="$1" name="$2" i rc=0
  kill -TERM "${pid}"
  for ((i = 0; i < 150; i++)); do
    is_running "${pid}" || break
    sleep 0.1
  done
  is_running "${pid}" && fail "${name} (pid ${pid}) did not stop within 15s of SIGTERM"
  wait "${pid}" || rc=$?
  assert_eq 0 "${rc}" "${name} exit status after SIGTERM"
}
