#include "support/fault_plan.h"

namespace nixsnap::testing {

constinit bool g_fault_plan_armed = false;

namespace {
thread_local int quiet_depth = 0;
}  // namespace

FaultPlan::Quiet::Quiet() { ++quiet_depth; }
FaultPlan::Quiet::~Quiet() { --quiet_depth; }

FaultPlan& FaultPlan::global() {
  static FaultPlan plan;
  return plan;
}

void FaultPlan::arm(int fail_at) {
  thread_ = std::this_thread::get_id();
  fail_at_ = fail_at;
  count_ = 0;
  failed_.clear();
  past_commit_ = false;
  failed_past_commit_ = false;
  armed_.store(true);
  __atomic_store_n(&g_fault_plan_armed, true, __ATOMIC_SEQ_CST);
}

int FaultPlan::disarm() {
  armed_.store(false);
  __atomic_store_n(&g_fault_plan_armed, false, __ATOMIC_SEQ_CST);
  return count_;
}

bool FaultPlan::hit(const char* what) {
  if (!armed_.load() || quiet_depth > 0 || std::this_thread::get_id() != thread_) {
    return false;
  }
  if (++count_ != fail_at_) {
    return false;
  }
  failed_ = what;
  failed_past_commit_ = past_commit_;
  return true;
}

void FaultPlan::passCommitPoint(int count_before) {
  if (!armed_.load() || std::this_thread::get_id() != thread_) {
    return;
  }
  if (!failed_.empty() && fail_at_ > count_before) {
    failed_past_commit_ = true;  // it failed inside the commit now visible (its sync)
  }
  past_commit_ = true;
}

}  // namespace nixsnap::testing
