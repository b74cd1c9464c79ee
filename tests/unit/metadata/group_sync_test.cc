#include "metadata/group_sync.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "support/test_env.h"

namespace nixsnap::testing {
namespace {

using metadata::GroupSync;
using metadata::WalFile;

/// A fake WAL: committers "write" their id, a sync makes everything written durable.
struct FakeWal {
  std::mutex mu;
  std::vector<int> written;
  std::set<int> durable;
  int syncs = 0;
  Status sync() {
    {
      std::lock_guard<std::mutex> lock(mu);
      durable.insert(written.begin(), written.end());
      ++syncs;
    }
    // Like a real flush, return a while after the moment that decided what is durable,
    // so that commits written meanwhile are not covered by this sync.
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    return Status::ok();
  }
  void write(int id) {
    std::lock_guard<std::mutex> lock(mu);
    written.push_back(id);
  }
  bool isDurable(int id) {
    std::lock_guard<std::mutex> lock(mu);
    return durable.count(id) != 0;
  }
};

TEST(GroupSyncTest, WaitDurableReturnsOnlyAfterTheCommitWasSynced) {
  FakeWal wal;
  GroupSync group([&] { return wal.sync(); });
  std::mutex writer;  // the metadata writer lock: write + ticket in commit order
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        int id = t * 1000 + i;
        uint64_t ticket = 0;
        {
          std::lock_guard<std::mutex> lock(writer);
          wal.write(id);
          ticket = group.noteCommitted();
        }
        ASSERT_TRUE(group.waitDurable(ticket).isOk());
        if (!wal.isDurable(id)) {
          ++failures[t];
        }
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  EXPECT_EQ(failures, std::vector<int>(4, 0));
  EXPECT_LE(wal.syncs, 800);
}

TEST(GroupSyncTest, CommittersArrivingDuringASyncShareTheNextOne) {
  FakeWal wal;
  std::mutex gate_mu;
  std::condition_variable gate_cv;
  int noted = 0;
  constexpr int kCommitters = 8;
  GroupSync group([&] {
    // The first sync waits until every committer has written and taken its ticket.
    std::unique_lock<std::mutex> lock(gate_mu);
    gate_cv.wait(lock, [&] { return noted == kCommitters; });
    return wal.sync();
  });
  std::mutex writer;
  auto commit = [&](int id) {
    uint64_t ticket = 0;
    {
      std::lock_guard<std::mutex> lock(writer);
      wal.write(id);
      ticket = group.noteCommitted();
    }
    {
      std::lock_guard<std::mutex> lock(gate_mu);
      ++noted;
    }
    gate_cv.notify_all();
    EXPECT_TRUE(group.waitDurable(ticket).isOk());
    EXPECT_TRUE(wal.isDurable(id));
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < kCommitters; ++i) {
    threads.emplace_back(commit, i);
  }
  for (auto& th : threads) {
    th.join();
  }
  // At most: one sync started before the others wrote, then one sync for all the rest.
  EXPECT_LE(wal.syncs, 2);
  EXPECT_GE(wal.syncs, 1);
}

TEST(GroupSyncTest, FailedSyncFailsEveryLaterWait) {
  int calls = 0;
  GroupSync group([&]() -> Status {
    ++calls;
    return calls == 1 ? internalError("disk on fire") : Status::ok();
  });
  Status first = group.waitDurable(group.noteCommitted());
  EXPECT_EQ(first.code(), ErrorCode::Internal);
  EXPECT_NE(first.message().find("disk on fire"), std::string::npos);
  Status later = group.waitDurable(group.noteCommitted());
  EXPECT_EQ(later.code(), ErrorCode::Internal);
  EXPECT_EQ(calls, 1);
}

TEST(GroupSyncTest, NothingToWaitForNeedsNoSync) {
  int calls = 0;
  GroupSync group([&] {
    ++calls;
    return Status::ok();
  });
  EXPECT_TRUE(group.waitDurable(group.lastTicket()).isOk());
  EXPECT_EQ(calls, 0);
  EXPECT_TRUE(group.waitDurable(group.noteCommitted()).isOk());
  EXPECT_TRUE(group.waitDurable(group.lastTicket()).isOk());
  EXPECT_EQ(calls, 1);
}

TEST(WalFileTest, SyncsTheWalNextToTheDatabase) {
  TempDir dir = makeTempDir();
  fs::path db = dir.path() / "metadata.db";
  std::ofstream(db.string() + "-wal") << "frames";
  WalFile wal(db);
  EXPECT_TRUE(wal.sync().isOk());
  // SQLite never does this while connections are open; the file is reopened if it does.
  ASSERT_EQ(::unlink((db.string() + "-wal").c_str()), 0);
  std::ofstream(db.string() + "-wal") << "new frames";
  EXPECT_TRUE(wal.sync().isOk());
}

TEST(WalFileTest, NoticesAnUnlinkedWal) {
  TempDir dir = makeTempDir();
  fs::path db = dir.path() / "metadata.db";
  std::ofstream(db.string() + "-wal") << "frames";
  WalFile wal(db);
  ASSERT_TRUE(wal.sync().isOk());
  // fdatasync through the old descriptor would still succeed; the link count (statx)
  // shows the file is gone, so sync reopens by name and reports what it found.
  ASSERT_EQ(::unlink((db.string() + "-wal").c_str()), 0);
  EXPECT_EQ(wal.sync().code(), ErrorCode::NotFound);
}

TEST(WalFileTest, MissingWalIsNotFound) {
  TempDir dir = makeTempDir();
  WalFile wal(dir.path() / "metadata.db");
  Status st = wal.sync();
  EXPECT_EQ(st.code(), ErrorCode::NotFound);
  EXPECT_NE(st.message().find("metadata.db-wal"), std::string::npos);
}

}  // namespace
}  // namespace nixsnap::testing
