#!/usr/bin/env bash
# nix-snapshotter with real Nix (Debian's nix-bin, single-user, as root):
#   - a locally built closure labelled on a nix-layer snapshot is realised and rooted
#     under <root>/gcroots/<id>/; children of the committed layer get ro bind mounts;
#   - the Nix garbage collector keeps those paths while the snapshot exists (also across a
#     daemon restart) and collects them once the snapshots are removed;
#   - paths deleted from the store are substituted from a local binary cache during
#     Prepare: file:// first, then loopback HTTP;
#   - hostile labels give INVALID_ARGUMENT naming the label and leave nothing behind.
#
# The collector is run as `nix-store --delete <those paths>` (the same root-respecting GC,
# limited to this test's paths) so that tests running in parallel keep their unrooted
# fixtures; NIXSNAP_TEST_FULL_GC=1 runs a real `nix-collect-garbage` instead.
#
# Usage: tests/integration/daemon_nix.sh        (root; exit 77 = skipped)
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/daemon_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/daemon_common.sh"

require_root
require_cmd nix-store nix-build python3
require_daemon_bin
require_snapctl
tmp_root
T="${NIXSNAP_TMP}"
sock="${T}/ns.sock"
root="${T}/root"
store=/nix/store
NIX_LAYER=containerd.io/snapshot/nix-layer
SP=containerd.io/snapshot/nix-store-path
snapctl() { "${SNAPCTL}" --address "${sock}" "$@"; }

# gc PATH...: lets the collector try to delete PATHs (only those unless FULL_GC).
gc() {
  if [[ "${NIXSNAP_TEST_FULL_GC:-0}" == 1 ]]; then
    nix-collect-garbage >/dev/null 2>&1 || true
  else
    # One call: a path is only deletable together with the paths that refer to it.
    nix-store --delete "$@" >/dev/null 2>&1 || true
  fi
}
# all_exist PATH...: true when every PATH is in the store.
all_exist() {
  local p
  for p in "$@"; do [[ -e "${p}" ]] || return 1; done
}
none_exist() {
  local p
  for p in "$@"; do [[ ! -e "${p}" ]] || return 1; done
}
# labels_for PATH...: --label arguments for a nix layer holding PATHs.
labels_for() {
  local i=0 p
  printf -- '--label\n%s=true\n' "${NIX_LAYER}"
  for p in "$@"; do
    printf -- '--label\n%s.%d=%s\n' "${SP}" "${i}" "${p}"
    i=$((i + 1))
  done
}

step "building a fresh closure (unique seed: nothing else roots it)"
seed="daemon-nix-$$-$(date +%s%N)"
mapfile -t closure < <("${NIXSNAP_FIXTURES}/nix_closure.sh" hello --seed "${seed}" --closure)
((${#closure[@]} >= 3)) || fail "closure too small: ${closure[*]}"
# The seeded paths (busybox-static is shared by every fixture and stays out of the GC checks).
mapfile -t own < <(printf '%s\n' "${closure[@]}" | grep -v busybox)
note "closure: ${closure[*]##*/}"
top="${closure[-1]}"

step "binary cache of the closure (file://)"
"${NIXSNAP_FIXTURES}/make_binary_cache.sh" "${T}/cache" "${closure[@]}" >/dev/null

step "starting nix-snapshotter with the file:// cache as substituter"
export NIX_CONFIG=$'substituters = file://'"${T}/cache"$'\nrequire-sigs = false\nnarinfo-cache-negative-ttl = 0'
daemon_start daemon-file "${sock}" "${root}"
pid="${DAEMON_PID}"
unset NIX_CONFIG

step "prepare a nix layer: every store path realised and rooted"
mapfile -t lbl < <(labels_for "${closure[@]}")
snapctl prepare layer-active "${lbl[@]}" >/dev/null
ids=("${root}"/gcroots/*)
((${#ids[@]} == 1)) || fail "expected one gcroots/<id> folder, got: ${ids[*]}"
layer_roots="${ids[0]}"
for p in "${closure[@]}"; do
  link="${layer_roots}/$(basename "${p}")"
  [[ -L "${link}" ]] || fail "no GC root ${link}"
  assert_eq "${p}" "$(readlink "${link}")" "GC root target"
done
roots="$(nix-store --gc --print-roots 2>/dev/null)"
assert_contains "${roots}" "${layer_roots}/$(basename "${top}")" "nix does not know the root"

step "store-path labels are fixed at Prepare: Commit and Update cannot add or change them"
assert_fails snapctl commit layer layer-active --label "${SP}.0=${store}/$(basename "${top}")x"
assert_contains "${ASSERT_OUTPUT}" "INVALID_ARGUMENT" "commit changing a store-path label"
assert_contains "${ASSERT_OUTPUT}" "${SP}.0" "error does not name the label"
snapctl prepare plain-active >/dev/null
assert_fails snapctl commit plain plain-active --label "${SP}.0=${top}"
assert_contains "${ASSERT_OUTPUT}" "INVALID_ARGUMENT" "commit adding a store-path label"
snapctl remove plain-active

step "commit; a child gets ro rbind mounts of every store path, with targets"
snapctl commit layer layer-active
assert_fails snapctl label layer "${SP}.0=${top}x"
assert_contains "${ASSERT_OUTPUT}" "INVALID_ARGUMENT" "update changing a store-path label"
snapctl prepare app layer >"${T}/app.mounts"
for p in "${closure[@]}"; do
  grep -qxF "bind ${p} ${p} ro,rbind" "${T}/app.mounts" || fail "no bind mount of ${p}: $(cat "${T}/app.mounts")"
done
assert_eq 1 "$(grep -c '^overlay \|^bind .*/snapshots/' "${T}/app.mounts")" "one rootfs mount"
assert_eq "$(snapctl prepare probe layer | tail -n +2)" "$(tail -n +2 "${T}/app.mounts")" "stable order"
snapctl remove probe

step "the collector keeps rooted paths"
gc "${own[@]}"
all_exist "${closure[@]}" || fail "rooted paths were collected"

step "restart (SIGTERM): roots and mounts stay"
before_mounts="$(snapctl mounts app)"
before_roots="$(find "${root}/gcroots" | sort)"
daemon_stop "${pid}" daemon-file
gc "${own[@]}"
all_exist "${closure[@]}" || fail "paths collected while the daemon was down"
daemon_start daemon-restarted "${sock}" "${root}"
pid="${DAEMON_PID}"
assert_eq "${before_mounts}" "$(snapctl mounts app)" "mounts after restart"
assert_eq "${before_roots}" "$(find "${root}/gcroots" | sort)" "gc roots after restart"

step "remove: roots go, the collector can take the paths"
assert_fails snapctl remove layer
assert_contains "${ASSERT_OUTPUT}" "FAILED_PRECONDITION"
snapctl remove app
snapctl remove layer
[[ ! -e "${layer_roots}" ]] || fail "gc roots left after remove: $(ls -la "${layer_roots}")"
gc "${own[@]}"
none_exist "${own[@]}" || fail "paths survived the collector after remove"
note "collected: ${own[*]##*/}"

step "substitution during Prepare from the file:// cache"
daemon_stop "${pid}" daemon-restarted
export NIX_CONFIG=$'substituters = file://'"${T}/cache"$'\nrequire-sigs = false\nnarinfo-cache-negative-ttl = 0'
daemon_start daemon-file-2 "${sock}" "${root}"
pid="${DAEMON_PID}"
unset NIX_CONFIG
snapctl prepare subst-file "${lbl[@]}" >/dev/null
all_exist "${closure[@]}" || fail "paths not substituted from file://"
[[ "$("${top}/bin/hello")" == *"hello"* ]] || fail "substituted hello does not run"
snapctl remove subst-file
gc "${own[@]}"
none_exist "${own[@]}" || fail "paths survived the collector (after file:// round)"

step "substitution during Prepare from a loopback HTTP cache"
serve_dir "${T}/cache"
daemon_stop "${pid}" daemon-file-2
export NIX_CONFIG=$'substituters = '"${HTTP_URL}"$'\nrequire-sigs = false\nnarinfo-cache-negative-ttl = 0'
daemon_start daemon-http "${sock}" "${root}"
pid="${DAEMON_PID}"
unset NIX_CONFIG
snapctl prepare subst-http "${lbl[@]}" >/dev/null
all_exist "${closure[@]}" || fail "paths not substituted over HTTP"
snapctl remove subst-http

step "a path no substituter has: the Nix error, and nothing left behind"
missing="${store}/$(printf '%s' 0123456789abcdfghijklmnpqrsvwxyz)-nixsnap-absent"
state_before="$(snapctl list; find "${root}/gcroots" "${root}/snapshots" -maxdepth 1 | sort)"
assert_fails snapctl prepare absent --label "${NIX_LAYER}=true" --label "${SP}.0=${missing}"
note "$(head -n1 <<<"${ASSERT_OUTPUT}")"
assert_eq "${state_before}" "$(snapctl list; find "${root}/gcroots" "${root}/snapshots" -maxdepth 1 | sort)" \
  "state after a failed realisation"

step "hostile labels: INVALID_ARGUMENT naming the label, nothing left behind"
# A symlink in the store that leads out of it (removed at exit).
evil_link="${store}/$(printf '%s' 1111111111111111111111111111111a)-nixsnap-evil-link"
ln -sfn /etc "${evil_link}"
defer rm -f "${evil_link}"
hostile=(
  "/tmp/outside-the-store"
  "${store}/../etc/passwd"
  "${store}/$(basename "${top}")/bin/hello"
  "${store}/$(basename "${top}")/../../etc"
  "${evil_link}"
  "${store}/eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee-bad-hash"
  "${store}/$(basename "${top}")x/"
  "${store}/short-hash-name"
  "${store}"
  ""
)
for bad in "${hostile[@]}"; do
  for kind in prepare view; do
    args=(--label "${NIX_LAYER}=true" --label "${SP}.0=${top}" --label "${SP}.1=${bad}")
    if [[ "${kind}" == prepare ]]; then
      assert_fails snapctl prepare hostile "${args[@]}"
    else
      snapctl prepare base-active >/dev/null
      snapctl commit hostile-base base-active
      assert_fails snapctl view hostile hostile-base --label "${SP}.1=${bad}"
      snapctl remove hostile-base
    fi
    assert_contains "${ASSERT_OUTPUT}" "INVALID_ARGUMENT" "label ${bad@Q} (${kind})"
    assert_contains "${ASSERT_OUTPUT}" "${SP}.1" "error does not name the label"
    assert_eq "${state_before}" "$(snapctl list; find "${root}/gcroots" "${root}/snapshots" -maxdepth 1 | sort)" \
      "state after hostile label ${bad@Q} (${kind})"
  done
done

step "a huge label set (100k store-path labels, one hostile) is rejected as a whole"
python3 - "${T}/huge.labels" "${top}" "${NIX_LAYER}" "${SP}" <<'PY'
import sys
out, top, layer, sp = sys.argv[1:]
with open(out, "w") as f:
    f.write(f"{layer}=true\n")
    for i in range(100000):
        f.write(f"{sp}.{i}={top}\n" if i != 99999 else f"{sp}.{i}=/nix/store/../../etc/shadow\n")
PY
assert_fails snapctl prepare huge --labels-file "${T}/huge.labels"
assert_contains "${ASSERT_OUTPUT}" "INVALID_ARGUMENT"
assert_contains "${ASSERT_OUTPUT}" "${SP}.99999"
assert_eq "${state_before}" "$(snapctl list; find "${root}/gcroots" "${root}/snapshots" -maxdepth 1 | sort)" \
  "state after the huge label set"
is_running "${pid}" || fail "daemon died"

printf 'PASS: nix-snapshotter with real Nix\n'
