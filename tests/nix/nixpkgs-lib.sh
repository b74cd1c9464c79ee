# shellcheck shell=bash
# shellcheck disable=SC2034  # NIXPKGS_LIB_WHY is read by the caller
# Finds nixpkgs' lib for the module-system tests. Source it, then call
#   nixpkgs_lib_dir TMPDIR   -> prints a directory holding lib/, or returns 1 with the
#                               reason in $NIXPKGS_LIB_WHY
# Order: $NIXSNAP_NIXPKGS_LIB (a directory containing lib/); else an extract (into
# TMPDIR) of the bare git mirror $NIXSNAP_NIXPKGS_LIB_GIT (default
# /work/.mirror/nix-community+nixpkgs.lib/repo) of nix-community/nixpkgs.lib.
nixpkgs_lib_dir() {
  local tmp="$1" git="${NIXSNAP_NIXPKGS_LIB_GIT:-/work/.mirror/nix-community+nixpkgs.lib/repo}"
  NIXPKGS_LIB_WHY=""
  if [[ -n "${NIXSNAP_NIXPKGS_LIB:-}" ]]; then
    if [[ -f "${NIXSNAP_NIXPKGS_LIB}/lib/default.nix" ]]; then
      printf '%s\n' "${NIXSNAP_NIXPKGS_LIB}"
      return 0
    fi
    NIXPKGS_LIB_WHY="NIXSNAP_NIXPKGS_LIB=${NIXSNAP_NIXPKGS_LIB} has no lib/default.nix"
    return 1
  fi
  if [[ -d "${git}" ]] && command -v git >/dev/null; then
    mkdir -p "${tmp}/nixpkgs-lib"
    if git --git-dir="${git}" archive HEAD lib | tar -x -C "${tmp}/nixpkgs-lib" 2>/dev/null &&
      [[ -f "${tmp}/nixpkgs-lib/lib/default.nix" ]]; then
      printf '%s\n' "${tmp}/nixpkgs-lib"
      return 0
    fi
    NIXPKGS_LIB_WHY="could not extract lib/ from ${git}"
    return 1
  fi
  NIXPKGS_LIB_WHY="nixpkgs' lib not found: set NIXSNAP_NIXPKGS_LIB to a checkout of nix-community/nixpkgs.lib (a directory containing lib/)"
  return 1
}
