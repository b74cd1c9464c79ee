#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

namespace nixsnap::image {

/// One step of `nix2container load` or `push`, as the loader and pusher report it. Tests
/// check these events; the words people see are the renderer's (console_progress.h).
struct ProgressEvent {
  enum class Kind {
    BlobStarted,     ///< copying blob `digest` began (upload or content write)
    BlobWritten,     ///< blob `digest` (`size_bytes`) was copied to the destination
    BlobSkipped,     ///< the destination already had blob `digest`
    LayerStarted,    ///< unpacking layer `index` of `count` began
    LayerUnpacked,   ///< layer unpacked and committed: `prepare` (the snapshotter realising
                     ///< and rooting a Nix layer's closure) and `apply` (writing the tar)
    LayerSkipped,    ///< its snapshot already exists with the labels it needs
    LayerReplaced,   ///< its snapshot existed without the Nix labels its annotations need
                     ///< (an ordinary import unpacked it): removed, to be unpacked again
    ManifestPushed,  ///< the manifest `digest` was put under `name` (a reference)
    ImageNamed,      ///< containerd image `name` points at manifest `digest`
  };
  Kind kind = Kind::BlobWritten;
  std::string digest;      ///< "sha256:<hex>"
  std::string name;        ///< image name or reference, for ManifestPushed/ImageNamed
  int64_t size_bytes = 0;  ///< blob size, for Blob* events
  size_t index = 0;        ///< 1-based layer number, for Layer* events
  size_t count = 0;        ///< number of layers, for Layer* events
  std::chrono::milliseconds prepare{0};
  std::chrono::milliseconds apply{0};
};

/// A Blob* event.
inline ProgressEvent blobEvent(ProgressEvent::Kind kind, std::string digest, int64_t size_bytes) {
  ProgressEvent e;
  e.kind = kind;
  e.digest = std::move(digest);
  e.size_bytes = size_bytes;
  return e;
}

/// A Layer* event for layer `index` (1-based) of `count`.
inline ProgressEvent layerEvent(ProgressEvent::Kind kind, std::string digest, size_t index,
                                size_t count) {
  ProgressEvent e;
  e.kind = kind;
  e.digest = std::move(digest);
  e.index = index;
  e.count = count;
  return e;
}

/// An ImageNamed or ManifestPushed event.
inline ProgressEvent namedEvent(ProgressEvent::Kind kind, std::string digest, std::string name) {
  ProgressEvent e;
  e.kind = kind;
  e.digest = std::move(digest);
  e.name = std::move(name);
  return e;
}

/// Receives progress events. Called from the thread doing the work, in order.
class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  virtual void report(const ProgressEvent& event) = 0;
};
using ProgressSinkPtr = std::shared_ptr<ProgressSink>;

}  // namespace nixsnap::image
