// Benchmark of the math answer checkers (rewards/math/math_rule.h, rewards/gsm8k.h) on real data, against
// HuggingFace Math-Verify on the same inputs in the same run (scripts/bench_math_verify.py, run through
// --python when given). One thread on both sides. Workloads:
//   gsm8k: the 5,276 labelled model solutions of ../shared/data/verifier/gsm8k_model_solutions.jsonl,
//          each scored against its ground truth ("A: 18"), by the gsm8k rule and by the math rule;
//   math500: the 500 MATH-500 reference solutions (without their "The answer is:" tail) scored by the
//          math rule against the answer after that tail.
// Each workload repeats until --seconds have passed; the rate is completions per second, gold
// preparation included (both sides parse the gold per completion). Agreement with the human labels is
// printed too, so a faster but wronger checker shows.
//
//   build/bench/bench_math [--data ../shared/data] [--seconds 2] [--python ~/.cache/aha/venv/bin/python]
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "rewards/gsm8k.h"
#include "rewards/math/math_rule.h"

namespace {

using aha::rewards::RewardInput;
using aha::rewards::Rule;
using json = nlohmann::json;

struct Workload {
  std::string name;
  std::vector<RewardInput> inputs;
  std::vector<int> labels;  // 1/0 human label where known, -1 otherwise
};

std::vector<json> read_jsonl(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path + " (pass --data DIR, the shared data folder)");
  std::vector<json> rows;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) rows.push_back(json::parse(line));
  return rows;
}

Workload gsm8k_workload(const std::string& data) {
  Workload w{"gsm8k model solutions", {}, {}};
  for (const json& row : read_jsonl(data + "/verifier/gsm8k_model_solutions.jsonl")) {
    for (const char* model : {"6b_finetuning", "6b_verification", "175b_finetuning", "175b_verification"}) {
      w.inputs.push_back(
          RewardInput{row.at("question"), row.at(model).at("solution"), row.at("ground_truth")});
      w.labels.push_back(row.at(model).at("is_correct").get<bool>() ? 1 : 0);
    }
  }
  return w;
}

Workload math500_workload(const std::string& data) {
  Workload w{"MATH-500 reference solutions", {}, {}};
  for (const json& row : read_jsonl(data + "/math500/test.jsonl")) {
    const std::string solution = row.at("answer");
    const size_t tail = solution.rfind("The answer is:");
    w.inputs.push_back(RewardInput{row.at("question"), solution.substr(0, tail), solution.substr(tail + 14)});
    w.labels.push_back(1);  // a reference solution is right by construction
  }
  return w;
}

struct Measured {
  double per_second = 0;
  size_t agree = 0;
};

Measured measure(const Rule& rule, const Workload& w, double seconds) {
  using clock = std::chrono::steady_clock;
  Measured m;
  for (size_t k = 0; k < w.inputs.size(); ++k)
    if ((rule.score(w.inputs[k]) == 1.0) == (w.labels[k] == 1)) ++m.agree;
  size_t done = 0;
  const auto start = clock::now();
  double elapsed = 0;
  double sink = 0;
  do {
    for (const RewardInput& input : w.inputs) sink += rule.score(input);
    done += w.inputs.size();
    elapsed = std::chrono::duration<double>(clock::now() - start).count();
  } while (elapsed < seconds);
  if (sink < 0) std::cout << "";  // keep the loop from being optimised away
  m.per_second = static_cast<double>(done) / elapsed;
  return m;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown CPU";
}

// Runs scripts/bench_math_verify.py and returns its JSON report, or null when it cannot be run.
json run_baseline(const std::string& python, const std::string& data) {
  const std::string command =
      python + " " + std::string(AHA_SOURCE_DIR) + "/scripts/bench_math_verify.py --json --data " + data;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return nullptr;
  std::string out;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  if (pclose(pipe) != 0) {
    std::cerr << "baseline failed: " << command << "\n";
    return nullptr;
  }
  // The report is the last line.
  while (!out.empty() && out.back() == '\n') out.pop_back();
  const size_t newline = out.rfind('\n');
  const json report =
      json::parse(newline == std::string::npos ? out : out.substr(newline + 1), nullptr, false);
  return report.is_object() ? report : json(nullptr);
}

}  // namespace

int main(int argc, char** argv) {
  std::string data = std::string(AHA_SOURCE_DIR) + "/../shared/data";
  std::string python;
  double seconds = 2.0;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--data" && i + 1 < argc) {
      data = argv[++i];
    } else if (arg == "--seconds" && i + 1 < argc) {
      seconds = std::stod(argv[++i]);
    } else if (arg == "--python" && i + 1 < argc) {
      python = argv[++i];
    } else {
      std::cerr << "usage: bench_math [--data DIR] [--seconds S] [--python PYTHON]\n";
      return 2;
    }
  }
  const Workload gsm8k = gsm8k_workload(data);
  const Workload math500 = math500_workload(data);
  const auto gsm8k_rule = aha::rewards::make_gsm8k_rule(nullptr);
  const auto math_rule = aha::rewards::make_math_rule(nullptr);

  std::cout << "bench_math: answer checking on one thread, gold parsed per completion on both sides\n"
            << "machine: " << cpu_model() << ", " << std::thread::hardware_concurrency()
            << " hardware threads\n"
            << "data: " << data << "\n";
  const json baseline = python.empty() ? json(nullptr) : run_baseline(python, data);
  if (!python.empty() && baseline.is_null())
    std::cout << "baseline: could not run Math-Verify with " << python << "\n";
  if (baseline.is_object())
    std::cout << "baseline: Math-Verify " << baseline.value("version", "?")
              << " (verify(parse(gold), parse(completion)))"
              << "\n";

  struct Line {
    const char* label;
    const Rule& rule;
    const Workload& workload;
    const char* baseline_key;  // null: no Math-Verify counterpart
  };
  const Line lines[] = {
      {"gsm8k rule", *gsm8k_rule, gsm8k, "gsm8k"},
      {"math rule", *math_rule, gsm8k, "gsm8k"},
      {"math rule", *math_rule, math500, "math500"},
  };
  std::printf("%-30s %-11s %7s %14s %12s %16s %12s %8s\n", "workload", "checker", "items", "aha items/s",
              "aha agree", "Math-Verify /s", "MV agree", "ratio");
  for (const Line& line : lines) {
    const Measured m = measure(line.rule, line.workload, seconds);
    const size_t n = line.workload.inputs.size();
    std::printf("%-30s %-11s %7zu %14.0f %7zu/%-4zu", line.workload.name.c_str(), line.label, n, m.per_second,
                m.agree, n);
    if (baseline.is_object() && baseline.contains(line.baseline_key)) {
      const json& b = baseline.at(line.baseline_key);
      const double rate = b.at("per_second").get<double>();
      std::printf(" %16.1f %7d/%-4zu %7.0fx\n", rate, b.at("agree").get<int>(), n, m.per_second / rate);
    } else {
      std::printf("\n");
    }
  }
  std::printf("agree: the score matches the human label (GSM8K) or is 1 (a MATH-500 reference solution).\n");
  return 0;
}
