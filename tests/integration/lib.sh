# shellcheck shell=bash
# shellcheck disable=SC2034  # globals set here (CONTAINERD_*, HTTP_*) are read by the tests
# Helper library for the integration tests. Source it from a bash test script:
#
#   #!/usr/bin/env bash
#   set -euo pipefail
#   source "$(dirname "$0")/lib.sh"
#   require_root
#   tmp_root                                  # sets $NIXSNAP_TMP, removed on exit
#   start_bg snapshotter "$NIXSNAP_BIN" --address "$NIXSNAP_TMP/ns.sock" ...
#   wait_for_socket "$NIXSNAP_TMP/ns.sock" 10
#   CONTAINERD_NIX_SOCKET="$NIXSNAP_TMP/ns.sock" containerd_start 1.7 "$NIXSNAP_TMP/cd"
#   ctr_cmd version
#   assert_contains "$(ctr_cmd plugins ls)" "nix"
#
# Exit codes: 0 pass, 1 fail, 77 skip (ctest: SKIP_RETURN_CODE 77).
# Cleanup: an EXIT trap runs stop_all, which undoes everything registered (processes
# started with start_bg, containerd instances, the temp root) in reverse order. Processes
# are stopped by their recorded PID only (TERM, wait, then KILL). Do not set another EXIT
# trap in a test; register extra cleanups with `defer CMD ARGS...`.
#
# Environment knobs:
#   NIXSNAP_REPO_ROOT    repository root (default: derived from this file's location)
#   NIXSNAP_DEPS_DIR     where scripts/setup put containerd (default: <repo>/.deps)
#   NIXSNAP_KEEP_TMP=1   keep the temp root (and print its path) for debugging
#   NIXSNAP_STOP_TIMEOUT seconds between TERM and KILL (default 10)

if [[ -n "${_NIXSNAP_LIB_LOADED:-}" ]]; then
  return 0
fi
_NIXSNAP_LIB_LOADED=1

NIXSNAP_REPO_ROOT="${NIXSNAP_REPO_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
NIXSNAP_DEPS_DIR="${NIXSNAP_DEPS_DIR:-${NIXSNAP_REPO_ROOT}/.deps}"
NIXSNAP_FIXTURES="${NIXSNAP_REPO_ROOT}/tests/integration/fixtures"
NIXSNAP_STOP_TIMEOUT="${NIXSNAP_STOP_TIMEOUT:-10}"
NIXSNAP_TMP="${NIXSNAP_TMP:-}"

# Cleanup stack: each entry is a command line (quoted with printf %q), run LIFO.
_NIXSNAP_CLEANUP=()
# Background processes: parallel arrays of PID, name and log file.
NIXSNAP_BG_PIDS=()
NIXSNAP_BG_NAMES=()
NIXSNAP_BG_LOGS=()

# --- output and assertions ------------------------------------------------------------

# step MSG...: prints a progress line (to stderr, so command substitutions stay clean).
step() { printf '==> %s\n' "$*" >&2; }
note() { printf '    %s\n' "$*" >&2; }

# fail MSG...: prints FAIL and exits 1 (the EXIT trap then cleans up).
fail() {
  printf 'FAIL: %s\n' "$*" >&2
  if ((${#FUNCNAME[@]} > 1)); then
    printf '      at %s:%s (%s)\n' "${BASH_SOURCE[1]}" "${BASH_LINENO[0]}" "${FUNCNAME[1]}" >&2
  fi
  exit 1
}

# skip REASON...: prints SKIP and exits 77.
skip() {
  printf 'SKIP: %s\n' "$*" >&2
  exit 77
}

# require_root: skips the test unless it runs as root.
require_root() {
  [[ "$(id -u)" == 0 ]] || skip "needs root (uid is $(id -u))"
}

# require_cmd CMD...: skips the test unless every CMD is on PATH.
require_cmd() {
  local c
  for c in "$@"; do
    command -v "${c}" >/dev/null 2>&1 || skip "needs '${c}' on PATH"
  done
}

# assert_eq EXPECTED ACTUAL [MSG]
assert_eq() {
  local expected="$1" actual="$2" msg="${3:-values differ}"
  if [[ "${expected}" != "${actual}" ]]; then
    printf 'FAIL: %s\n  expected: %q\n  actual:   %q\n' "${msg}" "${expected}" "${actual}" >&2
    printf '      at %s:%s\n' "${BASH_SOURCE[1]}" "${BASH_LINENO[0]}" >&2
    exit 1
  fi
}

# assert_contains HAYSTACK NEEDLE [MSG]: NEEDLE is a fixed string.
assert_contains() {
  local haystack="$1" needle="$2" msg="${3:-missing substring}"
  if [[ "${haystack}" != *"${needle}"* ]]; then
    printf 'FAIL: %s\n  wanted:  %q\n  in:      %s\n' "${msg}" "${needle}" "${haystack}" >&2
    printf '      at %s:%s\n' "${BASH_SOURCE[1]}" "${BASH_LINENO[0]}" >&2
    exit 1
  fi
}

# assert_not_contains HAYSTACK NEEDLE [MSG]
assert_not_contains() {
  local haystack="$1" needle="$2" msg="${3:-unexpected substring}"
  if [[ "${haystack}" == *"${needle}"* ]]; then
    printf 'FAIL: %s\n  unwanted: %q\n  in:       %s\n' "${msg}" "${needle}" "${haystack}" >&2
    printf '      at %s:%s\n' "${BASH_SOURCE[1]}" "${BASH_LINENO[0]}" >&2
    exit 1
  fi
}

# assert_fails CMD...: runs CMD, fails the test if it succeeds. Its output is kept in
# $ASSERT_OUTPUT (stdout and stderr) for further checks.
ASSERT_OUTPUT=""
assert_fails() {
  local rc=0
  ASSERT_OUTPUT="$("$@" 2>&1)" || rc=$?
  if ((rc == 0)); then
    printf 'FAIL: expected failure, but it succeeded: %s\n  output: %s\n' "$*" "${ASSERT_OUTPUT}" >&2
    printf '      at %s:%s\n' "${BASH_SOURCE[1]}" "${BASH_LINENO[0]}" >&2
    exit 1
  fi
  note "failed as expected (rc=${rc}): $*"
}

# --- cleanup stack and temp root ------------------------------------------------------

# defer CMD [ARGS...]: registers a cleanup command, run LIFO by stop_all.
defer() {
  local line
  printf -v line '%q ' "$@"
  _NIXSNAP_CLEANUP+=("${line}")
}

# stop_all: runs every registered cleanup (LIFO) once. Installed as the EXIT trap.
stop_all() {
  local i
  for ((i = ${#_NIXSNAP_CLEANUP[@]} - 1; i >= 0; i--)); do
    local line="${_NIXSNAP_CLEANUP[i]}"
    unset '_NIXSNAP_CLEANUP[i]'
    eval "${line}" || printf 'warning: cleanup failed: %s\n' "${line}" >&2
  done
  _NIXSNAP_CLEANUP=()
}

_nixsnap_on_exit() {
  local rc=$?
  set +e
  if ((rc != 0 && rc != 77)); then
    _nixsnap_dump_logs
  fi
  stop_all
  exit "${rc}"
}
trap _nixsnap_on_exit EXIT

# Prints the tail of every background log (on failure).
_nixsnap_dump_logs() {
  local i
  for i in "${!NIXSNAP_BG_LOGS[@]}"; do
    local f="${NIXSNAP_BG_LOGS[i]}"
    [[ -s "${f}" ]] || continue
    printf -- '----- last 40 lines of %s (%s) -----\n' "${NIXSNAP_BG_NAMES[i]}" "${f}" >&2
    tail -n 40 "${f}" >&2
  done
}

# tmp_root: creates $NIXSNAP_TMP, a short temp dir /tmp/nixsnap-XXXX (unix sockets need
# short paths), removed at exit after unmounting anything still mounted below it.
# Idempotent. Call it directly, not in $(...): a subshell would lose the variable and the
# cleanup; read the path from $NIXSNAP_TMP.
tmp_root() {
  if [[ -z "${NIXSNAP_TMP}" || ! -d "${NIXSNAP_TMP}" ]]; then
    NIXSNAP_TMP="$(mktemp -d /tmp/nixsnap-XXXX)"
    export NIXSNAP_TMP
    defer _nixsnap_remove_tmp "${NIXSNAP_TMP}"
    note "temp root ${NIXSNAP_TMP}"
  fi
}

# unmount_below DIR: unmounts every mount point at or below DIR, deepest first.
unmount_below() {
  local dir="$1" mp
  dir="$(realpath -m "${dir}")"
  # /proc/self/mountinfo field 5 is the mount point (octal-escaped).
  while IFS= read -r mp; do
    mp="$(printf '%b' "${mp}")"
    umount "${mp}" 2>/dev/null || umount -l "${mp}" 2>/dev/null ||
      printf 'warning: cannot unmount %s\n' "${mp}" >&2
  done < <(awk -v d="${dir}" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo |
    awk '{ print length($0) " " $0 }' | sort -rn | cut -d' ' -f2-)
}

_nixsnap_remove_tmp() {
  local dir="$1"
  [[ -d "${dir}" ]] || return 0
  if [[ "${NIXSNAP_KEEP_TMP:-0}" == 1 ]]; then
    printf 'keeping %s (NIXSNAP_KEEP_TMP=1)\n' "${dir}" >&2
    return 0
  fi
  unmount_below "${dir}"
  # --one-file-system: never delete through a mount that is somehow still there.
  rm -rf --one-file-system "${dir}"
  # Nix registers every out-link made with --add-root in gcroots/auto; the ones into this
  # dir now dangle until Nix's next collection, so drop them with it.
  local auto="${NIX_STATE_DIR:-/nix/var/nix}/gcroots/auto"
  if [[ -d "${auto}" && -w "${auto}" ]]; then
    find "${auto}" -maxdepth 1 -type l -lname "${dir}/*" -delete 2>/dev/null || true
  fi
}

# --- background processes -------------------------------------------------------------

# start_bg NAME CMD [ARGS...]: starts CMD in the background with stdout+stderr in
# $NIXSNAP_TMP/NAME.log, records its PID and registers its stop. Sets $BG_PID.
BG_PID=""
start_bg() {
  local name="$1"
  shift
  (($# > 0)) || fail "start_bg ${name}: no command"
  [[ -n "${NIXSNAP_TMP}" && -d "${NIXSNAP_TMP}" ]] || tmp_root
  local log="${NIXSNAP_TMP}/${name}.log"
  "$@" >"${log}" 2>&1 </dev/null &
  BG_PID=$!
  NIXSNAP_BG_PIDS+=("${BG_PID}")
  NIXSNAP_BG_NAMES+=("${name}")
  NIXSNAP_BG_LOGS+=("${log}")
  defer stop_pid "${BG_PID}" "${name}"
  note "started ${name} (pid ${BG_PID}, log ${log}): $*"
}

# stop_pid PID [NAME]: TERM, wait up to $NIXSNAP_STOP_TIMEOUT s, then KILL. Only PID.
stop_pid() {
  local pid="$1" name="${2:-pid $1}" i
  kill -0 "${pid}" 2>/dev/null || {
    wait "${pid}" 2>/dev/null || true
    return 0
  }
  kill -TERM "${pid}" 2>/dev/null || true
  for ((i = 0; i < NIXSNAP_STOP_TIMEOUT * 10; i++)); do
    kill -0 "${pid}" 2>/dev/null || break
    # A zombie child still answers kill -0; reap it if it is ours.
    if [[ "$(ps -o stat= -p "${pid}" 2>/dev/null)" == Z* ]]; then
      break
    fi
    sleep 0.1
  done
  if kill -0 "${pid}" 2>/dev/null && [[ "$(ps -o stat= -p "${pid}" 2>/dev/null)" != Z* ]]; then
    printf 'warning: %s (pid %s) ignored SIGTERM for %ss; sending SIGKILL\n' \
      "${name}" "${pid}" "${NIXSNAP_STOP_TIMEOUT}" >&2
    kill -KILL "${pid}" 2>/dev/null || true
  fi
  wait "${pid}" 2>/dev/null || true
  note "stopped ${name} (pid ${pid})"
}

# is_running PID: true while PID is alive (and not a zombie).
is_running() {
  kill -0 "$1" 2>/dev/null && [[ "$(ps -o stat= -p "$1" 2>/dev/null)" != Z* ]]
}

# wait_for_socket PATH TIMEOUT_SECONDS [PID]: waits until PATH is a unix socket; fails
# the test on timeout, or early if PID (e.g. $BG_PID) exits first.
wait_for_socket() {
  local path="$1" timeout="$2" pid="${3:-}" i
  for ((i = 0; i < timeout * 10; i++)); do
    [[ -S "${path}" ]] && return 0
    if [[ -n "${pid}" ]] && ! is_running "${pid}"; then
      fail "process ${pid} exited before creating socket ${path}"
    fi
    sleep 0.1
  done
  fail "socket ${path} did not appear within ${timeout}s"
}

# wait_until TIMEOUT_SECONDS CMD...: retries CMD (quietly) every 0.2 s until it succeeds.
wait_until() {
  local timeout="$1" i
  shift
  for ((i = 0; i < timeout * 5; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  fail "timed out after ${timeout}s waiting for: $*"
}

# free_port: prints a TCP port on 127.0.0.1 that was free a moment ago, for a server that
# must be told its port (e.g. in a container). Someone may bind it before that server does:
# the port is a random one below the kernel's ephemeral range (ip_local_port_range), which
# the kernel never hands out by itself (bind to port 0, the local end of a connection), so
# only an explicit bind of the same number can take it. A server that can report the
# port it got is better started on port 0 (serve_dir, start_registry).
free_port() {
  python3 - <<'PY'
import random, socket
with open("/proc/sys/net/ipv4/ip_local_port_range", encoding="ascii") as f:
    low = int(f.read().split()[0])
# (Port 0, the old way, only where the ephemeral range leaves nothing below it.)
for port in random.sample(range(10000, low), min(200, max(low - 10000, 0))) or [0]:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        print(s.getsockname()[1])
        break
else:
    raise SystemExit("free_port: no free port below %d" % low)
PY
}

# start_registry NAME CONFIG: starts docker-registry (the one on PATH) with CONFIG on
# 127.0.0.1, port 0 (REGISTRY_HTTP_ADDR overrides the config's http.addr): the kernel picks
# the port at the bind, so no other process can take it first. The port is read from the
# registry's own "listening on" log line (hence REGISTRY_LOG_LEVEL=info), so whatever
# answers there is this registry. Waits until /v2/ answers (any HTTP status: a registry
# with auth says 401); fails early, with the log's tail, if the registry exits. Sets
# REGISTRY_PORT, REGISTRY_HOST (127.0.0.1:PORT) and REGISTRY_PID.
REGISTRY_PORT=""
REGISTRY_HOST=""
REGISTRY_PID=""
start_registry() {
  local name="$1" config="$2" pid log port="" code i
  [[ -f "${config}" ]] || fail "start_registry ${name}: config ${config} not found"
  start_bg "${name}" env REGISTRY_HTTP_ADDR=127.0.0.1:0 REGISTRY_LOG_LEVEL=info \
    docker-registry serve "${config}"
  pid="${BG_PID}"
  log="${NIXSNAP_TMP}/${name}.log"
  # Generous bounds (60 s each): on a loaded machine start-up is slow; an exit fails at once.
  for ((i = 0; i < 600; i++)); do
    # (The log may not exist yet: the shell opens it in the child.)
    port="$(grep -o -m 1 'listening on 127\.0\.0\.1:[0-9][0-9]*' "${log}" 2>/dev/null || true)"
    port="${port##*:}"
    [[ -z "${port}" ]] || break
    is_running "${pid}" || fail "registry ${name} exited before listening: $(tail -n 5 "${log}")"
    sleep 0.1
  done
  [[ -n "${port}" ]] || fail "registry ${name} logged no 'listening on' line within 60 s (${log})"
  for ((i = 0; i < 600; i++)); do
    code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${port}/v2/" || true)"
    [[ "${code}" == 000 ]] || break
    is_running "${pid}" || fail "registry ${name} exited: $(tail -n 5 "${log}")"
    sleep 0.1
  done
  [[ "${code}" != 000 ]] || fail "registry ${name} does not answer on 127.0.0.1:${port} (${log})"
  REGISTRY_PORT="${port}"
  REGISTRY_HOST="127.0.0.1:${port}"
  REGISTRY_PID="${pid}"
  note "${name} (docker-registry) answers on ${REGISTRY_HOST} (HTTP ${code} for /v2/)"
}

# serve_dir DIR: serves DIR over HTTP on 127.0.0.1 (port chosen by the kernel, no race);
# sets $HTTP_PORT and $HTTP_URL. Uses fixtures/http_serve.py.
HTTP_PORT=""
HTTP_URL=""
serve_dir() {
  local dir="$1"
  tmp_root
  local port_file
  port_file="$(mktemp "${NIXSNAP_TMP}/http-port.XXXX")"
  rm -f "${port_file}"
  start_bg "http-$(basename "${dir}")" python3 "${NIXSNAP_FIXTURES}/http_serve.py" \
    --port-file "${port_file}" "${dir}"
  local pid="${BG_PID}" i
  for ((i = 0; i < 300; i++)); do
    [[ -s "${port_file}" ]] && break
    is_running "${pid}" || fail "http server for ${dir} exited"
    sleep 0.1
  done
  [[ -s "${port_file}" ]] || fail "http server for ${dir} did not report its port within 30 s"
  HTTP_PORT="$(cat "${port_file}")"
  HTTP_URL="http://127.0.0.1:${HTTP_PORT}"
  note "serving ${dir} at ${HTTP_URL}"
}

# --- containerd -----------------------------------------------------------------------

# containerd_bin_dir VERSION: prints the bin dir of containerd VERSION (1.7 or 2.1), or
# skips the test when scripts/setup has not fetched it.
containerd_bin_dir() {
  local version="$1"
  case "${version}" in
    1.7 | 2.1) ;;
    *) fail "containerd version must be 1.7 or 2.1, got '${version}'" ;;
  esac
  local bin="${NIXSNAP_DEPS_DIR}/containerd-${version}/usr/bin"
  [[ -x "${bin}/containerd" ]] || skip "containerd ${version} not in ${bin} (run scripts/setup)"
  printf '%s\n' "${bin}"
}

# Knobs read by containerd_write_config / containerd_start:
#   CONTAINERD_NIX_SOCKET       nix-snapshotter socket for [proxy_plugins.nix]
#                               (default DIR/nix-snapshotter.sock)
#   CONTAINERD_CRI_SNAPSHOTTER  snapshotter of the CRI plugin (default nix)
#   CONTAINERD_SANDBOX_IMAGE    CRI sandbox image (default localhost/nixsnap-busybox:latest)
#   CONTAINERD_REGISTRY_CONFIG_PATH  CRI registry.config_path, hosts.toml dir (default "")
#   CONTAINERD_LOG_LEVEL        debug level (default info)

# toml_str S: prints S as a TOML basic string.
_toml_str() {
  local s="$1"
  s="${s//\\/\\\\}"
  s="${s//\"/\\\"}"
  printf '"%s"' "${s}"
}

# containerd_write_config VERSION DIR [EXTRA_TOML]: writes DIR/config.toml and prints its
# path. Everything (root, state, sockets, CNI dirs, NRI, opt) lives under DIR. EXTRA_TOML
# (same config version) is deep-merged over it with fixtures/toml_merge.py; containerd's
# own `imports` is not used because 1.7 replaces whole plugin tables with imported ones.
containerd_write_config() {
  local version="$1" dir="$2" extra="${3:-}"
  mkdir -p "${dir}/root" "${dir}/state" "${dir}/cni/conf" "${dir}/cni/bin" "${dir}/opt"
  dir="$(cd "${dir}" && pwd)"
  local nix_sock="${CONTAINERD_NIX_SOCKET:-${dir}/nix-snapshotter.sock}"
  local cri_snap="${CONTAINERD_CRI_SNAPSHOTTER:-nix}"
  local sandbox="${CONTAINERD_SANDBOX_IMAGE:-localhost/nixsnap-busybox:latest}"
  local reg_cfg="${CONTAINERD_REGISTRY_CONFIG_PATH:-}"
  local level="${CONTAINERD_LOG_LEVEL:-info}"
  local runc_bin
  runc_bin="$(PATH="${PATH}:/usr/sbin:/sbin" command -v runc)" || fail "runc not found (apt-get install runc)"
  if [[ -n "${extra}" && ! -f "${extra}" ]]; then
    fail "extra containerd config ${extra} not found"
  fi
  local cfg="${dir}/config.toml"
  local base="${cfg}"
  [[ -z "${extra}" ]] || base="${dir}/config.base.toml"
  {
    case "${version}" in
      1.7) printf 'version = 2\n' ;;
      2.1) printf 'version = 3\n' ;;
      *) fail "containerd version must be 1.7 or 2.1, got '${version}'" ;;
    esac
    cat <<EOF
root = $(_toml_str "${dir}/root")
state = $(_toml_str "${dir}/state")

[grpc]
  address = $(_toml_str "${dir}/containerd.sock")

[ttrpc]
  address = $(_toml_str "${dir}/containerd.sock.ttrpc")

[debug]
  level = $(_toml_str "${level}")

[proxy_plugins]
  [proxy_plugins.nix]
    type = "snapshot"
    address = $(_toml_str "${nix_sock}")

[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = $(_toml_str "${dir}/opt")

  [plugins."io.containerd.nri.v1.nri"]
    disable = true
    socket_path = $(_toml_str "${dir}/nri.sock")

EOF
    if [[ "${version}" == 1.7 ]]; then
      cat <<EOF
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = $(_toml_str "${sandbox}")
    restrict_oom_score_adj = true
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"

    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = $(_toml_str "${cri_snap}")
      disable_snapshot_annotations = false
      default_runtime_name = "runc"

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"

        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
          BinaryName = $(_toml_str "${runc_bin}")
          Root = $(_toml_str "${dir}/runc")

    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = $(_toml_str "${dir}/cni/bin")
      conf_dir = $(_toml_str "${dir}/cni/conf")

    [plugins."io.containerd.grpc.v1.cri".registry]
      config_path = $(_toml_str "${reg_cfg}")
EOF
    else
      cat <<EOF
  [plugins."io.containerd.cri.v1.images"]
    snapshotter = $(_toml_str "${cri_snap}")
    disable_snapshot_annotations = false

    [plugins."io.containerd.cri.v1.images".pinned_images]
      sandbox = $(_toml_str "${sandbox}")

    [plugins."io.containerd.cri.v1.images".registry]
      config_path = $(_toml_str "${reg_cfg}")

  [plugins."io.containerd.cri.v1.runtime"]
    restrict_oom_score_adj = true

    [plugins."io.containerd.cri.v1.runtime".containerd]
      default_runtime_name = "runc"

      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"

        [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
          BinaryName = $(_toml_str "${runc_bin}")
          Root = $(_toml_str "${dir}/runc")

    [plugins."io.containerd.cri.v1.runtime".cni]
      bin_dirs = [$(_toml_str "${dir}/cni/bin")]
      conf_dir = $(_toml_str "${dir}/cni/conf")

  [plugins."io.containerd.grpc.v1.cri"]
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
EOF
    fi
  } >"${base}"
  if [[ -n "${extra}" ]]; then
    python3 "${NIXSNAP_FIXTURES}/toml_merge.py" "${base}" "${extra}" >"${cfg}" ||
      fail "merging ${extra} into the containerd config"
  fi
  printf '%s\n' "${cfg}"
}

# containerd_start VERSION DIR [EXTRA_TOML]: writes DIR/config.toml (see the knobs above;
# EXTRA_TOML is deep-merged over it), starts that containerd with
# .deps/containerd-VERSION/usr/bin first in PATH (its own containerd-shim-runc-v2, Debian's
# runc) and waits until `ctr version` answers. Sets CONTAINERD_ADDRESS, CONTAINERD_BIN,
# CONTAINERD_PID and CONTAINERD_DIR (the last one started; ctr_cmd uses them).
CONTAINERD_ADDRESS=""
CONTAINERD_BIN=""
CONTAINERD_PID=""
CONTAINERD_DIR=""
containerd_start() {
  local version="$1" dir="$2" extra="${3:-}"
  local bin cfg
  bin="$(containerd_bin_dir "${version}")"
  mkdir -p "${dir}"
  dir="$(cd "${dir}" && pwd)"
  cfg="$(containerd_write_config "${version}" "${dir}" "${extra}")"
  step "starting containerd ${version} in ${dir}"
  local path="${bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
  start_bg "containerd-$(basename "${dir}")" env PATH="${path}" \
    "${bin}/containerd" --config "${cfg}"
  local pid="${BG_PID}"
  # Stop this containerd's tasks before containerd itself (registered after stop_pid, so
  # it runs first).
  defer containerd_kill_tasks "${bin}" "${dir}/containerd.sock" "${pid}"
  wait_for_socket "${dir}/containerd.sock" 30 "${pid}"
  local i
  for ((i = 0; i < 150; i++)); do
    if "${bin}/ctr" --address "${dir}/containerd.sock" version >/dev/null 2>&1; then
      break
    fi
    is_running "${pid}" || fail "containerd ${version} exited during startup"
    sleep 0.2
  done
  "${bin}/ctr" --address "${dir}/containerd.sock" version >/dev/null 2>&1 ||
    fail "containerd ${version} does not answer on ${dir}/containerd.sock"
  CONTAINERD_ADDRESS="${dir}/containerd.sock"
  CONTAINERD_BIN="${bin}"
  CONTAINERD_PID="${pid}"
  CONTAINERD_DIR="${dir}"
  export CONTAINERD_ADDRESS
  note "containerd $("${bin}/containerd" --version | awk '{print $3}') ready on ${CONTAINERD_ADDRESS}"
}

# ctr_cmd ARGS...: the matching ctr against the last started containerd. A `run` gets
# --runc-root in that containerd's directory and a --cgroup of its own: runc's default
# root (/run/containerd/runc) and ctr's default cgroup (/NAMESPACE/ID) are the host's,
# keyed by namespace and container id, and two tests running the same container id in
# parallel (the 1.7 and 2.1 variants do) would share them: one's task delete removed the
# other's runc state mid-create, and one's delete removes the cgroup directories the
# other's create may be joining (runc deprecates containers sharing a cgroup). The cgroup
# (under /nixsnap-tests, named after the temp root plus a random part) is unique per run;
# a --cgroup given by the caller comes later and wins.
ctr_cmd() {
  [[ -n "${CONTAINERD_ADDRESS}" ]] || fail "ctr_cmd: no containerd started"
  local -a args=("$@")
  local i=0
  while ((i < ${#args[@]})); do
    case "${args[i]}" in
      -n | --namespace) i=$((i + 2)) ;;
      -*) i=$((i + 1)) ;;
      *) break ;;
    esac
  done
  if ((i < ${#args[@]})) && [[ "${args[i]}" == run ]]; then
    local cgroup
    printf -v cgroup '/nixsnap-tests/%s-%08x' "${NIXSNAP_TMP##*/}" "${SRANDOM}"
    args=("${args[@]:0:i+1}" --runc-root "${CONTAINERD_DIR}/runc" --cgroup "${cgroup}"
      "${args[@]:i+1}")
  fi
  "${CONTAINERD_BIN}/ctr" --address "${CONTAINERD_ADDRESS}" "${args[@]}"
}

# containerd_gc_now: runs containerd's garbage collection once, synchronously (a lease
# deleted with --sync), so that snapshots removed in containerd are removed from a proxy
# backend now rather than at the collector's next turn, which its scheduler spaces by the
# last collection's duration: tens of seconds on a loaded machine.
containerd_gc_now() {
  local lease
  lease="$(ctr_cmd leases create)" || fail "ctr leases create failed"
  ctr_cmd leases delete --sync "${lease}" >/dev/null || fail "ctr leases delete --sync failed"
}

# containerd_kill_tasks BIN_DIR ADDRESS PID: kills and deletes every task (all namespaces)
# of the containerd at ADDRESS, so that no shim or container outlives the test; then
# kills any leftover shim of that containerd (found by its exact -address argument).
containerd_kill_tasks() {
  local bin="$1" address="$2" pid="$3" ns task
  local -a ctr=("${bin}/ctr" --address "${address}")
  if is_running "${pid}" && "${ctr[@]}" version >/dev/null 2>&1; then
    while IFS= read -r ns; do
      [[ -n "${ns}" ]] || continue
      while IFS= read -r task; do
        [[ -n "${task}" ]] || continue
        timeout 10 "${ctr[@]}" -n "${ns}" task kill -s SIGKILL "${task}" >/dev/null 2>&1 || true
        timeout 10 "${ctr[@]}" -n "${ns}" task delete -f "${task}" >/dev/null 2>&1 || true
      done < <(timeout 10 "${ctr[@]}" -n "${ns}" task ls -q 2>/dev/null || true)
    done < <(timeout 10 "${ctr[@]}" namespaces ls -q 2>/dev/null || true)
  fi
  # Leftover shims (e.g. containerd died first): match the exact address argument.
  local p
  for p in /proc/[0-9]*; do
    local cmdline
    cmdline="$({ tr '\0' ' ' <"${p}/cmdline"; } 2>/dev/null)" || continue
    if [[ "${cmdline}" == *containerd-shim*" -address ${address} "* ]]; then
      kill -KILL "${p#/proc/}" 2>/dev/null || true
    fi
  done
}
