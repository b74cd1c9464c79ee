#!/usr/bin/env bash
# Issue 14 through a real containerd (1.7 or 2.1): a slow Nix realisation holds up no
# other snapshot write, runs in parallel with others, runs once per store path, and stops
# when its caller gives up. nix-snapshotter runs with an `external_builder` that blocks
# until the test releases it (made-up store paths under a private store dir, so no Nix
# build is needed).
#   1. two nix-layer Prepares sent to the daemon's socket realise at once, and meanwhile
#      `ctr snapshots` prepare/commit/view/rm of other snapshots and `ctr image import`
#      of another image all complete before the builders are released. (Sent through
#      containerd instead, a removal meanwhile would queue containerd's own garbage
#      collection, and with it every later write to snapshotter `nix`, behind them.)
#   2. through containerd, `nix2container load` of hand-made Nix images (fixtures/
#      make_nix_image.sh; plain `ctr image import` passes no layer annotations as labels):
#      A {p1, shared} and B {p2} realise at once; C {shared} waits for A's realisation of
#      `shared`; after the release all are unpacked and the builder ran once per path;
#   3. a load whose client is killed mid-realisation: the builder process goes, and no
#      record, snapshot directory or root is left;
#   4. kill -9 of the daemon mid-realisation, restart, Cleanup: nothing half-made.
# Ordering is asserted with completion timestamps and the builder's log, never with
# durations; the builders are held only until the other operations are done (capped at
# 180 s, well inside ctest's TIMEOUT, so a regression fails instead of hanging; the cap
# must outlast phase 1's operations on a loaded machine, since they are checked to end
# before any realisation does).
#
# Usage: tests/integration/realise_parallel.sh 1.7|2.1   (root; exit 77 = skipped)
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/daemon_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/daemon_common.sh"

version="${1:?usage: realise_parallel.sh 1.7|2.1}"
N2C="${NIXSNAP_NIX2CONTAINER:-${NIXSNAP_BIN_DIR}/nix2container}"
require_root
require_daemon_bin
require_snapctl
[[ -x "${N2C}" ]] || fail "nix2container not built at ${N2C}"
containerd_bin_dir "${version}" >/dev/null
tmp_root
T="${NIXSNAP_TMP}"
sock="${T}/ns.sock"
root="${T}/root"
store="${T}/store"
events="${T}/events"
blog="${T}/builder.log"
now() { date +%s%N; }

step "a builder that blocks until ${T}/release exists (at most 180 s)"
mkdir -p "${store}"
cat >"${T}/builder" <<EOB
#!/bin/sh
# EXE OUTLINK STOREPATH: log, wait for the test's release, make the outlink, exit 0.
echo "\$(date +%s%N) start \$\$ \$2" >>"${blog}"
i=0
while [ ! -e "${T}/release" ] && [ \$i -lt 1800 ]; do sleep 0.1; i=\$((i + 1)); done
ln -sfn "\$2" "\$1"
echo "\$(date +%s%N) end \$\$ \$2" >>"${blog}"
EOB
chmod +x "${T}/builder"
: >"${blog}"
path() { # path N NAME: a made-up store path, created as a directory
  local p
  p="${store}/$(printf '%032d' "$1")-$2"
  mkdir -p "${p}"
  printf '%s' "${p}"
}
p1="$(path 1 layer1)"
p2="$(path 2 layer2)"
shared="$(path 3 shared)"
p4="$(path 4 cancelled)"
p5="$(path 5 doomed)"
q1="$(path 6 direct1)"
q2="$(path 7 direct2)"
# nix_image NAME PATH...: a Nix image (legacy labels) whose layer needs PATHs.
nix_image() {
  local name="$1" i=0
  shift
  local -a args=(--annotation containerd.io/snapshot/nix-layer=true)
  printf '%s\n' "$@" >"${T}/${name}.paths"
  for p in "$@"; do
    args+=(--annotation "containerd.io/snapshot/nix-store-path.${i}=${p}")
    i=$((i + 1))
  done
  bash "${NIXSNAP_FIXTURES}/make_nix_image.sh" "${T}/${name}.tar" \
    "localhost/realise-${name}:${version}" --entrypoint "$1/bin/x" \
    --mountpoints "${T}/${name}.paths" "${args[@]}" >/dev/null
}
nix_image a "${p1}" "${shared}"
nix_image b "${p2}"
nix_image c "${shared}"
nix_image d "${p4}"
daemon_config "${T}/realise.toml" "store_dir = \"${store}\"
external_builder = \"${T}/builder\"
max_parallel_realisations = 4"

step "starting nix-snapshotter and containerd ${version}"
daemon_start nix-snapshotter "${sock}" "${root}" --config "${T}/realise.toml"
daemon_log="${T}/nix-snapshotter.log"
CONTAINERD_NIX_SOCKET="${sock}" containerd_start "${version}" "${T}/cd"
wait_containerd_reaches_nix 60
make_busybox_dir_image() { bash "${NIXSNAP_FIXTURES}/make_busybox_image.sh" "$@" >/dev/null; }
make_busybox_dir_image "${T}/busybox.tar" "localhost/realise-parallel:${version}"

load() { # load NAME: nix2container load of image NAME in the background; sets BG_PID
  # Its scratch space in the test's root: one load is SIGKILLed, which nothing can clean up.
  start_bg "load-$1" env TMPDIR="${T}" "${N2C}" --address "${CONTAINERD_ADDRESS}" --namespace default \
    load --store-dir "${store}" "${T}/$1.tar"
}
nixprep() { # nixprep KEY PATH: a nix-layer Prepare straight to the daemon, in the background
  start_bg "prepare-$1" "${SNAPCTL}" --address "${sock}" prepare "$1" \
    --label containerd.io/snapshot/nix-layer=true \
    --label "containerd.io/snapshot/nix-store-path.0=$2"
}
starts() { grep -c " start " "${blog}" || true; }
started() { (("$(starts)" >= $1)); }
builds_of() { grep -c " start [0-9]* $1\$" "${blog}" || true; }

# Phase 1 sends its slow Prepares to the daemon's socket: through containerd, any removal
# meanwhile queues containerd's own garbage collection of snapshotter `nix` behind them
# (its metadata snapshotter holds a read lock for a whole backend Prepare, and the
# collection's write lock then blocks every later create, commit and remove on `nix`).
step "two nix-layer Prepares realise at once"
nixprep slow-1 "${q1}"
pid_slow1="${BG_PID}"
nixprep slow-2 "${q2}"
pid_slow2="${BG_PID}"
# Fails if the second waited for the first (it could only start after the release).
wait_until 30 started 2
note "$(cat "${blog}")"

step "meanwhile ctr prepares, commits, views and removes other snapshots, and imports an image"
ctr_snap() { ctr_cmd snapshots --snapshotter nix "$@"; }
ctr_snap prepare other-a >/dev/null && echo "$(now) prepare" >>"${events}"
ctr_snap commit other other-a && echo "$(now) commit" >>"${events}"
ctr_snap view other-v other >/dev/null && echo "$(now) view" >>"${events}"
ctr_snap prepare other-child other >/dev/null && echo "$(now) prepare-child" >>"${events}"
ctr_snap rm other-v && echo "$(now) rm-view" >>"${events}"
ctr_snap rm other-child && echo "$(now) rm-child" >>"${events}"
# containerd 2.x imports through the transfer service, which only unpacks for snapshotters
# listed in its unpack_config: import locally instead (as cri_redis.sh does).
import_flags=(--snapshotter nix)
[[ "${version}" == 1.7 ]] || import_flags+=(--local)
ctr_cmd image import "${import_flags[@]}" "${T}/busybox.tar" >/dev/null &&
  echo "$(now) import" >>"${events}"
ctr_snap ls >"${T}/snapshots.txt" # not piped into grep -q: ctr would die of SIGPIPE
grep -q '^other' "${T}/snapshots.txt" || fail "ctr does not list the committed snapshot"
released="$(now)"
touch "${T}/release"
note "$(cat "${events}")"
[[ "$(wc -l <"${events}")" -eq 7 ]] || fail "not every operation completed: $(cat "${events}")"

step "the realisations end after the release; both Prepares succeed"
wait "${pid_slow1}" || fail "Prepare slow-1 failed"
wait "${pid_slow2}" || fail "Prepare slow-2 failed"
first_end="$(awk '$2 == "end" {print $1}' "${blog}" | sort -n | head -1)"
[[ -n "${first_end}" ]] || fail "no builder ended: $(cat "${blog}")"
while read -r t what; do
  ((t < released)) || fail "${what} completed after the release"
  ((t < first_end)) || fail "${what} completed only after a realisation ended"
done <"${events}"

step "images A and B load through containerd; their layers realise at once"
rm -f "${T}/release"
load a
pid_a="${BG_PID}"
load b
pid_b="${BG_PID}"
# Fails if one waited for the other (it could only start after the release).
wait_until 30 started 4
note "$(cat "${blog}")"
step "image C needs A's path ${shared##*/}: it waits for that realisation"
load c
pid_c="${BG_PID}"
wait_until 30 grep -q "realisation waits" "${daemon_log}"
touch "${T}/release"

step "every image is unpacked; each path was built once"
for pid in "${pid_a}" "${pid_b}" "${pid_c}"; do
  wait "${pid}" || fail "nix2container load (pid ${pid}) failed: $(cat "${T}"/load-*.log)"
done
note "$(cat "${blog}")"
assert_eq 1 "$(builds_of "${p1}")" "builder runs for ${p1##*/}"
assert_eq 1 "$(builds_of "${p2}")" "builder runs for ${p2##*/}"
# Image C's layer roots `shared` itself (registered with Nix) once A made it valid.
if command -v nix-daemon >/dev/null 2>&1; then
  assert_eq 1 "$(builds_of "${shared}")" "builder runs for ${shared##*/} (needed by A and C)"
else
  note "SKIPPED the once-per-path check of ${shared##*/}: no nix-daemon on PATH to register" \
    "roots without the builder (it then ran $(builds_of "${shared}") times)"
fi
nix_records() { # the records carrying store-path labels: one per unpacked nix layer
  local n=0 key
  while read -r key; do
    "${SNAPCTL}" --address "${sock}" stat "${key}" | grep -q nix-store-path && n=$((n + 1))
  done < <("${SNAPCTL}" --address "${sock}" list)
  echo "${n}"
}
root_dirs() { find "${root}/gcroots" -mindepth 1 -maxdepth 1 -name '[0-9]*' | wc -l; }
assert_eq 5 "$(nix_records)" "nix-layer records after the loads"
assert_eq 5 "$(root_dirs)" "gc root folders after the loads: $(ls -A "${root}/gcroots")"
for p in "${p1}" "${shared}" "${p2}" "${shared}"; do
  find "${root}/gcroots" -mindepth 2 -lname "${p}" | grep -q . || fail "no root on ${p}"
done
assert_eq 2 "$(find "${root}/gcroots" -mindepth 2 -lname "${shared}" | wc -l)" \
  "roots on ${shared##*/} (A and C)"

step "a load whose client is killed mid-realisation: the builder goes, nothing is left"
rm -f "${T}/release"
load d
pid_d="${BG_PID}"
wait_until 30 grep -q " start [0-9]* ${p4}\$" "${blog}"
builder_pid="$(awk -v p="${p4}" '$2 == "start" && $4 == p {print $3}' "${blog}")"
is_running "${builder_pid}" || fail "builder of ${p4##*/} (pid ${builder_pid}) not running"
kill -KILL "${pid_d}"
wait "${pid_d}" 2>/dev/null || true
# containerd cancels the Prepare, the daemon stops the realisation and kills the builder:
# a wait with a generous bound (the builder itself would wait 180 s), not a timing check.
wait_until 30 bash -c "! kill -0 ${builder_pid} 2>/dev/null"
grep -q " end [0-9]* ${p4}\$" "${blog}" && fail "the builder of ${p4##*/} ran to its end"
wait_until 30 bash -c "[[ \$(find '${root}/gcroots' -mindepth 1 -maxdepth 1 -name '[0-9]*' |
  wc -l) -eq 5 ]]"
find "${root}/gcroots" -mindepth 2 -lname "${p4}" | grep -q . && fail "a root on ${p4} remains"
assert_eq 5 "$(nix_records)" "nix-layer records after the cancelled load"
records="$("${SNAPCTL}" --address "${sock}" list | grep -c . || true)"
dirs="$(find "${root}/snapshots" -mindepth 1 -maxdepth 1 | wc -l)"
assert_eq "${records}" "${dirs}" "snapshot directories vs records after the cancelled load"

step "kill -9 during a realisation, restart, cleanup: nothing half-made"
nixprep doomed "${p5}"
wait_until 30 grep -q " start [0-9]* ${p5}\$" "${blog}"
kill -KILL "${DAEMON_PID}"
wait "${DAEMON_PID}" 2>/dev/null || true
touch "${T}/release" # the orphaned builder (its own process group) exits now
wait_until 30 grep -q " end [0-9]* ${p5}\$" "${blog}"
daemon_start nix-snapshotter-2 "${sock}" "${root}" --config "${T}/realise.toml"
"${SNAPCTL}" --address "${sock}" cleanup
assert_not_contains "$("${SNAPCTL}" --address "${sock}" list)" "doomed" \
  "the killed Prepare left a record"
# Only the roots of slow-1, slow-2 and images A, B and C remain, one directory per record.
assert_eq 5 "$(root_dirs)" "gc root folders after cleanup: $(ls -A "${root}/gcroots")"
records="$("${SNAPCTL}" --address "${sock}" list | grep -c . || true)"
dirs="$(find "${root}/snapshots" -mindepth 1 -maxdepth 1 | wc -l)"
assert_eq "${records}" "${dirs}" "snapshot directories vs records after cleanup"
step "ok"
