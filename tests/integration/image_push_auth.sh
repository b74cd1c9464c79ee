#!/usr/bin/env bash
# nix2container push to registries that want credentials, all on loopback and started here:
#   A. Debian's docker-registry with `auth: htpasswd:` (bcrypt file made here). Without
#      credentials, or with a wrong password, the push fails (exit 1, "401"/"unauthorized"
#      and the registry host in the message); with credentials from --authfile,
#      $REGISTRY_AUTH_FILE, $DOCKER_CONFIG/config.json, ~/.docker/config.json, a
#      `credHelpers` entry or `credsStore` (the helper docker-credential-nixsnaptest, a
#      script put first in PATH) it succeeds and skopeo reads the manifest back.
#   B. docker-registry with `auth: token:` and fixtures/token_server.py (RS256 JWTs with x5c,
#      key and self-signed cert made here with openssl): with credentials the push succeeds
#      and the token server saw scope=repository:nix/push:pull,push for our service, whether
#      it answers `token`, `access_token` or both; a wrong password (the token server
#      answers 401) and no credentials (it grants pull only, the registry answers 401 on the
#      upload) fail.
#   C. In every case the password (and user:password in base64) never shows in
#      nix2container's stdout or stderr.
# Every client runs with HOME, XDG_RUNTIME_DIR and PATH of the temp dir and without
# REGISTRY_AUTH_FILE / DOCKER_CONFIG, so nothing of the machine's own config leaks in.
# The fixtures are first checked with skopeo alone; NIXSNAP_PUSH_AUTH_FIXTURES_ONLY=1
# stops there (to check the fixtures without nix2container's registry authentication).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N2C="${NIXSNAP_NIX2CONTAINER:-${NIXSNAP_BIN_DIR:-${NIXSNAP_REPO_ROOT}/build/src/cmd}/nix2container}"
[[ -x "${N2C}" ]] || fail "nix2container not built at ${N2C}"
require_cmd docker-registry skopeo openssl curl timeout base64 sha256sum nix-store
# Debian's python3, not a pyenv build that may be first in PATH: it has python3-cryptography
# (token server) and the crypt module (bcrypt for htpasswd; deprecated, still in 3.11).
PY=/usr/bin/python3
[[ -x "${PY}" ]] || skip "needs Debian's ${PY}"
"${PY}" -c 'import cryptography' 2>/dev/null || skip "needs python3-cryptography for ${PY} (scripts/setup)"
tmp_root
T="${NIXSNAP_TMP}"

# --- secrets and the isolated client environment ---------------------------------------

rand_hex() { od -An -N8 -tx1 /dev/urandom | tr -d ' \n'; }
AUTH_USER="nixsnap-tester"
PASSWORD="nixsnap-secret-$(rand_hex)"
WRONG_PASSWORD="nixsnap-wrong-$(rand_hex)"
GOOD_B64="$(printf '%s:%s' "${AUTH_USER}" "${PASSWORD}" | base64 -w0)"
WRONG_B64="$(printf '%s:%s' "${AUTH_USER}" "${WRONG_PASSWORD}" | base64 -w0)"
mkdir -p "${T}/secrets" "${T}/home" "${T}/xdg" "${T}/bin" "${T}/auth"
chmod 700 "${T}/secrets" "${T}/xdg"
printf '%s\n' "${PASSWORD}" >"${T}/secrets/password"

CLEAN_ENV=(env -u REGISTRY_AUTH_FILE -u DOCKER_CONFIG -u XDG_CONFIG_HOME
  "HOME=${T}/home" "XDG_RUNTIME_DIR=${T}/xdg" "PATH=${T}/bin:${PATH}")

# skopeo_c ARGS...: skopeo in the isolated environment.
skopeo_c() { "${CLEAN_ENV[@]}" skopeo "$@"; }

# write_auths FILE HOST USER PASSWORD: a docker config.json with one `auths` entry.
write_auths() {
  local file="$1" host="$2" b64
  b64="$(printf '%s:%s' "$3" "$4" | base64 -w0)"
  mkdir -p "$(dirname "${file}")"
  printf '{"auths": {"%s": {"auth": "%s"}}}\n' "${host}" "${b64}" >"${file}"
}

# The credential helper: docker's protocol, `get` with the server on stdin, JSON on stdout.
# write_cred_helper HOST: it answers for HOST only (with the good password) and logs each
# call to $HELPER_LOG; any argument list but `get` is logged as bad-args and refused.
HELPER_LOG="${T}/cred-helper.log"
write_cred_helper() {
  local host="$1"
  cat >"${T}/bin/docker-credential-nixsnaptest" <<EOF
#!/bin/sh
# test credential helper (docker-credential-helpers protocol), written by image_push_auth.sh
log='${HELPER_LOG}'
if [ "\$#" -ne 1 ] || [ "\$1" != get ]; then
  echo "bad-args: \$*" >>"\$log"
  echo "usage: \$0 get" >&2
  exit 2
fi
host=
IFS= read -r host || [ -n "\$host" ] || true
echo "get \$host" >>"\$log"
if [ "\$host" = '${host}' ]; then
  printf '{"ServerURL":"%s","Username":"%s","Secret":"%s"}\n' '${host}' '${AUTH_USER}' '${PASSWORD}'
  exit 0
fi
echo "credentials not found in native keychain"
exit 1
EOF
  chmod 755 "${T}/bin/docker-credential-nixsnaptest"
}

# assert_no_secret TEXT WHAT: the password, the wrong one and both base64 forms are absent.
assert_no_secret() {
  local text="$1" what="$2" s
  for s in "${PASSWORD}" "${WRONG_PASSWORD}" "${GOOD_B64}" "${WRONG_B64}"; do
    [[ "${text}" != *"${s}"* ]] || fail "${what} shows a secret (${s:0:14}...)"
  done
}

# n2c [VAR=VALUE...] -- ARGS...: runs nix2container in the isolated environment (plus the
# given variables), with a 30 s limit; stdout+stderr in $N2C_OUT, exit status in $N2C_RC.
# Checks the output for secrets every time.
N2C_OUT=""
N2C_RC=0
n2c() {
  local envs=()
  while (($#)) && [[ "$1" != -- ]]; do
    envs+=("$1")
    shift
  done
  shift
  N2C_RC=0
  N2C_OUT="$("${CLEAN_ENV[@]}" "${envs[@]}" timeout 30 "${N2C}" "$@" 2>&1)" || N2C_RC=$?
  printf '$ %s nix2container %s\n%s\n[rc=%s]\n' "${envs[*]}" "$*" "${N2C_OUT}" "${N2C_RC}" \
    >>"${T}/n2c.log"
  assert_no_secret "${N2C_OUT}" "nix2container output (rc=${N2C_RC}) of: $*"
}

# expect_ok WHAT: the last n2c succeeded.
expect_ok() {
  if ((N2C_RC != 0)); then
    printf 'FAIL: %s: nix2container exited %s\n  output: %s\n' "$1" "${N2C_RC}" "${N2C_OUT}" >&2
    printf '      at %s:%s\n' "${BASH_SOURCE[1]}" "${BASH_LINENO[0]}" >&2
    exit 1
  fi
  note "ok: $1"
}

# expect_unauthorized WHAT HOST: the last n2c exited 1 naming 401/unauthorized and HOST.
expect_unauthorized() {
  local what="$1" host="$2"
  if ((N2C_RC != 1)); then
    printf 'FAIL: %s: wanted exit status 1, got %s\n  output: %s\n' "${what}" "${N2C_RC}" "${N2C_OUT}" >&2
    printf '      at %s:%s\n' "${BASH_SOURCE[1]}" "${BASH_LINENO[0]}" >&2
    exit 1
  fi
  # 401 as a number of its own, not digits inside a digest
  if [[ ! "${N2C_OUT}" =~ (^|[^0-9a-fA-F])401([^0-9a-fA-F]|$) && "${N2C_OUT,,}" != *unauthorized* ]]; then
    fail "${what}: the message names neither 401 nor unauthorized: ${N2C_OUT}"
  fi
  assert_contains "${N2C_OUT}" "${host}" "${what}: the message does not name the registry"
  note "refused as expected: ${what}: ${N2C_OUT##*$'\n'}"
}

# expect_pushed HOST TAG: skopeo, with the right credentials, reads back the manifest of
# the test archive at HOST/nix/push:TAG (same bytes: same digest, our annotation).
expect_pushed() {
  local host="$1" tag="$2" file="${T}/manifest-$1-$2.json" digest
  skopeo_c inspect --creds "${AUTH_USER}:${PASSWORD}" --tls-verify=false --raw \
    "docker://${host}/nix/push:${tag}" >"${file}" || fail "skopeo cannot read ${host}/nix/push:${tag}"
  assert_contains "$(cat "${file}")" '"containerd.io/snapshot/nix-store-path.0":"'"${P1}"'"' \
    "manifest of ${host}/nix/push:${tag}"
  digest="sha256:$(sha256sum "${file}" | cut -d' ' -f1)"
  assert_eq "${LOCAL_DIGEST}" "${digest}" "digest of ${host}/nix/push:${tag}"
}

# expect_absent HOST REPO:TAG: the registry has no such manifest.
expect_absent() {
  if skopeo_c inspect --creds "${AUTH_USER}:${PASSWORD}" --tls-verify=false --raw \
    "docker://$1/$2" >/dev/null 2>&1; then
    fail "$1/$2 exists after a refused push"
  fi
}

# answers_401 URL: the URL answers 401 (a registry with auth, up).
answers_401() { [[ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" == 401 ]]; }

# --- the test archive -----------------------------------------------------------------

# A real store path (nix2container build refuses absent ones), rooted in the temp dir.
mkdir -p "${T}/push-test"
P1="$(nix-store --add "${T}/push-test")"
nix-store --realise "${P1}" --add-root "${T}/push-test-root" >/dev/null
printf '%s\n' "${P1}" >"${T}/closure"
"${N2C}" build --closure "${T}/closure" --ref "localhost:5000/nix/push:1" "${T}/img.tar" >/dev/null
LOCAL_DIGEST="$(skopeo_c inspect --format '{{.Digest}}' "oci-archive:${T}/img.tar")"
note "test archive ${T}/img.tar, manifest ${LOCAL_DIGEST}"

# --- registry A: htpasswd -------------------------------------------------------------

step "registry A: docker-registry with htpasswd (bcrypt)"
# bcrypt cost 4 (Go's minimum): the registry checks it on every request.
"${PY}" -W ignore::DeprecationWarning -c '
import crypt, sys
if crypt.METHOD_BLOWFISH not in crypt.methods:
    sys.exit("libcrypt has no bcrypt")
h = crypt.crypt(sys.stdin.readline().rstrip("\n"), crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))
print("%s:%s" % (sys.argv[1], h))
' "${AUTH_USER}" <"${T}/secrets/password" >"${T}/secrets/htpasswd" ||
  skip "cannot make a bcrypt htpasswd with ${PY}'s crypt module"
cat >"${T}/registry-a.yml" <<YAML
version: 0.1
storage:
  filesystem:
    rootdirectory: ${T}/registry-a
http:
  secret: nixsnap-test-a
auth:
  htpasswd:
    realm: nixsnap-test
    path: ${T}/secrets/htpasswd
YAML
start_registry registry-a "${T}/registry-a.yml"
HOST_A="${REGISTRY_HOST}"
answers_401 "http://${HOST_A}/v2/" || fail "registry A does not answer 401 without credentials"

# --- registry B: token auth -----------------------------------------------------------

step "registry B: docker-registry with token auth and fixtures/token_server.py"
SERVICE="nixsnap-test-registry"
ISSUER="nixsnap-test-issuer"
mkdir -p "${T}/token"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=${ISSUER}" \
  -keyout "${T}/secrets/token-key.pem" -out "${T}/token/cert.pem" 2>"${T}/token/openssl.log" ||
  fail "openssl req failed: $(cat "${T}/token/openssl.log")"
TOKEN_LOG="${T}/token/requests.jsonl"
TOKEN_FIELDS="${T}/token/fields"
: >"${TOKEN_LOG}"
start_bg token-server "${PY}" "${NIXSNAP_FIXTURES}/token_server.py" \
  --key "${T}/secrets/token-key.pem" --cert "${T}/token/cert.pem" \
  --issuer "${ISSUER}" --service "${SERVICE}" --user "${AUTH_USER}" \
  --password-file "${T}/secrets/password" --log "${TOKEN_LOG}" --anonymous pull \
  --fields-file "${TOKEN_FIELDS}" --port-file "${T}/token/port"
token_pid="${BG_PID}"
for ((i = 0; i < 300; i++)); do
  [[ -s "${T}/token/port" ]] && break
  is_running "${token_pid}" || fail "token server exited"
  sleep 0.1
done
[[ -s "${T}/token/port" ]] || fail "token server did not report its port within 30 s"
REALM="http://127.0.0.1:$(cat "${T}/token/port")/token"
cat >"${T}/registry-b.yml" <<YAML
version: 0.1
storage:
  filesystem:
    rootdirectory: ${T}/registry-b
http:
  secret: nixsnap-test-b
auth:
  token:
    realm: ${REALM}
    service: ${SERVICE}
    issuer: ${ISSUER}
    rootcertbundle: ${T}/token/cert.pem
YAML
start_registry registry-b "${T}/registry-b.yml"
HOST_B="${REGISTRY_HOST}"
answers_401 "http://${HOST_B}/v2/" || fail "registry B does not answer 401 without a token"
challenge="$(curl -s -D - -o /dev/null "http://${HOST_B}/v2/" | tr -d '\r' | grep -i '^www-authenticate:')"
assert_contains "${challenge}" "Bearer realm=\"${REALM}\",service=\"${SERVICE}\"" "registry B's challenge"

# token_log_mark: the token log's current line count. token_log_count MARK SCOPE AUTH
# prints how many requests after MARK asked for our service and SCOPE with auth AUTH
# (ok|none|bad) and got a token (ok, none) or a 401 (bad).
token_log_mark() { wc -l <"${TOKEN_LOG}"; }
token_log_count() {
  "${PY}" - "${TOKEN_LOG}" "$1" "${SERVICE}" "$2" "$3" <<'PYEOF'
import json, sys
path, mark, service, scope, auth = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
with open(path, encoding="utf-8") as f:
    entries = [json.loads(line) for line in f.read().splitlines()[mark:]]
want_status = 401 if auth == "bad" else 200
print(sum(1 for e in entries if e["service"] == service and scope in e["scope"]
          and e["auth"] == auth and e["status"] == want_status))
PYEOF
}
# expect_token_requests MARK SCOPE AUTH WHAT: at least one such request since MARK.
expect_token_requests() {
  local n
  n="$(token_log_count "$1" "$2" "$3")"
  if ((n < 1)); then
    fail "$4: the token server saw no request with service=${SERVICE} scope=$2 auth=$3; log since then:
$(tail -n +"$(($1 + 1))" "${TOKEN_LOG}")"
  fi
  note "token server: ${n} request(s) service=${SERVICE} scope=$2 auth=$3"
}

# --- fixture self-check with skopeo alone ---------------------------------------------

step "fixtures: skopeo pushes with credentials, is refused without"
for host in "${HOST_A}" "${HOST_B}"; do
  mark="$(token_log_mark)"
  skopeo_c copy --quiet --dest-creds "${AUTH_USER}:${PASSWORD}" --dest-tls-verify=false \
    "oci-archive:${T}/img.tar" "docker://${host}/nix/push:skopeo" >/dev/null ||
    fail "skopeo copy with credentials to ${host} failed"
  expect_pushed "${host}" skopeo
  if [[ "${host}" == "${HOST_B}" ]]; then
    expect_token_requests "${mark}" "repository:nix/push:pull,push" ok "skopeo push to B"
  fi
  for creds in "" "${AUTH_USER}:${WRONG_PASSWORD}"; do
    args=(--dest-no-creds)
    [[ -z "${creds}" ]] || args=(--dest-creds "${creds}")
    if out="$(skopeo_c copy --quiet "${args[@]}" --dest-tls-verify=false \
      "oci-archive:${T}/img.tar" "docker://${host}/nix/skopeo-refused:1" 2>&1)"; then
      fail "skopeo copy ${args[0]} to ${host} succeeded"
    fi
    assert_contains "${out,,}" "unauthorized" "skopeo's refusal by ${host}"
    note "skopeo ${args[0]} refused by ${host}: ${out##*level=fatal msg=}"
  done
  expect_absent "${host}" nix/skopeo-refused:1
done
mark="$(token_log_mark)"
skopeo_c copy --quiet --dest-no-creds --dest-tls-verify=false "oci-archive:${T}/img.tar" \
  "docker://${HOST_B}/nix/push:anon" >/dev/null 2>&1 && fail "anonymous skopeo push to B succeeded"
expect_token_requests "${mark}" "repository:nix/push:pull,push" none "anonymous skopeo push to B"
grep -qF -- "${PASSWORD}" "${TOKEN_LOG}" "${T}/token-server.log" && fail "the token server logged the password"

if [[ "${NIXSNAP_PUSH_AUTH_FIXTURES_ONLY:-0}" == 1 ]]; then
  step "image_push_auth: fixtures good; NIXSNAP_PUSH_AUTH_FIXTURES_ONLY=1, skipping nix2container"
  exit 0
fi

# ===================== nix2container against registry A (htpasswd) =====================

step "A: no credentials (no auth file anywhere) -> 401"
n2c -- push --plain-http --ref "${HOST_A}/nix/refused:1" "${T}/img.tar"
expect_unauthorized "A, anonymous" "${HOST_A}"
expect_absent "${HOST_A}" nix/refused:1

step "A: wrong password in --authfile -> 401"
write_auths "${T}/auth/wrong-a.json" "${HOST_A}" "${AUTH_USER}" "${WRONG_PASSWORD}"
n2c -- push --plain-http --authfile "${T}/auth/wrong-a.json" \
  --ref "${HOST_A}/nix/refused:1" "${T}/img.tar"
expect_unauthorized "A, wrong password" "${HOST_A}"
expect_absent "${HOST_A}" nix/refused:1

step "A: --authfile"
write_auths "${T}/auth/good-a.json" "${HOST_A}" "${AUTH_USER}" "${PASSWORD}"
n2c -- push --plain-http --authfile "${T}/auth/good-a.json" \
  --ref "${HOST_A}/nix/push:authfile" "${T}/img.tar"
expect_ok "A, --authfile"
expect_pushed "${HOST_A}" authfile

step "A: \$REGISTRY_AUTH_FILE"
n2c "REGISTRY_AUTH_FILE=${T}/auth/good-a.json" -- push --plain-http \
  --ref "${HOST_A}/nix/push:envfile" "${T}/img.tar"
expect_ok "A, REGISTRY_AUTH_FILE"
expect_pushed "${HOST_A}" envfile

step "A: --authfile wins over \$REGISTRY_AUTH_FILE"
n2c "REGISTRY_AUTH_FILE=${T}/auth/wrong-a.json" -- push --plain-http \
  --authfile "${T}/auth/good-a.json" --ref "${HOST_A}/nix/push:precedence" "${T}/img.tar"
expect_ok "A, --authfile over REGISTRY_AUTH_FILE"
expect_pushed "${HOST_A}" precedence

step "A: \$DOCKER_CONFIG/config.json (and it wins over ~/.docker/config.json)"
write_auths "${T}/dockercfg/config.json" "${HOST_A}" "${AUTH_USER}" "${PASSWORD}"
write_auths "${T}/home/.docker/config.json" "${HOST_A}" "${AUTH_USER}" "${WRONG_PASSWORD}"
n2c "DOCKER_CONFIG=${T}/dockercfg" -- push --plain-http \
  --ref "${HOST_A}/nix/push:dockerconfig" "${T}/img.tar"
expect_ok "A, DOCKER_CONFIG"
expect_pushed "${HOST_A}" dockerconfig

step "A: \$REGISTRY_AUTH_FILE wins over \$DOCKER_CONFIG"
write_auths "${T}/dockercfg-wrong/config.json" "${HOST_A}" "${AUTH_USER}" "${WRONG_PASSWORD}"
n2c "REGISTRY_AUTH_FILE=${T}/auth/good-a.json" "DOCKER_CONFIG=${T}/dockercfg-wrong" -- \
  push --plain-http --ref "${HOST_A}/nix/push:precedence2" "${T}/img.tar"
expect_ok "A, REGISTRY_AUTH_FILE over DOCKER_CONFIG"
expect_pushed "${HOST_A}" precedence2

step "A: ~/.docker/config.json"
write_auths "${T}/home/.docker/config.json" "${HOST_A}" "${AUTH_USER}" "${PASSWORD}"
n2c -- push --plain-http --ref "${HOST_A}/nix/push:home" "${T}/img.tar"
expect_ok "A, ~/.docker/config.json"
expect_pushed "${HOST_A}" home
rm -f "${T}/home/.docker/config.json"

# push_via_helper AUTH_JSON TAG LABEL: pushes with an auth file that names the helper, and
# checks the helper was asked (correctly) for registry A.
push_via_helper() {
  local json="$1" tag="$2" label="$3" calls
  printf '%s\n' "${json}" >"${T}/auth/${tag}.json"
  : >"${HELPER_LOG}"
  n2c -- push --plain-http --authfile "${T}/auth/${tag}.json" \
    --ref "${HOST_A}/nix/push:${tag}" "${T}/img.tar"
  expect_ok "A, ${label}"
  expect_pushed "${HOST_A}" "${tag}"
  calls="$(cat "${HELPER_LOG}")"
  assert_contains "${calls}" "get ${HOST_A}" "the credential helper's calls (${label})"
  assert_not_contains "${calls}" "bad-args" "the credential helper's calls (${label})"
}

step "A: credHelpers -> docker-credential-nixsnaptest get"
write_cred_helper "${HOST_A}"
push_via_helper "{\"credHelpers\": {\"${HOST_A}\": \"nixsnaptest\"}}" credhelper credHelpers

step "A: credsStore -> docker-credential-nixsnaptest get"
push_via_helper '{"credsStore": "nixsnaptest"}' credsstore credsStore

# ===================== nix2container against registry B (token) ========================

write_auths "${T}/auth/good-b.json" "${HOST_B}" "${AUTH_USER}" "${PASSWORD}"
write_auths "${T}/auth/wrong-b.json" "${HOST_B}" "${AUTH_USER}" "${WRONG_PASSWORD}"

step "B: --authfile (token answer with both token and access_token)"
mark="$(token_log_mark)"
n2c -- push --plain-http --authfile "${T}/auth/good-b.json" \
  --ref "${HOST_B}/nix/push:authfile" "${T}/img.tar"
expect_ok "B, --authfile"
expect_pushed "${HOST_B}" authfile
expect_token_requests "${mark}" "repository:nix/push:pull,push" ok "B, --authfile"

for fields in token access_token; do
  step "B: token answer with only \"${fields}\""
  printf '%s\n' "${fields}" >"${TOKEN_FIELDS}"
  mark="$(token_log_mark)"
  n2c -- push --plain-http --authfile "${T}/auth/good-b.json" \
    --ref "${HOST_B}/nix/push:${fields}" "${T}/img.tar"
  expect_ok "B, only ${fields}"
  expect_pushed "${HOST_B}" "${fields}"
  expect_token_requests "${mark}" "repository:nix/push:pull,push" ok "B, only ${fields}"
done
rm -f "${TOKEN_FIELDS}"

step "B: wrong password (the token server answers 401) -> 401"
mark="$(token_log_mark)"
n2c -- push --plain-http --authfile "${T}/auth/wrong-b.json" \
  --ref "${HOST_B}/nix/refused:1" "${T}/img.tar"
expect_unauthorized "B, wrong password" "${HOST_B}"
expect_token_requests "${mark}" "repository:nix/refused:pull,push" bad "B, wrong password"
expect_absent "${HOST_B}" nix/refused:1

step "B: no credentials (a pull-only token; the registry answers 401 on the upload) -> 401"
mark="$(token_log_mark)"
n2c -- push --plain-http --ref "${HOST_B}/nix/refused:1" "${T}/img.tar"
expect_unauthorized "B, anonymous" "${HOST_B}"
expect_token_requests "${mark}" "repository:nix/refused:pull,push" none "B, anonymous"
expect_absent "${HOST_B}" nix/refused:1

step "no secret in any nix2container output (checked after every run; whole log again)"
assert_no_secret "$(cat "${T}/n2c.log")" "the nix2container log"
step "image_push_auth: all good"
