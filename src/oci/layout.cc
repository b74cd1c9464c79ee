#include "oci/layout.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <nlohmann/json.hpp>

#include "common/json.h"
#include "common/json_fields.h"
#include "common/small_file.h"
#include "common/unique_fd.h"
#include "oci/digest.h"
#include "oci/reference.h"

namespace nixsnap::oci {
namespace {

using nlohmann::json;

Status verifyBlob(const Layout& layout, const Descriptor& d, const std::string& what) {
  NIXSNAP_RETURN_IF_ERROR(validateDigest(d.digest).wrap(what));
  fs::path p = layout.blobPath(d.digest);
  auto got = digestFile(p);
  if (!got.isOk()) {
    if (got.status().code() == ErrorCode::NotFound) {
      return invalidArgument(what + ": missing blob " + d.digest);
    }
    return got.status().wrap(what);
  }
  if (got->size != d.size) {
    return invalidArgument(what + ": blob " + d.digest + " is " + std::to_string(got->size) +
                           " bytes, descriptor says " + std::to_string(d.size));
  }
  if (got->digest != d.digest) {
    return invalidArgument(what + ": blob " + d.digest + " has digest " + got->digest);
  }
  return Status::ok();
}

Result<std::string> readBlob(const Layout& layout, const Descriptor& d, const std::string& what) {
  NIXSNAP_RETURN_IF_ERROR(verifyBlob(layout, d, what));
  auto text = readSmallFile(layout.blobPath(d.digest), kMaxJsonBlobBytes);
  if (!text.isOk()) {
    return text.status().wrap(what + " blob " + d.digest);
  }
  return text;
}

/// A descriptor's name annotations; the ref.name counts only when it is a full name.
std::vector<std::string> namesOf(const Descriptor& d) {
  std::vector<std::string> names;
  auto it = d.annotations.find(std::string(kContainerdImageNameAnnotation));
  if (it != d.annotations.end() && !it->second.empty()) {
    names.push_back(it->second);
    return names;
  }
  it = d.annotations.find(std::string(kRefNameAnnotation));
  if (it != d.annotations.end() && it->second.find_first_of(":/") != std::string::npos) {
    names.push_back(it->second);
  }
  return names;
}

Status loadImage(Layout& layout, Descriptor manifest_desc) {
  LayoutImage& img = layout.image;
  auto manifest_json = readBlob(layout, manifest_desc, "reading manifest");
  if (!manifest_json.isOk()) {
    return manifest_json.status();
  }
  auto manifest = parseManifest(*manifest_json, "manifest");
  if (!manifest.isOk()) {
    return manifest.status();
  }
  img.manifest = std::move(*manifest);
  img.manifest_desc = std::move(manifest_desc);
  auto config = readBlob(layout, img.manifest.config, "reading config");
  if (!config.isOk()) {
    return config.status();
  }
  img.config_json = std::move(*config);
  auto parsed_config = parseJson(img.config_json, "image config");
  if (!parsed_config.isOk()) {
    return parsed_config.status();
  }
  json& c = *parsed_config;
  if (!c.is_object()) {
    // The wording of image::parseImageConfig, which checks the rest of the config.
    return invalidArgument(std::string("image config must be a JSON object, got ") + c.type_name());
  }
  const json* ids = nullptr;
  if (c.contains("rootfs") && c["rootfs"].is_object() && c["rootfs"].contains("diff_ids")) {
    ids = &c["rootfs"]["diff_ids"];
  }
  if (ids == nullptr || !ids->is_array()) {
    return invalidArgument("image config field \"rootfs.diff_ids\" is missing or not a list");
  }
  for (const auto& d : *ids) {
    if (!d.is_string()) {
      return invalidArgument(std::string("image config field \"rootfs.diff_ids\" must be a ") +
                             "list of strings, but holds a " + d.type_name());
    }
    img.diff_ids.push_back(d.get<std::string>());
    NIXSNAP_RETURN_IF_ERROR(validateDigest(img.diff_ids.back()).wrap("reading config diff_ids"));
  }
  if (img.diff_ids.size() != img.manifest.layers.size()) {
    return invalidArgument("image config lists " + std::to_string(img.diff_ids.size()) +
                           " diff_ids for " + std::to_string(img.manifest.layers.size()) +
                           " layers");
  }
  for (size_t i = 0; i < img.manifest.layers.size(); ++i) {
    NIXSNAP_RETURN_IF_ERROR(
        verifyBlob(layout, img.manifest.layers[i], "reading layer " + std::to_string(i)));
  }
  return Status::ok();
}

Status openOci(Layout& layout) {
  auto text = readSmallFile(layout.root / "index.json", kMaxJsonBlobBytes);
  if (!text.isOk()) {
    return text.status().wrap("reading index.json");
  }
  auto index = parseIndex(*text, "index.json");
  if (!index.isOk()) {
    return index.status();
  }
  std::vector<std::string> names;
  // Follow nested indexes (docker save >= 25 writes one) as long as each has one entry.
  for (int depth = 0; depth < 4; ++depth) {
    if (index->manifests.size() != 1) {
      return invalidArgument("reading index.json: want exactly one manifest, found " +
                             std::to_string(index->manifests.size()));
    }
    Descriptor d = index->manifests.front();
    if (names.empty()) {
      names = namesOf(d);
    }
    if (d.media_type == media::kOciIndex || d.media_type == media::kDockerManifestList) {
      auto nested = readBlob(layout, d, "reading nested index");
      if (!nested.isOk()) {
        return nested.status();
      }
      index = parseIndex(*nested, "nested index");
      if (!index.isOk()) {
        return index.status();
      }
      continue;
    }
    if (!isManifestMediaType(d.media_type)) {
      return invalidArgument("reading index.json: unknown manifest media type \"" + d.media_type +
                             "\"");
    }
    layout.image.names = names;
    return loadImage(layout, std::move(d));
  }
  return invalidArgument("reading index.json: indexes nested too deeply");
}

Result<Descriptor> adoptBlob(Layout& layout, const std::string& member, std::string media_type) {
  fs::path src = layout.root / member;
  if (member.find("..") != std::string::npos || member.empty() || member.front() == '/') {
    return invalidArgument("manifest.json names a bad path \"" + member + "\"");
  }
  auto d = digestFile(src);
  if (!d.isOk()) {
    if (d.status().code() == ErrorCode::NotFound) {
      return invalidArgument("manifest.json names missing member \"" + member + "\"");
    }
    return d.status();
  }
  if (media_type.empty()) {
    auto sniffed = sniffLayerMediaType(src);
    if (!sniffed.isOk()) {
      return sniffed.status();
    }
    media_type = *sniffed;
  }
  fs::path dst = layout.blobPath(d->digest);
  // blobs/sha256 below the root only: a root that is gone (removed by an interrupt's
  // cleanup) is not brought back.
  for (const fs::path& dir : {layout.root / "blobs", dst.parent_path()}) {
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      return errnoStatus(errno, "creating " + dir.string());
    }
  }
  boost::system::error_code ec;
  if (!fs::exists(dst, ec) && ::link(src.c_str(), dst.c_str()) != 0) {
    return errnoStatus(errno, "linking " + dst.string());
  }
  return Descriptor{media_type, d->digest, d->size, {}, std::nullopt};
}

/// The one image entry of a docker archive's manifest.json, its fields type-checked.
struct DockerEntry {
  std::string config;
  std::vector<std::string> layers;
  std::vector<std::string> repo_tags;
};

Result<DockerEntry> parseDockerManifest(const std::string& text) {
  auto parsed = parseJson(text, "manifest.json");
  if (!parsed.isOk()) {
    return parsed.status();
  }
  const json& j = *parsed;
  if (!j.is_array() || j.size() != 1) {
    return invalidArgument("reading manifest.json: want exactly one image, found " +
                           std::to_string(j.is_array() ? j.size() : 0));
  }
  const std::string where = "manifest.json[0]";
  const json& e = j[0];
  NIXSNAP_RETURN_IF_ERROR(expectJsonObject(e, where));
  DockerEntry out;
  NIXSNAP_RETURN_IF_ERROR(readJsonString(e, "Config", where, true, out.config));
  NIXSNAP_RETURN_IF_ERROR(readJsonStringList(e, "Layers", where, true, out.layers));
  // docker save writes "RepoTags": null for an image without a tag.
  NIXSNAP_RETURN_IF_ERROR(readJsonStringList(e, "RepoTags", where, false, out.repo_tags));
  return out;
}

Status openDocker(Layout& layout) {
  auto text = readSmallFile(layout.root / "manifest.json", kMaxJsonBlobBytes);
  if (!text.isOk()) {
    if (text.status().code() == ErrorCode::NotFound) {
      return invalidArgument("archive has neither index.json nor manifest.json");
    }
    return text.status().wrap("reading manifest.json");
  }
  auto entry = parseDockerManifest(*text);
  if (!entry.isOk()) {
    return entry.status();
  }
  Manifest m;
  auto config = adoptBlob(layout, entry->config, std::string(media::kOciConfig));
  if (!config.isOk()) {
    return config.status();
  }
  m.config = *config;
  for (const auto& member : entry->layers) {
    auto layer = adoptBlob(layout, member, "");
    if (!layer.isOk()) {
      return layer.status();
    }
    m.layers.push_back(*layer);
  }
  std::vector<std::string> names;
  for (const auto& tag : entry->repo_tags) {
    names.push_back(normalizeDockerName(tag));
  }
  std::string mjson = toJson(m);
  std::string digest = digestOf(mjson);
  fs::path dst = layout.blobPath(digest);
  {
    UniqueFd fd(::open(dst.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd.valid() ||
        ::write(fd.get(), mjson.data(), mjson.size()) != static_cast<ssize_t>(mjson.size())) {
      return errnoStatus(errno, "writing " + dst.string());
    }
  }
  layout.image.names = names;
  return loadImage(layout, Descriptor{std::string(media::kOciManifest),
                                      digest,
                                      static_cast<int64_t>(mjson.size()),
                                      {},
                                      std::nullopt});
}

}  // namespace

fs::path Layout::blobPath(const std::string& digest) const {
  return root / "blobs" / "sha256" / digestHex(digest);
}

Result<Layout> openLayout(const fs::path& root) {
  Layout layout;
  layout.root = root;
  boost::system::error_code ec;
  Status st = fs::exists(root / "index.json", ec) ? openOci(layout) : openDocker(layout);
  if (!st.isOk()) {
    return st;
  }
  // Names come from the archive: refuse anything containerd would not accept as a name.
  for (const auto& name : layout.image.names) {
    NIXSNAP_RETURN_IF_ERROR(validateImageReference(name, "image name in the archive"));
  }
  return layout;
}

std::string normalizeDockerName(const std::string& name) {
  std::string n = name;
  auto slash = n.find('/');
  std::string first = slash == std::string::npos ? "" : n.substr(0, slash);
  bool has_host =
      !first.empty() && (first.find_first_of(".:") != std::string::npos || first == "localhost");
  if (!has_host) {
    n = (slash == std::string::npos ? "docker.io/library/" : "docker.io/") + n;
  }
  auto last_slash = n.rfind('/');
  if (n.find(':', last_slash) == std::string::npos && n.find('@') == std::string::npos) {
    n += ":latest";
  }
  return n;
}

Result<std::string> sniffLayerMediaType(const fs::path& blob) {
  UniqueFd fd(::open(blob.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return errnoStatus(errno, "opening " + blob.string());
  }
  std::array<unsigned char, 4> magic{};
  ssize_t n = ::read(fd.get(), magic.data(), magic.size());
  if (n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
    return std::string(media::kOciLayerGzip);
  }
  if (n == 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd) {
    return std::string(media::kOciLayerZstd);
  }
  return std::string(media::kOciLayerTar);
}

}  // namespace nixsnap::oci
