#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "snapshots/types.h"

namespace nixsnap::metadata {

using snapshots::Info;
using snapshots::Kind;
using snapshots::Labels;
using snapshots::Usage;
using TimePoint = std::chrono::system_clock::time_point;

/// One durable snapshot record: the public Info plus the internal numeric id (the name
/// of its directory under root/snapshots) and the usage recorded for committed ones.
struct Record {
  int64_t id = 0;
  Info info;
  std::optional<Usage> usage;  ///< set once measured; absent for active/view snapshots
};

/// What a snapshotter needs to build mounts: the record's id and kind, and the ids of
/// its committed ancestors, nearest parent first (containerd's storage.Snapshot).
struct Snapshot {
  int64_t id = 0;
  Kind kind = Kind::Unknown;
  std::vector<int64_t> parent_ids;
  Labels labels;  ///< the snapshot's own labels
};

/// Receives each record during walk(); a non-Ok status stops the walk with it.
using RecordFn = std::function<Status(const Record&)>;

/// A read or write transaction over the snapshot records. Rolls back in its destructor
/// unless commit() succeeded (containerd's storage.Transactor / WithTransaction).
/// Not thread-safe: one thread uses a transaction at a time.
class Transaction {
 public:
  virtual ~Transaction() = default;

  /// The record of `key` (active/view key or committed name).
  /// @return NotFound if no record has that key.
  virtual Result<Record> get(const std::string& key) = 0;

  /// The active or view snapshot `key` with its ancestor ids.
  /// @return NotFound; FailedPrecondition if `key` is committed.
  virtual Result<Snapshot> getActive(const std::string& key) = 0;

  /// The ancestor chain of committed snapshot or active `key` as records, nearest first,
  /// `key` itself excluded. @return NotFound.
  virtual Result<std::vector<Record>> ancestors(const std::string& key) = 0;

  /// Creates an active or view snapshot on committed `parent` ("" for none).
  /// @param kind Active or View (anything else is InvalidArgument).
  /// @param now  created and updated time.
  /// @return the new snapshot (fresh id, never reused); AlreadyExists for a used key;
  ///         NotFound for a missing parent; InvalidArgument for a parent not committed.
  virtual Result<Snapshot> create(Kind kind, const std::string& key, const std::string& parent,
                                  const Labels& labels, TimePoint now) = 0;

  /// Makes sure no id up to `through` is handed out by later create() calls (of this
  /// transaction and, once it commits, of every later one). An id whose creation was
  /// rolled back is otherwise handed out again, and a snapshot's GC root folder and
  /// directory are named by its id. @return Internal on a database failure.
  virtual Status reserveIds(int64_t through) = 0;

  /// create() with an id the caller chose beforehand (a snapshotter that realises and
  /// roots under the id before it takes the writer lock). Later create() calls hand out
  /// ids above it. @return as create(); also AlreadyExists when a record has `id`,
  ///         InvalidArgument for an id below 1.
  virtual Result<Snapshot> createWithId(int64_t id, Kind kind, const std::string& key,
                                        const std::string& parent, const Labels& labels,
                                        TimePoint now) = 0;

  /// The highest id create() ever handed out or reserveIds()/createWithId() covered, in
  /// committed state (0 when none): where an in-memory id allocator starts.
  virtual Result<int64_t> lastId() = 0;

  /// Applies `field_paths` ("labels", "labels.<key>"; empty = all labels) of `info` to
  /// record `info.name`, setting updated = `now`.
  /// @return the updated record; NotFound; InvalidArgument for another field path.
  virtual Result<Record> update(const Info& info, const std::vector<std::string>& field_paths,
                                TimePoint now) = 0;

  /// Turns active `key` into committed `name`, keeping its id and parent, replacing its
  /// labels with `labels` and recording `usage` (absent: measured later).
  /// @return the id; AlreadyExists for a used name (checked first); NotFound for `key`;
  ///         FailedPrecondition if `key` is not active (a view or committed).
  virtual Result<int64_t> commitActive(const std::string& key, const std::string& name,
                                       const Labels& labels, std::optional<Usage> usage,
                                       TimePoint now) = 0;

  /// Records the measured usage of committed `name`. @return NotFound.
  virtual Status setUsage(const std::string& name, const Usage& usage) = 0;

  /// Deletes record `key`. @return its id and kind; NotFound; FailedPrecondition if
  /// another snapshot has it as parent.
  virtual Result<Snapshot> remove(const std::string& key) = 0;

  /// Calls `fn` for every record, in key order.
  virtual Status walk(const RecordFn& fn) = 0;

  /// Ids of all records (to find directories no record owns).
  virtual Result<std::set<int64_t>> ids() = 0;

  /// Makes the changes durable. @return Internal on a database failure (then the
  /// transaction is rolled back, unless committed() says otherwise).
  virtual Status commit() = 0;

  /// True once commit() made the changes visible to later transactions, even if it then
  /// failed to make them durable (a failed WAL sync): the caller must then keep what the
  /// records point at (directories, GC roots), as for a successful commit.
  virtual bool committed() const = 0;
};
using TransactionPtr = std::unique_ptr<Transaction>;

/// Durable store of snapshot records. Writers are serialised: at most one writable
/// transaction exists at a time (begin(true) blocks); readers see committed state.
/// Thread-safe.
class MetaStore {
 public:
  virtual ~MetaStore() = default;

  /// Starts a transaction. @return Internal/Unavailable on database failure.
  virtual Result<TransactionPtr> begin(bool writable) = 0;
};
using MetaStorePtr = std::unique_ptr<MetaStore>;

}  // namespace nixsnap::metadata
