#include "support/faulty_meta_store.h"

#include <utility>

namespace nixsnap::testing {

namespace {

using metadata::Record;
using metadata::Snapshot;

Status injected(const char* what) {
  return internalError(std::string("injected metadata fault at ") + what);
}

class FaultyTransaction final : public metadata::Transaction {
 public:
  FaultyTransaction(metadata::TransactionPtr inner, FaultPlan& plan)
      : inner_(std::move(inner)), plan_(plan) {}

  Result<Record> get(const std::string& key) override {
    if (plan_.hit("get")) return injected("get");
    return inner_->get(key);
  }
  Result<Snapshot> getActive(const std::string& key) override {
    if (plan_.hit("getActive")) return injected("getActive");
    return inner_->getActive(key);
  }
  Result<std::vector<Record>> ancestors(const std::string& key) override {
    if (plan_.hit("ancestors")) return injected("ancestors");
    return inner_->ancestors(key);
  }
  Result<Snapshot> create(snapshots::Kind kind, const std::string& key, const std::string& parent,
                          const snapshots::Labels& labels, metadata::TimePoint now) override {
    if (plan_.hit("create")) return injected("create");
    return inner_->create(kind, key, parent, labels, now);
  }
  Result<Snapshot> createWithId(int64_t id, snapshots::Kind kind, const std::string& key,
                                const std::string& parent, const snapshots::Labels& labels,
                                metadata::TimePoint now) override {
    if (plan_.hit("createWithId")) return injected("createWithId");
    return inner_->createWithId(id, kind, key, parent, labels, now);
  }
  Result<int64_t> lastId() override {
    if (plan_.hit("lastId")) return injected("lastId");
    return inner_->lastId();
  }
  Status reserveIds(int64_t through) override {
    if (plan_.hit("reserveIds")) return injected("reserveIds");
    return inner_->reserveIds(through);
  }
  Result<Record> update(const snapshots::Info& info, const std::vector<std::string>& paths,
                        metadata::TimePoint now) override {
    if (plan_.hit("update")) return injected("update");
    return inner_->update(info, paths, now);
  }
  Result<int64_t> commitActive(const std::string& key, const std::string& name,
                               const snapshots::Labels& labels,
                               std::optional<snapshots::Usage> usage,
                               metadata::TimePoint now) override {
    if (plan_.hit("commitActive")) return injected("commitActive");
    return inner_->commitActive(key, name, labels, usage, now);
  }
  Status setUsage(const std::string& name, const snapshots::Usage& usage) override {
    if (plan_.hit("setUsage")) return injected("setUsage");
    return inner_->setUsage(name, usage);
  }
  Result<Snapshot> remove(const std::string& key) override {
    if (plan_.hit("remove")) return injected("remove");
    return inner_->remove(key);
  }
  Status walk(const metadata::RecordFn& fn) override {
    if (plan_.hit("walk")) return injected("walk");
    return inner_->walk(fn);
  }
  Result<std::set<int64_t>> ids() override {
    if (plan_.hit("ids")) return injected("ids");
    return inner_->ids();
  }
  Status commit() override {
    // Not reaching the inner commit leaves it to roll back in its destructor.
    if (plan_.hit("commit")) return injected("commit");
    int before = plan_.count();
    Status st = inner_->commit();
    if (inner_->committed()) {
      plan_.passCommitPoint(before);
    }
    return st;
  }
  bool committed() const override { return inner_->committed(); }

 private:
  metadata::TransactionPtr inner_;
  FaultPlan& plan_;
};

}  // namespace

FaultyMetaStore::FaultyMetaStore(metadata::MetaStorePtr inner, FaultPlan& plan)
    : inner_(std::move(inner)), plan_(plan) {}

Result<metadata::TransactionPtr> FaultyMetaStore::begin(bool writable) {
  if (plan_.hit(writable ? "begin(write)" : "begin(read)")) {
    return injected(writable ? "begin(write)" : "begin(read)");
  }
  Result<metadata::TransactionPtr> txn = inner_->begin(writable);
  if (!txn.isOk()) {
    return txn.status();
  }
  return metadata::TransactionPtr(new FaultyTransaction(std::move(*txn), plan_));
}

}  // namespace nixsnap::testing
