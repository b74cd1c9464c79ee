// realise_bench (issue 14): does a slow Nix realisation hold up other snapshot writes?
//   1. p50/p99 of unrelated snapshot writes (Prepare, Commit, View, Remove through
//      containerd) while 0, 1 and 4 nix-layer Prepares are realising;
//   2. wall time of 4 nix-layer Prepares started together, each realised by a builder that
//      takes --slow-seconds (serialised: 4x; in parallel: ~1x).
// The daemon must run with `external_builder` = a script that appends "start" to
// --builder-log, sleeps, and exits 0, and a private store_dir (made-up store paths,
// created here). bench/realise_bench.sh sets all of that up.
//
//   realise_bench --direct /tmp/x/ns.sock --writes cd=/tmp/x/containerd.sock,nix,bench
//                 --store-dir /tmp/x/store --builder-log /tmp/x/builder.log --runs 3

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <thread>

#include "bench/snapshots_client.h"
#include "bench/stats.h"
#include "common/fs.h"

namespace nixsnap::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Settings {
  std::string direct;  // the daemon's own socket (nix-layer Prepares)
  std::string writes;  // target spec of the unrelated writes (containerd)
  std::string store_dir;
  std::string builder_log;
  std::vector<int> in_flight = {0, 1, 4};
  int iterations = 50;  // write cycles (4 ops each) per run
  int runs = 3;
  int parallel = 4;
};

int countLines(const std::string& file, const std::string& word) {
  std::ifstream in(file);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    n += line.find(word) != std::string::npos ? 1 : 0;
  }
  return n;
}

/// A fresh made-up store path (a directory Nix does not know).
std::string madeUpPath(const Settings& s) {
  static int next = 0;
  char hash[40];
  std::snprintf(hash, sizeof hash, "%032d", ++next);
  std::string p = s.store_dir + "/" + hash + "-bench-" + std::to_string(::getpid());
  fs::create_directories(p);
  return p;
}

/// Starts nix-layer Prepares on threads; join() waits for them and removes the snapshots.
class SlowPrepares {
 public:
  SlowPrepares(const Settings& s, int n, const std::string& prefix) : s_(s) {
    Target t{"direct", s.direct, "nix", ""};
    for (int i = 0; i < n; ++i) {
      std::string key = prefix + "-nix" + std::to_string(i);
      Labels labels{{"containerd.io/snapshot/nix-layer", "true"},
                    {"containerd.io/snapshot/nix-store-path.0", madeUpPath(s)}};
      keys_.push_back(key);
      errors_.emplace_back();
      threads_.emplace_back([this, t, key, labels, i] {
        SnapshotsClient c(t);
        errors_[i] = c.prepare(key, "", labels);
      });
    }
  }
  Status join() {
    for (std::thread& t : threads_) {
      t.join();
    }
    SnapshotsClient c(Target{"direct", s_.direct, "nix", ""});
    for (size_t i = 0; i < keys_.size(); ++i) {
      NIXSNAP_RETURN_IF_ERROR(errors_[i].wrap("slow prepare " + keys_[i]));
      // containerd's garbage collector may have removed it already: the bench shares
      // the daemon with containerd, which prunes backend snapshots it has no record of.
      Status rm = c.remove(keys_[i]);
      if (!rm.isOk() && rm.code() != ErrorCode::NotFound) {
        return rm.wrap("removing " + keys_[i]);
      }
    }
    return Status::ok();
  }

 private:
  const Settings& s_;
  std::vector<std::string> keys_;
  std::vector<Status> errors_;
  std::vector<std::thread> threads_;
};

/// Waits until the builder log has `n` start lines (realisations in flight).
bool waitStarts(const Settings& s, int n) {
  for (int i = 0; i < 3000; ++i) {
    if (countLines(s.builder_log, " start ") >= n) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

struct WriteRun {
  Samples writes;
  bool overlapped = true;  // every write finished while the realisations were in flight
};

Result<WriteRun> writesWhile(const Settings& s, SnapshotsClient& c, const std::string& base, int k,
                             const std::string& prefix) {
  int starts = countLines(s.builder_log, " start ");
  int ends = countLines(s.builder_log, " end ");
  SlowPrepares slow(s, k, prefix);
  if (k > 0 && !waitStarts(s, starts + k)) {
    return internalError("realisations did not start (see the builder log)");
  }
  WriteRun run;
  for (int i = 0; i < s.iterations; ++i) {
    const std::string a = prefix + "-a" + std::to_string(i);
    const std::string cm = prefix + "-c" + std::to_string(i);
    const std::string v = prefix + "-v" + std::to_string(i);
    auto t0 = Clock::now();
    NIXSNAP_RETURN_IF_ERROR(c.prepare(a, base, {}).wrap("prepare " + a));
    auto t1 = Clock::now();
    NIXSNAP_RETURN_IF_ERROR(c.commit(cm, a, {}).wrap("commit " + a));
    auto t2 = Clock::now();
    NIXSNAP_RETURN_IF_ERROR(c.view(v, cm).wrap("view " + v));
    auto t3 = Clock::now();
    NIXSNAP_RETURN_IF_ERROR(c.remove(v).wrap("remove " + v));
    auto t4 = Clock::now();
    run.writes.add(t1 - t0);
    run.writes.add(t2 - t1);
    run.writes.add(t3 - t2);
    run.writes.add(t4 - t3);
  }
  if (k > 0 && countLines(s.builder_log, " end ") != ends) {
    run.overlapped = false;  // a realisation ended before the writes did
  }
  NIXSNAP_RETURN_IF_ERROR(slow.join());
  for (int i = 0; i < s.iterations; ++i) {
    NIXSNAP_RETURN_IF_ERROR(c.remove(prefix + "-c" + std::to_string(i)));
  }
  return run;
}

int run(const Settings& s) {
  Result<Target> wt = parseTarget(s.writes);
  if (!wt.isOk()) {
    std::cerr << wt.status().toString() << "\n";
    return 2;
  }
  for (const Target& t : {*wt, Target{"direct", s.direct, "nix", ""}}) {
    Status st = waitReady(t, 20000);
    if (!st.isOk()) {
      std::cerr << "not ready: " << st.toString() << "\n";
      return 1;
    }
  }
  SnapshotsClient c(*wt);
  Result<std::string> lease = c.createLease();
  if (!lease.isOk()) {
    std::cerr << lease.status().toString() << "\n";
    return 1;
  }
  c.setLease(*lease);
  const std::string tag = std::to_string(::getpid());
  const std::string base = "rb-base-" + tag;
  Status st = c.prepare(base + "-a", "", {});
  if (st.isOk()) {
    st = c.commit(base, base + "-a", {});
  }
  if (!st.isOk()) {
    std::cerr << "base: " << st.toString() << "\n";
    return 1;
  }

  std::printf(
      "== unrelated writes (Prepare, Commit, View, Remove via containerd) while K "
      "slow realisations are in flight: medians of %d runs, %d writes per run\n",
      s.runs, s.iterations * 4);
  // max: one write stalled behind a realisation is 1 of 4x--iterations samples, below p99.
  std::printf("%-4s %10s %10s %10s %10s\n", "K", "p50 ms", "p99 ms", "max ms", "overlap");
  std::map<int, double> p99_of;
  for (int k : s.in_flight) {
    std::vector<double> p50s, p99s, maxes;
    int overlapped = 0;
    for (int r = 0; r < s.runs; ++r) {
      const std::string prefix = "rb-" + tag + "-k" + std::to_string(k) + "r" + std::to_string(r);
      Result<WriteRun> w = writesWhile(s, c, base, k, prefix);
      if (!w.isOk()) {
        std::cerr << "K=" << k << ": " << w.status().toString() << "\n";
        return 1;
      }
      p50s.push_back(w->writes.percentile(0.5) / 1000);
      p99s.push_back(w->writes.percentile(0.99) / 1000);
      maxes.push_back(w->writes.percentile(1.0) / 1000);
      overlapped += w->overlapped ? 1 : 0;
    }
    p99_of[k] = median(p99s);
    std::printf("%-4d %10s %10s %10s %7d/%d\n", k, fixed(median(p50s), 2).c_str(),
                fixed(p99_of[k], 2).c_str(), fixed(median(maxes), 2).c_str(),
                k == 0 ? s.runs : overlapped, s.runs);
  }
  if (p99_of.count(0) && p99_of[0] > 0) {
    for (const auto& [k, p] : p99_of) {
      if (k != 0) {
        std::printf("ratio p99(K=%d)/p99(K=0): %s\n", k, fixed(p / p99_of[0], 2).c_str());
      }
    }
  }

  std::printf("\n== wall time of %d nix-layer Prepares started together (medians of %d runs)\n",
              s.parallel, s.runs);
  std::vector<double> walls;
  for (int r = 0; r < s.runs; ++r) {
    auto t0 = Clock::now();
    SlowPrepares slow(s, s.parallel, "rb-" + tag + "-wall" + std::to_string(r));
    Status joined = slow.join();  // the removes after the joins take milliseconds
    if (!joined.isOk()) {
      std::cerr << joined.toString() << "\n";
      return 1;
    }
    walls.push_back(secondsSince(t0));
  }
  std::printf("wall s: %s (runs:", fixed(median(walls), 2).c_str());
  for (double w : walls) {
    std::printf(" %s", fixed(w, 2).c_str());
  }
  std::printf(")\n");
  (void)c.remove(base);
  (void)c.deleteLease(*lease, false);
  return 0;
}

}  // namespace
}  // namespace nixsnap::bench

int main(int argc, char** argv) {
  nixsnap::bench::Settings s;
  CLI::App app{"realise_bench: snapshot writes while Nix realisations are in flight"};
  app.add_option("--direct", s.direct, "the daemon's socket")->required();
  app.add_option("--writes", s.writes, "LABEL=SOCKET,SNAPSHOTTER,NAMESPACE of the writes")
      ->required();
  app.add_option("--store-dir", s.store_dir, "the daemon's store_dir")->required();
  app.add_option("--builder-log", s.builder_log, "where the builder logs start/end")->required();
  app.add_option("--in-flight", s.in_flight, "K values")->delimiter(',');
  app.add_option("--iterations", s.iterations, "write cycles (4 writes) per run");
  app.add_option("--runs", s.runs, "runs per figure (medians reported)");
  app.add_option("--parallel", s.parallel, "Prepares of the wall-time figure");
  CLI11_PARSE(app, argc, argv);
  return nixsnap::bench::run(s);
}
