// nix_layer_bench: time of Prepare for a Nix layer (label nix-layer=true) whose
// nix-store-path.<i> labels name store paths that are already valid, so the snapshotter
// only checks validity and creates GC roots (issue 2 target: 3,000 paths in under 5 s).
// Each run prepares a fresh key and removes it afterwards (Remove timed separately).
//
//   nix_layer_bench --target ours=/tmp/x/ns.sock,nix --paths-file /tmp/x/paths --runs 5

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "bench/snapshots_client.h"
#include "bench/stats.h"
#include "snapshotter/snapshotter.h"

namespace nixsnap::bench {
namespace {

/// Runs `sh -c cmd`; returns its wall time in seconds, or a negative value on failure.
double timeShell(const std::string& cmd) {
  auto t0 = std::chrono::steady_clock::now();
  int rc = std::system(cmd.c_str());
  double s = secondsSince(t0);
  return rc == 0 ? s : -1;
}

int run(const Target& target, const std::vector<std::string>& paths, int runs,
        const std::string& reference_cmd) {
  Status ready = waitReady(target, 10000);
  if (!ready.isOk()) {
    std::cerr << "nix_layer_bench: " << ready.toString() << "\n";
    return 1;
  }
  SnapshotsClient client(target);
  std::string lease_id;
  if (!target.ns.empty()) {
    auto lease = client.createLease();
    if (!lease.isOk()) {
      std::cerr << "nix_layer_bench: " << lease.status().toString() << "\n";
      return 1;
    }
    client.setLease(*lease);
    lease_id = *lease;
  }
  Labels labels{{snapshotter::kLabelNixLayer, "true"}};
  for (size_t i = 0; i < paths.size(); ++i) {
    labels[std::string(snapshotter::kLabelNixStorePathPrefix) + std::to_string(i)] = paths[i];
  }
  const std::string tag = "nixlayer" + std::to_string(::getpid());
  std::vector<double> prepare_s, remove_s, reference_s;
  for (int r = 0; r < runs; ++r) {
    const std::string key = tag + "-r" + std::to_string(r);
    auto t0 = std::chrono::steady_clock::now();
    Status st = client.prepare(key, "", labels);
    double prep = secondsSince(t0);
    if (!st.isOk()) {
      std::cerr << "nix_layer_bench: prepare " << key << ": " << st.toString() << "\n";
      return 1;
    }
    t0 = std::chrono::steady_clock::now();
    st = client.remove(key);
    double rm = secondsSince(t0);
    if (!st.isOk()) {
      std::cerr << "nix_layer_bench: remove " << key << ": " << st.toString() << "\n";
      return 1;
    }
    prepare_s.push_back(prep);
    remove_s.push_back(rm);
    std::fprintf(stderr, "run %d: prepare %.3f s, remove %.3f s", r + 1, prep, rm);
    if (!reference_cmd.empty()) {
      double ref = timeShell(reference_cmd);
      if (ref < 0) {
        std::cerr << "\nnix_layer_bench: reference command failed: " << reference_cmd << "\n";
        return 1;
      }
      reference_s.push_back(ref);
      std::fprintf(stderr, ", reference %.3f s", ref);
    }
    std::fprintf(stderr, "\n");
  }
  if (!lease_id.empty()) {
    (void)client.deleteLease(lease_id, false);
  }
  auto [mn, mx] = std::minmax_element(prepare_s.begin(), prepare_s.end());
  std::printf("\n== Prepare of a Nix layer with %zu valid store paths (%s): %d runs\n",
              paths.size(), target.label.c_str(), runs);
  std::printf(
      "prepare median %s s (min %s, max %s), %s us/path; remove median %s s\n",
      fixed(median(prepare_s), 3).c_str(), fixed(*mn, 3).c_str(), fixed(*mx, 3).c_str(),
      fixed(median(prepare_s) * 1e6 / static_cast<double>(std::max<size_t>(paths.size(), 1)), 0)
          .c_str(),
      fixed(median(remove_s), 3).c_str());
  if (!reference_s.empty()) {
    std::printf("reference command (interleaved) median %s s; prepare/reference = %s\n",
                fixed(median(reference_s), 3).c_str(),
                fixed(median(prepare_s) / std::max(median(reference_s), 1e-9), 2).c_str());
  }
  return 0;
}

}  // namespace
}  // namespace nixsnap::bench

int main(int argc, char** argv) {
  using namespace nixsnap::bench;
  std::string target_spec, paths_file, reference_cmd;
  int runs = 5;
  CLI::App app{"Prepare time of a Nix layer whose store paths are already valid"};
  app.add_option("--target", target_spec, "LABEL=SOCKET,SNAPSHOTTER[,NAMESPACE]")->required();
  app.add_option("--paths-file", paths_file, "store paths, one per line")->required();
  app.add_option("--runs", runs, "measured runs");
  app.add_option(
      "--reference-cmd", reference_cmd,
      "shell command timed after each run, e.g. one nix-store --realise --add-root call");
  CLI11_PARSE(app, argc, argv);
  auto target = parseTarget(target_spec);
  if (!target.isOk()) {
    std::cerr << "nix_layer_bench: " << target.status().toString() << "\n";
    return 2;
  }
  std::ifstream in(paths_file);
  std::vector<std::string> paths;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) {
      paths.push_back(line);
    }
  }
  if (paths.empty()) {
    std::cerr << "nix_layer_bench: no store paths in " << paths_file << "\n";
    return 2;
  }
  return run(*target, paths, runs, reference_cmd);
}
