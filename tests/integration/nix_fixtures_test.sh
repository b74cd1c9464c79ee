#!/usr/bin/env bash
# Self-test of the Nix part of the rig:
#   - fixtures/nix_closure.sh builds a distinct hello closure (unique seed) that runs;
#   - fixtures/make_binary_cache.sh puts it into a binary cache, served over loopback HTTP;
#   - after nix-store --delete, nix-store --realise --add-root substitutes it back, first
#     over HTTP, then from file://;
#   - chain/fan variants have the advertised closure sizes;
#   - fixtures/redis_closure.sh gives a self-contained redis that serves in a chroot holding
#     only its store path.
#
# Usage: tests/integration/nix_fixtures_test.sh [--quick]   (root; exit 77 = skipped)
#   --quick  skip the redis part (the slowest, ~15 s)
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

quick=0
[[ "${1:-}" != --quick ]] || quick=1
require_root
require_cmd nix-build nix-store nix python3
tmp_root

seed="selftest-$$-${RANDOM}-$(date +%s%N)"
message="hello from the rig ${seed}"
subst_opts=(--option require-sigs false --option narinfo-cache-negative-ttl 0)

step "building the hello closure (seed ${seed})"
hello="$(NIXSNAP_CLOSURE_SEED="${seed}" "${NIXSNAP_FIXTURES}/nix_closure.sh" --message "${message}")"
mapfile -t closure < <(nix-store -qR "${hello}")
assert_eq 4 "${#closure[@]}" "hello closure size"
assert_eq "${message}" "$(env -i "${hello}/bin/hello")" "hello output"
note "closure: ${closure[*]}"
# The seed-specific paths (busybox-static is shared by every fixture; leave it alone).
mine=()
for p in "${closure[@]}"; do
  [[ "${p}" == *-busybox-static ]] || mine+=("${p}")
done
assert_eq 3 "${#mine[@]}" "seed-specific paths"

step "making a binary cache"
cache="${NIXSNAP_TMP}/cache"
"${NIXSNAP_FIXTURES}/make_binary_cache.sh" "${cache}" "${hello}" >/dev/null
[[ -f "${cache}/nix-cache-info" ]] || fail "no nix-cache-info in ${cache}"
assert_eq 4 "$(find "${cache}" -maxdepth 1 -name '*.narinfo' | wc -l)" "narinfo count"

step "serving it over HTTP"
serve_dir "${cache}"
assert_contains "$(curl -fsS "${HTTP_URL}/nix-cache-info")" "StoreDir: /nix/store" "nix-cache-info over HTTP"

delete_mine() {
  nix-store --delete "${mine[@]}" >/dev/null 2>&1 || fail "nix-store --delete ${mine[*]}"
  local p
  for p in "${mine[@]}"; do
    if nix-store --check-validity "${p}" 2>/dev/null; then
      fail "${p} is still valid after nix-store --delete"
    fi
  done
  [[ ! -e "${hello}" ]] || fail "${hello} still on disk"
}

step "deleting the seed's paths, then substituting them back over HTTP"
delete_mine
root="${NIXSNAP_TMP}/gcroots/hello"
mkdir -p "$(dirname "${root}")"
nix-store --option substituters "${HTTP_URL}" "${subst_opts[@]}" \
  --realise "${hello}" --add-root "${root}" >/dev/null
assert_eq "${hello}" "$(readlink "${root}")" "GC root target"
assert_eq "${message}" "$(env -i "${hello}/bin/hello")" "hello output after HTTP substitution"
assert_contains "$(cat "${NIXSNAP_TMP}/http-cache.log")" "GET /nar/" "HTTP server log"
# Nix 2.8's --add-root is an indirect root: registered under gcroots/auto.
roots="$(nix-store --gc --print-roots 2>/dev/null)"
assert_contains "${roots}" "${root} -> ${hello}" "root not registered with Nix"

step "deleting again, then substituting from file://"
rm -f "${root}"
delete_mine
nix-store --option substituters "file://${cache}" "${subst_opts[@]}" \
  --realise "${hello}" >/dev/null
assert_eq "${message}" "$(env -i "${hello}/bin/hello")" "hello output after file:// substitution"
assert_fails nix-store --option substituters "file://${NIXSNAP_TMP}/nocache" "${subst_opts[@]}" \
  --realise "/nix/store/00000000000000000000000000000000-absent"

step "chain and fan variants"
chain_top="$("${NIXSNAP_FIXTURES}/nix_closure.sh" chain 5 --seed "${seed}")"
assert_eq 5 "$(nix-store -qR "${chain_top}" | wc -l)" "chain 5 closure size"
fan_top="$("${NIXSNAP_FIXTURES}/nix_closure.sh" fan 5 --seed "${seed}" --size 1024)"
assert_eq 6 "$(nix-store -qR "${fan_top}" | wc -l)" "fan 5 closure size"
assert_eq 5 "$(wc -l <"${fan_top}/leaves")" "fan leaves"

if ((quick)); then
  printf 'PASS: nix fixtures (quick)\n'
  exit 0
fi

step "redis closure: self-contained, serves in a chroot holding only its store path"
require_cmd redis-cli
chroot_bin="$(PATH="${PATH}:/usr/sbin:/sbin" command -v chroot)" || skip "needs chroot"
redis="$("${NIXSNAP_FIXTURES}/redis_closure.sh")"
chroot_dir="${NIXSNAP_TMP}/chroot"
mkdir -p "${chroot_dir}${redis}" "${chroot_dir}/tmp"
mount --bind -o ro "${redis}" "${chroot_dir}${redis}"
defer umount "${chroot_dir}${redis}"
assert_contains "$(env -i "${chroot_bin}" "${chroot_dir}" "${redis}/bin/redis-server" --version)" \
  "Redis server v=" "redis-server --version in the chroot"
port="$(free_port)"
start_bg redis env -i "${chroot_bin}" "${chroot_dir}" "${redis}/bin/redis-server" \
  --port "${port}" --bind 127.0.0.1 --save '' --appendonly no --dir /tmp
redis_pid="${BG_PID}"
wait_until 30 redis-cli -h 127.0.0.1 -p "${port}" ping
assert_eq PONG "$(redis-cli -h 127.0.0.1 -p "${port}" ping)" "redis ping"
assert_eq PONG "$(env -i "${chroot_bin}" "${chroot_dir}" "${redis}/bin/redis-cli" -h 127.0.0.1 -p "${port}" ping)" \
  "redis-cli from the closure"
stop_pid "${redis_pid}" redis

printf 'PASS: nix fixtures\n'
