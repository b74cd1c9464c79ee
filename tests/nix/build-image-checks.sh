# shellcheck shell=bash
# Section (b) of tests/nix/run.sh: nix/build-image.nix and nix/copy-scripts.nix built
# against tests/nix/stub-pkgs.nix (cases in tests/nix/cases.nix). Sourced by run.sh,
# which defines build, evalStr, argsOf, argAfter, expectEq, closureOf, fail, pass and
# ${tmp}, ${hello}, ${hello_lib}, ${unrelated}.
# shellcheck disable=SC2154  # those globals come from run.sh

# argLine FILE: the recorded argv on one line.
argLine() { argsOf "$1" | tr '\n' ' '; }
# evalBool ATTR: "true" or "false".
evalBool() { nix-instantiate --eval --strict --json "${here}/cases.nix" "${nix_args[@]}" -A "$1"; }

checkFakeImages() {
  local img args config closure roots
  # --- helloImage: the common case.
  img="$(build helloImage)" || return 1
  expectEq "helloImage derivation name" "nix-image-hello.tar" "${img#*-}"
  config="$(argAfter "${img}" --config)"
  closure="$(argAfter "${img}" --closure)"
  roots="$(argAfter "${img}" --copy-to-root)"
  args="$(argLine "${img}")"
  expectEq "helloImage argv" \
    "build --config ${config} --closure ${closure} --copy-to-root ${roots} --ref localhost/hello:latest ${img} " \
    "${args}"
  expectEq "--closure is the closureInfo's store-paths" \
    "$(evalStr passthru.closureInfoPath)/store-paths" "${closure}"
  expectEq "helloImage config JSON" \
    "{\"Entrypoint\":[\"${hello}/bin/hello\"],\"Env\":[\"GREETING=hi there\"],\"WorkingDir\":\"/\"}" \
    "$(jq -cS . "${config}")"
  expectEq "helloImage config file is the store path writeText made" \
    "${config}" "$(nix-store -q --references "${img}" | grep -- '-config-hello.json$' || true)"
  expectEq "helloImage closure lists config, copyToRoot and their references" \
    "$(closureOf "${config}" "${hello}")" "$(cat "${closure}")"
  expectEq "helloImage closure holds the library hello refers to" \
    "${hello_lib}" "$(grep -x -- "${hello_lib}" "${closure}" || true)"
  expectEq "helloImage closure leaves unrelated paths out" "" \
    "$(grep -x -- "${unrelated}" "${closure}" || true)"
  expectEq "helloImage copyToRoot list JSON" "[\"${hello}\"]" "$(jq -c . "${roots}")"
  expectEq "passthru name" "localhost/hello" "$(evalStr passthru.helloName)"
  expectEq "passthru tag" "latest" "$(evalStr passthru.helloTag)"
  expectEq "passthru image is the reference" "localhost/hello:latest" "$(evalStr passthru.helloImage)"
  expectEq "passthru imageRef (ours) is the same" "localhost/hello:latest" "$(evalStr passthru.helloImageRef)"

  # --- redisImage: resolvedByNix, copyToRoot as a single derivation.
  img="$(build redisImage)" || return 1
  expectEq "resolvedByNix derivation name" "nix-image-redis.tar" "${img#*-}"
  config="$(argAfter "${img}" --config)"
  closure="$(argAfter "${img}" --closure)"
  roots="$(argAfter "${img}" --copy-to-root)"
  expectEq "resolvedByNix argv has no --ref (nix2container names it nix:0\$out:latest)" \
    "build --config ${config} --closure ${closure} --copy-to-root ${roots} ${img} " "$(argLine "${img}")"
  expectEq "resolvedByNix passthru image is nix:0<archive>" "nix:0${img}" "$(evalStr passthru.redisImage)"
  expectEq "lower-case config keys pass through" \
    "{\"entrypoint\":[\"${hello}/bin/hello\",\"--port\",\"6379\"]}" "$(jq -cS . "${config}")"
  expectEq "single copyToRoot derivation becomes a list" "[\"${hello}\"]" "$(jq -c . "${roots}")"
  expectEq "resolvedByNix closure" "$(closureOf "${config}" "${hello}")" "$(cat "${closure}")"

  # --- layeredImage: fromImage (another buildImage), custom tag, empty config.
  local base
  base="$(build helloImage)"
  img="$(build layeredImage)" || return 1
  config="$(argAfter "${img}" --config)"
  closure="$(argAfter "${img}" --closure)"
  roots="$(argAfter "${img}" --copy-to-root)"
  expectEq "fromImage argv" \
    "build --config ${config} --closure ${closure} --copy-to-root ${roots} --from-image ${base} --ref localhost/layered:v1.2 ${img} " \
    "$(argLine "${img}")"
  expectEq "empty config is {}" "{}" "$(jq -c . "${config}")"
  expectEq "copyToRoot null is []" "[]" "$(jq -c . "${roots}")"
  expectEq "closure of an empty image is its config file alone" "${config}" "$(cat "${closure}")"

  # --- configOnlyImage: closure comes from the config's references alone.
  img="$(build configOnlyImage)" || return 1
  expectEq "name without a slash" "nix-image-config-only.tar" "${img#*-}"
  config="$(argAfter "${img}" --config)"
  closure="$(argAfter "${img}" --closure)"
  expectEq "config references make the closure" "$(closureOf "${config}")" "$(cat "${closure}")"
  expectEq "config-only closure has config and library" "2" "$(wc -l <"${closure}" | tr -d ' ')"

  # --- upper case: the reference is lower case, the tag and passthru name as given.
  img="$(build upperImage)" || return 1
  expectEq "upper-case name: derivation name" "nix-image-hello.tar" "${img#*-}"
  expectEq "upper-case name: --ref is lower case" "ghcr.io/pdtpartners/hello:V1" "$(argAfter "${img}" --ref)"
  expectEq "upper-case name: passthru image" "ghcr.io/pdtpartners/hello:V1" "$(evalStr passthru.upperImage)"
  expectEq "upper-case name: passthru name as given" "GHCR.io/PDTPartners/Hello" "$(evalStr passthru.upperName)"
  img="$(build upperNixImage)" || return 1
  expectEq "upper-case resolvedByNix: lower-case archive name (a valid nix:0 reference)" \
    "nix-image-redis.tar" "${img#*-}"

  # --- fromImage given a dockerTools-style gzipped docker archive.
  local docker
  docker="$(build dockerBase)" || return 1
  expectEq "dockerTools-style base is gzip" "1f8b" "$(head -c 2 "${docker}" | od -An -tx1 | tr -d ' \n')"
  expectEq "dockerTools-style base holds a docker manifest" "docker-tools/base:latest" \
    "$(tar -xzOf "${docker}" ./manifest.json | jq -r '.[0].RepoTags[0]')"
  img="$(build dockerBasedImage)" || return 1
  expectEq "fromImage docker archive is passed as is" "${docker}" "$(argAfter "${img}" --from-image)"
  expectEq "copyToRoot list of two" "[\"${hello}\",\"${hello_lib}\"]" "$(jq -c . "$(argAfter "${img}" --copy-to-root)")"
}

# runScript NAME ARGSFILE [ENV...]: builds cases.nix's NAME (a copy-* package), checks
# its bin/ holds exactly PROGRAM, runs it in an empty directory with the given
# environment; the fake nix2container records its argv in ARGSFILE.
runScript() {
  local name="$1" program="$2" argsfile="$3" pkg
  shift 3
  pkg="$(build "${name}")" || return 1
  expectEq "${name}: bin/ holds ${program}" "${program}" "$(ls "${pkg}/bin")"
  mkdir -p "${tmp}/cwd-${name}"
  (cd "${tmp}/cwd-${name}" && env -i PATH=/usr/bin:/bin NIX2CONTAINER_ARGS_FILE="${argsfile}" "$@" \
    "${pkg}/bin/${program}" --extra)
}

checkCopyScripts() {
  local image out
  image="$(build helloImage)" || return 1
  runScript pushScript copy-to-registry "${tmp}/push.args" || return 1
  expectEq "copyToRegistry runs nix2container push" \
    "push --ref localhost/hello:latest --plain-http --extra ${image} " "$(argLine "${tmp}/push.args")"
  runScript pushScriptNamed copy-to-registry "${tmp}/push2.args" || return 1
  expectEq "copyToRegistry imageName (lower-cased) and imageTag" \
    "push --ref 127.0.0.1:5000/hello:v2 --extra ${image} " "$(argLine "${tmp}/push2.args")"
  runScript loadScript copy-to-containerd "${tmp}/load.args" || return 1
  expectEq "copyToContainerd runs nix2container load" \
    "--address /tmp/nixsnap-x/containerd.sock --namespace k8s.io load --extra ${image} " \
    "$(argLine "${tmp}/load.args")"
  runScript loadScriptDefaults copy-to-containerd "${tmp}/load2.args" || return 1
  expectEq "copyToContainerd defaults leave address/namespace to the environment" \
    "load --extra ${image} " "$(argLine "${tmp}/load2.args")"
  expectEq "package.nix copyToRegistry alias is the same derivation" "true" "$(evalBool passthru.aliasSameRegistry)"
  expectEq "package.nix copyToContainerd alias is the same derivation" "true" "$(evalBool passthru.aliasSameContainerd)"

  # Environment variables in the address are expanded when the script runs.
  runScript loadScriptXdg copy-to-containerd "${tmp}/xdg.args" XDG_RUNTIME_DIR=/run/user/4242 || return 1
  expectEq "\$XDG_RUNTIME_DIR in the address is expanded at run time" \
    "/run/user/4242/containerd/containerd.sock" "$(argAfter "${tmp}/xdg.args" --address)"
  runScript loadScriptBraced copy-to-containerd "${tmp}/braced.args" \
    "XDG_RUNTIME_DIR=/r x" "NIXSNAP_SUFFIX=*" || return 1
  expectEq "\${NAME} references, spaces and glob characters stay one word" \
    "/r x/c d/*.sock" "$(argAfter "${tmp}/braced.args" --address)"
  rm -f "${tmp}/unset.args"
  if out="$(runScript loadScriptXdg copy-to-containerd "${tmp}/unset.args" 2>&1)"; then
    fail "copy-to-containerd ran with XDG_RUNTIME_DIR unset"
  else
    expectEq "unset variable: nix2container is not run" "no" "$([[ -e ${tmp}/unset.args ]] && echo yes || echo no)"
    expectEq "unset variable: the message names it" "XDG_RUNTIME_DIR is not set" \
      "$(grep -o 'XDG_RUNTIME_DIR is not set' <<<"${out}" | head -n 1)"
  fi

  # Shell syntax in values is data: nothing runs, the values arrive verbatim.
  runScript loadScriptHostile copy-to-containerd "${tmp}/hostile.args" || return 1
  expectEq "hostile address arrives verbatim" \
    "/tmp/nixsnap-x/a'; touch \"pwned\"; echo '\`touch pwned\`|*;b" "$(argAfter "${tmp}/hostile.args" --address)"
  expectEq "hostile namespace arrives verbatim" \
    "ns\"; touch pwned; \$(touch pwned) \`touch pwned\`" "$(argAfter "${tmp}/hostile.args" --namespace)"
  runScript pushScriptHostile copy-to-registry "${tmp}/hostile2.args" || return 1
  expectEq "hostile image name and tag arrive verbatim" \
    "localhost/a'\$(touch pwned):t\`touch pwned\`" "$(argAfter "${tmp}/hostile2.args" --ref)"
  expectEq "nothing ran: no file named pwned" "" \
    "$(find "${tmp}" -name pwned 2>/dev/null | head -n 1)"
  expectEq "address with \$(...) is refused at evaluation" "true" "$(evalBool refusesCommandSubstitution)"
  expectEq "address with \${X:-y} is refused at evaluation" "true" "$(evalBool refusesDefaultExpansion)"
  expectEq "address with \$1 is refused at evaluation" "true" "$(evalBool refusesPositional)"
}

# closureDirOf IMAGE: the closureInfo output its build passed to nix2container.
closureDirOf() {
  nix-store -q --outputs "$(nix-store -q --references "$(nix-store -qd "$1")" | grep -- '-closure-info.drv$')"
}
# configOf IMAGE: its config file (writeText output).
configOf() {
  nix-store -q --outputs "$(nix-store -q --references "$(nix-store -qd "$1")" | grep -- '/[a-z0-9]*-config-[^/]*\.json\.drv$')"
}
# manifestOf DIR: the manifest file of an extracted OCI layout.
manifestOf() { echo "$1/blobs/$(jq -r '.manifests[0].digest | sub(":"; "/")' "$1/index.json")"; }

# checkArchive IMAGE NAME: a real archive is named NAME and its last layer is the Nix
# layer for the image's closure, in either format nix2container writes: the closure
# layer (containerd.io/snapshot/nix-closure names the closureInfo) or the legacy one
# (nix-layer plus nix-store-path.<i> listing the closure without the config file).
# Sets ARCHIVE_DIR to the extracted archive.
checkArchive() {
  local archive="$1" name="$2" dir manifest closure_dir config want
  dir="$(mktemp -d "${tmp}/archive-XXXX")"
  tar -xf "${archive}" -C "${dir}" || {
    fail "${archive} is not a tar archive"
    return 0
  }
  expectEq "$(basename "${archive}") index names the image" "${name}" \
    "$(jq -r '.manifests[0].annotations["io.containerd.image.name"]' "${dir}/index.json")"
  manifest="$(manifestOf "${dir}")"
  closure_dir="$(closureDirOf "${archive}")"
  if [[ "$(jq -r '.layers[-1].annotations["containerd.io/snapshot/nix-closure"] // ""' "${manifest}")" != "" ]]; then
    expectEq "$(basename "${archive}") Nix layer names the closureInfo" "${closure_dir}" \
      "$(jq -r '.layers[-1].annotations["containerd.io/snapshot/nix-closure"]' "${manifest}")"
  else
    config="$(configOf "${archive}")"
    want="$(grep -vx -- "${config}" "${closure_dir}/store-paths" | tr '\n' ' ')"
    expectEq "$(basename "${archive}") Nix layer annotations list the closure" "${want% }" \
      "$(jq -r '.layers[-1].annotations | to_entries
          | map(select(.key | startswith("containerd.io/snapshot/nix-store-path.")))
          | sort_by(.key | ltrimstr("containerd.io/snapshot/nix-store-path.") | tonumber)
          | map(.value) | join(" ")' "${manifest}")"
    expectEq "$(basename "${archive}") Nix layer flag" "true" \
      "$(jq -r '.layers[-1].annotations["containerd.io/snapshot/nix-layer"]' "${manifest}")"
  fi
  ARCHIVE_DIR="${dir}"
}

checkRealImages() {
  local img dir manifest cfg
  img="$(build helloImage)" || return 1
  checkArchive "${img}" "localhost/hello:latest"
  img="$(build redisImage)" || return 1
  checkArchive "${img}" "nix:0${img}:latest"
  expectEq "resolvedByNix archive references its closure (Nix sees the store paths)" \
    "${hello}" "$(nix-store -qR "${img}" | grep -x -- "${hello}" || true)"
  img="$(build upperImage)" || return 1
  checkArchive "${img}" "ghcr.io/pdtpartners/hello:V1"
  img="$(build upperNixImage)" || return 1
  checkArchive "${img}" "nix:0${img}:latest"

  # fromImage another buildImage: the base's layers come first and keep their Nix annotations.
  img="$(build layeredImage)" || return 1
  checkArchive "${img}" "localhost/layered:v1.2"
  dir="${ARCHIVE_DIR}"
  manifest="$(manifestOf "${dir}")"
  expectEq "fromImage (buildImage): two layers, the base's first" "2" "$(jq '.layers | length' "${manifest}")"
  expectEq "fromImage (buildImage): the base layer keeps its Nix annotations" "true" \
    "$(jq -r '.layers[0].annotations | has("containerd.io/snapshot/nix-closure") or has("containerd.io/snapshot/nix-layer")' "${manifest}")"

  # fromImage a dockerTools-style gzipped docker archive: its layer first, configs merged.
  img="$(build dockerBasedImage)" || return 1
  checkArchive "${img}" "localhost/docker-based:latest"
  dir="${ARCHIVE_DIR}"
  manifest="$(manifestOf "${dir}")"
  expectEq "fromImage (docker archive): two layers" "2" "$(jq '.layers | length' "${manifest}")"
  expectEq "fromImage (docker archive): its layer first, holding its file" "etc/base-release" \
    "$(tar -tf "${dir}/blobs/$(jq -r '.layers[0].digest | sub(":"; "/")' "${manifest}")" |
      sed 's,^\./,,' | grep -x 'etc/base-release' || true)"
  cfg="${dir}/blobs/$(jq -r '.config.digest | sub(":"; "/")' "${manifest}")"
  expectEq "fromImage (docker archive): Env merged, base first" '["BASE=1","NIX=1"]' "$(jq -c '.config.Env' "${cfg}")"
  expectEq "fromImage (docker archive): the base's Cmd kept" '["/bin/sh"]' "$(jq -c '.config.Cmd' "${cfg}")"
}

# checkReadmeUsage: the original README's "Usage" snippet (tests/nix/readme-usage.nix)
# builds through this flake's overlay, its pod names the resolvedByNix archive, and
# "${redis.copyToRegistry {}}/bin/copy-to-registry" pushes ghcr.io/pdtpartners/redis:latest.
checkReadmeUsage() {
  local usage="${here}/readme-usage.nix" redis redis_nix pod program
  usageBuild() {
    NIXSNAP_BUSYBOX_DIR="${tmp}/busybox" nix-build "${usage}" -A "$1" --out-link "${tmp}/usage-$1" \
      2>"${tmp}/usage-$1.log" || {
      echo "building readme-usage.nix -A $1 failed:" >&2
      tail -n 30 "${tmp}/usage-$1.log" >&2
      return 1
    }
  }
  redis="$(usageBuild redis)" || return 1
  redis_nix="$(usageBuild redisNix)" || return 1
  pod="$(usageBuild redisPod)" || return 1
  usageBuild copyToRegistry >/dev/null || return 1
  expectEq "README usage: redis is named ghcr.io/pdtpartners/redis:latest" "ghcr.io/pdtpartners/redis:latest" \
    "$(argAfter "${redis}" --ref)"
  expectEq "README usage: redis' is resolvedByNix" "nix-image-redis.tar" "${redis_nix#*-}"
  expectEq "README usage: the pod's image is nix:0 and the archive" "nix:0${redis_nix}" \
    "$(jq -r '.spec.containers[0].image' "${pod}")"
  program="$(NIXSNAP_BUSYBOX_DIR="${tmp}/busybox" nix-instantiate --eval --json "${usage}" -A copyToRegistryProgram | jq -r .)"
  NIX2CONTAINER_ARGS_FILE="${tmp}/usage-push.args" "${program}"
  expectEq "README usage: copy-to-registry pushes the image" "push --ref ghcr.io/pdtpartners/redis:latest ${redis} " \
    "$(argLine "${tmp}/usage-push.args")"
}
