#include "image/pusher.h"

#include <cstdlib>

#include "common/small_file.h"
#include "common/temp_dir.h"
#include "oci/archive_reader.h"
#include "oci/layout.h"

namespace nixsnap::image {

Result<std::string> pushImage(registry::RegistryClient& client, const fs::path& archive,
                              const std::string& ref_text, const fs::path& tmp_dir,
                              ProgressSink* progress) {
  auto report = [&](const ProgressEvent& e) {
    if (progress != nullptr) {
      progress->report(e);
    }
  };
  auto ref = registry::parseReference(ref_text);
  if (!ref.isOk()) {
    return ref.status();
  }
  const fs::path tmp = tmp_dir.empty() ? tempDirFromEnvironment() : tmp_dir;
  auto work = TempDir::create(tmp, "nix2container-push-");
  if (!work.isOk()) {
    return work.status();
  }
  NIXSNAP_RETURN_IF_ERROR(oci::extractImageArchive(archive, work->path()));
  auto layout = oci::openLayout(work->path());
  if (!layout.isOk()) {
    return layout.status().wrap("pushing " + archive.string());
  }
  const auto& img = layout->image;
  std::vector<oci::Descriptor> blobs = img.manifest.layers;
  blobs.push_back(img.manifest.config);
  for (const auto& d : blobs) {
    auto has = client.hasBlob(*ref, d.digest);
    if (!has.isOk()) {
      return has.status();
    }
    using Kind = ProgressEvent::Kind;
    if (*has) {
      report(blobEvent(Kind::BlobSkipped, d.digest, d.size));
      continue;
    }
    report(blobEvent(Kind::BlobStarted, d.digest, d.size));
    NIXSNAP_RETURN_IF_ERROR(client.uploadBlob(*ref, d.digest, layout->blobPath(d.digest)));
    report(blobEvent(Kind::BlobWritten, d.digest, d.size));
  }
  auto manifest = readSmallFile(layout->blobPath(img.manifest_desc.digest), 4 << 20);
  if (!manifest.isOk()) {
    return manifest.status();
  }
  NIXSNAP_RETURN_IF_ERROR(client.putManifest(*ref, img.manifest.media_type, *manifest));
  report(namedEvent(ProgressEvent::Kind::ManifestPushed, img.manifest_desc.digest, ref_text));
  return img.manifest_desc.digest;
}

}  // namespace nixsnap::image
