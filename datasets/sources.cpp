// Data sources and field mapping; see sources.h.
#include "datasets/sources.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "common/json_fields.h"
#include "datasets/benchmarks.h"
#include "datasets/countdown.h"
#include "datasets/jsonl.h"
#include "datasets/parquet.h"

namespace aha::datasets {
namespace fs = std::filesystem;
namespace {

constexpr size_t kMaxSkipReasons = 5;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_known(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::string trimmed(const std::string& text) {
  const size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(" \t\r\n") - begin + 1);
}

bool is_data_file(const std::string& path) {
  for (const char* ext : {".jsonl", ".jsonl.gz", ".json", ".json.gz", ".parquet"})
    if (ends_with(path, ext)) return true;
  return false;
}

// The mapping a preset stands for; "" is the plain default mapping.
FieldMapping preset_mapping(const std::string& preset) {
  FieldMapping m;
  if (preset.empty()) return m;
  if (preset == "gsm8k") {
    m.prompt_key = "question";
    m.answer_format = "gsm8k";
  } else if (preset == "math") {
    m.prompt_key = "problem";
    m.answer_key = "solution";
  } else if (preset == "countdown") {
    m.prompt_key = "";
    m.answer_fields = {{"numbers", "nums"}, {"target", "target"}};
    m.question = "countdown";
  } else if (preset == "humaneval") {
    m.answer_fields = {{"prompt", "prompt"}, {"test", "test"}, {"entry_point", "entry_point"}};
    m.id_key = "task_id";
  } else if (preset == "mbpp") {
    m.prompt_key = "text";
    m.answer_fields = {{"tests", "test_list"}};
    m.question = "mbpp";
    m.id_key = "task_id";
  } else if (preset == "code_io") {
    m.answer_fields = {{"tests", "tests"}};
  } else if (preset == "verl") {
    m.answer_key = "reward_model.ground_truth";
    m.id_key = "extra_info.index";
  } else {
    throw std::invalid_argument("unknown preset \"" + preset + "\"; allowed: " + joined(mapping_presets()));
  }
  return m;
}

struct SourceFields {  // the keys of a source object, listed once (common/json_fields.h)
  SourceSpec& s;
  std::string path, benchmark, generator;

  template <class F>
  void fields(F& f) {
    f("path", path);
    f("benchmark", benchmark);
    f("generator", generator);
    f("name", s.name);
    f("weight", s.weight);
    f("split", s.split);
    f("size", s.size);
    f("options", s.options);
    f("preset", s.preset);
    f("prompt_key", s.mapping.prompt_key);
    f("answer_key", s.mapping.answer_key);
    f("answer_fields", s.mapping.answer_fields);
    f("answer_format", s.mapping.answer_format);
    f("data_source_key", s.mapping.data_source_key);
    f("id_key", s.mapping.id_key);
    f("question", s.mapping.question);
  }
};

void validate(const SourceSpec& s, const std::string& where) {
  auto require = [&](bool ok, const std::string& message) {
    if (!ok) throw std::invalid_argument(where + "." + message);
  };
  require(std::isfinite(s.weight) && s.weight > 0, "weight: must be > 0 and finite");
  require(s.size >= 0, "size: must be >= 0 (0: every problem)");
  require(s.split.empty() || s.split == "train" || s.split == "test", "split: expected \"train\" or \"test\"");
  require(s.options.is_object(), "options: expected an object of the generator's options");
  const FieldMapping& m = s.mapping;
  require(m.answer_format == "raw" || m.answer_format == "gsm8k" || m.answer_format.rfind("after:", 0) == 0,
          "answer_format: expected raw, gsm8k or after:<marker>, got \"" + m.answer_format + "\"");
  require(m.answer_format != "after:", "answer_format: after:<marker> needs a marker");
  require(m.question.empty() || m.question == "countdown" || m.question == "mbpp",
          "question: expected \"\", \"countdown\" or \"mbpp\"");
  require(m.question != "mbpp" || m.answer_fields.contains("tests"),
          "question: mbpp builds the tests from answer_fields \"tests\" (a list of assert statements)");
  require(m.answer_fields.is_null() || (m.answer_fields.is_object() && !m.answer_fields.empty()),
          "answer_fields: expected an object {\"<answer key>\": \"<row field>\", ...}");
  for (const auto& [key, path] : m.answer_fields.items())
    require(path.is_string() && !path.get<std::string>().empty(),
            "answer_fields." + key + ": expected a row field name");
  require(m.question == "countdown" || !m.prompt_key.empty(),
          "prompt_key: must name the row's prompt field (or set question: countdown)");
  require(m.question != "countdown" || (m.answer_fields.contains("numbers") && m.answer_fields.contains("target")),
          "question: countdown builds the question from answer_fields \"numbers\" and \"target\"");
  if (s.kind == SourceKind::Benchmark)
    require(is_known(benchmark_names(), s.location),
            "benchmark: unknown \"" + s.location + "\"; known: " + joined(benchmark_names()));
  if (s.kind == SourceKind::Generator)
    require(is_known(known_tasks(), s.location),
            "generator: unknown task '" + s.location + "'; known tasks: " + joined(known_tasks()));
}

// "a string" / "a number" ... for messages
std::string shown(const nlohmann::json* value) {
  if (!value) return "nothing (missing)";
  std::string text = value->dump();
  return text.size() > 80 ? text.substr(0, 77) + "..." : text;
}

[[noreturn]] void bad_field(const std::string& where, const std::string& field, const std::string& expected,
                            const nlohmann::json* got) {
  throw std::invalid_argument(where + ": field '" + field + "': expected " + expected + ", got " + shown(got));
}

// A string as written; a number as written, without a needless ".0" (amc23 stores 27 as 27.0).
std::optional<std::string> scalar_text(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_integer()) return value.dump();
  if (value.is_number_float()) {
    const double x = value.get<double>();
    if (std::isfinite(x) && x == std::floor(x) && std::fabs(x) < 1e15)
      return std::to_string(static_cast<int64_t>(x));
    return value.dump();
  }
  return std::nullopt;
}

nlohmann::json chat_messages(const nlohmann::json& value, const std::string& where, const std::string& field) {
  const std::string expected = "a non-empty string or a list of chat messages [{\"role\", \"content\"}, ...]";
  if (value.empty()) bad_field(where, field, expected, &value);
  bool has_text = false;
  for (size_t i = 0; i < value.size(); ++i) {
    const nlohmann::json& m = value[i];
    const std::string at = field + "[" + std::to_string(i) + "]";
    if (!m.is_object()) bad_field(where, at, "a message {\"role\", \"content\"}", &m);
    for (const char* key : {"role", "content"}) {
      auto it = m.find(key);
      if (it == m.end() || !it->is_string()) bad_field(where, at + "." + key, "a string", it == m.end() ? nullptr : &*it);
    }
    has_text = has_text || !trimmed(m["content"].get<std::string>()).empty();
  }
  if (!has_text) bad_field(where, field, "a message with text", &value);
  return value;
}

std::string text_after(const std::string& text, const std::string& marker, const std::string& where,
                       const std::string& field, const nlohmann::json* value) {
  const size_t at = text.rfind(marker);
  if (at == std::string::npos) bad_field(where, field, "a text containing '" + marker + "'", value);
  std::string tail = trimmed(text.substr(at + marker.size()));
  if (tail.empty()) bad_field(where, field, "an answer after '" + marker + "'", value);
  return tail;
}

std::string read_answer(const nlohmann::json& row, const FieldMapping& m, const std::string& where) {
  if (m.answer_fields.is_object()) {
    nlohmann::json truth = nlohmann::json::object();
    for (const auto& [key, path_json] : m.answer_fields.items()) {
      const std::string path = path_json.get<std::string>();
      const nlohmann::json* value = find_path(row, path);
      if (!value || value->is_null()) bad_field(where, path, "a value (answer_fields." + key + ")", value);
      truth[key] = *value;
    }
    return truth.dump();
  }
  const nlohmann::json* value = find_path(row, m.answer_key);
  std::string answer;
  if (value && (value->is_object() || value->is_array()) && !value->empty()) {
    answer = value->dump();
  } else if (auto text = value ? scalar_text(*value) : std::nullopt; text && !trimmed(*text).empty()) {
    answer = *text;
  } else {
    bad_field(where, m.answer_key, "a non-empty string or a number", value);
  }
  if (m.answer_format == "gsm8k") return text_after(answer, "####", where, m.answer_key, value);
  if (m.answer_format.rfind("after:", 0) == 0)
    return text_after(answer, m.answer_format.substr(6), where, m.answer_key, value);
  return answer;
}

std::vector<int64_t> integers(const nlohmann::json& value, const std::string& where, const std::string& field) {
  if (!value.is_array() || value.empty()) bad_field(where, field, "a non-empty list of integers", &value);
  std::vector<int64_t> out;
  for (const auto& x : value) {
    if (!x.is_number_integer()) bad_field(where, field, "a non-empty list of integers", &value);
    out.push_back(x.get<int64_t>());
  }
  return out;
}

// MBPP's rows ({"text", "test_list": ["assert f(1) == 2", ...], "test_setup_code"}) as the code rule's
// HumanEval form: the question is the task and its tests (as in the MBPP paper's prompt), the test is a
// check(candidate) that runs the asserts, and the entry point is the function the first assert calls.
void mbpp_problem(const nlohmann::json& row, const FieldMapping& m, const std::string& where, Problem& p) {
  const std::string tests_field = m.answer_fields["tests"].get<std::string>();
  const nlohmann::json tests = nlohmann::json::parse(p.answer)["tests"];
  const std::string expected = "a non-empty list of assert statements";
  if (!tests.is_array() || tests.empty()) bad_field(where, tests_field, expected, &tests);
  std::string listed, body;
  for (const auto& t : tests) {
    if (!t.is_string() || t.get<std::string>().rfind("assert ", 0) != 0) bad_field(where, tests_field, expected, &t);
    listed += t.get<std::string>() + "\n";
    body += "    " + t.get<std::string>() + "\n";
  }
  const std::string first = tests[0].get<std::string>().substr(7);
  const size_t paren = first.find('(');
  std::string entry = trimmed(first.substr(0, paren == std::string::npos ? 0 : paren));
  if (entry.empty() || entry.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") !=
                           std::string::npos)
    bad_field(where, tests_field, "asserts that call the function under test, e.g. assert f(1) == 2", &tests[0]);
  const nlohmann::json* text = find_path(row, m.prompt_key);
  if (!text || !text->is_string() || trimmed(text->get<std::string>()).empty())
    bad_field(where, m.prompt_key, "a non-empty string (the task)", text);
  const nlohmann::json* setup = find_path(row, "test_setup_code");
  const std::string setup_code = setup && setup->is_string() ? setup->get<std::string>() : "";
  p.question = text->get<std::string>() + "\nYour code should pass these tests:\n\n" + listed;
  p.answer = nlohmann::json{{"prompt", ""},
                            {"test", setup_code + (setup_code.empty() ? "" : "\n") + "def check(candidate):\n" + body},
                            {"entry_point", entry}}
                 .dump();
}

}  // namespace

std::vector<std::string> mapping_presets() {
  return {"gsm8k", "math", "countdown", "humaneval", "mbpp", "code_io", "verl"};
}

std::string natural_verifier(const SourceSpec& spec) {
  if (spec.kind == SourceKind::Benchmark) return find_benchmark(spec.location).rule;
  if (spec.kind == SourceKind::Generator) return spec.location == "arith" ? "accuracy" : spec.location;
  if (spec.preset == "gsm8k" || spec.preset == "math" || spec.preset == "countdown") return spec.preset;
  if (spec.preset == "humaneval" || spec.preset == "mbpp" || spec.preset == "code_io") return "code";
  return "";
}

OnBadRow parse_on_bad_row(const std::string& text) {
  if (text == "error") return OnBadRow::Error;
  if (text == "skip") return OnBadRow::Skip;
  throw std::invalid_argument("\"" + text + "\"; allowed: error, skip");
}

std::string to_string(OnBadRow on_bad_row) {
  return on_bad_row == OnBadRow::Skip ? "skip" : "error";
}

const nlohmann::json* find_path(const nlohmann::json& row, const std::string& path) {
  const nlohmann::json* at = &row;
  size_t begin = 0;
  while (true) {
    if (!at->is_object()) return nullptr;
    const size_t dot = path.find('.', begin);
    auto it = at->find(path.substr(begin, dot == std::string::npos ? std::string::npos : dot - begin));
    if (it == at->end()) return nullptr;
    at = &*it;
    if (dot == std::string::npos) return at;
    begin = dot + 1;
  }
}

SourceSpec parse_source(const nlohmann::json& j, const std::string& where) {
  SourceSpec s;
  if (j.is_string()) {
    s.location = j.get<std::string>();
    if (s.location.empty()) throw std::invalid_argument(where + ": expected a path, benchmark or generator name");
    if (is_known(benchmark_names(), s.location)) {
      s.kind = SourceKind::Benchmark;
    } else if (is_known(known_tasks(), s.location)) {
      s.kind = SourceKind::Generator;
    } else {
      s.kind = is_data_file(s.location) ? SourceKind::File : SourceKind::Folder;
    }
  } else {
    if (!j.is_object())
      throw std::invalid_argument(where + ": expected a source {\"path\" | \"benchmark\" | \"generator\": ...} or a "
                                          "string, got " + j.dump());
    // The preset's mapping (a benchmark's own without one) first, then every mapping key written next to it
    // wins.
    if (auto it = j.find("benchmark"); it != j.end() && it->is_string() && is_known(benchmark_names(), *it))
      s.mapping = find_benchmark(it->get<std::string>()).mapping;
    if (auto it = j.find("preset"); it != j.end() && it->is_string()) {
      try {
        s.mapping = preset_mapping(it->get<std::string>());
      } catch (const std::invalid_argument& e) {
        throw std::invalid_argument(where + ".preset: " + e.what());
      }
    }
    SourceFields fields{s, "", "", ""};
    common::read_section(j, where, fields);
    const int given = !fields.path.empty() + !fields.benchmark.empty() + !fields.generator.empty();
    if (given != 1)
      throw std::invalid_argument(where + ": give exactly one of \"path\", \"benchmark\" or \"generator\"");
    if (!fields.path.empty()) {
      s.location = fields.path;
      s.kind = is_data_file(fields.path) ? SourceKind::File : SourceKind::Folder;
    } else if (!fields.benchmark.empty()) {
      s.location = fields.benchmark;
      s.kind = SourceKind::Benchmark;
    } else {
      s.location = fields.generator;
      s.kind = SourceKind::Generator;
    }
  }
  if (s.kind == SourceKind::Benchmark && j.is_string()) s.mapping = find_benchmark(s.location).mapping;
  if (s.name.empty()) {
    if (s.kind == SourceKind::Benchmark || s.kind == SourceKind::Generator) s.name = s.location;
    else if (!s.preset.empty()) s.name = s.preset;
    else {
      fs::path p(s.location);
      while (p.has_extension()) p = p.stem();  // train.jsonl.gz -> train
      s.name = p.filename().string();
      if (s.name.empty()) s.name = fs::path(s.location).parent_path().filename().string();
    }
  }
  validate(s, where);
  return s;
}

std::vector<SourceSpec> parse_sources(const nlohmann::json& j, const std::string& where) {
  std::vector<SourceSpec> out;
  if (!j.is_array()) return {parse_source(j, where)};
  if (j.empty()) throw std::invalid_argument(where + ": expected at least one source");
  for (size_t i = 0; i < j.size(); ++i) out.push_back(parse_source(j[i], where + "[" + std::to_string(i) + "]"));
  return out;
}

nlohmann::json SourceSpec::to_json() const {
  SourceSpec copy = *this;
  SourceFields fields{copy, "", "", ""};
  (kind == SourceKind::Benchmark ? fields.benchmark : kind == SourceKind::Generator ? fields.generator
                                                                                     : fields.path) = location;
  nlohmann::json j = common::write_section(fields);
  for (const char* key : {"path", "benchmark", "generator"})
    if (j[key] == "") j.erase(key);
  return j;
}

std::vector<RawRow> read_rows(const fs::path& file) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) throw std::runtime_error(file.string() + ": no such data file");
  std::vector<RawRow> rows;
  const std::string name = file.string();
  if (ends_with(name, ".parquet")) {
    auto parquet = read_parquet_rows(file);
    for (size_t i = 0; i < parquet.size(); ++i)
      rows.push_back({std::move(parquet[i]), name + ": row " + std::to_string(i), ""});
    return rows;
  }
  const std::string text = read_text_maybe_gzip(file);
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '[') {  // a JSON array of rows
    nlohmann::json array;
    try {
      array = nlohmann::json::parse(text);
    } catch (const std::exception& e) {
      throw std::invalid_argument(name + ": invalid JSON: " + e.what());
    }
    for (size_t i = 0; i < array.size(); ++i) rows.push_back({std::move(array[i]), name + ": row " + std::to_string(i), ""});
    return rows;
  }
  std::istringstream lines(text);  // JSON Lines (also what datasets' to_json writes into a .json file)
  std::string line;
  for (int64_t line_no = 1; std::getline(lines, line); ++line_no) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    RawRow row{nullptr, name + ":" + std::to_string(line_no), ""};
    try {
      row.json = nlohmann::json::parse(line);
    } catch (const std::exception& e) {
      row.error = row.where + ": invalid JSON: " + e.what();
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

Problem map_row(const nlohmann::json& row, const FieldMapping& m, const std::string& source_name, int64_t index,
                const std::string& where) {
  if (!row.is_object()) throw std::invalid_argument(where + ": expected a JSON object, got " + shown(&row));
  Problem p;
  p.where = where;
  p.answer = read_answer(row, m, where);
  if (m.question == "countdown") {
    const auto truth = nlohmann::json::parse(p.answer);
    const auto target = truth["target"];
    if (!target.is_number_integer())
      bad_field(where, m.answer_fields["target"].get<std::string>(), "an integer", &target);
    p.question =
        countdown_question(integers(truth["numbers"], where, m.answer_fields["numbers"].get<std::string>()),
                           target.get<int64_t>());
  } else if (m.question == "mbpp") {
    mbpp_problem(row, m, where, p);
  } else {
    const nlohmann::json* prompt = find_path(row, m.prompt_key);
    const std::string expected = "a non-empty string or a list of chat messages [{\"role\", \"content\"}, ...]";
    if (prompt && prompt->is_array()) p.messages = chat_messages(*prompt, where, m.prompt_key);
    else if (prompt && prompt->is_string() && !trimmed(prompt->get<std::string>()).empty())
      p.question = prompt->get<std::string>();
    else bad_field(where, m.prompt_key, expected, prompt);
  }
  const nlohmann::json* source = find_path(row, m.data_source_key);
  p.data_source = source && source->is_string() && !source->get<std::string>().empty() ? source->get<std::string>()
                                                                                       : source_name;
  const nlohmann::json* id = m.id_key.empty() ? find_path(row, "id") : find_path(row, m.id_key);
  const auto id_text = id ? scalar_text(*id) : std::nullopt;
  if (!m.id_key.empty() && !id_text) bad_field(where, m.id_key, "a string or a number (the row's id)", id);
  const std::string row_id = id_text ? *id_text : std::to_string(index);
  p.id = row_id.find('/') != std::string::npos ? row_id : source_name + "/" + row_id;
  p.row = std::make_shared<const nlohmann::json>(row);
  return p;
}

LoadedSource load_source(const SourceSpec& spec, Split split, uint64_t seed, OnBadRow on_bad_row,
                         const fs::path& shared_data) {
  LoadedSource out;
  out.spec = spec;
  out.name = spec.name;
  const Split chosen = spec.split.empty() ? split : parse_split(spec.split);
  if (spec.kind == SourceKind::Generator) {
    auto task = make_task(spec.location, spec.options);
    out.task_seed = seed;
    if (spec.size == 0 && chosen == Split::Train) {
      out.task = std::move(task);
      return out;
    }
    out.problems = task->problems(chosen, static_cast<size_t>(spec.size), seed);
    for (Problem& p : out.problems) p.data_source = out.name;
    out.rows = static_cast<int64_t>(out.problems.size());
    return out;
  }
  std::vector<fs::path> files;
  if (spec.kind == SourceKind::Benchmark) files = {shared_data / find_benchmark(spec.location).default_file};
  else if (spec.kind == SourceKind::Folder) files = parquet_shards(spec.location, split_name(chosen));
  else files = {spec.location};
  int64_t index = 0;
  for (const fs::path& file : files) {
    for (RawRow& row : read_rows(file)) {
      if (spec.size > 0 && static_cast<int64_t>(out.problems.size()) >= spec.size) return out;
      ++out.rows;
      try {
        if (!row.error.empty()) throw std::invalid_argument(row.error);
        out.problems.push_back(map_row(row.json, spec.mapping, out.name, index, row.where));
      } catch (const std::invalid_argument& e) {
        if (on_bad_row == OnBadRow::Error) throw;
        ++out.skipped;
        if (out.skip_reasons.size() < kMaxSkipReasons) out.skip_reasons.push_back(e.what());
      }
      ++index;
    }
  }
  if (out.problems.empty())
    throw std::runtime_error(spec.location + ": no usable rows" +
                             (out.skipped ? " (" + std::to_string(out.skipped) + " bad rows skipped; first: " +
                                                out.skip_reasons.front() + ")"
                                          : ""));
  return out;
}

}  // namespace aha::datasets
