#!/usr/bin/env bash
# scripts/check-layers against small fixture trees: a layered tree passes; each kind of
# violation fails with exit 1, naming the file and line.
set -euo pipefail
CHECK="$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)/scripts/check-layers"
WORK="$(mktemp -d)"
trap 'rm -rf "${WORK}"' EXIT
failures=0

# A tree of two rooms, low < high; high may include low.
make_tree() {
  local t="$1"
  mkdir -p "$t/src/low" "$t/src/high" "$t/docs"
  printf 'set(NIXSNAP_SRC_DIRS low\n    high)\n' >"$t/src/CMakeLists.txt"
  printf 'add_library(nixsnap_low STATIC a.cc)\ntarget_link_libraries(nixsnap_low PUBLIC Threads::Threads)\n' \
    >"$t/src/low/CMakeLists.txt"
  printf 'add_library(nixsnap_high STATIC h.cc)\ntarget_link_libraries(nixsnap_high\n  PUBLIC nixsnap_low)\n' \
    >"$t/src/high/CMakeLists.txt"
  printf '#pragma once\n#include "low/b.h"\n#include <vector>\n' >"$t/src/low/a.h"
  printf '#pragma once\n' >"$t/src/low/b.h"
  printf '#include "low/a.h"\n' >"$t/src/low/a.cc"
  printf '#pragma once\n#include "low/a.h"\n' >"$t/src/high/h.h"
  printf '#include "high/h.h"\n' >"$t/src/high/h.cc"
  cat >"$t/docs/architecture.md" <<'MD'
| room | owns | may include |
| --- | --- | --- |
| `low/` | the bottom | nothing |
| `high/` | the top | low (its values) |
MD
}

# expect NAME WANT_RC WANT_TEXT TREE: runs the check on TREE.
expect() {
  local name="$1" want_rc="$2" want_text="$3" tree="$4" rc=0 out
  out="$("${CHECK}" --root "${tree}" 2>&1)" || rc=$?
  if [[ "${rc}" != "${want_rc}" || "${out}" != *"${want_text}"* ]]; then
    printf 'FAIL %s: exit %s (want %s), output:\n%s\n(want it to contain: %s)\n' \
      "${name}" "${rc}" "${want_rc}" "${out}" "${want_text}" >&2
    failures=$((failures + 1))
  else
    printf 'ok   %s\n' "${name}"
  fi
}

# case NAME: a fresh copy of the good tree at ${WORK}/NAME.
case_tree() {
  make_tree "${WORK}/$1"
  printf '%s' "${WORK}/$1"
}

t="$(case_tree good)"
expect "layered tree passes" 0 "check-layers: ok (2 rooms: low < high)" "$t"

t="$(case_tree header_up)"
printf '#pragma once\n\n#include "high/h.h"\n' >"$t/src/low/b.h"
expect "header including a room above fails" 1 "src/low/b.h:3: low/ includes \"high/h.h\"" "$t"

t="$(case_tree source_up)"
printf '#include "low/a.h"\n#include "high/h.h"\n' >"$t/src/low/a.cc"
expect "source including a room above fails" 1 "src/low/a.cc:2:" "$t"

t="$(case_tree generated)"
printf '#pragma once\n#include "high/gen/api.pb.h"\n' >"$t/src/low/b.h"
expect "generated header (not in src/) is not a room's" 0 "check-layers: ok" "$t"

t="$(case_tree not_allowed)"
sed -i 's/| low (its values) |/| nothing |/' "$t/docs/architecture.md"
expect "include outside the room's may-include fails" 1 \
  "src/high/h.h:2: high/ includes \"low/a.h\": low/ is not in high/'s \"may include\"" "$t"

t="$(case_tree link_up)"
printf 'add_library(nixsnap_low STATIC a.cc)\ntarget_link_libraries(nixsnap_low PUBLIC\n  Threads::Threads nixsnap_high)\n' \
  >"$t/src/low/CMakeLists.txt"
expect "linking a room above fails" 1 \
  "src/low/CMakeLists.txt:3: nixsnap_low links nixsnap_high of src/high/, above low/" "$t"

t="$(case_tree doc_order)"
printf 'set(NIXSNAP_SRC_DIRS high low)\n' >"$t/src/CMakeLists.txt"
expect "table order differing from NIXSNAP_SRC_DIRS fails" 1 \
  "docs/architecture.md:3: the rooms' table lists low high" "$t"

t="$(case_tree unlisted)"
mkdir -p "$t/src/extra"
expect "folder missing from NIXSNAP_SRC_DIRS fails" 1 "src/extra:1: folder is not in" "$t"

if ((failures)); then
  echo "check_layers_test: ${failures} case(s) failed" >&2
  exit 1
fi
echo "check_layers_test: all cases passed"
