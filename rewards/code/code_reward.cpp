// The code execution reward (see code_reward.h): options, ground-truth parsing, one sandboxed run per
// HumanEval row or per stdin/stdout case, and the worker pool that runs them.
#include "rewards/code/code_reward.h"

#include <signal.h>

#include <atomic>
#include <cmath>
#include <functional>
#include <random>
#include <stdexcept>
#include <thread>

#include "rewards/code/code_harness.h"

namespace aha::rewards {

namespace {

using json = nlohmann::json;

// ---- options ----

struct Field {
  const char* key;
  std::function<void(const json&, const std::string& where)> set;
};

double number(const json& v, const std::string& where) {
  if (!v.is_number()) throw std::invalid_argument(where + ": expected a number, got " + v.dump());
  return v.get<double>();
}
int64_t integer(const json& v, const std::string& where) {
  if (!v.is_number_integer()) throw std::invalid_argument(where + ": expected an integer, got " + v.dump());
  return v.get<int64_t>();
}
bool boolean(const json& v, const std::string& where) {
  if (!v.is_boolean()) throw std::invalid_argument(where + ": expected true or false, got " + v.dump());
  return v.get<bool>();
}
std::string string(const json& v, const std::string& where) {
  if (!v.is_string()) throw std::invalid_argument(where + ": expected a string, got " + v.dump());
  return v.get<std::string>();
}
Want want(const json& v, const std::string& where) {
  const std::string s = v.is_string() ? v.get<std::string>() : "";
  if (s == "off") return Want::off;
  if (s == "auto") return Want::when_available;
  if (s == "required") return Want::required;
  throw std::invalid_argument(where + ": expected \"off\", \"auto\" or \"required\", got " + v.dump());
}

void apply(const json& object, const std::vector<Field>& fields, const std::string& where) {
  if (object.is_null()) return;
  std::string allowed;
  for (const Field& f : fields) allowed += (allowed.empty() ? "" : ", ") + std::string(f.key);
  if (!object.is_object())
    throw std::invalid_argument(where + ": expected an object with keys " + allowed + ", got " +
                                object.dump());
  for (const auto& [key, value] : object.items()) {
    const Field* field = nullptr;
    for (const Field& f : fields)
      if (key == f.key) field = &f;
    if (!field)
      throw std::invalid_argument(where + ": unknown option '" + key + "'; allowed options: " + allowed);
    field->set(value, where + ": option '" + key + "'");
  }
}

std::vector<Field> sandbox_fields(SandboxConfig& c) {
  return {
      {"cpu_seconds", [&](const json& v, const std::string& w) { c.cpu_seconds = number(v, w); }},
      {"wall_seconds", [&](const json& v, const std::string& w) { c.wall_seconds = number(v, w); }},
      {"address_space_bytes",
       [&](const json& v, const std::string& w) { c.address_space_bytes = integer(v, w); }},
      {"file_size_bytes", [&](const json& v, const std::string& w) { c.file_size_bytes = integer(v, w); }},
      {"processes", [&](const json& v, const std::string& w) { c.processes = integer(v, w); }},
      {"open_files", [&](const json& v, const std::string& w) { c.open_files = integer(v, w); }},
      {"output_bytes", [&](const json& v, const std::string& w) { c.output_bytes = integer(v, w); }},
      {"python", [&](const json& v, const std::string& w) { c.python = string(v, w); }},
      {"namespaces", [&](const json& v, const std::string& w) { c.namespaces = want(v, w); }},
      {"mount_namespace", [&](const json& v, const std::string& w) { c.mount_namespace = want(v, w); }},
      {"landlock", [&](const json& v, const std::string& w) { c.landlock = want(v, w); }},
      {"seccomp", [&](const json& v, const std::string& w) { c.seccomp = want(v, w); }},
      {"drop_privileges", [&](const json& v, const std::string& w) { c.drop_privileges = want(v, w); }},
      {"uid", [&](const json& v, const std::string& w) { c.uid = static_cast<uint32_t>(integer(v, w)); }},
      {"gid", [&](const json& v, const std::string& w) { c.gid = static_cast<uint32_t>(integer(v, w)); }},
      {"work_root", [&](const json& v, const std::string& w) { c.work_root = string(v, w); }},
      {"read_only_paths",
       [&](const json& v, const std::string& w) {
         if (!v.is_array()) throw std::invalid_argument(w + ": expected an array of paths, got " + v.dump());
         c.read_only_paths.clear();
         for (const json& p : v) c.read_only_paths.push_back(string(p, w));
       }},
  };
}

// ---- one run ----

struct CaseResult {
  CodeOutcome outcome = CodeOutcome::failed;
  std::string reason;
  double seconds = 0;
  uint32_t layers = 0;
  bool ran = false;
  bool output_limited = false;
};

std::string random_nonce() {
  std::random_device device;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string nonce;
  for (int i = 0; i < 4; ++i) {
    const uint32_t word = device();
    for (int shift = 28; shift >= 0; shift -= 4) nonce += kHex[(word >> shift) & 0xf];
  }
  return nonce;
}

std::vector<std::string> python_argv(const Sandbox& sandbox, const CodeOptions& options,
                                     const std::string& source) {
  std::vector<std::string> argv{sandbox.python(), "-I"};
  if (!options.site_packages) argv.push_back("-S");
  argv.push_back("-c");
  argv.push_back(source);
  return argv;
}

std::string seconds_text(double s) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g s", s);
  return buffer;
}

std::string last_line(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  const size_t newline = text.rfind('\n');
  if (newline != std::string_view::npos) text.remove_prefix(newline + 1);
  return std::string(text.substr(0, 300));
}

// The verdict of a run that did not pass: the causes that are not the program's wrong answer first.
bool classify_abnormal(const RunResult& r, const SandboxConfig& config, CaseResult& c) {
  if (!r.error.empty()) {
    c.outcome = CodeOutcome::sandbox_error;
    c.reason = "sandbox: " + r.error;
    return true;
  }
  if (r.timed_out) {
    c.outcome = CodeOutcome::timeout;
    c.reason = "timed out after " + seconds_text(config.wall_seconds) + " of wall clock";
    return true;
  }
  for (const ProcessResult& p : r.processes)
    if (p.signal == SIGXCPU) {
      c.outcome = CodeOutcome::timeout;
      c.reason = "CPU limit of " + seconds_text(config.cpu_seconds);
      return true;
    }
  if (r.output_limited) {
    c.outcome = CodeOutcome::failed;
    c.reason = "output over " + std::to_string(config.output_bytes) + " bytes";
    c.output_limited = true;
    return true;
  }
  return false;
}

CaseResult run_humaneval(const Sandbox& sandbox, const CodeOptions& options, const CodeTask& task,
                         const std::string& program) {
  const std::string nonce = random_nonce();
  using Kind = ChildFd::Kind;
  const ProcessSpec judge{
      python_argv(sandbox, options, judge_source()),
      frame_fields({nonce, task.entry_point, task.prompt, task.test, program}),
      {{3, Kind::report, "", 0}, {4, Kind::pipe_write, "", 0}, {5, Kind::pipe_read, "", 1}}};
  const ProcessSpec candidate{python_argv(sandbox, options, candidate_source()),
                              "",
                              {{4, Kind::pipe_read, "", 0}, {5, Kind::pipe_write, "", 1}}};
  const RunResult r = sandbox.run({judge, candidate});
  CaseResult c;
  c.ran = true;
  c.seconds = r.seconds;
  c.layers = r.layers;
  // A pass is the one line the judge writes after check() returns, and a judge that then exited cleanly
  // in time: a line forged into its pipe is neither alone nor followed by a clean exit.
  if (r.error.empty() && !r.timed_out && r.processes[0].exit_code == 0 &&
      r.report == "PASS " + nonce + "\n") {
    c.outcome = CodeOutcome::passed;
    return c;
  }
  if (classify_abnormal(r, sandbox.config(), c)) return c;
  c.outcome = CodeOutcome::failed;
  if (r.report.starts_with("ERROR ")) {
    c.outcome = CodeOutcome::sandbox_error;
    c.reason = "sandbox: " + last_line(std::string_view(r.report).substr(6));
  } else if (r.report.starts_with("FAIL ")) {
    c.reason = last_line(std::string_view(r.report).substr(5));
  } else {
    const ProcessResult& j = r.processes[0];
    c.reason = "the judge gave no verdict (exit " + std::to_string(j.exit_code) + ", signal " +
               std::to_string(j.signal) + "): " + last_line(j.err);
  }
  return c;
}

CaseResult run_stdio(const Sandbox& sandbox, const CodeOptions& options, const std::string& program,
                     const std::string& input, const std::string& expected) {
  const ProcessSpec spec{
      python_argv(sandbox, options, stdio_source()), input, {{3, ChildFd::Kind::input, program, 0}}};
  const RunResult r = sandbox.run({spec});
  CaseResult c;
  c.ran = true;
  c.seconds = r.seconds;
  c.layers = r.layers;
  if (classify_abnormal(r, sandbox.config(), c)) return c;
  const ProcessResult& p = r.processes[0];
  if (p.signal != 0) {
    c.reason = "killed by signal " + std::to_string(p.signal);
  } else if (p.exit_code != 0) {
    c.reason = "exit code " + std::to_string(p.exit_code) + ": " + last_line(p.err);
  } else if (!outputs_match(p.out, expected, options.float_tolerance)) {
    c.reason = "wrong output";
  } else {
    c.outcome = CodeOutcome::passed;
  }
  return c;
}

}  // namespace

// ---- options ----

void CodeOptions::validate() const {
  if (workers < 1 || workers > 1024)
    throw std::invalid_argument("code reward: workers must be in [1, 1024], got " + std::to_string(workers));
  if (!std::isfinite(fallback_score))
    throw std::invalid_argument("code reward: fallback_score must be finite");
  if (!(float_tolerance >= 0) || !std::isfinite(float_tolerance))
    throw std::invalid_argument("code reward: float_tolerance must be >= 0, got " +
                                std::to_string(float_tolerance));
  // RLIMIT_NPROC counts every process and thread of the sandbox uid, all workers' runs together.
  if (sandbox.processes < 4 * workers)
    throw std::invalid_argument("code reward: sandbox.processes (" + std::to_string(sandbox.processes) +
                                ") must be at least 4 * workers (" + std::to_string(4 * workers) +
                                "): the limit counts every run of the sandbox uid at once");
  sandbox.validate();
}

CodeOptions code_options_from_json(const json& options, const std::string& rule_name) {
  CodeOptions o;
  const std::string where = "reward rule '" + rule_name + "'";
  apply(
      options,
      {
          {"workers",
           [&](const json& v, const std::string& w) { o.workers = static_cast<int>(integer(v, w)); }},
          {"fallback_score", [&](const json& v, const std::string& w) { o.fallback_score = number(v, w); }},
          {"partial_credit", [&](const json& v, const std::string& w) { o.partial_credit = boolean(v, w); }},
          {"float_tolerance", [&](const json& v, const std::string& w) { o.float_tolerance = number(v, w); }},
          {"site_packages", [&](const json& v, const std::string& w) { o.site_packages = boolean(v, w); }},
          {"sandbox", [&](const json& v, const std::string& w) { apply(v, sandbox_fields(o.sandbox), w); }},
      },
      where);
  o.validate();
  return o;
}

const char* outcome_name(CodeOutcome outcome) {
  switch (outcome) {
    case CodeOutcome::passed:
      return "passed";
    case CodeOutcome::failed:
      return "failed";
    case CodeOutcome::timeout:
      return "timeout";
    case CodeOutcome::sandbox_error:
      return "sandbox_error";
  }
  return "?";
}

CodeTask parse_code_task(std::string_view answer) {
  const std::string where = "code reward: answer";
  const json row = json::parse(answer, nullptr, /*allow_exceptions=*/false);
  if (!row.is_object())
    throw std::invalid_argument(where +
                                " must be a JSON object with prompt/test/entry_point (HumanEval) or "
                                "tests: [{input, output}], got: " +
                                std::string(answer.substr(0, 200)));
  CodeTask task;
  auto text = [&](const char* key) {
    if (!row.contains(key) || !row[key].is_string())
      throw std::invalid_argument(where + ": '" + key + "' must be a string");
    return row[key].get<std::string>();
  };
  if (row.contains("entry_point")) {
    task.prompt = text("prompt");
    task.test = text("test");
    task.entry_point = text("entry_point");
    if (task.entry_point.empty()) throw std::invalid_argument(where + ": 'entry_point' is empty");
    return task;
  }
  if (!row.contains("tests") || !row["tests"].is_array() || row["tests"].empty())
    throw std::invalid_argument(where + ": expected 'entry_point' (HumanEval) or a non-empty 'tests' array");
  for (const json& t : row["tests"]) {
    if (!t.is_object() || !t.contains("input") || !t["input"].is_string() || !t.contains("output") ||
        !t["output"].is_string())
      throw std::invalid_argument(where +
                                  ": each of 'tests' must be {\"input\": string, \"output\": string}, got " +
                                  t.dump().substr(0, 200));
    task.cases.emplace_back(t["input"].get<std::string>(), t["output"].get<std::string>());
  }
  return task;
}

// ---- the rule ----

struct CodeRule::Counters {
  std::atomic<uint64_t> batches{0}, completions{0}, passed{0}, failed{0}, timeouts{0}, sandbox_errors{0},
      output_limited{0}, cases_skipped{0};
};

CodeRule::CodeRule(CodeOptions options)
    : options_(std::move(options)), counters_(std::make_unique<Counters>()) {
  options_.validate();
  sandbox_ = std::make_unique<Sandbox>(options_.sandbox);
  if (!sandbox_->probe_error().empty())
    throw std::runtime_error("code reward: Python cannot run in the sandbox: " + sandbox_->probe_error());
}

CodeRule::~CodeRule() = default;

std::vector<double> CodeRule::score_batch(std::span<const RewardInput> inputs) const {
  std::vector<double> scores;
  for (const CodeVerdict& v : judge_batch(inputs)) scores.push_back(v.score);
  return scores;
}

CodeVerdict CodeRule::judge(const RewardInput& input) const {
  return judge_batch({&input, 1})[0];
}

ExternalStats CodeRule::stats() const {
  const CodeStats c = code_stats();
  ExternalStats s;
  s.batches = c.batches;
  s.samples = c.completions;
  s.failed_samples = c.timeouts + c.sandbox_errors;
  s.timeouts = c.timeouts;
  s.start_failures = c.sandbox_errors;
  return s;
}

CodeStats CodeRule::code_stats() const {
  CodeStats s;
  s.batches = counters_->batches;
  s.completions = counters_->completions;
  s.passed = counters_->passed;
  s.failed = counters_->failed;
  s.timeouts = counters_->timeouts;
  s.sandbox_errors = counters_->sandbox_errors;
  s.output_limited = counters_->output_limited;
  s.cases_skipped = counters_->cases_skipped;
  return s;
}

void CodeRule::check_ground_truth(const RewardInput& input) const {
  (void)parse_code_task(input.answer);
}

std::vector<CodeVerdict> CodeRule::judge_batch(std::span<const RewardInput> inputs) const {
  ++counters_->batches;
  // Ground truths first: a malformed one is a data bug and fails the batch before anything runs.
  std::vector<CodeTask> tasks;
  std::vector<std::string> programs;
  struct Job {
    size_t input;
    size_t case_index;
  };
  std::vector<Job> jobs;
  for (size_t i = 0; i < inputs.size(); ++i) {
    tasks.push_back(parse_code_task(inputs[i].answer));
    const CodeTask& t = tasks.back();
    const std::string code = extract_code(inputs[i].completion, t.entry_point);
    programs.push_back(t.humaneval() ? humaneval_program(t.prompt, code, t.entry_point) : code);
    for (size_t k = 0; k < t.cases.size(); ++k)
      if (t.cases[k].second.size() >= static_cast<size_t>(options_.sandbox.output_bytes))
        throw std::invalid_argument("code reward: the expected output of case " + std::to_string(k + 1) +
                                    " is " + std::to_string(t.cases[k].second.size()) +
                                    " bytes, more than sandbox.output_bytes lets a run print; raise it");
    const size_t cases = t.humaneval() ? 1 : t.cases.size();
    for (size_t k = 0; k < cases; ++k) jobs.push_back({i, k});
  }

  std::vector<CaseResult> results(jobs.size());
  const std::unique_ptr<std::atomic<bool>[]> input_failed(new std::atomic<bool>[inputs.size()]());
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t j = next++; j < jobs.size(); j = next++) {
      const Job& job = jobs[j];
      const CodeTask& task = tasks[job.input];
      if (!options_.partial_credit && input_failed[job.input]) continue;  // all-or-nothing: already lost
      CaseResult& c = results[j];
      try {
        c = task.humaneval() ? run_humaneval(*sandbox_, options_, task, programs[job.input])
                             : run_stdio(*sandbox_, options_, programs[job.input],
                                         task.cases[job.case_index].first, task.cases[job.case_index].second);
      } catch (const std::exception& e) {  // resources (memory, fds) ran out here, not in the child
        c.ran = true;
        c.outcome = CodeOutcome::sandbox_error;
        c.reason = std::string("sandbox: ") + e.what();
      }
      if (c.outcome != CodeOutcome::passed) input_failed[job.input] = true;
    }
  };
  const size_t threads = std::min<size_t>(static_cast<size_t>(options_.workers), jobs.size());
  if (threads <= 1) {
    work();
  } else {
    std::vector<std::jthread> pool;
    for (size_t t = 0; t < threads; ++t) pool.emplace_back(work);
  }

  std::vector<CodeVerdict> verdicts(inputs.size());
  for (CodeVerdict& v : verdicts) v.layers = ~0u;
  std::vector<bool> have_failure(inputs.size(), false);
  for (size_t j = 0; j < jobs.size(); ++j) {
    CodeVerdict& v = verdicts[jobs[j].input];
    const CaseResult& c = results[j];
    ++v.cases;
    if (!c.ran) {
      ++counters_->cases_skipped;
      continue;
    }
    v.seconds += c.seconds;
    v.layers &= c.layers;
    if (c.output_limited) ++counters_->output_limited;
    if (c.outcome == CodeOutcome::passed) {
      ++v.cases_passed;
      continue;
    }
    // The first failure in case order names the verdict, unless a later case met a sandbox error.
    const size_t i = jobs[j].input;
    if (!have_failure[i] ||
        (c.outcome == CodeOutcome::sandbox_error && v.outcome != CodeOutcome::sandbox_error)) {
      v.outcome = c.outcome;
      v.reason =
          (tasks[i].humaneval() ? "" : "case " + std::to_string(jobs[j].case_index + 1) + ": ") + c.reason;
    }
    have_failure[i] = true;
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    CodeVerdict& v = verdicts[i];
    if (v.layers == ~0u) v.layers = 0;
    if (!have_failure[i]) {
      v.outcome = CodeOutcome::passed;
      v.score = 1;
    } else if (v.outcome == CodeOutcome::sandbox_error ||
               (v.outcome == CodeOutcome::timeout && !options_.partial_credit)) {
      v.score = options_.fallback_score;
    } else {
      v.score = options_.partial_credit ? static_cast<double>(v.cases_passed) / v.cases : 0.0;
    }
    ++counters_->completions;
    switch (v.outcome) {
      case CodeOutcome::passed:
        ++counters_->passed;
        break;
      case CodeOutcome::failed:
        ++counters_->failed;
        break;
      case CodeOutcome::timeout:
        ++counters_->timeouts;
        break;
      case CodeOutcome::sandbox_error:
        ++counters_->sandbox_errors;
        break;
    }
  }
  return verdicts;
}

std::unique_ptr<Rule> make_code_rule(const json& options) {
  return std::make_unique<CodeRule>(code_options_from_json(options, "code"));
}

}  // namespace aha::rewards
