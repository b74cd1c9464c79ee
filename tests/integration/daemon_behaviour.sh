#!/usr/bin/env bash
# nix-snapshotter as a process: the original's flag spellings and --version, a root
# holding the original's bolt metadata.db refused with advice, socket directory 0700,
# stale socket replaced, a second daemon on a served socket refused, config errors name
# the key, explicit missing --config fails, READY=1/STOPPING=1 sent to NOTIFY_SOCKET,
# SIGTERM and SIGINT stop it cleanly (exit 0, socket removed) and a restart keeps its
# snapshots.
#
# Usage: tests/integration/daemon_behaviour.sh       (root not needed for most; exit 77 = skip)
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/daemon_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/daemon_common.sh"

require_root
require_cmd python3
require_daemon_bin
require_snapctl
tmp_root
T="${NIXSNAP_TMP}"

step "unknown config key is a startup error naming the key"
printf '[image_service]\nenbale = true\n' >"${T}/bad.toml"
assert_fails "${NIXSNAP_BIN}" --config "${T}/bad.toml" --address "${T}/bad.sock" --root "${T}/bad-root"
assert_contains "${ASSERT_OUTPUT}" 'unknown key "image_service.enbale"'
assert_contains "${ASSERT_OUTPUT}" "${T}/bad.toml"
[[ ! -e "${T}/bad.sock" ]] || fail "a daemon with a bad config created its socket"

step "wrong type is a startup error naming the key"
printf 'root = 42\n' >"${T}/type.toml"
assert_fails "${NIXSNAP_BIN}" --config "${T}/type.toml" --address "${T}/t.sock"
assert_contains "${ASSERT_OUTPUT}" '"root"'

step "an explicit --config that does not exist is an error"
assert_fails "${NIXSNAP_BIN}" --config "${T}/absent.toml" --address "${T}/a.sock" --root "${T}/a-root"
assert_contains "${ASSERT_OUTPUT}" "absent.toml"

step "bad --log-level is an error"
: >"${T}/empty.toml"
assert_fails "${NIXSNAP_BIN}" --config "${T}/empty.toml" --log-level loud --address "${T}/l.sock" --root "${T}/l-root"
assert_contains "${ASSERT_OUTPUT}" "flag --log-level"

step "the original's spellings: -v/--version print the CMake project version; -c -a -l"
want="$(sed -n 's/^project(nix_snapshotter VERSION \([0-9.]*\).*/\1/p' "${NIXSNAP_REPO_ROOT}/CMakeLists.txt")"
[[ -n "${want}" ]] || fail "no project VERSION in CMakeLists.txt"
assert_eq "nix-snapshotter version ${want}" "$("${NIXSNAP_BIN}" --version)" "--version"
assert_eq "nix-snapshotter version ${want}" "$("${NIXSNAP_BIN}" -v)" "-v"
assert_fails "${NIXSNAP_BIN}" -c "${T}/empty.toml" -l loud -a "${T}/s.sock" --root "${T}/s-root"
assert_contains "${ASSERT_OUTPUT}" "flag --log-level"
assert_contains "${ASSERT_OUTPUT}" '"loud"'

step "a root holding the original's bolt metadata.db is refused, saying what to do"
mkdir -p "${T}/bolt-root"
# bbolt's first page: header (id, flags = meta 0x04, count, overflow), then magic, version 2.
python3 - "${T}/bolt-root/metadata.db" <<'PY'
import struct, sys
page = bytearray(4096)
struct.pack_into("<QHHI", page, 0, 0, 0x04, 0, 0)
struct.pack_into("<IIII", page, 16, 0xED0CDAED, 2, 4096, 0)
open(sys.argv[1], "wb").write(page)
PY
cp "${T}/bolt-root/metadata.db" "${T}/bolt.orig"
daemon_config "${T}/bolt.toml"
assert_fails "${NIXSNAP_BIN}" -c "${T}/bolt.toml" -l fatal -a "${T}/bolt.sock" --root "${T}/bolt-root"
assert_contains "${ASSERT_OUTPUT}" "is a bbolt database"
assert_contains "${ASSERT_OUTPUT}" "Move the root \"${T}/bolt-root\" away"
assert_contains "${ASSERT_OUTPUT}" "pulled or loaded again"
[[ "${ASSERT_OUTPUT}" != *"file is not a database"* ]] || fail "sqlite's message instead of ours"
[[ ! -e "${T}/bolt.sock" ]] || fail "the refused daemon created its socket"
cmp -s "${T}/bolt.orig" "${T}/bolt-root/metadata.db" || fail "the bolt file was changed"
[[ ! -e "${T}/bolt-root/metadata.db-wal" ]] || fail "a WAL was created next to the bolt file"

step "start with NOTIFY_SOCKET: READY=1; socket directory created 0700"
python3 - "${T}/notify.sock" "${T}/notify.out" >"${T}/notify.log" 2>&1 <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as out:
    while True:
        msg = s.recv(4096).decode()
        out.write(msg.replace("\n", " ") + "\n")
PY
listener=$!
defer stop_pid "${listener}" notify-listener
wait_for_socket "${T}/notify.sock" 30 "${listener}"
sock="${T}/run/sub/ns.sock"
root="${T}/root"
NOTIFY_SOCKET="${T}/notify.sock" daemon_start daemon1 "${sock}" "${root}"
pid1="${DAEMON_PID}"
wait_until 30 grep -qx "READY=1" "${T}/notify.out"
assert_eq 700 "$(stat -c %a "${T}/run/sub")" "socket directory mode"
assert_eq 700 "$(stat -c %a "${T}/run")" "socket parent directory mode"

step "a second daemon on the same socket is refused, the first keeps serving"
daemon_config "${T}/second.toml"
assert_fails "${NIXSNAP_BIN}" --config "${T}/second.toml" --address "${sock}" --root "${T}/root2"
assert_contains "${ASSERT_OUTPUT}" "another process is serving"
is_running "${pid1}" || fail "first daemon died"

step "a second daemon on the same root (another socket) is refused"
assert_fails "${NIXSNAP_BIN}" --config "${T}/second.toml" --address "${T}/other.sock" --root "${root}"
assert_contains "${ASSERT_OUTPUT}" "another nix-snapshotter is using it"
[[ ! -e "${T}/other.sock" ]] || fail "the refused daemon created its socket"
is_running "${pid1}" || fail "first daemon died"
"${SNAPCTL}" --address "${sock}" prepare k-active >/dev/null
"${SNAPCTL}" --address "${sock}" prepare base-active >/dev/null
"${SNAPCTL}" --address "${sock}" commit base base-active
"${SNAPCTL}" --address "${sock}" prepare child base --label team=a >/dev/null
"${SNAPCTL}" --address "${sock}" view v1 base >/dev/null
before_list="$("${SNAPCTL}" --address "${sock}" list)"
before_stat="$("${SNAPCTL}" --address "${sock}" stat child)"
before_mounts="$("${SNAPCTL}" --address "${sock}" mounts child; "${SNAPCTL}" --address "${sock}" mounts v1)"
assert_contains "${before_list}" "base"
assert_contains "${before_stat}" "label team=a"

step "SIGTERM: STOPPING=1, exit 0, socket removed"
daemon_stop "${pid1}" daemon1
wait_until 30 grep -qx "STOPPING=1" "${T}/notify.out"
[[ ! -e "${sock}" ]] || fail "socket still there after a clean stop"

step "restart: list, stat and mounts answer exactly as before"
daemon_start daemon2 "${sock}" "${root}"
pid2="${DAEMON_PID}"
assert_eq "${before_list}" "$("${SNAPCTL}" --address "${sock}" list)" "list after restart"
assert_eq "${before_stat}" "$("${SNAPCTL}" --address "${sock}" stat child)" "stat after restart"
assert_eq "${before_mounts}" "$("${SNAPCTL}" --address "${sock}" mounts child; "${SNAPCTL}" --address "${sock}" mounts v1)" "mounts after restart"

step "SIGINT stops it cleanly too"
kill -INT "${pid2}"
wait_until 15 bash -c "! kill -0 ${pid2} 2>/dev/null || [[ \$(ps -o stat= -p ${pid2}) == Z* ]]"
rc=0
wait "${pid2}" || rc=$?
assert_eq 0 "${rc}" "exit status after SIGINT"

step "a stale socket (daemon killed with SIGKILL) is replaced at the next start"
daemon_start daemon3 "${sock}" "${root}"
pid3="${DAEMON_PID}"
kill -KILL "${pid3}"
wait "${pid3}" 2>/dev/null || true
[[ -S "${sock}" ]] || fail "expected a stale socket after SIGKILL"
daemon_start daemon4 "${sock}" "${root}"
assert_eq "${before_list}" "$("${SNAPCTL}" --address "${sock}" list)" "list after a crash"

printf 'PASS: daemon behaviour\n'
