#!/usr/bin/env bash
# Self-test of lib.sh: exit codes (pass 0, fail 1, skip 77), assertions, start_bg/stop_all
# (TERM, then KILL after the timeout, only the recorded PIDs), wait_for_socket, temp root
# removal (after unmounting what is left below it, with Nix's gcroots/auto links into it),
# serve_dir, free_port, start_registry (with a fake docker-registry), ctr_cmd's --runc-root
# and --cgroup. No root needed except for the mount case, which is skipped otherwise.
#
# Usage: tests/integration/lib_test.sh
# shellcheck disable=SC2016 # the single-quoted scripts expand in the child shell
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/integration/lib.sh
source "${here}/lib.sh"

# run_case EXPECTED_RC SCRIPT: runs SCRIPT (bash, with lib.sh sourced) in a child process.
run_case() {
  local expected="$1" script="$2" rc=0
  CASE_OUT="$(bash -c "set -euo pipefail; source '${here}/lib.sh'; ${script}" 2>&1)" || rc=$?
  if [[ "${rc}" != "${expected}" ]]; then
    printf '%s\n' "${CASE_OUT}" >&2
    fail "expected exit ${expected}, got ${rc} for: ${script}"
  fi
}

step "exit codes"
run_case 0 'assert_eq a a; assert_contains "hello world" "lo wo"; assert_fails false'
run_case 1 'assert_eq a b'
assert_contains "${CASE_OUT}" "expected: a" "assert_eq message"
run_case 1 'assert_contains abc x'
run_case 1 'assert_fails true'
run_case 1 'fail boom'
assert_contains "${CASE_OUT}" "FAIL: boom" "fail message"
run_case 77 'skip "no widget"'
assert_contains "${CASE_OUT}" "SKIP: no widget" "skip message"
run_case 3 'exit 3'

step "start_bg / stop_all: TERM first, KILL after the timeout, temp root removed"
export LIBTEST_INFO="/tmp/nixsnap-libtest.$$"
run_case 0 '
  tmp_root
  echo "${NIXSNAP_TMP}" > "${LIBTEST_INFO}"
  start_bg polite sleep 1000
  start_bg stubborn bash -c "trap \"\" TERM; touch ${NIXSNAP_TMP}/trapped; while :; do sleep 0.1; done"
  wait_until 30 test -e "${NIXSNAP_TMP}/trapped"
  echo "${NIXSNAP_BG_PIDS[*]}" >> "${LIBTEST_INFO}"
  NIXSNAP_STOP_TIMEOUT=1
'
mapfile -t info <"${LIBTEST_INFO}"
rm -f "${LIBTEST_INFO}"
[[ ! -e "${info[0]}" ]] || fail "temp root ${info[0]} not removed"
for pid in ${info[1]}; do
  if kill -0 "${pid}" 2>/dev/null; then
    fail "pid ${pid} survived stop_all"
  fi
done
assert_contains "${CASE_OUT}" "ignored SIGTERM" "stubborn process was not KILLed"
note "both stopped: ${info[1]}"

step "wait_for_socket: appears, times out, process dies first"
run_case 0 '
  tmp_root
  start_bg sock python3 -c "import socket,time; s=socket.socket(socket.AF_UNIX); s.bind(\"${NIXSNAP_TMP}/s.sock\"); s.listen(); time.sleep(100)"
  wait_for_socket "${NIXSNAP_TMP}/s.sock" 30 "${BG_PID}"'
run_case 1 'tmp_root; wait_for_socket "${NIXSNAP_TMP}/none.sock" 1'
assert_contains "${CASE_OUT}" "did not appear within 1s" "timeout message"
run_case 1 'tmp_root; start_bg quick true; sleep 0.3; wait_for_socket "${NIXSNAP_TMP}/x.sock" 10 "${BG_PID}"'
assert_contains "${CASE_OUT}" "exited before creating socket" "early exit message"

step "serve_dir"
run_case 0 '
  tmp_root; mkdir -p "${NIXSNAP_TMP}/www"; echo hi > "${NIXSNAP_TMP}/www/f"
  serve_dir "${NIXSNAP_TMP}/www"
  assert_eq hi "$(curl -fsS "${HTTP_URL}/f")"'

step "free_port: a free port below the kernel's ephemeral range"
run_case 0 '
  read -r low _ </proc/sys/net/ipv4/ip_local_port_range
  port="$(free_port)"
  [[ "${port}" =~ ^[0-9]+$ ]] || fail "not a port: ${port}"
  ((port >= 1024 && (port < low || low <= 10000))) || fail "port ${port} (ephemeral range from ${low})"
  python3 -c "import socket, sys; socket.socket().bind((\"127.0.0.1\", int(sys.argv[1])))" "${port}"'

step "start_registry: port 0, the port read from the registry's log; an early exit fails at once"
# A fake docker-registry: checks how it is called, binds REGISTRY_HTTP_ADDR, logs the
# address as the real one does, answers /v2/ with 401 (as with auth). FAKE_REGISTRY=exit:
# it fails to bind, as a registry given a taken port would.
fakebin="$(mktemp -d /tmp/nixsnap-fakebin.XXXX)"
cat >"${fakebin}/docker-registry" <<'PY'
#!/usr/bin/env python3
import http.server, os, sys
if sys.argv[1:2] != ["serve"] or len(sys.argv) != 3 or not os.path.isfile(sys.argv[2]):
    sys.exit("fake docker-registry: want serve CONFIG, got %s" % sys.argv[1:])
addr = os.environ.get("REGISTRY_HTTP_ADDR")
if addr != "127.0.0.1:0" or os.environ.get("REGISTRY_LOG_LEVEL") != "info":
    sys.exit("fake docker-registry: REGISTRY_HTTP_ADDR=%s REGISTRY_LOG_LEVEL=%s"
             % (addr, os.environ.get("REGISTRY_LOG_LEVEL")))
if os.environ.get("FAKE_REGISTRY") == "exit":
    print('time="t" level=fatal msg="listen tcp 127.0.0.1:5000: bind: address already in use"')
    sys.exit(1)
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(401 if self.path == "/v2/" else 404)
        self.end_headers()
server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
print('time="t" level=info msg="redis not configured"', flush=True)
print('time="t" level=info msg="listening on 127.0.0.1:%d"' % server.server_address[1], flush=True)
server.serve_forever()
PY
chmod +x "${fakebin}/docker-registry"
export LIBTEST_FAKEBIN="${fakebin}"
run_case 0 '
  PATH="${LIBTEST_FAKEBIN}:${PATH}"
  tmp_root; : >"${NIXSNAP_TMP}/r.yml"
  start_registry reg "${NIXSNAP_TMP}/r.yml"
  [[ "${REGISTRY_PORT}" =~ ^[0-9]+$ ]] || fail "REGISTRY_PORT=${REGISTRY_PORT}"
  assert_eq "127.0.0.1:${REGISTRY_PORT}" "${REGISTRY_HOST}"
  is_running "${REGISTRY_PID}" || fail "registry not running"
  assert_eq 401 "$(curl -s -o /dev/null -w "%{http_code}" "http://${REGISTRY_HOST}/v2/")"'
assert_contains "${CASE_OUT}" "answers on 127.0.0.1:" "start_registry note"
run_case 1 '
  PATH="${LIBTEST_FAKEBIN}:${PATH}"
  tmp_root; : >"${NIXSNAP_TMP}/r.yml"
  export FAKE_REGISTRY=exit
  start_registry reg "${NIXSNAP_TMP}/r.yml"'
assert_contains "${CASE_OUT}" "registry reg exited before listening" "early exit message"
assert_contains "${CASE_OUT}" "address already in use" "early exit message shows the log"
run_case 1 'tmp_root; start_registry reg "${NIXSNAP_TMP}/absent.yml"'
assert_contains "${CASE_OUT}" "absent.yml not found" "missing config message"
rm -rf "${fakebin}"

step "ctr_cmd: a run (after global flags) gets --runc-root in the containerd dir and a cgroup of its own"
run_case 0 '
  tmp_root
  mkdir "${NIXSNAP_TMP}/bin"
  printf "#!/bin/sh\nprintf \"%%s|\" \"\$@\"\n" >"${NIXSNAP_TMP}/bin/ctr"
  chmod +x "${NIXSNAP_TMP}/bin/ctr"
  CONTAINERD_BIN="${NIXSNAP_TMP}/bin" CONTAINERD_ADDRESS=/s.sock CONTAINERD_DIR=/cd
  # CG: the cgroup, named after the temp root with 8 random hex digits
  cg() { sed -E "s#/nixsnap-tests/${NIXSNAP_TMP##*/}-[0-9a-f]{8}[|]#CG|#g"; }
  assert_eq "--address|/s.sock|run|--runc-root|/cd/runc|--cgroup|CG|--rm|img|id|" \
    "$(ctr_cmd run --rm img id | cg)"
  assert_eq "--address|/s.sock|-n|k8s.io|--debug|run|--runc-root|/cd/runc|--cgroup|CG|img|id|" \
    "$(ctr_cmd -n k8s.io --debug run img id | cg)"
  assert_eq "--address|/s.sock|run|--runc-root|/cd/runc|--cgroup|CG|--cgroup||img|id|" \
    "$(ctr_cmd run --cgroup "" img id | cg)"
  assert_eq "--address|/s.sock|--namespace|run|task|ls|" "$(ctr_cmd --namespace run task ls)"
  assert_eq "--address|/s.sock|images|ls|run|" "$(ctr_cmd images ls run)"
  one="$(ctr_cmd run img id)"
  two="$(ctr_cmd run img id)"
  [[ "${one}" != "${two}" ]] || fail "two runs of one id got the same cgroup: ${one}"'

step "Nix's gcroots/auto registrations into the temp root go with it, no others"
state="$(mktemp -d /tmp/nixsnap-state.XXXX)"
mkdir -p "${state}/gcroots/auto"
ln -s /tmp/elsewhere/result "${state}/gcroots/auto/keep1"
export LIBTEST_STATE="${state}"
run_case 0 '
  export NIX_STATE_DIR="${LIBTEST_STATE}"
  tmp_root
  ln -s "${NIXSNAP_TMP}/result" "${NIX_STATE_DIR}/gcroots/auto/drop1"
  ln -s "${NIXSNAP_TMP}/deep/er/out" "${NIX_STATE_DIR}/gcroots/auto/drop2"
  ln -s "${NIXSNAP_TMP}-other/result" "${NIX_STATE_DIR}/gcroots/auto/keep2"'
assert_eq "keep1 keep2" "$(cd "${state}/gcroots/auto" && echo *)" "registrations left"
rm -rf "${state}"

if [[ "$(id -u)" == 0 ]]; then
  step "a mount left below the temp root is unmounted, not deleted through"
  keep="$(mktemp -d /tmp/nixsnap-keep.XXXX)"
  echo precious >"${keep}/file"
  run_case 0 "tmp_root; mkdir \"\${NIXSNAP_TMP}/m\"; mount --bind '${keep}' \"\${NIXSNAP_TMP}/m\""
  assert_eq precious "$(cat "${keep}/file")" "bind-mounted content deleted through the mount"
  rm -rf "${keep}"
else
  note "not root: skipping the mount case"
fi

printf 'PASS: lib.sh\n'
