// Checkpoint load speed against the page cache's own read speed. Workload: a random-init
// DeepSeek-V3-style policy (MLA + 16 routed experts, 8 layers, 32k vocab: ~284M fp32 parameters,
// ~1.14 GB) written by save_policy twice, as one model.safetensors and in shards of at most --shard-mb,
// into a temporary directory removed at exit. Baseline, measured in the same run on the same files with a
// warm cache: `cat FILES > /dev/null`. Each row prints the first run and the best of --repeats runs:
//   owned          load_checkpoint_tensors(dir) (TensorStorage::kOwned: fresh memory per tensor), in
//                  this process and in a new one (no allocator memory to reuse: a load at startup)
//   mapped + copy  load_checkpoint_tensors(dir, kMapped), then every tensor copied into an existing
//                  tensor of its shape (what a load into a model of another dtype costs)
//   load_policy    the whole thing (the model adopts the mapped pages of same-dtype tensors), and
//                  Transformer(config) alone (allocation only: parameters are not initialised)
//   load_policy + reading every weight once: a sum over each parameter after load_policy, so every byte
//                  comes through the page cache as with cat
// Target: reading the weights within 2x of cat. Run from the repository root, like the other benches:
//   build/bench/bench_load [--repeats 3] [--shard-mb 256] [--dir /tmp] [--tokenizer PATH]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "policy/checkpoint.h"

namespace {

namespace fs = std::filesystem;
using namespace aha;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The first run and the best of `repeats`. The first load in a process pays for fresh pages (the kernel
// zeroes and maps every 4 kB of every new tensor); later ones may reuse memory the allocator kept.
struct Timing {
  double first = 0, best = 1e30;
};

Timing time_runs(int repeats, const std::function<void()>& run) {
  Timing t;
  for (int i = 0; i < repeats; ++i) {
    const auto start = std::chrono::steady_clock::now();
    run();
    const double s = seconds_since(start);
    if (i == 0) t.first = s;
    t.best = std::min(t.best, s);
  }
  return t;
}

policy::ModelConfig bench_config() {
  policy::ModelConfig c;
  c.vocab_size = 32000;
  c.hidden_size = 1024;
  c.intermediate_size = 2816;
  c.moe_intermediate_size = 512;
  c.num_hidden_layers = 8;
  c.num_attention_heads = 16;
  c.q_lora_rank = 384;
  c.kv_lora_rank = 256;
  c.qk_nope_head_dim = 64;
  c.qk_rope_head_dim = 32;
  c.v_head_dim = 64;
  c.n_routed_experts = 16;
  c.n_shared_experts = 1;
  c.num_experts_per_tok = 2;
  c.n_group = 4;
  c.topk_group = 2;
  c.first_k_dense_replace = 1;
  c.max_position_embeddings = 4096;
  c.eos_token_id = 0;
  return c;
}

std::vector<fs::path> safetensors_files(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().extension() == ".safetensors") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

void cat_to_null(const std::vector<fs::path>& files) {
  std::string command = "cat";
  for (const fs::path& f : files) command += " '" + f.string() + "'";
  command += " > /dev/null";
  if (std::system(command.c_str()) != 0) throw std::runtime_error("failed: " + command);
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown CPU";
}

struct TempRoot {
  fs::path path;
  ~TempRoot() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

}  // namespace

// Seconds one owned load_checkpoint_tensors(dir) takes in a new process (`bench_load --load-once DIR`).
double load_in_new_process(const char* self, const fs::path& dir) {
  const std::string command = std::string(self) + " --load-once '" + dir.string() + "'";
  FILE* out = ::popen(command.c_str(), "r");
  double s = -1;
  if (out == nullptr || std::fscanf(out, "%lf", &s) != 1 || ::pclose(out) != 0 || s < 0)
    throw std::runtime_error("failed: " + command);
  return s;
}

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--load-once") {
    torch::set_num_threads(1);
    const auto start = std::chrono::steady_clock::now();
    policy::load_checkpoint_tensors(argv[2]);
    std::printf("%.6f\n", seconds_since(start));
    return 0;
  }
  int repeats = 3;
  uint64_t shard_mb = 256;
  fs::path parent = fs::temp_directory_path(), tokenizer = "examples/tiny/tokenizer.json";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--repeats") {
      repeats = std::stoi(argv[i + 1]);
    } else if (flag == "--shard-mb") {
      shard_mb = std::stoull(argv[i + 1]);
    } else if (flag == "--dir") {
      parent = argv[i + 1];
    } else if (flag == "--tokenizer") {
      tokenizer = argv[i + 1];
    } else {
      std::cerr << "unknown flag " << flag
                << " (expected --repeats N, --shard-mb MB, --dir PATH, --tokenizer PATH)\n";
      return 2;
    }
  }
  torch::set_num_threads(1);  // measure the loader, not torch's thread pool
  TempRoot root{parent / ("aha-bench-load-" + std::to_string(::getpid()))};
  fs::create_directories(root.path);
  const fs::path one = root.path / "one", sharded = root.path / "sharded";

  const policy::ModelConfig config = bench_config();
  int64_t parameters = 0;
  double save_one = 0, save_sharded = 0;
  {
    policy::Transformer model(config);
    model->init_weights(1);
    for (const auto& p : model->parameters()) parameters += p.numel();
    auto start = std::chrono::steady_clock::now();
    policy::save_policy(*model, tokenizer, one, {}, /*max_shard_bytes=*/0);
    save_one = seconds_since(start);
    start = std::chrono::steady_clock::now();
    policy::save_policy(*model, tokenizer, sharded, {}, shard_mb * 1'000'000);
    save_sharded = seconds_since(start);
  }
  const std::vector<fs::path> one_files = safetensors_files(one), shard_files = safetensors_files(sharded);
  uint64_t bytes = 0;
  for (const fs::path& f : one_files) bytes += fs::file_size(f);
  const double gb = static_cast<double>(bytes) / 1e9;

  std::printf(
      "workload: DeepSeek-V3-style policy, %.1fM fp32 parameters, %.3f GB of safetensors; one file, "
      "and %zu shards of <= %llu MB\n",
      static_cast<double>(parameters) / 1e6, gb, shard_files.size(),
      static_cast<unsigned long long>(shard_mb));
  std::printf("machine: %s, %ld cores; torch threads 1; warm page cache; %d runs each\n", cpu_model().c_str(),
              ::sysconf(_SC_NPROCESSORS_ONLN), repeats);
  std::printf("save_policy: %.3f s one file, %.3f s sharded (write + fsync)\n\n", save_one, save_sharded);

  // Destination tensors for "mapped + copy", touched once so the copies land in mapped memory.
  policy::TensorMap destination = policy::load_checkpoint_tensors(one);
  auto mapped_copy = [&](const fs::path& dir) {
    for (const auto& [name, t] : policy::load_checkpoint_tensors(dir, policy::TensorStorage::kMapped))
      destination.at(name).copy_(t);
  };

  cat_to_null(one_files);  // warm the cache
  cat_to_null(shard_files);
  const Timing cat_one = time_runs(repeats, [&] { cat_to_null(one_files); });
  const Timing owned_one = time_runs(repeats, [&] { policy::load_checkpoint_tensors(one); });
  Timing owned_new_process;
  for (int i = 0; i < repeats; ++i) {
    const double s = load_in_new_process(argv[0], one);
    if (i == 0) owned_new_process.first = s;
    owned_new_process.best = std::min(owned_new_process.best, s);
  }
  const Timing mapped_one = time_runs(repeats, [&] { mapped_copy(one); });
  const Timing cat_sharded = time_runs(repeats, [&] { cat_to_null(shard_files); });
  const Timing owned_sharded = time_runs(repeats, [&] { policy::load_checkpoint_tensors(sharded); });
  const Timing mapped_sharded = time_runs(repeats, [&] { mapped_copy(sharded); });
  destination.clear();
  const Timing construct = time_runs(repeats, [&] { policy::Transformer model(config); });
  const Timing policy_one = time_runs(repeats, [&] { policy::load_policy(one); });
  // load_policy adopts the file's pages without reading them; this row reads every weight once as well
  // (a sum over each parameter), so every byte is pulled from the page cache as cat does.
  double checksum = 0;
  const Timing policy_read = time_runs(repeats, [&] {
    auto loaded = policy::load_policy(one);
    for (const auto& p : loaded.model->parameters()) checksum += p.sum().item<double>();
  });

  std::printf("%-44s %9s %9s %10s %9s\n", "", "first", "best", "best GB/s", "best/cat");
  auto row = [&](const char* what, const Timing& t, const Timing& baseline) {
    std::printf("%-44s %7.3f s %7.3f s %10.2f %8.2fx\n", what, t.first, t.best, gb / t.best,
                t.best / baseline.best);
  };
  row("cat model.safetensors > /dev/null", cat_one, cat_one);
  row("owned load_checkpoint_tensors, one file", owned_one, cat_one);
  row("  the same in a new process", owned_new_process, cat_one);
  row("mapped load_checkpoint_tensors + copy", mapped_one, cat_one);
  row("cat model-0000*.safetensors > /dev/null", cat_sharded, cat_sharded);
  row("owned load_checkpoint_tensors, shards", owned_sharded, cat_sharded);
  row("mapped load_checkpoint_tensors + copy, shards", mapped_sharded, cat_sharded);
  row("load_policy, one file", policy_one, cat_one);
  row("  of which Transformer(config) alone", construct, cat_one);
  row("load_policy + reading every weight once", policy_read, cat_one);
  std::printf("load_policy minus Transformer(config): %.3f s = %.2fx cat\n", policy_one.best - construct.best,
              (policy_one.best - construct.best) / cat_one.best);
  std::printf("(checksum %.6g)\n", checksum);
  return 0;
}
