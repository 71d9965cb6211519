// How a held-out evaluation is written out: the per-problem JSONL (one EvalProblemResult::to_json() line per
// problem), the run summary (EvalResult::summary() with what produced it: model, problem source, template,
// sampling, seed) and the before/after table of two models on the same problems and seeds.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "eval/evaluate.h"

namespace aha::eval {

// One line per problem; `model` non-empty adds a "model" field (to tell two models' lines apart).
void write_per_problem(std::ostream& out, const EvalResult& result, const std::string& model);

// result.summary() plus "model", the source's description fields ({"task", "split"} or {"benchmark",
// "data"}), "template", "temperature", "top_p", "max_new_tokens" and "seed" from `options`.
nlohmann::json describe_run(const EvalResult& result, const std::string& model,
                            const nlohmann::json& description, const std::string& template_name,
                            const EvalOptions& options);

// A fixed-width text table, one row per metric: name, before, after, change (after - before, "%+.3f";
// "-" where either side is null). Rows: pass@j in increasing j (as `first` reports them), maj@k, the format
// and truncation rates, mean/min/max length; a metric missing from either summary (maj@k without an answer
// key) has no row.
std::string comparison_table(const EvalResult& first, const nlohmann::json& before,
                             const nlohmann::json& after);

}  // namespace aha::eval
