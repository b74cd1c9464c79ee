#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace nixsnap::oci {

/// Media types of the OCI image spec and their Docker schema 2 equivalents.
namespace media {
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kOciLayerTar = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view kOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kOciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr std::string_view kDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kDockerLayerGzip =
    "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr std::string_view kDockerLayerTar = "application/vnd.docker.image.rootfs.diff.tar";
}  // namespace media

/// Index/manifest annotations naming an image.
inline constexpr std::string_view kRefNameAnnotation = "org.opencontainers.image.ref.name";
inline constexpr std::string_view kContainerdImageNameAnnotation = "io.containerd.image.name";

/// True for the layer media types above (OCI and Docker, tar/gzip/zstd).
bool isLayerMediaType(std::string_view media_type);
/// True for OCI/Docker image manifests (not indexes).
bool isManifestMediaType(std::string_view media_type);
/// True for OCI/Docker image configs.
bool isConfigMediaType(std::string_view media_type);

struct Platform {
  std::string architecture;
  std::string os;
  std::string variant;
  bool operator==(const Platform&) const = default;
};

/// An OCI content descriptor.
struct Descriptor {
  std::string media_type;
  std::string digest;  ///< "sha256:<hex>"
  int64_t size = 0;    ///< bytes
  std::map<std::string, std::string> annotations;
  std::optional<Platform> platform;
  bool operator==(const Descriptor&) const = default;
};

struct Manifest {
  std::string media_type = std::string(media::kOciManifest);
  Descriptor config;
  std::vector<Descriptor> layers;
  std::map<std::string, std::string> annotations;
};

struct Index {
  std::string media_type = std::string(media::kOciIndex);
  std::vector<Descriptor> manifests;
  std::map<std::string, std::string> annotations;
};

/// Parses and validates (schemaVersion 2, digests strict, sizes >= 0, known media types;
/// every field read of its spec type, a null one as absent).
/// @param what  names the document in errors ("index.json", "nested index").
/// @return InvalidArgument "<what>: <path>: <problem>" naming the offending field by its
///         path ("index.json: manifests[0].digest: expected a string, got number");
///         malformed JSON as parseJson reports it. Never throws.
Result<Manifest> parseManifest(std::string_view json, std::string_view what = "manifest");
Result<Index> parseIndex(std::string_view json, std::string_view what = "index");

/// Canonical compact JSON (keys sorted), byte-stable for equal values.
std::string toJson(const Manifest& manifest);
std::string toJson(const Index& index);

/// The architecture (GOARCH spelling: amd64, arm64, ...) and OS ("linux") of this machine.
Platform hostPlatform();

}  // namespace nixsnap::oci
