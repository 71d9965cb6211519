// The code rule end to end on literal tasks: HumanEval-format completions in the shapes models write
// them (body only, full function, fenced, with prose), the judge's type-faithful comparison, stdin/stdout
// cases with their comparison rules, fallback scores for timeouts, counters, and batch order.
#include <catch2/catch.hpp>

#include "rewards/code/code_harness.h"
#include "rewards/code/code_reward.h"

using namespace aha::rewards;
using Catch::Matchers::Contains;
using json = nlohmann::json;

namespace {

const std::string kPrompt =
    "from typing import List\n\n\ndef evens(xs: List[int]) -> List[int]:\n    \"\"\"The even numbers of xs, "
    "in order.\"\"\"\n";
const std::string kTest =
    "def check(candidate):\n"
    "    assert candidate([1, 2, 3, 4]) == [2, 4]\n"
    "    assert candidate([]) == []\n"
    "    assert candidate(xs=[6]) == [6]\n";

std::string humaneval(const std::string& prompt = kPrompt, const std::string& test = kTest,
                      const std::string& entry = "evens") {
  return json{{"prompt", prompt}, {"test", test}, {"entry_point", entry}}.dump();
}

std::string stdio(std::initializer_list<std::pair<const char*, const char*>> cases) {
  json tests = json::array();
  for (const auto& [in, out] : cases) tests.push_back({{"input", in}, {"output", out}});
  return json{{"tests", tests}}.dump();
}

CodeOptions quick() {
  CodeOptions o;
  o.sandbox.wall_seconds = 2;
  o.sandbox.cpu_seconds = 1;
  return o;
}

const CodeRule& shared_rule() {
  static const CodeRule rule(quick());
  return rule;
}

}  // namespace

TEST_CASE("code rule: HumanEval completions in the shapes models write them", "[code]") {
  struct Row {
    const char* why;
    std::string completion;
    CodeOutcome outcome;
    const char* reason;  // a fragment of it, for failures
  };
  const std::string body = "    return [x for x in xs if x % 2 == 0]\n";
  const Row rows[] = {
      {"the body alone", body, CodeOutcome::passed, ""},
      {"the prompt repeated with the body", kPrompt + body, CodeOutcome::passed, ""},
      {"a full function without the prompt's import", "def evens(xs):\n" + body, CodeOutcome::passed, ""},
      {"fenced, with prose around it",
       "Sure! Here is the code:\n```python\ndef evens(xs):\n" + body + "```\nIt filters the list.",
       CodeOutcome::passed, ""},
      {"a helper defined next to it",
       "def is_even(x):\n    return x % 2 == 0\n\ndef evens(xs):\n    return "
       "[x for x in xs if is_even(x)]\n",
       CodeOutcome::passed, ""},
      {"a __main__ block that reads stdin does not run",
       "def evens(xs):\n" + body + "\nif __name__ == '__main__':\n    print(evens(input()))\n",
       CodeOutcome::passed, ""},
      {"prints along the way", "    print('debug', xs)\n" + body, CodeOutcome::passed, ""},
      {"a wrong answer", "    return xs\n", CodeOutcome::failed, "AssertionError"},
      {"an empty body", "    pass\n", CodeOutcome::failed, "AssertionError"},
      {"the prompt alone (docstring only)", "", CodeOutcome::failed, "AssertionError"},
      {"a tuple is not a list", "    return tuple(x for x in xs if x % 2 == 0)\n", CodeOutcome::failed,
       "AssertionError"},
      {"a generator is not a value the test can see", "    return (x for x in xs if x % 2 == 0)\n",
       CodeOutcome::failed, "not a plain value"},
      {"a syntax error", "    return [x for x in xs if\n", CodeOutcome::failed, "did not load: SyntaxError"},
      {"an exception in the call", "    raise ValueError('nope')\n", CodeOutcome::failed, "ValueError: nope"},
      // The prompt's docstring-only evens is what runs: it returns None.
      {"no function of that name", "def odds(xs):\n    return xs\n", CodeOutcome::failed, "AssertionError"},
      {"garbage", "I cannot solve this.", CodeOutcome::failed, "did not load"},
  };
  for (const Row& row : rows) {
    INFO(row.why << ":\n" << row.completion);
    const CodeVerdict v = shared_rule().judge(RewardInput{"", row.completion, humaneval()});
    INFO(outcome_name(v.outcome) << ": " << v.reason);
    CHECK(v.outcome == row.outcome);
    CHECK(v.score == (row.outcome == CodeOutcome::passed ? 1.0 : 0.0));
    CHECK_THAT(v.reason, Contains(row.reason));
  }
}

TEST_CASE("code rule: the test reaches the prompt's helpers and imports from the trusted prompt", "[code]") {
  // As HumanEval/32 (poly) and /38 (encode_cyclic): the test calls a helper the prompt defines.
  const std::string prompt =
      "def shift(s):\n    return s[1:] + s[:1]\n\n\ndef unshift(s):\n    \"\"\"Undo shift.\"\"\"\n";
  const std::string test = "def check(candidate):\n    assert candidate(shift('abc')) == 'abc'\n";
  CHECK(shared_rule().score(
            RewardInput{"", "    return s[-1:] + s[:-1]\n", humaneval(prompt, test, "unshift")}) == 1);
  // A helper the completion redefines does not change what the test computes with.
  CHECK(shared_rule().score(RewardInput{"", "def shift(s):\n    return s\n\ndef unshift(s):\n    return s\n",
                                        humaneval(prompt, test, "unshift")}) == 0);
  // A test that uses an import only the prompt makes.
  const std::string math_prompt = "import math\n\n\ndef root(x):\n    \"\"\"Square root.\"\"\"\n";
  const std::string math_test = "def check(candidate):\n    assert candidate(16.0) == math.sqrt(16.0)\n";
  CHECK(shared_rule().score(
            RewardInput{"", "    return x ** 0.5\n", humaneval(math_prompt, math_test, "root")}) == 1);
}

TEST_CASE("code rule: values cross to the judge with their types", "[code]") {
  const std::string prompt = "def f():\n    \"\"\"Return the value.\"\"\"\n";
  auto run = [&](const std::string& value, const std::string& expected) {
    const std::string test = "def check(candidate):\n    r = candidate()\n    assert type(r) is type(" +
                             expected + ") and r == " + expected + ", repr(r)\n";
    return shared_rule().judge(RewardInput{"", "    return " + value + "\n", humaneval(prompt, test, "f")});
  };
  for (const char* v :
       {"None", "True", "-7", "10**40", "0.1", "float('inf')", "2+3j", "'h\\u00e9\\n\\x00'", "b'\\x00\\xff'",
        "[1, [2, (3,)]]", "{1: 'a', 'b': [None]}", "{1, 2}", "frozenset({3})", "()", "''"}) {
    INFO(v);
    const CodeVerdict verdict = run(v, v);
    INFO(verdict.reason);
    CHECK(verdict.outcome == CodeOutcome::passed);
  }
  // Subclasses arrive as their plain base type; anything else does not arrive at all.
  CHECK(run("__import__('collections').OrderedDict(a=1)", "{'a': 1}").outcome == CodeOutcome::passed);
  CHECK(run("__import__('collections').namedtuple('P', 'x y')(1, 2)", "(1, 2)").outcome ==
        CodeOutcome::passed);
  CHECK(run("1", "True").outcome == CodeOutcome::failed);  // type-faithful: 1 is not True
  CHECK_THAT(run("object()", "None").reason, Contains("not a plain value"));
  CHECK(run("float('nan')", "0.0").outcome == CodeOutcome::failed);
}

TEST_CASE("code rule: stdin/stdout cases compare outside the program", "[code]") {
  const std::string sum = "a, b = map(int, input().split())\nprint(a + b)\n";
  const std::string answer = stdio({{"1 2\n", "3\n"}, {"10 -4\n", "6\n"}});
  struct Row {
    const char* why;
    std::string program;
    CodeOutcome outcome;
    const char* reason;
  };
  const Row rows[] = {
      {"right", sum, CodeOutcome::passed, ""},
      {"fenced with prose", "Code:\n```python\n" + sum + "```", CodeOutcome::passed, ""},
      {"trailing spaces and a blank line", "a, b = map(int, input().split())\nprint(a + b, ' ')\nprint()\n",
       CodeOutcome::passed, ""},
      {"runs as __main__",
       "def main():\n    a, b = map(int, input().split())\n    print(a + b)\n\n"
       "if __name__ == '__main__':\n    main()\n",
       CodeOutcome::passed, ""},
      {"wrong on the second case", "a, b = map(int, input().split())\nprint(3)\n", CodeOutcome::failed,
       "case 2: wrong output"},
      {"right output, then a crash", sum + "raise RuntimeError('late')\n", CodeOutcome::failed,
       "case 1: exit code 1: RuntimeError: late"},
      {"exit status 2", sum + "import sys\nsys.exit(2)\n", CodeOutcome::failed, "exit code 2"},
      {"reads past the input", "input()\ninput()\n", CodeOutcome::failed, "EOFError"},
  };
  for (const Row& row : rows) {
    INFO(row.why);
    const CodeVerdict v = shared_rule().judge(RewardInput{"", row.program, answer});
    INFO(outcome_name(v.outcome) << ": " << v.reason);
    CHECK(v.outcome == row.outcome);
    CHECK_THAT(v.reason, Contains(row.reason));
  }
}

TEST_CASE("code rule: float tolerance and partial credit are options", "[code]") {
  CodeOptions o = quick();
  o.float_tolerance = 1e-6;
  o.partial_credit = true;
  const CodeRule rule(o);
  const std::string third = "print(1 / int(input()))\n";
  CHECK(rule.score(RewardInput{"", third, stdio({{"3\n", "0.333333333\n"}})}) == 1);
  CHECK(shared_rule().score(RewardInput{"", third, stdio({{"3\n", "0.333333333\n"}})}) == 0);  // exact text
  const std::string answer = stdio({{"1\n", "1\n"}, {"2\n", "4\n"}, {"3\n", "9\n"}, {"4\n", "16\n"}});
  const CodeVerdict v =
      rule.judge(RewardInput{"", "n = int(input())\nprint(n * n if n < 3 else n)\n", answer});
  CHECK(v.score == 0.5);
  CHECK(v.cases == 4);
  CHECK(v.cases_passed == 2);
  CHECK_THAT(v.reason, Contains("case 3"));
}

TEST_CASE("code rule: a timeout scores the fallback and is counted, and model output never throws",
          "[code]") {
  CodeOptions o = quick();
  o.fallback_score = -0.25;
  o.sandbox.wall_seconds = 0.5;
  const CodeRule rule(o);
  const CodeVerdict slow = rule.judge(RewardInput{"", "import time\ntime.sleep(30)\n", stdio({{"", ""}})});
  CHECK(slow.outcome == CodeOutcome::timeout);
  CHECK(slow.score == -0.25);
  CHECK_THAT(slow.reason, Contains("timed out"));
  const CodeVerdict busy = rule.judge(RewardInput{"", "    while True:\n        pass\n", humaneval()});
  CHECK(busy.score == -0.25);
  // std::string literals (""s) keep their length: a const char* would stop at the first NUL, and the NUL
  // bytes are the point of two of these.
  using namespace std::string_literals;
  const std::string junks[] = {""s, "\xff\xfe\x00 not utf-8"s, "```"s, "```python"s, "def evens(:"s, "\0\0"s};
  for (const std::string& junk : junks) {
    INFO("completion " << json(junk).dump(-1, ' ', true, json::error_handler_t::replace));
    double score = -1;
    CHECK_NOTHROW(score = rule.score(RewardInput{"", junk, humaneval()}));
    CHECK(score == 0);
  }
  CHECK_THROWS_AS(rule.score(RewardInput{"", "x", "not json"}), std::invalid_argument);
  // An expected output the output cap would cut off is a config error, not a silent 0.
  const std::string huge(o.sandbox.output_bytes, 'x');
  CHECK_THROWS_WITH(rule.score(RewardInput{"", "x", stdio({{"", huge.c_str()}})}), Contains("output_bytes"));
  const CodeStats stats = rule.code_stats();
  CHECK(stats.timeouts == 2);
  CHECK(stats.completions == 2 + 6);
  CHECK(stats.passed == 0);
}

TEST_CASE("code rule: all-or-nothing stops running a completion's cases after its first failure", "[code]") {
  CodeOptions o = quick();
  o.workers = 1;
  const CodeRule rule(o);
  const CodeVerdict v =
      rule.judge(RewardInput{"", "print('no')\n", stdio({{"", "1\n"}, {"", "2\n"}, {"", "3\n"}})});
  CHECK(v.score == 0);
  CHECK(v.cases == 3);
  CHECK(rule.code_stats().cases_skipped == 2);
}

TEST_CASE("code rule: a batch on several workers keeps input order", "[code]") {
  CodeOptions o = quick();
  o.workers = 3;
  const CodeRule rule(o);
  std::vector<RewardInput> inputs;
  std::vector<double> expected;
  for (int i = 0; i < 9; ++i) {
    const bool right = i % 3 != 1;
    inputs.push_back(
        {"", right ? "print(int(input()) * 2)\n" : "print(0)\n", stdio({{"21\n", "42\n"}, {"5\n", "10\n"}})});
    expected.push_back(right ? 1 : 0);
    inputs.push_back(
        {"", right ? "    return [x for x in xs if x % 2 == 0]\n" : "    return []\n", humaneval()});
    expected.push_back(right ? 1 : 0);
  }
  const std::vector<CodeVerdict> verdicts = rule.judge_batch(inputs);
  REQUIRE(verdicts.size() == inputs.size());
  for (size_t i = 0; i < verdicts.size(); ++i) {
    INFO(i << ": " << verdicts[i].reason);
    CHECK(verdicts[i].score == expected[i]);
  }
  CHECK(rule.code_stats().completions == inputs.size());
}

TEST_CASE("code rule: make_code_rule builds from JSON options and says which layers it runs with", "[code]") {
  const auto rule = make_code_rule(json{{"workers", 1}, {"sandbox", {{"wall_seconds", 3}}}});
  CHECK(rule->name() == "code");
  const auto& code = dynamic_cast<const CodeRule&>(*rule);
  CHECK(code.options().sandbox.wall_seconds == 3);
  CHECK((code.sandbox().layers() & kLayerSeccomp));
  const CodeVerdict v =
      code.judge(RewardInput{"", "    return [x for x in xs if x % 2 == 0]\n", humaneval()});
  CHECK(v.layers == code.sandbox().layers());
}
