// Encode throughput (MB of UTF-8 per second) of aha's tokenizer on the real DeepSeek-V3 and Qwen2
// tokenizer.json files, over every question/answer/solution/prompt/test text of ../shared/data (the texts
// test_tokenizer_real checks against HF, without its edge cases). One warm-up pass fills the BPE word cache,
// then the best of REPEATS passes is reported: one thread calling encode() per text, and the texts split over
// all hardware threads (encode is thread-safe). The HF `tokenizers` baseline on the same texts is
//   ~/.cache/aha/venv/bin/python scripts/make_real_tokenizer_fixtures.py --bench-hf
// run in the same session (BENCHMARKS.md has both); this program prints only aha's side.
//   build/bench/bench_tokenizer [REPEATS] [FIXTURE_DIR] [SHARED_DATA]
// (run from the repository root; defaults 3, tests/fixtures/real_tokenizers, ../shared/data)
#include <zlib.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "policy/tokenizer.h"

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string read_maybe_gzip(const fs::path& path) { return aha::policy::read_file_maybe_gzip(path); }

// The shared-data texts, in the order and with the fields the fixture header lists.
std::vector<std::string> shared_texts(const fs::path& fixtures, const fs::path& shared_data) {
  const std::string ids = read_maybe_gzip(fixtures / "deepseek_v3.ids.jsonl.gz");
  const json header = json::parse(ids.substr(0, ids.find('\n')));
  std::vector<std::string> texts;
  for (const auto& [source, info] : header.at("sources").items()) {
    if (source == "edge") continue;
    std::istringstream lines(read_maybe_gzip(shared_data / info.at("file").get<std::string>()));
    for (std::string line; std::getline(lines, line);) {
      if (line.empty()) continue;
      const json row = json::parse(line);
      for (const json& field : info.at("fields")) texts.push_back(row.at(field.get<std::string>()));
    }
  }
  return texts;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Best wall time of `repeats` runs of `pass`, after one untimed warm-up run.
template <typename Pass>
double best_of(int repeats, Pass&& pass) {
  pass();
  double best = 1e30;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    pass();
    best = std::min(best, seconds_since(t0));
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  const int repeats = argc > 1 ? std::max(1, std::atoi(argv[1])) : 3;
  const fs::path fixtures = argc > 2 ? argv[2] : "tests/fixtures/real_tokenizers";
  const fs::path shared_data = argc > 3 ? argv[3] : "../shared/data";
  const unsigned threads = std::max(1u, std::thread::hardware_concurrency());

  const std::vector<std::string> texts = shared_texts(fixtures, shared_data);
  size_t bytes = 0;
  for (const std::string& t : texts) bytes += t.size();
  const double mb = static_cast<double>(bytes) / 1e6;
  std::printf(
      "bench_tokenizer: %zu texts of ../shared/data, %.2f MB; best of %d passes after 1 warm-up; "
      "%u hardware threads\n",
      texts.size(), mb, repeats, threads);

  for (const std::string name : {"deepseek_v3", "qwen2"}) {
    auto t0 = std::chrono::steady_clock::now();
    const aha::policy::Tokenizer tok = aha::policy::Tokenizer::load(fixtures / (name + ".tokenizer.json.gz"));
    const double load_s = seconds_since(t0);

    size_t n_ids = 0;
    const double one = best_of(repeats, [&] {
      n_ids = 0;
      for (const std::string& t : texts) n_ids += tok.encode(t).size();
    });
    const double many = best_of(repeats, [&] {
      std::vector<std::thread> pool;
      for (unsigned w = 0; w < threads; ++w) {
        pool.emplace_back([&, w] {
          for (size_t i = w; i < texts.size(); i += threads) tok.encode(texts[i]);
        });
      }
      for (std::thread& th : pool) th.join();
    });
    std::printf(
        "%-12s load %.2f s | %zu ids | 1 thread: %.3f s  %.2f MB/s  %.0f ids/s | %u threads: %.3f s  "
        "%.2f MB/s\n",
        name.c_str(), load_s, n_ids, one, mb / one, static_cast<double>(n_ids) / one, threads, many,
        mb / many);
  }
  return 0;
}
