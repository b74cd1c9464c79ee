// mounts_chain_bench: Mounts latency on top of a deep chain of committed snapshots that
// carry many store-path labels (issue 2: 16 layers x 100 and x 1,000 labels, i.e. 1,600
// and 16,000 bind mounts). The labels name dummy store paths that this program creates
// (as empty directories) in a private store dir, the one the daemon is configured with
// (`store_dir`), so /nix/store is not touched. The label sets are interleaved per run.
//
//   mounts_chain_bench --target ours=/tmp/x/ns.sock,nix --store-dir /tmp/x/store
//                      --layers 16 --paths 100,1000 --iterations 200 --runs 5

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <map>

#include "bench/snapshots_client.h"
#include "bench/stats.h"
#include "common/fs.h"
#include "snapshotter/snapshotter.h"

namespace nixsnap::bench {
namespace {

constexpr char kNixBase32[] = "0123456789abcdfghijklmnpqrsvwxyz";

/// A deterministic, well-formed store path basename for (layer, index).
std::string dummyBaseName(int layer, int index) {
  uint64_t x =
      (static_cast<uint64_t>(layer) << 32) ^ static_cast<uint64_t>(index) ^ 0x9e3779b97f4a7c15ULL;
  std::string hash;
  for (int i = 0; i < 32; ++i) {
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    hash.push_back(kNixBase32[(x * 0x2545f4914f6cdd1dULL) >> 59]);
  }
  return hash + "-bench-l" + std::to_string(layer) + "-p" + std::to_string(index);
}

struct Chain {
  int paths = 0;
  std::vector<std::string> keys;  // committed names, bottom first
  std::string top;
  size_t mounts = 0;
  double build_seconds = 0;
};

Status buildChain(SnapshotsClient& c, const fs::path& store, int layers, int paths,
                  const std::string& tag, Chain& chain) {
  chain.paths = paths;
  auto start = std::chrono::steady_clock::now();
  std::string parent;
  for (int l = 0; l < layers; ++l) {
    Labels labels;
    for (int i = 0; i < paths; ++i) {
      fs::path p = store / dummyBaseName(l, i);
      boost::system::error_code ec;
      fs::create_directories(p, ec);
      if (ec) {
        return errnoStatus(ec.value(), "creating dummy store path " + p.string());
      }
      labels[std::string(snapshotter::kLabelNixStorePathPrefix) + std::to_string(i)] = p.string();
    }
    std::string name = tag + "-p" + std::to_string(paths) + "-l" + std::to_string(l);
    NIXSNAP_RETURN_IF_ERROR(c.prepare(name + "-active", parent, labels).wrap("prepare " + name));
    NIXSNAP_RETURN_IF_ERROR(c.commit(name, name + "-active", labels).wrap("commit " + name));
    chain.keys.push_back(name);
    parent = name;
  }
  chain.top = tag + "-p" + std::to_string(paths) + "-top";
  NIXSNAP_RETURN_IF_ERROR(c.prepare(chain.top, parent, {}, &chain.mounts).wrap("prepare top"));
  chain.build_seconds = secondsSince(start);
  return Status::ok();
}

void removeChain(SnapshotsClient& c, const Chain& chain) {
  (void)c.remove(chain.top);
  for (auto it = chain.keys.rbegin(); it != chain.keys.rend(); ++it) {
    (void)c.remove(*it);
  }
}

int run(const Target& target, const fs::path& store, int layers,
        const std::vector<int>& path_counts, int iterations, int runs, bool decode) {
  Status ready = waitReady(target, 10000);
  if (!ready.isOk()) {
    std::cerr << "mounts_chain_bench: " << ready.toString() << "\n";
    return 1;
  }
  SnapshotsClient client(target);
  std::string lease_id;
  if (!target.ns.empty()) {
    auto lease = client.createLease();
    if (!lease.isOk()) {
      std::cerr << "mounts_chain_bench: " << lease.status().toString() << "\n";
      return 1;
    }
    lease_id = *lease;
    client.setLease(lease_id);
  }
  const std::string tag = "chain" + std::to_string(::getpid());
  std::vector<Chain> chains(path_counts.size());
  int rc = 0;
  for (size_t k = 0; k < path_counts.size() && rc == 0; ++k) {
    Status st = buildChain(client, store, layers, path_counts[k], tag, chains[k]);
    if (!st.isOk()) {
      std::cerr << "mounts_chain_bench: building chain: " << st.toString() << "\n";
      rc = 1;
    }
  }
  std::map<int, std::vector<double>> p50, p99;
  for (int r = -1; r < runs && rc == 0; ++r) {  // run -1 warms up
    for (size_t k = 0; k < chains.size() && rc == 0; ++k) {
      const Chain& ch = chains[(k + static_cast<size_t>(std::max(r, 0))) % chains.size()];
      Samples s;
      for (int i = 0; i < iterations; ++i) {
        size_t n = 0;
        auto t0 = std::chrono::steady_clock::now();
        Status st = decode ? client.mounts(ch.top, &n) : client.mountsRaw(ch.top, &n);
        s.add(std::chrono::steady_clock::now() - t0);
        if (!st.isOk() || n != ch.mounts) {
          std::cerr << "mounts_chain_bench: mounts " << ch.top << ": " << st.toString() << " (" << n
                    << " mounts, want " << ch.mounts << ")\n";
          rc = 1;
          break;
        }
      }
      if (r >= 0) {
        p50[ch.paths].push_back(s.percentile(0.5));
        p99[ch.paths].push_back(s.percentile(0.99));
        std::fprintf(stderr, "run %d paths/layer %d: p50 %.1f us\n", r + 1, ch.paths,
                     s.percentile(0.5));
      }
    }
  }
  if (rc == 0) {
    std::printf(
        "\n== Mounts on top of a %d-layer chain (%s, reply %s): medians of %d runs x %d calls\n",
        layers, target.label.c_str(), decode ? "decoded by C++ protobuf" : "not decoded", runs,
        iterations);
    std::printf("%-12s %-8s %12s %12s %12s %14s\n", "paths/layer", "mounts", "p50_us", "p99_us",
                "us/mount", "chain_build_s");
    double first = 0;
    int first_paths = 0;
    for (const auto& ch : chains) {
      double m50 = median(p50[ch.paths]);
      std::printf("%-12d %-8zu %12s %12s %12s %14s\n", ch.paths, ch.mounts, fixed(m50, 1).c_str(),
                  fixed(median(p99[ch.paths]), 1).c_str(),
                  fixed(m50 / static_cast<double>(std::max<size_t>(ch.mounts, 1)), 3).c_str(),
                  fixed(ch.build_seconds, 2).c_str());
      if (first == 0) {
        first = m50;
        first_paths = ch.paths;
      } else {
        std::printf("growth p50(%d)/p50(%d) = %s for %sx the labels\n", ch.paths, first_paths,
                    fixed(m50 / first, 2).c_str(),
                    fixed(static_cast<double>(ch.paths) / first_paths, 1).c_str());
      }
    }
  }
  for (const auto& ch : chains) {
    removeChain(client, ch);
  }
  if (!lease_id.empty()) {
    (void)client.deleteLease(lease_id, false);
  }
  return rc;
}

}  // namespace
}  // namespace nixsnap::bench

int main(int argc, char** argv) {
  using namespace nixsnap::bench;
  std::string target_spec, store_dir;
  int layers = 16, iterations = 200, runs = 5;
  bool decode = false;
  std::vector<int> paths = {100, 1000};
  CLI::App app{"Mounts latency on a deep chain of snapshots with many store-path labels"};
  app.add_option("--target", target_spec, "LABEL=SOCKET,SNAPSHOTTER[,NAMESPACE]")->required();
  app.add_option("--store-dir", store_dir, "the daemon's store_dir (dummy paths go here)")
      ->required();
  app.add_option("--layers", layers, "committed layers in the chain");
  app.add_option("--paths", paths, "store-path labels per layer (one chain each)")->delimiter(',');
  app.add_option("--iterations", iterations, "Mounts calls per run and chain");
  app.add_option("--runs", runs, "measured runs");
  app.add_flag("--decode", decode, "decode replies into messages (adds this client's parse time)");
  CLI11_PARSE(app, argc, argv);
  auto target = parseTarget(target_spec);
  if (!target.isOk() || paths.empty() || layers < 1) {
    std::cerr << "mounts_chain_bench: bad arguments: " << target.status().toString() << "\n";
    return 2;
  }
  return run(*target, store_dir, layers, paths, iterations, runs, decode);
}
