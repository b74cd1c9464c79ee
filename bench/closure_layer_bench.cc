// closure_layer_bench: the closure-layer format (issue 10) through the daemon's socket.
//  1. Prepare of a layer labelled containerd.io/snapshot/nix-closure=<closureInfo> whose
//     closure is already valid (one realise, one GC root, one closure query, the
//     store-paths check), then Remove; each run uses a fresh key (Remove drops the cached
//     file, so every Prepare reads and checks it again). Target: 10,000 paths < 0.2 s,
//     Remove < 50 ms.
//  2. Mounts on top of a chain of committed closure layers, one closureInfo per layer
//     (bottom first), e.g. 16 x 1,000 paths = 16,000 binds. Target: < 10 ms.
//
//   closure_layer_bench --target ours=/tmp/x/ns.sock,nix --closure /nix/store/...-closure-info
//                       --chain-file /tmp/x/chain --runs 5 --iterations 200

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "bench/snapshots_client.h"
#include "bench/stats.h"
#include "snapshotter/snapshotter.h"

namespace nixsnap::bench {
namespace {

Labels closureLabels(const std::string& closure) {
  return {{snapshotter::kLabelNixClosure, closure}};
}

int prepareRemove(SnapshotsClient& client, const std::string& closure, int runs,
                  const std::string& tag) {
  std::vector<double> prepare_s, remove_s;
  for (int r = 0; r < runs; ++r) {
    const std::string key = tag + "-prep-r" + std::to_string(r);
    auto t0 = std::chrono::steady_clock::now();
    Status st = client.prepare(key, "", closureLabels(closure));
    double prep = secondsSince(t0);
    if (!st.isOk()) {
      std::cerr << "closure_layer_bench: prepare " << key << ": " << st.toString() << "\n";
      return 1;
    }
    t0 = std::chrono::steady_clock::now();
    st = client.remove(key);
    double rm = secondsSince(t0);
    if (!st.isOk()) {
      std::cerr << "closure_layer_bench: remove " << key << ": " << st.toString() << "\n";
      return 1;
    }
    prepare_s.push_back(prep);
    remove_s.push_back(rm);
    std::fprintf(stderr, "run %d: prepare %.3f s, remove %.4f s\n", r + 1, prep, rm);
  }
  auto [mn, mx] = std::minmax_element(prepare_s.begin(), prepare_s.end());
  std::printf("\n== Prepare of a closure layer (%s): %d runs\n", closure.c_str(), runs);
  std::printf("prepare median %s s (min %s, max %s); remove median %s s (max %s)\n",
              fixed(median(prepare_s), 3).c_str(), fixed(*mn, 3).c_str(), fixed(*mx, 3).c_str(),
              fixed(median(remove_s), 4).c_str(),
              fixed(*std::max_element(remove_s.begin(), remove_s.end()), 4).c_str());
  return 0;
}

int chainMounts(SnapshotsClient& client, const std::vector<std::string>& closures, int iterations,
                int runs, const std::string& tag) {
  std::vector<std::string> keys;
  std::string parent;
  int rc = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (size_t l = 0; l < closures.size() && rc == 0; ++l) {
    std::string name = tag + "-chain-l" + std::to_string(l);
    Status st = client.prepare(name + "-active", parent, closureLabels(closures[l]));
    if (st.isOk()) {
      st = client.commit(name, name + "-active", closureLabels(closures[l]));
    }
    if (!st.isOk()) {
      std::cerr << "closure_layer_bench: layer " << name << ": " << st.toString() << "\n";
      rc = 1;
      break;
    }
    keys.push_back(name);
    parent = name;
  }
  std::string top = tag + "-chain-top";
  size_t want = 0;
  if (rc == 0) {
    Status st = client.prepare(top, parent, {}, &want);
    if (!st.isOk()) {
      std::cerr << "closure_layer_bench: prepare top: " << st.toString() << "\n";
      rc = 1;
    }
  }
  double build_s = secondsSince(t0);
  std::vector<double> p50, p99;
  for (int r = -1; r < runs && rc == 0; ++r) {  // run -1 warms up
    Samples s;
    for (int i = 0; i < iterations; ++i) {
      size_t n = 0;
      auto t = std::chrono::steady_clock::now();
      Status st = client.mountsRaw(top, &n);
      s.add(std::chrono::steady_clock::now() - t);
      if (!st.isOk() || n != want) {
        std::cerr << "closure_layer_bench: mounts: " << st.toString() << " (" << n
                  << " mounts, want " << want << ")\n";
        rc = 1;
        break;
      }
    }
    if (r >= 0 && rc == 0) {
      p50.push_back(s.percentile(0.5));
      p99.push_back(s.percentile(0.99));
      std::fprintf(stderr, "run %d: mounts p50 %.1f us\n", r + 1, s.percentile(0.5));
    }
  }
  if (rc == 0) {
    std::printf(
        "\n== Mounts on top of %zu closure layers (%zu mounts): medians of %d runs x %d calls\n",
        closures.size(), want, runs, iterations);
    std::printf(
        "p50 %s us, p99 %s us; chain build (prepare+commit of every layer, prepare of the "
        "top with its mountpoints) %s s\n",
        fixed(median(p50), 1).c_str(), fixed(median(p99), 1).c_str(), fixed(build_s, 2).c_str());
  }
  (void)client.remove(top);
  for (auto it = keys.rbegin(); it != keys.rend(); ++it) {
    (void)client.remove(*it);
  }
  return rc;
}

}  // namespace
}  // namespace nixsnap::bench

int main(int argc, char** argv) {
  using namespace nixsnap::bench;
  std::string target_spec, closure, chain_file;
  int runs = 5, iterations = 200;
  CLI::App app{"Prepare, Remove and Mounts of closure-format Nix layers"};
  app.add_option("--target", target_spec, "LABEL=SOCKET,SNAPSHOTTER[,NAMESPACE]")->required();
  app.add_option("--closure", closure, "closureInfo store path for the Prepare/Remove figure");
  app.add_option("--chain-file", chain_file,
                 "closureInfo store paths, one per layer, bottom first");
  app.add_option("--runs", runs, "measured runs");
  app.add_option("--iterations", iterations, "Mounts calls per run");
  CLI11_PARSE(app, argc, argv);
  auto target = parseTarget(target_spec);
  if (!target.isOk()) {
    std::cerr << "closure_layer_bench: " << target.status().toString() << "\n";
    return 2;
  }
  std::vector<std::string> chain;
  if (!chain_file.empty()) {
    std::ifstream in(chain_file);
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) {
        chain.push_back(line);
      }
    }
  }
  nixsnap::Status ready = waitReady(*target, 10000);
  if (!ready.isOk()) {
    std::cerr << "closure_layer_bench: " << ready.toString() << "\n";
    return 1;
  }
  SnapshotsClient client(*target);
  const std::string tag = "closure" + std::to_string(::getpid());
  int rc = 0;
  if (!closure.empty()) {
    rc = prepareRemove(client, closure, runs, tag);
  }
  if (rc == 0 && !chain.empty()) {
    rc = chainMounts(client, chain, iterations, runs, tag);
  }
  return rc;
}
