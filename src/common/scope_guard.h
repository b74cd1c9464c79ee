#pragma once

#include <utility>

namespace nixsnap {

/// Runs a rollback action when the scope ends, unless dismiss() was called; the C++
/// shape of Go's `defer func() { if err != nil { undo() } }()`.
template <typename F>
class ScopeGuard {
 public:
  explicit ScopeGuard(F f) : f_(std::move(f)) {}
  ScopeGuard(const ScopeGuard&) = delete;
  ScopeGuard& operator=(const ScopeGuard&) = delete;
  ~ScopeGuard() noexcept {
    if (active_) {
      f_();
    }
  }
  void dismiss() { active_ = false; }

 private:
  F f_;
  bool active_ = true;
};

}  // namespace nixsnap
