// snapshots_bench: latency (p50/p99) and throughput of the containerd snapshots API on one
// or more targets, interleaved in one run so that the noise of this machine hits every
// target alike. Each client thread repeats, per iteration:
//   Prepare(a, parent=base) -> Mounts(a) -> Stat(a) -> Commit(c, a) -> View(v, parent=c)
// and after the timed phase removes v and c (untimed). Results are medians over runs.
//
//   snapshots_bench --target cd-nix=/tmp/x/containerd.sock,nix,bench
//                   --target cd-overlayfs=/tmp/x/containerd.sock,overlayfs,bench
//                   --compare cd-nix/cd-overlayfs --clients 1,8 --iterations 200 --runs 5
//
// A target with a namespace is containerd: the bench then holds a lease for its snapshots
// (as containerd's own clients do) so that containerd's garbage collector leaves them alone.

#include <CLI/CLI.hpp>
#include <atomic>
#include <barrier>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <thread>

#include "bench/snapshots_client.h"
#include "bench/stats.h"

namespace nixsnap::bench {
namespace {

const std::vector<std::string> kOps = {"prepare", "mounts", "stat", "commit", "view"};

struct RunResult {
  std::map<std::string, Samples> latency;  // op -> samples of all clients
  double ops_per_second = 0;
};

struct Settings {
  std::vector<Target> targets;
  std::vector<std::pair<std::string, std::string>> compares;
  std::vector<int> clients = {1, 8};
  int iterations = 200;  // per run, split over the clients
  int runs = 5;
  int warmup = 20;
  int settle_ms = 200;
  std::string csv;
};

/// One client thread's timed loop; returns its samples or the first error.
Status clientLoop(SnapshotsClient& c, const std::string& prefix, const std::string& base, int n,
                  std::map<std::string, Samples>& out) {
  using Clock = std::chrono::steady_clock;
  for (int i = 0; i < n; ++i) {
    const std::string a = prefix + "-a" + std::to_string(i);
    const std::string cm = prefix + "-c" + std::to_string(i);
    const std::string v = prefix + "-v" + std::to_string(i);
    auto t0 = Clock::now();
    NIXSNAP_RETURN_IF_ERROR(c.prepare(a, base, {}).wrap("prepare " + a));
    auto t1 = Clock::now();
    NIXSNAP_RETURN_IF_ERROR(c.mounts(a).wrap("mounts " + a));
    auto t2 = Clock::now();
    NIXSNAP_RETURN_IF_ERROR(c.stat(a).wrap("stat " + a));
    auto t3 = Clock::now();
    NIXSNAP_RETURN_IF_ERROR(c.commit(cm, a, {}).wrap("commit " + a));
    auto t4 = Clock::now();
    NIXSNAP_RETURN_IF_ERROR(c.view(v, cm).wrap("view " + v));
    auto t5 = Clock::now();
    out["prepare"].add(t1 - t0);
    out["mounts"].add(t2 - t1);
    out["stat"].add(t3 - t2);
    out["commit"].add(t4 - t3);
    out["view"].add(t5 - t4);
  }
  return Status::ok();
}

Status cleanupLoop(SnapshotsClient& c, const std::string& prefix, int n) {
  for (int i = 0; i < n; ++i) {
    NIXSNAP_RETURN_IF_ERROR(c.remove(prefix + "-v" + std::to_string(i)));
    NIXSNAP_RETURN_IF_ERROR(c.remove(prefix + "-c" + std::to_string(i)));
  }
  return Status::ok();
}

/// Runs `clients` threads doing `iterations` iterations in total against `clients_of`.
Result<RunResult> runOnce(std::vector<std::unique_ptr<SnapshotsClient>>& pool, int clients,
                          int iterations, const std::string& prefix, const std::string& base) {
  const int per_client = std::max(1, iterations / clients);
  std::vector<std::map<std::string, Samples>> samples(clients);
  std::vector<Status> errors(clients);
  std::barrier sync(clients + 1);
  std::vector<std::thread> threads;
  for (int t = 0; t < clients; ++t) {
    threads.emplace_back([&, t] {
      const std::string p = prefix + "-t" + std::to_string(t);
      sync.arrive_and_wait();
      errors[t] = clientLoop(*pool[t], p, base, per_client, samples[t]);
      sync.arrive_and_wait();
      Status st = cleanupLoop(*pool[t], p, per_client);
      if (errors[t].isOk() && !st.isOk()) {
        errors[t] = st.wrap("cleaning up");
      }
    });
  }
  sync.arrive_and_wait();
  auto start = std::chrono::steady_clock::now();
  sync.arrive_and_wait();
  double seconds = secondsSince(start);
  for (auto& th : threads) {
    th.join();
  }
  for (const auto& e : errors) {
    if (!e.isOk()) {
      return e;
    }
  }
  RunResult r;
  for (auto& m : samples) {
    for (auto& [op, s] : m) {
      r.latency[op].append(s);
    }
  }
  r.ops_per_second = static_cast<double>(per_client * clients * kOps.size()) / seconds;
  return r;
}

/// Per target: its client pool, lease and committed base snapshot.
struct TargetState {
  std::vector<std::unique_ptr<SnapshotsClient>> pool;
  std::string lease;
  std::string base;
};

Status setUp(const Target& target, int max_clients, const std::string& tag, TargetState& st) {
  NIXSNAP_RETURN_IF_ERROR(waitReady(target, 10000));
  for (int i = 0; i < max_clients; ++i) {
    st.pool.push_back(std::make_unique<SnapshotsClient>(target));
  }
  if (!target.ns.empty()) {
    auto lease = st.pool[0]->createLease();
    if (!lease.isOk()) {
      return lease.status();
    }
    st.lease = *lease;
    for (auto& c : st.pool) {
      c->setLease(st.lease);
    }
  }
  st.base = tag + "-base";
  NIXSNAP_RETURN_IF_ERROR(st.pool[0]->prepare(st.base + "-active", "", {}).wrap("preparing base"));
  return st.pool[0]->commit(st.base, st.base + "-active", {}).wrap("committing base");
}

void tearDown(TargetState& st) {
  if (st.pool.empty()) {
    return;
  }
  (void)st.pool[0]->remove(st.base);
  if (!st.lease.empty()) {
    (void)st.pool[0]->deleteLease(st.lease, false);
  }
}

void printReport(const Settings& s,
                 std::map<std::pair<int, std::string>, std::vector<RunResult>>& all) {
  for (int clients : s.clients) {
    std::printf("\n== %d client(s): medians of %d runs, %d iterations per run (5 ops each)\n",
                clients, s.runs, s.iterations);
    std::printf("%-16s %-8s %10s %10s\n", "target", "op", "p50_us", "p99_us");
    std::map<std::string, std::map<std::string, double>> p50;  // target -> op -> median p50
    std::map<std::string, double> ops;
    for (const auto& t : s.targets) {
      auto& runs = all[{clients, t.label}];
      for (const auto& op : kOps) {
        std::vector<double> a, b;
        for (auto& r : runs) {
          a.push_back(r.latency[op].percentile(0.5));
          b.push_back(r.latency[op].percentile(0.99));
        }
        p50[t.label][op] = median(a);
        std::printf("%-16s %-8s %10s %10s\n", t.label.c_str(), op.c_str(),
                    fixed(median(a), 1).c_str(), fixed(median(b), 1).c_str());
      }
      std::vector<double> o;
      for (auto& r : runs) {
        o.push_back(r.ops_per_second);
      }
      ops[t.label] = median(o);
      std::printf("%-16s %-8s %10s\n", t.label.c_str(), "ops/s", fixed(median(o), 0).c_str());
    }
    for (const auto& [a, b] : s.compares) {
      std::printf("ratio %s / %s (p50 latency; ops/s):", a.c_str(), b.c_str());
      for (const auto& op : kOps) {
        double den = p50[b][op];
        std::printf(" %s=%s", op.c_str(), den > 0 ? fixed(p50[a][op] / den, 2).c_str() : "n/a");
      }
      std::printf(" ops/s=%s\n", ops[b] > 0 ? fixed(ops[a] / ops[b], 2).c_str() : "n/a");
    }
  }
}

int run(Settings& s) {
  const std::string tag = "bench" + std::to_string(::getpid());
  int max_clients = *std::max_element(s.clients.begin(), s.clients.end());
  std::vector<TargetState> states(s.targets.size());
  for (size_t i = 0; i < s.targets.size(); ++i) {
    Status st = setUp(s.targets[i], max_clients, tag, states[i]);
    if (!st.isOk()) {
      std::cerr << "snapshots_bench: setting up " << s.targets[i].label << ": " << st.toString()
                << "\n";
      return 1;
    }
  }
  std::ofstream csv;
  if (!s.csv.empty()) {
    csv.open(s.csv, std::ios::app);
    csv << "run,clients,target,op,p50_us,p99_us,ops_per_s\n";
  }
  // Warm-up (discarded), then the measured runs; the order of targets rotates per run.
  std::map<std::pair<int, std::string>, std::vector<RunResult>> all;
  for (int run = -1; run < s.runs; ++run) {
    for (int clients : s.clients) {
      for (size_t k = 0; k < s.targets.size(); ++k) {
        size_t i = (k + static_cast<size_t>(std::max(run, 0))) % s.targets.size();
        const Target& t = s.targets[i];
        std::string prefix = tag + "-r" + std::to_string(run + 1) + "-n" + std::to_string(clients);
        int iterations = run < 0 ? std::max(s.warmup, clients) : s.iterations;
        auto r = runOnce(states[i].pool, clients, iterations, prefix, states[i].base);
        if (!r.isOk()) {
          std::cerr << "snapshots_bench: " << t.label << " run " << run + 1 << ": "
                    << r.status().toString() << "\n";
          for (auto& st : states) {
            tearDown(st);
          }
          return 1;
        }
        if (run >= 0) {
          std::fprintf(stderr, "run %d clients %d %-16s %8.0f ops/s\n", run + 1, clients,
                       t.label.c_str(), r->ops_per_second);
          if (csv.is_open()) {
            for (const auto& op : kOps) {
              csv << run + 1 << "," << clients << "," << t.label << "," << op << ","
                  << fixed(r->latency[op].percentile(0.5), 1) << ","
                  << fixed(r->latency[op].percentile(0.99), 1) << "," << fixed(r->ops_per_second, 1)
                  << "\n";
            }
          }
          all[{clients, t.label}].push_back(std::move(*r));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(s.settle_ms));
      }
    }
  }
  for (auto& st : states) {
    tearDown(st);
  }
  printReport(s, all);
  return 0;
}

}  // namespace
}  // namespace nixsnap::bench

int main(int argc, char** argv) {
  using namespace nixsnap::bench;
  Settings s;
  std::vector<std::string> target_specs, compare_specs;
  CLI::App app{"Latency and throughput of the containerd snapshots API, interleaved over targets"};
  app.add_option("--target", target_specs, "LABEL=SOCKET,SNAPSHOTTER[,NAMESPACE] (repeat)")
      ->required();
  app.add_option("--compare", compare_specs, "A/B: print ratios of target A to target B (repeat)");
  app.add_option("--clients", s.clients, "client thread counts")->delimiter(',');
  app.add_option("--iterations", s.iterations, "iterations per run (split over clients)");
  app.add_option("--runs", s.runs, "measured runs per target and client count");
  app.add_option("--warmup", s.warmup, "iterations of the discarded warm-up run");
  app.add_option("--settle-ms", s.settle_ms, "pause after each run (lets GC settle)");
  app.add_option("--csv", s.csv, "append per-run figures to this CSV file");
  CLI11_PARSE(app, argc, argv);
  for (const auto& spec : target_specs) {
    auto t = parseTarget(spec);
    if (!t.isOk()) {
      std::cerr << "snapshots_bench: " << t.status().toString() << "\n";
      return 2;
    }
    s.targets.push_back(*t);
  }
  for (const auto& spec : compare_specs) {
    auto slash = spec.find('/');
    if (slash == std::string::npos) {
      std::cerr << "snapshots_bench: --compare wants A/B, got " << spec << "\n";
      return 2;
    }
    s.compares.emplace_back(spec.substr(0, slash), spec.substr(slash + 1));
  }
  if (s.clients.empty() || s.runs < 1 || s.iterations < 1) {
    std::cerr << "snapshots_bench: need clients, runs >= 1 and iterations >= 1\n";
    return 2;
  }
  return run(s);
}
