// `aha eval`: held-out evaluation of a model on the arith task or a standard benchmark, of two models on
// the same problems and seeds (--compare), or of completions made elsewhere (--responses).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "eval/sources.h"

namespace aha::cli {

// Unset optionals take the defaults of the problem source (eval/sources.h): the arith task keeps the
// trainer's held-out eval (eval::HeldOutDefaults: compact template, temperature 1.0, top-p 1.0, 48 new
// tokens, 200 problems), so `aha eval` reproduces a run's eval_before/eval_after; benchmarks use
// DeepSeek-R1's sampling (eval::BenchmarkDefaults: temperature 0.6, top-p 0.95, the r1zero template, 4096
// new tokens and every problem of the file). Each numeric option's range (samples, batch, workers >= 1,
// problems >= 0, temperature, top-p, seed) is checked by the option parser in cli/main.cpp.
struct EvalArgs {
  std::string model, compare;      // model directories; compare: a second model ("after")
  std::string task, benchmark;     // exactly one of these or source names the problems (or, with responses, the verifier)
  std::string source;              // a data source as data.eval writes it: JSON object or string
  std::string verifier;            // with source: the grading rule ("" : the source's natural one)
  std::string data;                // benchmark file instead of its default under ../shared/data
  std::string responses;           // JSONL of completions made elsewhere: no model
  std::string split = "test";      // arith only
  std::optional<std::string> template_name;  // preset, "chat", or text with {question}
  int64_t samples = eval::HeldOutDefaults::samples;
  std::optional<int64_t> problems;  // 0: all
  uint64_t seed = eval::HeldOutDefaults::seed;  // problems and samples
  std::optional<double> temperature, top_p;
  std::optional<int64_t> max_new_tokens;
  std::vector<std::string> stop;
  int64_t batch = 64;  // prompts per generation batch
  int workers = 1;     // grading threads; sandboxed runs at a time for code
  std::string out;     // per-problem JSONL
  std::string device = "cpu", dtype;  // where the model runs; its weights' dtype ("": the checkpoint's)
};

int cmd_eval(const EvalArgs& args);

}  // namespace aha::cli
