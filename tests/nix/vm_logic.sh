#!/usr/bin/env bash
# The VM configurations and VM tests (vm/**) evaluated with Debian's Nix against fakes
# (tests/nix/vm-cases.nix): logins, preload targets, the redis manifests, the sandbox
# image name, and that the VM tests use only the modules' option names.
# Exit status: 0 pass, 1 failure, 77 skipped (the reason is printed).
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "$0")")" && pwd)"
for tool in nix-instantiate jq; do
  command -v "${tool}" >/dev/null || { echo "SKIP: ${tool} not found (apt-get install nix-bin jq)"; exit 77; }
done
out="$(nix-instantiate --eval --strict --json "${here}/vm-cases.nix" 2>&1)" || {
  echo "FAIL: evaluating tests/nix/vm-cases.nix: ${out}"
  exit 1
}
if [[ "$(jq '.failures | length' <<<"${out}")" != 0 ]]; then
  jq -r '.failures[] | "FAIL: " + .' <<<"${out}"
  exit 1
fi
echo "ok: $(jq .count <<<"${out}") VM configuration and VM test checks"
