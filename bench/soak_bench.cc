// Soak benchmark (issue 12; not in CI): N clients run a mix of snapshot operations
// against a real nix-snapshotter on its snapshots socket for a given time, while the
// daemon is SIGKILLed and restarted at random moments. After each kill it checks, with
// the daemon down, that every metadata record has its directory and an existing
// committed parent; after the restart, that Cleanup leaves no directory without a record,
// that every snapshot a client was told exists (an acknowledged Prepare/View/Commit not
// followed by an acknowledged Remove) still exists, and that the Mounts of each active
// snapshot and view name existing directories. Prints operations done, restarts
// survived and every inconsistency found (docs/reliability.md).
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench/snapshots_client.h"

namespace nixsnap::bench {
namespace {

enum class SKind { Active, View, Committed };

struct Options {
  std::string daemon;
  std::string work;
  int duration = 1800;
  int clients = 8;
  double kill_min = 5;
  double kill_max = 30;
  uint32_t seed = 1;
};

bool exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

/// Everything the clients and the killer share.
class Soak {
 public:
  explicit Soak(Options o) : o_(std::move(o)) {
    root_ = o_.work + "/root";
    sock_ = o_.work + "/ns.sock";
    target_ = Target{"soak", sock_, "nix", ""};
  }

  int run();

 private:
  struct Client {
    std::map<std::string, SKind> model;         ///< acknowledged snapshots of this client
    std::map<std::string, std::string> parent;  ///< key -> parent key
    std::map<std::string, int> ops_ok;
    int64_t interrupted = 0;
  };

  Status startDaemon();
  void killDaemon(int sig);
  void client(int i);
  void killer();
  /// With the daemon down: records against directories, parents against records.
  void offlineCheck();
  /// With the daemon up: Cleanup, then no directory without a record.
  void onlineCheck(SnapshotsClient& c);
  std::map<int64_t, std::pair<int, int64_t>> readRecords(std::map<int64_t, std::string>* keys);
  void inconsistent(const std::string& what) {
    std::lock_guard<std::mutex> lock(report_mu_);
    std::cerr << "INCONSISTENCY: " << what << "\n";
    inconsistencies_.push_back(what);
  }
  /// Resolves an operation interrupted by a kill by asking whether `key` exists.
  bool existsOnDaemon(SnapshotsClient& c, const std::string& key, bool* known);

  Options o_;
  std::string root_;
  std::string sock_;
  Target target_;
  pid_t pid_ = -1;
  std::shared_mutex gate_;  ///< clients hold it shared per operation; checks exclusive
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> generation_{0};  ///< restarts so far
  std::mutex gen_mu_;
  std::condition_variable gen_cv_;
  std::mutex report_mu_;
  std::vector<std::string> inconsistencies_;
  std::vector<Client> clients_;
  int64_t unexpected_deaths_ = 0;
  bool daemon_up_ = true;
};

Status Soak::startDaemon() {
  pid_t pid = ::fork();
  if (pid < 0) {
    return errnoStatus(errno, "fork");
  }
  if (pid == 0) {
    int fd = ::open((o_.work + "/daemon.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    std::string config = o_.work + "/ns.toml";
    ::execl(o_.daemon.c_str(), o_.daemon.c_str(), "--config", config.c_str(), "--address",
            sock_.c_str(), "--root", root_.c_str(), "--log-level", "info", nullptr);
    ::_exit(127);
  }
  pid_ = pid;
  Status st = waitReady(target_, 60000);
  if (!st.isOk()) {
    return st.wrap("daemon did not answer after start");
  }
  return Status::ok();
}

void Soak::killDaemon(int sig) {
  if (pid_ <= 0) {
    return;
  }
  ::kill(pid_, sig);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::map<int64_t, std::pair<int, int64_t>> Soak::readRecords(std::map<int64_t, std::string>* keys) {
  std::map<int64_t, std::pair<int, int64_t>> out;  // id -> (kind, parent_id)
  sqlite3* db = nullptr;
  std::string path = root_ + "/metadata.db";
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    inconsistent("cannot open " + path + ": " + sqlite3_errmsg(db));
    sqlite3_close(db);
    return out;
  }
  sqlite3_busy_timeout(db, 10000);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT id, key, kind, IFNULL(parent_id, 0) FROM snapshots", -1, &st,
                         nullptr) != SQLITE_OK) {
    inconsistent(std::string("reading records: ") + sqlite3_errmsg(db));
  } else {
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      int64_t id = sqlite3_column_int64(st, 0);
      out[id] = {sqlite3_column_int(st, 2), sqlite3_column_int64(st, 3)};
      if (keys != nullptr) {
        (*keys)[id] = reinterpret_cast<const char*>(sqlite3_column_text(st, 1));
      }
    }
    if (rc != SQLITE_DONE) {
      inconsistent(std::string("reading records: ") + sqlite3_errmsg(db));
    }
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

void Soak::offlineCheck() {
  std::map<int64_t, std::string> keys;
  auto records = readRecords(&keys);
  for (const auto& [id, kp] : records) {
    std::string dir = root_ + "/snapshots/" + std::to_string(id);
    if (!exists(dir + "/fs")) {
      inconsistent("record " + keys[id] + " (id " + std::to_string(id) + ") has no " + dir + "/fs");
    }
    // kind 2 = Active in the snapshotter's enum (View 1, Committed 3)
    if (kp.first == 2 && !exists(dir + "/work")) {
      inconsistent("active " + keys[id] + " has no " + dir + "/work");
    }
    if (kp.second != 0) {
      auto p = records.find(kp.second);
      if (p == records.end()) {
        inconsistent("record " + keys[id] + " has a missing parent id " +
                     std::to_string(kp.second));
      } else if (p->second.first != 3) {
        inconsistent("record " + keys[id] + " has a parent that is not committed");
      }
    }
  }
}

void Soak::onlineCheck(SnapshotsClient& c) {
  Status st = c.cleanup();
  if (!st.isOk()) {
    inconsistent("Cleanup after restart failed: " + st.toString());
    return;
  }
  auto records = readRecords(nullptr);
  std::error_code ec;
  DIR* d = ::opendir((root_ + "/snapshots").c_str());
  if (d == nullptr) {
    inconsistent("cannot list snapshots/");
    return;
  }
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == "..") {
      continue;
    }
    bool numeric = n.find_first_not_of("0123456789") == std::string::npos;
    if (!numeric || records.count(std::stoll(n)) == 0) {
      inconsistent("orphan directory snapshots/" + n + " left after Cleanup");
    }
  }
  ::closedir(d);
}

bool Soak::existsOnDaemon(SnapshotsClient& c, const std::string& key, bool* known) {
  Status st = c.stat(key);
  *known = st.isOk() || st.code() == ErrorCode::NotFound;
  return st.isOk();
}

void Soak::client(int i) {
  Client& me = clients_[i];
  SnapshotsClient c(target_);
  std::mt19937 rng(o_.seed * 1000 + i);
  int64_t n = 0;
  auto pick = [&](auto pred) -> std::string {
    std::vector<std::string> keys;
    for (const auto& [k, kind] : me.model) {
      if (pred(k, kind)) keys.push_back(k);
    }
    if (keys.empty()) return "";
    return keys[std::uniform_int_distribution<size_t>(0, keys.size() - 1)(rng)];
  };
  auto has_children = [&](const std::string& k) {
    for (const auto& [child, p] : me.parent) {
      if (p == k && me.model.count(child)) return true;
    }
    return false;
  };
  auto interrupted = [](const Status& st) {
    return st.code() == ErrorCode::Unavailable || st.code() == ErrorCode::Unknown ||
           st.code() == ErrorCode::DeadlineExceeded || st.code() == ErrorCode::Canceled;
  };
  while (!stop_.load()) {
    int64_t gen = generation_.load();
    std::string op;
    std::string key;
    std::string name;
    std::string parent;
    Status st;
    {
      std::shared_lock<std::shared_mutex> lock(gate_);
      int r = std::uniform_int_distribution<int>(0, 99)(rng);
      std::string committed = pick([](auto&, SKind k) { return k == SKind::Committed; });
      if (r < 30 || me.model.size() < 3) {
        op = "prepare";
        key = "c" + std::to_string(i) + "-k" + std::to_string(n++);
        parent = std::uniform_int_distribution<int>(0, 9)(rng) < 3 ? "" : committed;
        st = c.prepare(key, parent, {{"soak", std::to_string(i)}});
      } else if (r < 50) {
        op = "commit";
        key = pick([](auto&, SKind k) { return k == SKind::Active; });
        if (key.empty()) continue;
        name = "c" + std::to_string(i) + "-k" + std::to_string(n++);
        st = c.commit(name, key, {{"soak", std::to_string(i)}});
      } else if (r < 60) {
        op = "view";
        if (committed.empty()) continue;
        key = "c" + std::to_string(i) + "-k" + std::to_string(n++);
        parent = committed;
        st = c.view(key, parent);
      } else if (r < 80) {
        op = "remove";
        key = pick([&](const std::string& k, SKind) { return !has_children(k); });
        if (key.empty()) continue;
        st = c.remove(key);
      } else if (r < 95) {
        op = "mounts";
        key = pick([](auto&, SKind k) { return k != SKind::Committed; });
        if (key.empty()) continue;
        std::vector<std::string> paths;
        st = c.mountPaths(key, &paths);
        if (st.isOk()) {
          for (const std::string& p : paths) {
            if (!exists(p)) inconsistent("Mounts of " + key + " names missing " + p);
          }
        }
      } else {
        op = "stat";
        key = pick([](auto&, SKind) { return true; });
        if (key.empty()) continue;
        st = c.stat(key);
      }
    }
    if (st.isOk()) {
      me.ops_ok[op]++;
      if (op == "prepare" || op == "view") {
        me.model[key] = op == "prepare" ? SKind::Active : SKind::View;
        me.parent[key] = parent;
      } else if (op == "commit") {
        me.parent[name] = me.parent[key];
        me.model.erase(key);
        me.parent.erase(key);
        me.model[name] = SKind::Committed;
      } else if (op == "remove") {
        me.model.erase(key);
        me.parent.erase(key);
      }
      continue;
    }
    if (!interrupted(st)) {
      inconsistent("client " + std::to_string(i) + ": " + op + " " + key +
                   " failed: " + st.toString());
      continue;
    }
    // Interrupted by a kill: wait for the restart, then learn what happened.
    me.interrupted++;
    {
      std::unique_lock<std::mutex> lock(gen_mu_);
      gen_cv_.wait(lock, [&] { return generation_.load() != gen || stop_.load(); });
    }
    if (stop_.load()) break;
    std::shared_lock<std::shared_mutex> lock(gate_);
    bool known = false;
    if (op == "prepare" || op == "view") {
      if (existsOnDaemon(c, key, &known)) {
        me.model[key] = op == "prepare" ? SKind::Active : SKind::View;
        me.parent[key] = parent;
      }
    } else if (op == "commit") {
      if (existsOnDaemon(c, name, &known)) {
        me.parent[name] = me.parent[key];
        me.model.erase(key);
        me.parent.erase(key);
        me.model[name] = SKind::Committed;
        bool k2 = false;
        if (existsOnDaemon(c, key, &k2)) inconsistent("commit of " + key + " left both keys");
      }
    } else if (op == "remove") {
      if (!existsOnDaemon(c, key, &known) && known) {
        me.model.erase(key);
        me.parent.erase(key);
      }
    } else {
      known = true;
    }
    if (!known) {
      inconsistent("client " + std::to_string(i) + ": cannot resolve interrupted " + op + " " +
                   key);
    }
  }
}

void Soak::killer() {
  std::mt19937 rng(o_.seed);
  std::uniform_real_distribution<double> wait(o_.kill_min, o_.kill_max);
  SnapshotsClient c(target_);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(o_.duration);
  while (std::chrono::steady_clock::now() < deadline) {
    auto until = std::chrono::steady_clock::now() +
                 std::chrono::milliseconds(static_cast<int64_t>(wait(rng) * 1000));
    while (std::chrono::steady_clock::now() < std::min(until, deadline)) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        inconsistent("daemon died by itself (status " + std::to_string(status) + ")");
        unexpected_deaths_++;
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    bool last = std::chrono::steady_clock::now() >= deadline;
    killDaemon(SIGKILL);
    {
      std::unique_lock<std::shared_mutex> lock(gate_);
      offlineCheck();
      Status st = startDaemon();
      for (int attempt = 2; !st.isOk() && attempt <= 3; ++attempt) {
        // Reported, then retried (the daemon log, at info level, has its start-up).
        inconsistent("restart failed: " + st.toString());
        killDaemon(SIGKILL);
        st = startDaemon();
      }
      if (!st.isOk()) {
        inconsistent("restart failed 3 times, stopping: " + st.toString());
        stop_ = true;
        daemon_up_ = false;
      } else {
        onlineCheck(c);
      }
      if (last) stop_ = true;
      generation_++;
    }
    gen_cv_.notify_all();
  }
  stop_ = true;
  gen_cv_.notify_all();
}

int Soak::run() {
  ::mkdir(o_.work.c_str(), 0700);
  std::ofstream(o_.work + "/ns.toml") << "[image_service]\nenable = false\n";
  Status st = startDaemon();
  if (!st.isOk()) {
    std::cerr << "soak: " << st.toString() << "\n";
    killDaemon(SIGKILL);
    return 1;
  }
  clients_.resize(o_.clients);
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int i = 0; i < o_.clients; ++i) {
    threads.emplace_back([this, i] { client(i); });
  }
  killer();
  for (auto& t : threads) t.join();
  // The clients' models against the last restart's daemon: every acknowledged snapshot.
  SnapshotsClient c(target_);
  int64_t checked = 0;
  for (size_t i = 0; daemon_up_ && i < clients_.size(); ++i) {
    for (const auto& [k, kind] : clients_[i].model) {
      Status s = c.stat(k);
      checked++;
      if (!s.isOk()) inconsistent("acknowledged snapshot " + k + " is gone: " + s.toString());
    }
  }
  killDaemon(SIGTERM);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::map<std::string, int64_t> ops;
  int64_t total = 0, interrupted = 0;
  for (const Client& cl : clients_) {
    for (const auto& [op, count] : cl.ops_ok) {
      ops[op] += count;
      total += count;
    }
    interrupted += cl.interrupted;
  }
  std::printf(
      "soak: %d clients, %.0f s, %lld restarts (SIGKILL every %.0f-%.0f s), "
      "%lld unexpected daemon deaths\n",
      o_.clients, secs, static_cast<long long>(generation_.load()), o_.kill_min, o_.kill_max,
      static_cast<long long>(unexpected_deaths_));
  std::printf("operations acknowledged: %lld (%.0f/s)", static_cast<long long>(total),
              total / secs);
  for (const auto& [op, count] : ops)
    std::printf(", %s %lld", op.c_str(), static_cast<long long>(count));
  std::printf("\ninterrupted by a kill (outcome resolved after restart): %lld\n",
              static_cast<long long>(interrupted));
  std::printf("acknowledged snapshots checked at the end: %lld\n", static_cast<long long>(checked));
  std::printf("inconsistencies: %zu\n", inconsistencies_.size());
  for (size_t i = 0; i < inconsistencies_.size() && i < 20; ++i) {
    std::printf("  %s\n", inconsistencies_[i].c_str());
  }
  return inconsistencies_.empty() ? 0 : 2;
}

}  // namespace
}  // namespace nixsnap::bench

int main(int argc, char** argv) {
  nixsnap::bench::Options o;
  CLI::App app("soak benchmark: mixed snapshot operations with the daemon killed at random");
  app.add_option("--daemon", o.daemon, "nix-snapshotter binary")->required();
  app.add_option("--work", o.work, "fresh work folder (daemon root, socket, log)")->required();
  app.add_option("--duration", o.duration, "seconds (default 1800)");
  app.add_option("--clients", o.clients, "concurrent clients (default 8)");
  app.add_option("--kill-min", o.kill_min, "least seconds between kills (default 5)");
  app.add_option("--kill-max", o.kill_max, "most seconds between kills (default 30)");
  app.add_option("--seed", o.seed, "random seed (default 1)");
  CLI11_PARSE(app, argc, argv);
  ::signal(SIGPIPE, SIG_IGN);
  return nixsnap::bench::Soak(o).run();
}
