#pragma once

#include "metadata/meta_store.h"
#include "support/fault_plan.h"

namespace nixsnap::testing {

/// A MetaStore decorator for fault-injection walks: begin() and every Transaction call
/// (each one or more SQL statements; commit() the COMMIT) is a fault point of `plan`.
/// A failing point returns Internal "injected metadata fault at <call>" without reaching
/// the real store, as a failed statement would; a failed commit() rolls back.
class FaultyMetaStore final : public metadata::MetaStore {
 public:
  FaultyMetaStore(metadata::MetaStorePtr inner, FaultPlan& plan);
  Result<metadata::TransactionPtr> begin(bool writable) override;

 private:
  metadata::MetaStorePtr inner_;
  FaultPlan& plan_;
};

}  // namespace nixsnap::testing
