// Table-driven tests for the code reward's text handling: which code a completion runs, how a HumanEval
// program is assembled, how stdin/stdout answers compare, and what ground truths and options are refused;
// and that the Python the sandbox runs is the code/harness/*.py files the build embedded.
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <string>

#include "rewards/code/code_harness.h"
#include "rewards/code/code_reward.h"

using namespace aha::rewards;
using Catch::Matchers::Contains;

TEST_CASE("extract_code picks the fenced block that holds the function", "[code]") {
  struct Row {
    const char* why;
    const char* completion;
    const char* entry_point;
    const char* code;
  };
  const Row rows[] = {
      {"no fence: the whole completion", "    return a + b\n", "add", "    return a + b\n"},
      {"a python fence", "Here:\n```python\ndef add(a, b):\n    return a + b\n```\nDone.", "add",
       "def add(a, b):\n    return a + b\n"},
      {"an untagged fence", "```\nx = 1\n```", "", "x = 1\n"},
      {"py and python3 tags count", "```py\nx = 1\n```", "", "x = 1\n"},
      {"the block defining the entry point wins over an earlier example",
       "```python\nprint(add(1, 2))\n```\n```python\ndef add(a, b):\n    return a + b\n```", "add",
       "def add(a, b):\n    return a + b\n"},
      {"a python block wins over an earlier other language", "```text\nout\n```\n```python\nx = 2\n```", "",
       "x = 2\n"},
      {"only another language: the first block", "```bash\nls\n```", "", "ls\n"},
      {"an unclosed fence runs to the end", "```python\ndef add(a, b):\n    return a + b", "add",
       "def add(a, b):\n    return a + b"},
      {"backticks inside a line are not a fence", "x = '```'\ny = 1\n", "", "x = '```'\ny = 1\n"},
      {"an indented fence", "  ```python\n  x = 1\n  ```\n", "", "  x = 1\n"},
      {"a fence inside the code's string does not close it early", "```python\ns = 'a ``` b'\n```", "",
       "s = 'a ``` b'\n"},
  };
  for (const Row& row : rows) {
    INFO(row.why);
    CHECK(extract_code(row.completion, row.entry_point) == row.code);
  }
}

TEST_CASE("defines_function finds a top-level def or async def of the name only", "[code]") {
  CHECK(defines_function("def add(a, b):\n", "add"));
  CHECK(defines_function("import os\n\ndef  add (a):\n", "add"));
  CHECK(defines_function("async def add(a):\n", "add"));
  CHECK_FALSE(defines_function("def add_two(a):\n", "add"));
  CHECK_FALSE(defines_function("    def add(a):\n", "add"));  // a method, not the module's function
  CHECK_FALSE(defines_function("# def add(a):\n", "add"));
  CHECK_FALSE(defines_function("return add(1)\n", "add"));
}

TEST_CASE("humaneval_program continues the prompt or follows it with a full definition", "[code]") {
  const std::string prompt = "import math\n\ndef f(x):\n    \"\"\"doc\"\"\"\n";
  CHECK(humaneval_program(prompt, "    return x\n", "f") == prompt + "    return x\n");
  CHECK(humaneval_program(prompt, "def f(x):\n    return x\n", "f") ==
        prompt + "\ndef f(x):\n    return x\n");
}

TEST_CASE("outputs_match ignores trailing whitespace and blank lines, nothing else", "[code]") {
  struct Row {
    const char* why;
    const char* got;
    const char* expected;
    double tolerance;
    bool match;
  };
  const Row rows[] = {
      {"exact", "3\n", "3\n", 0, true},
      {"missing final newline", "3", "3\n", 0, true},
      {"trailing spaces and tabs", "3  \t\n4 \n", "3\n4\n", 0, true},
      {"CRLF", "3\r\n4\r\n", "3\n4\n", 0, true},
      {"trailing blank lines", "3\n\n\n", "3\n", 0, true},
      {"leading spaces matter", " 3\n", "3\n", 0, false},
      {"inner spaces matter without tolerance", "1  2\n", "1 2\n", 0, false},
      {"a prefix of the answer", "5\n", "5\n6\n", 0, false},
      {"an extra line", "5\n6\n7\n", "5\n6\n", 0, false},
      {"a blank line in the middle", "5\n\n6\n", "5\n6\n", 0, false},
      {"nothing", "", "5\n", 0, false},
      {"both empty", "", "", 0, true},
      {"float within tolerance", "0.3333333\n", "0.333333333\n", 1e-6, true},
      {"float beyond tolerance", "0.334\n", "0.333333333\n", 1e-6, false},
      {"relative tolerance for large values", "1000000.5\n", "1000000.0\n", 1e-6, true},
      {"tokens compared one by one", "1.0000001 2\n", "1 2.0\n", 1e-6, true},
      {"token count must match", "1 2 3\n", "1 2\n", 1e-6, false},
      {"words must match exactly", "YES 1.0\n", "yes 1.0\n", 1e-6, false},
      {"nan is never close", "nan\n", "1.0\n", 1e-6, false},
      {"no tolerance: 1.0 is not 1", "1.0\n", "1\n", 0, false},
  };
  for (const Row& row : rows) {
    INFO(row.why);
    CHECK(outputs_match(row.got, row.expected, row.tolerance) == row.match);
  }
}

TEST_CASE("parse_code_task reads both formats and rejects malformed ground truth loudly", "[code]") {
  const CodeTask he = parse_code_task(
      R"({"task_id": "x", "prompt": "def f():\n", "test": "def check(c): pass", "entry_point": "f"})");
  CHECK(he.humaneval());
  CHECK(he.entry_point == "f");
  const CodeTask io =
      parse_code_task(R"({"tests": [{"input": "1\n", "output": "2\n"}, {"input": "", "output": ""}]})");
  CHECK_FALSE(io.humaneval());
  REQUIRE(io.cases.size() == 2);
  CHECK(io.cases[0].second == "2\n");

  CHECK_THROWS_WITH(parse_code_task("not json"), Contains("JSON object"));
  CHECK_THROWS_WITH(parse_code_task(R"({"prompt": "", "entry_point": "f"})"), Contains("'test'"));
  CHECK_THROWS_WITH(parse_code_task(R"({"tests": []})"), Contains("non-empty 'tests'"));
  CHECK_THROWS_WITH(parse_code_task(R"({"tests": [{"input": 1, "output": "2"}]})"),
                    Contains("\"input\": string"));
  CHECK_THROWS_WITH(parse_code_task(R"({"prompt": "", "test": "", "entry_point": ""})"), Contains("empty"));
}

TEST_CASE("code options from JSON: field names as keys, unknown keys named with the allowed ones", "[code]") {
  const CodeOptions o = code_options_from_json(nlohmann::json::parse(R"({
      "workers": 3, "fallback_score": -1, "partial_credit": true, "float_tolerance": 1e-6,
      "sandbox": {"wall_seconds": 4, "cpu_seconds": 2, "namespaces": "off", "landlock": "required",
                  "mount_namespace": "auto", "read_only_paths": ["/usr"]}})"));
  CHECK(o.workers == 3);
  CHECK(o.fallback_score == -1);
  CHECK(o.partial_credit);
  CHECK(o.sandbox.wall_seconds == 4);
  CHECK(o.sandbox.namespaces == Want::off);
  CHECK(o.sandbox.landlock == Want::required);
  CHECK(o.sandbox.mount_namespace == Want::when_available);
  CHECK(o.sandbox.read_only_paths == std::vector<std::string>{"/usr"});
  CHECK(code_options_from_json(nullptr).workers == 2);

  using nlohmann::json;
  CHECK_THROWS_WITH(code_options_from_json(json{{"wrokers", 2}}),
                    Contains("unknown option 'wrokers'") && Contains("workers, fallback_score"));
  CHECK_THROWS_WITH(code_options_from_json(json{{"sandbox", {{"wall", 2}}}}),
                    Contains("unknown option 'wall'") && Contains("wall_seconds"));
  CHECK_THROWS_WITH(code_options_from_json(json{{"sandbox", {{"seccomp", "yes"}}}}),
                    Contains("'seccomp'") && Contains("\"required\""));
  CHECK_THROWS_WITH(code_options_from_json(json{{"workers", 0}}), Contains("workers"));
  CHECK_THROWS_WITH(code_options_from_json(json{{"workers", 32}}), Contains("sandbox.processes"));
  CHECK_THROWS_WITH(code_options_from_json(json{{"sandbox", {{"cpu_seconds", -1}}}}),
                    Contains("cpu_seconds"));
}

namespace {

// A harness file as the build embeds it (code/embed_harness.cmake): without its leading "#" lines.
std::string harness_program(const std::string& stem) {
  const std::string path = std::string(AHA_SOURCE_DIR) + "/rewards/code/harness/" + stem + ".py";
  std::ifstream in(path, std::ios::binary);
  INFO(path);
  REQUIRE(in.is_open());
  std::stringstream text;
  text << in.rdbuf();
  std::string program = text.str();
  while (program.starts_with("#")) {
    const size_t end_of_line = program.find('\n');
    program.erase(0, end_of_line == std::string::npos ? program.size() : end_of_line + 1);
  }
  return program;
}

}  // namespace

// Catches a broken embedding rule (a header line left in, a blank line or a trailing newline lost) and a
// stale generated header: the programs must be today's .py files, byte for byte, codec first.
TEST_CASE("the sandbox runs the harness .py files as embedded, codec first", "[code]") {
  const std::string codec = harness_program("codec");
  CHECK(judge_source() == codec + harness_program("judge"));
  CHECK(candidate_source() == codec + harness_program("candidate"));
  CHECK(stdio_source() == harness_program("stdio"));
}
