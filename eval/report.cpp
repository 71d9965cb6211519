// Per-problem output, run summaries and the before/after table (see report.h).
#include "eval/report.h"

#include <cstdio>
#include <sstream>
#include <vector>

namespace aha::eval {
namespace {

std::string format_value(const nlohmann::json& v) {
  if (v.is_null()) return "-";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3f", v.get<double>());
  return buffer;
}

}  // namespace

void write_per_problem(std::ostream& out, const EvalResult& result, const std::string& model) {
  for (const EvalProblemResult& p : result.per_problem) {
    nlohmann::json line = p.to_json();
    if (!model.empty()) line["model"] = model;
    out << line.dump() << "\n";
  }
}

nlohmann::json describe_run(const EvalResult& result, const std::string& model,
                            const nlohmann::json& description, const std::string& template_name,
                            const EvalOptions& options) {
  nlohmann::json summary = result.summary();
  summary["model"] = model;
  summary.update(description);
  summary["template"] = template_name;
  summary["temperature"] = options.generation.sampling.temperature;
  summary["top_p"] = options.generation.sampling.top_p;
  summary["max_new_tokens"] = options.generation.max_new_tokens;
  summary["seed"] = options.seed;
  return summary;
}

std::string comparison_table(const EvalResult& first, const nlohmann::json& before,
                             const nlohmann::json& after) {
  std::vector<std::string> names;
  for (const auto& [k, value] : first.pass_at) names.push_back("pass@" + std::to_string(k));
  names.push_back("maj@" + std::to_string(first.k));
  for (const char* name : {"format_rate", "truncation_rate", "mean_length", "min_length", "max_length"})
    names.push_back(name);
  std::ostringstream table;
  char row[160];
  std::snprintf(row, sizeof row, "%-16s %10s %10s %10s\n", "metric", "before", "after", "change");
  table << row;
  for (const std::string& name : names) {
    if (!before.contains(name) || !after.contains(name)) continue;  // maj@k without an answer key
    const nlohmann::json &b = before[name], &a = after[name];
    std::string change = "-";
    if (b.is_number() && a.is_number()) {
      char d[32];
      std::snprintf(d, sizeof d, "%+.3f", a.get<double>() - b.get<double>());
      change = d;
    }
    std::snprintf(row, sizeof row, "%-16s %10s %10s %10s\n", name.c_str(), format_value(b).c_str(),
                  format_value(a).c_str(), change.c_str());
    table << row;
  }
  return table.str();
}

}  // namespace aha::eval
