#include "image/builder.h"

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "common/temp_dir.h"
#include "image/closure_input.h"
#include "image/image_config.h"
#include "image/nix_layer.h"
#include "oci/archive_reader.h"
#include "oci/digest.h"
#include "oci/layout.h"
#include "oci/reference.h"
#include "oci/tar_writer.h"
#include "oci/types.h"

namespace nixsnap::image {
namespace {

using nlohmann::json;
using oci::TarEntry;
constexpr int64_t kMaxInputBytes = 16 << 20;
constexpr const char* kEpoch = "1970-01-01T00:00:01Z";

Result<std::string> readInput(const fs::path& p, const char* what) {
  auto r = oci::readSmallFile(p, kMaxInputBytes);
  if (!r.isOk()) {
    return r.status().wrap(std::string("reading ") + what);
  }
  return r;
}

/// The store path a file lives in, or "" when it is not inside `store_dir`.
std::string owningStorePath(const fs::path& file, const fs::path& store_dir) {
  boost::system::error_code ec;
  fs::path abs = fs::absolute(file);
  std::string s = abs.lexically_normal().generic_string();
  std::string prefix = store_dir.generic_string() + "/";
  if (s.rfind(prefix, 0) != 0) {
    return "";
  }
  auto end = s.find('/', prefix.size());
  return s.substr(0, end);
}

struct Base {
  std::optional<TempDir> dir;
  oci::Layout layout;
  json config;
};

Result<Base> readBase(const fs::path& archive, const fs::path& tmp) {
  auto dir = TempDir::create(tmp, "nix2container-base-");
  if (!dir.isOk()) {
    return dir.status().wrap("reading --from-image");
  }
  Base base;
  base.dir.emplace(std::move(*dir));
  NIXSNAP_RETURN_IF_ERROR(oci::extractImageArchive(archive, base.dir->path())
                              .wrap("reading --from-image " + archive.string()));
  auto layout = oci::openLayout(base.dir->path());
  if (!layout.isOk()) {
    return layout.status().wrap("reading --from-image " + archive.string());
  }
  base.layout = std::move(*layout);
  auto config = parseImageConfig(base.layout.image.config_json);
  if (!config.isOk()) {
    return config.status().wrap("reading --from-image " + archive.string());
  }
  base.config = std::move(*config);
  oci::Platform host = oci::hostPlatform();
  std::string arch = base.config.value("architecture", "");
  std::string os = base.config.value("os", "");
  if (arch != host.architecture || os != host.os) {
    return invalidArgument("--from-image " + archive.string() + " is for " + os + "/" + arch +
                           ", this machine builds " + host.os + "/" + host.architecture);
  }
  return base;
}

std::string dockerRepoTag(const std::string& name) {
  // Docker archives cannot name "nix:0/nix/store/..." images; leave RepoTags empty then.
  return name.rfind("nix:0", 0) == 0 ? "" : name;
}

}  // namespace

Result<BuildResult> buildImage(const BuildOptions& o) {
  const fs::path tmp = o.tmp_dir.empty() ? tempDirFromEnvironment() : o.tmp_dir;
  BuildResult result;
  fs::path out = fs::absolute(o.out).lexically_normal();
  result.name = o.ref.empty() ? "nix:0" + out.string() + ":latest" : o.ref;
  if (o.ref.empty()) {
    if (!oci::validateImageReference(result.name, "default image name").isOk()) {
      return invalidArgument("output path " + out.string() +
                             " cannot form the default image name nix:0<OUT>:latest (image "
                             "names need lowercase [a-z0-9._-] components); pass --ref");
    }
  } else {
    NIXSNAP_RETURN_IF_ERROR(oci::validateImageReference(o.ref, "--ref"));
  }

  json user_config = json::object();
  if (!o.config.empty()) {
    auto text = readInput(o.config, "--config");
    if (!text.isOk()) {
      return text.status();
    }
    auto parsed = parseUserConfig(*text);
    if (!parsed.isOk()) {
      return parsed.status().wrap("reading --config " + o.config.string());
    }
    user_config = std::move(*parsed);
  }
  std::vector<std::string> closure;
  std::string closure_info;  // set: closure format; empty: legacy nix-layer format
  if (!o.closure.empty()) {
    auto input = readClosureInput(o.closure, o.store_dir, kMaxInputBytes);
    if (!input.isOk()) {
      return input.status();
    }
    if (!input->closure_info.empty() && !o.legacy_nix_layer) {
      // The snapshotter binds every line of <closure_info>/store-paths: every line needs
      // its mountpoint, the config file's own store path included.
      closure_info = input->closure_info;
      closure = std::move(input->paths);
    } else {
      std::string own = o.config.empty() ? "" : owningStorePath(o.config, o.store_dir);
      for (auto& p : input->paths) {
        if (p != own) {
          closure.push_back(std::move(p));
        }
      }
    }
  }
  std::vector<std::string> roots;
  if (!o.copy_to_root.empty()) {
    auto text = readInput(o.copy_to_root, "--copy-to-root");
    if (!text.isOk()) {
      return text.status();
    }
    auto parsed = parseCopyToRoot(*text, o.store_dir);
    if (!parsed.isOk()) {
      return parsed.status().wrap("reading --copy-to-root " + o.copy_to_root.string());
    }
    roots = std::move(*parsed);
  }

  std::optional<Base> base;
  if (!o.from_image.empty()) {
    auto b = readBase(o.from_image, tmp);
    if (!b.isOk()) {
      return b.status();
    }
    base.emplace(std::move(*b));
  }

  auto work = TempDir::create(tmp, "nix2container-build-");
  if (!work.isOk()) {
    return work.status().wrap("building image");
  }
  auto entries = nixLayerEntries(closure, roots, o.store_dir);
  if (!entries.isOk()) {
    return entries.status();
  }
  fs::path layer_path = work->path() / "nix-layer.tar.gz";
  auto layer = oci::writeDeterministicTar(std::move(*entries), layer_path, oci::Compression::Gzip);
  if (!layer.isOk()) {
    return layer.status().wrap("writing nix layer");
  }
  result.nix_layer_digest = layer->digest;

  oci::Descriptor nix_desc{
      std::string(oci::media::kOciLayerGzip), layer->digest, layer->size, {}, std::nullopt};
  if (!closure_info.empty()) {
    nix_desc.annotations[std::string(kNixClosureAnnotation)] = closure_info;
  } else {
    nix_desc.annotations[std::string(kNixLayerAnnotation)] = "true";
    for (size_t i = 0; i < closure.size(); ++i) {
      nix_desc.annotations[std::string(kNixStorePathAnnotationPrefix) + std::to_string(i)] =
          closure[i];
    }
  }
  result.nix_closure = closure_info;

  // Layers, diff IDs and blob sources: the base's first.
  oci::Manifest manifest;
  json diff_ids = json::array();
  json history = json::array();
  json base_section = json::object();
  std::vector<std::pair<std::string, fs::path>> blobs;  // digest -> file
  if (base) {
    const auto& img = base->layout.image;
    for (size_t i = 0; i < img.manifest.layers.size(); ++i) {
      oci::Descriptor d = img.manifest.layers[i];
      auto sniffed = oci::sniffLayerMediaType(base->layout.blobPath(d.digest));
      if (!sniffed.isOk()) {
        return sniffed.status();
      }
      d.media_type = *sniffed;
      d.platform.reset();
      manifest.layers.push_back(d);
      diff_ids.push_back(img.diff_ids[i]);
      blobs.emplace_back(d.digest, base->layout.blobPath(d.digest));
    }
    if (base->config.contains("config") && base->config["config"].is_object()) {
      base_section = base->config["config"];
    }
    if (base->config.contains("history") && base->config["history"].is_array()) {
      history = base->config["history"];
    }
  }
  manifest.layers.push_back(nix_desc);
  diff_ids.push_back(layer->diff_id);
  blobs.emplace_back(layer->digest, layer_path);
  history.push_back(
      {{"created", kEpoch}, {"created_by", "nix2container build"}, {"comment", "nix layer"}});

  oci::Platform host = oci::hostPlatform();
  json config = {{"created", kEpoch},
                 {"architecture", host.architecture},
                 {"os", host.os},
                 {"config", mergeConfig(base_section, user_config)},
                 {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}},
                 {"history", history}};
  if (!host.variant.empty()) {
    config["variant"] = host.variant;
  }
  std::string config_json = config.dump();
  manifest.config = {std::string(oci::media::kOciConfig),
                     oci::digestOf(config_json),
                     static_cast<int64_t>(config_json.size()),
                     {},
                     std::nullopt};
  result.config_digest = manifest.config.digest;
  std::string manifest_json = oci::toJson(manifest);
  result.manifest_digest = oci::digestOf(manifest_json);

  oci::Index index;
  index.manifests.push_back({std::string(oci::media::kOciManifest),
                             result.manifest_digest,
                             static_cast<int64_t>(manifest_json.size()),
                             {{std::string(oci::kContainerdImageNameAnnotation), result.name},
                              {std::string(oci::kRefNameAnnotation), result.name}},
                             std::nullopt});
  json docker = json::array();
  json docker_entry = {{"Config", "blobs/sha256/" + oci::digestHex(manifest.config.digest)},
                       {"RepoTags", json::array()},
                       {"Layers", json::array()}};
  if (!dockerRepoTag(result.name).empty()) {
    docker_entry["RepoTags"].push_back(result.name);
  }
  for (const auto& l : manifest.layers) {
    docker_entry["Layers"].push_back("blobs/sha256/" + oci::digestHex(l.digest));
  }
  docker.push_back(docker_entry);

  std::vector<TarEntry> members = {
      {"oci-layout", TarEntry::Type::File, 0644, "", R"({"imageLayoutVersion":"1.0.0"})", {}},
      {"index.json", TarEntry::Type::File, 0644, "", oci::toJson(index), {}},
      {"manifest.json", TarEntry::Type::File, 0644, "", docker.dump(), {}},
      {"blobs", TarEntry::Type::Directory, 0755, "", "", {}},
      {"blobs/sha256", TarEntry::Type::Directory, 0755, "", "", {}},
  };
  std::set<std::string> seen;
  auto addBlob = [&](const std::string& digest, std::string content, fs::path source) {
    if (seen.insert(digest).second) {
      members.push_back({"blobs/sha256/" + oci::digestHex(digest), TarEntry::Type::File, 0644, "",
                         std::move(content), std::move(source)});
    }
  };
  addBlob(manifest.config.digest, config_json, {});
  addBlob(result.manifest_digest, manifest_json, {});
  for (const auto& [digest, path] : blobs) {
    addBlob(digest, "", path);
  }
  auto written = oci::writeDeterministicTar(std::move(members), out, oci::Compression::None);
  if (!written.isOk()) {
    return written.status().wrap("writing " + out.string());
  }
  return result;
}

}  // namespace nixsnap::image
