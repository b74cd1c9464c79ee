#include "image/builder.h"

#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "common/json_fields.h"
#include "common/small_file.h"
#include "common/temp_dir.h"
#include "image/closure_input.h"
#include "image/image_config.h"
#include "image/nix_layer_format.h"
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
  auto r = readSmallFile(p, kMaxInputBytes);
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
  // parseImageConfig has checked both are strings or null (Go's zero value: none).
  std::string arch;
  std::string os;
  NIXSNAP_RETURN_IF_ERROR(readJsonString(base.config, "architecture", "", false, arch));
  NIXSNAP_RETURN_IF_ERROR(readJsonString(base.config, "os", "", false, os));
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

/// The image name: --ref, or nix:0<absolute out>:latest.
Result<std::string> imageName(const BuildOptions& o, const fs::path& out) {
  if (!o.ref.empty()) {
    NIXSNAP_RETURN_IF_ERROR(oci::validateImageReference(o.ref, "--ref"));
    return o.ref;
  }
  std::string name = "nix:0" + out.string() + ":latest";
  if (!oci::validateImageReference(name, "default image name").isOk()) {
    return invalidArgument("output path " + out.string() +
                           " cannot form the default image name nix:0<OUT>:latest (image "
                           "names need lowercase [a-z0-9._-] components); pass --ref");
  }
  return name;
}

Result<json> readUserConfig(const BuildOptions& o) {
  if (o.config.empty()) {
    return json::object();
  }
  auto text = readInput(o.config, "--config");
  if (!text.isOk()) {
    return text.status();
  }
  auto parsed = parseUserConfig(*text);
  if (!parsed.isOk()) {
    return parsed.status().wrap("reading --config " + o.config.string());
  }
  return std::move(*parsed);
}

/// The store paths the Nix layer makes mountpoints for, and its format.
struct ClosureSelection {
  std::vector<std::string> paths;
  std::string closure_info;  ///< set: closure format; empty: legacy nix-layer format
};

Result<ClosureSelection> readClosure(const BuildOptions& o) {
  ClosureSelection sel;
  if (o.closure.empty()) {
    return sel;
  }
  auto input = readClosureInput(o.closure, o.store_dir, kMaxInputBytes);
  if (!input.isOk()) {
    return input.status();
  }
  if (!input->closure_info.empty() && !o.legacy_nix_layer) {
    // The snapshotter binds every line of <closure_info>/store-paths: every line needs
    // its mountpoint, the config file's own store path included.
    sel.closure_info = input->closure_info;
    sel.paths = std::move(input->paths);
    return sel;
  }
  std::string own = o.config.empty() ? "" : owningStorePath(o.config, o.store_dir);
  for (auto& p : input->paths) {
    if (p != own) {
      sel.paths.push_back(std::move(p));
    }
  }
  return sel;
}

Result<std::vector<std::string>> readCopyToRoot(const BuildOptions& o) {
  if (o.copy_to_root.empty()) {
    return std::vector<std::string>{};
  }
  auto text = readInput(o.copy_to_root, "--copy-to-root");
  if (!text.isOk()) {
    return text.status();
  }
  auto parsed = parseCopyToRoot(*text, o.store_dir);
  if (!parsed.isOk()) {
    return parsed.status().wrap("reading --copy-to-root " + o.copy_to_root.string());
  }
  return std::move(*parsed);
}

/// The Nix layer's descriptor with the annotations of its format.
oci::Descriptor nixLayerDescriptor(const oci::WrittenTar& layer, const ClosureSelection& sel) {
  oci::Descriptor d{
      std::string(oci::media::kOciLayerGzip), layer.digest, layer.size, {}, std::nullopt};
  if (!sel.closure_info.empty()) {
    d.annotations[std::string(kLabelNixClosure)] = sel.closure_info;
    return d;
  }
  d.annotations[std::string(kLabelNixLayer)] = "true";
  for (size_t i = 0; i < sel.paths.size(); ++i) {
    d.annotations[std::string(kLabelNixStorePathPrefix) + std::to_string(i)] = sel.paths[i];
  }
  return d;
}

/// Layers, diff IDs, history and blob sources of the image: the base's first.
struct ImageParts {
  oci::Manifest manifest;
  json diff_ids = json::array();
  json history = json::array();
  json base_section = json::object();                   ///< the base config's "config" object
  std::vector<std::pair<std::string, fs::path>> blobs;  ///< digest -> file
};

Status addBaseLayers(const Base& base, ImageParts& parts) {
  const auto& img = base.layout.image;
  for (size_t i = 0; i < img.manifest.layers.size(); ++i) {
    oci::Descriptor d = img.manifest.layers[i];
    auto sniffed = oci::sniffLayerMediaType(base.layout.blobPath(d.digest));
    if (!sniffed.isOk()) {
      return sniffed.status();
    }
    d.media_type = *sniffed;
    d.platform.reset();
    parts.manifest.layers.push_back(d);
    parts.diff_ids.push_back(img.diff_ids[i]);
    parts.blobs.emplace_back(d.digest, base.layout.blobPath(d.digest));
  }
  if (base.config.contains("config") && base.config["config"].is_object()) {
    parts.base_section = base.config["config"];
  }
  if (base.config.contains("history") && base.config["history"].is_array()) {
    parts.history = base.config["history"];
  }
  return Status::ok();
}

void addNixLayer(oci::Descriptor desc, const oci::WrittenTar& layer, const fs::path& file,
                 ImageParts& parts) {
  parts.manifest.layers.push_back(std::move(desc));
  parts.diff_ids.push_back(layer.diff_id);
  parts.blobs.emplace_back(layer.digest, file);
  parts.history.push_back(
      {{"created", kEpoch}, {"created_by", "nix2container build"}, {"comment", "nix layer"}});
}

std::string imageConfigJson(const ImageParts& parts, const json& user_config) {
  oci::Platform host = oci::hostPlatform();
  json config = {{"created", kEpoch},
                 {"architecture", host.architecture},
                 {"os", host.os},
                 {"config", mergeConfig(parts.base_section, user_config)},
                 {"rootfs", {{"type", "layers"}, {"diff_ids", parts.diff_ids}}},
                 {"history", parts.history}};
  if (!host.variant.empty()) {
    config["variant"] = host.variant;
  }
  return config.dump();
}

std::string ociIndexJson(const std::string& name, const std::string& manifest_digest,
                         size_t manifest_size) {
  oci::Index index;
  index.manifests.push_back({std::string(oci::media::kOciManifest),
                             manifest_digest,
                             static_cast<int64_t>(manifest_size),
                             {{std::string(oci::kContainerdImageNameAnnotation), name},
                              {std::string(oci::kRefNameAnnotation), name}},
                             std::nullopt});
  return oci::toJson(index);
}

/// docker-archive's manifest.json, so `docker load` reads the archive too.
std::string dockerManifestJson(const std::string& name, const oci::Manifest& manifest) {
  json entry = {{"Config", "blobs/sha256/" + oci::digestHex(manifest.config.digest)},
                {"RepoTags", json::array()},
                {"Layers", json::array()}};
  if (!dockerRepoTag(name).empty()) {
    entry["RepoTags"].push_back(name);
  }
  for (const auto& l : manifest.layers) {
    entry["Layers"].push_back("blobs/sha256/" + oci::digestHex(l.digest));
  }
  return json::array({entry}).dump();
}

/// Writes the archive: layout files, then config, manifest and layer blobs, each once.
Status writeArchive(const fs::path& out, const std::string& name, const ImageParts& parts,
                    const std::string& config_json, const std::string& manifest_json,
                    const std::string& manifest_digest) {
  std::vector<TarEntry> members = {
      {"oci-layout", TarEntry::Type::File, 0644, "", R"({"imageLayoutVersion":"1.0.0"})", {}},
      {"index.json",
       TarEntry::Type::File,
       0644,
       "",
       ociIndexJson(name, manifest_digest, manifest_json.size()),
       {}},
      {"manifest.json",
       TarEntry::Type::File,
       0644,
       "",
       dockerManifestJson(name, parts.manifest),
       {}},
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
  addBlob(parts.manifest.config.digest, config_json, {});
  addBlob(manifest_digest, manifest_json, {});
  for (const auto& [digest, path] : parts.blobs) {
    addBlob(digest, "", path);
  }
  auto written = oci::writeDeterministicTar(std::move(members), out, oci::Compression::None);
  if (!written.isOk()) {
    return written.status().wrap("writing " + out.string());
  }
  return Status::ok();
}

}  // namespace

Result<BuildResult> buildImage(const BuildOptions& o) {
  const fs::path tmp = o.tmp_dir.empty() ? tempDirFromEnvironment() : o.tmp_dir;
  BuildResult result;
  fs::path out = fs::absolute(o.out).lexically_normal();
  auto name = imageName(o, out);
  if (!name.isOk()) {
    return name.status();
  }
  result.name = std::move(*name);
  auto user_config = readUserConfig(o);
  if (!user_config.isOk()) {
    return user_config.status();
  }
  auto sel = readClosure(o);
  if (!sel.isOk()) {
    return sel.status();
  }
  auto roots = readCopyToRoot(o);
  if (!roots.isOk()) {
    return roots.status();
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
  auto entries = nixLayerEntries(sel->paths, *roots, o.store_dir);
  if (!entries.isOk()) {
    return entries.status();
  }
  fs::path layer_path = work->path() / "nix-layer.tar.gz";
  auto layer = oci::writeDeterministicTar(std::move(*entries), layer_path, oci::Compression::Gzip);
  if (!layer.isOk()) {
    return layer.status().wrap("writing nix layer");
  }
  result.nix_layer_digest = layer->digest;
  result.nix_closure = sel->closure_info;

  ImageParts parts;
  if (base) {
    NIXSNAP_RETURN_IF_ERROR(addBaseLayers(*base, parts));
  }
  addNixLayer(nixLayerDescriptor(*layer, *sel), *layer, layer_path, parts);
  std::string config_json = imageConfigJson(parts, *user_config);
  if (static_cast<int64_t>(config_json.size()) > oci::kMaxJsonBlobBytes) {
    return invalidArgument("the image config would be " + std::to_string(config_json.size()) +
                           " bytes, more than the " + std::to_string(oci::kMaxJsonBlobBytes) +
                           " a reader of the image (nix2container load, the daemon's nix:0 "
                           "pull) accepts");
  }
  parts.manifest.config = {std::string(oci::media::kOciConfig),
                           oci::digestOf(config_json),
                           static_cast<int64_t>(config_json.size()),
                           {},
                           std::nullopt};
  result.config_digest = parts.manifest.config.digest;
  std::string manifest_json = oci::toJson(parts.manifest);
  result.manifest_digest = oci::digestOf(manifest_json);
  NIXSNAP_RETURN_IF_ERROR(
      writeArchive(out, result.name, parts, config_json, manifest_json, result.manifest_digest));
  return result;
}

}  // namespace nixsnap::image
