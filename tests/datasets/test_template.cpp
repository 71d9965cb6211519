// Tests for datasets/template.h: the presets' exact text (a changed byte changes every prompt the model
// sees), literal templates, and the errors for a template that would hide the question.
#include <catch2/catch.hpp>

#include "datasets/template.h"

using namespace aha::datasets;
using Catch::Matchers::Contains;

TEST_CASE("r1zero preset is DeepSeek-R1-Zero's template text", "[template]") {
  CHECK(resolve_template("r1zero") ==
        "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. "
        "The assistant first thinks about the reasoning process in the mind and then provides the user with "
        "the answer. The reasoning process and answer are enclosed within <think> </think> and <answer> "
        "</answer> tags, respectively, i.e., <think> reasoning process here </think> <answer> answer here "
        "</answer>. User: {question}\nAssistant:");
}

TEST_CASE("compact preset and rendering", "[template]") {
  const Problem p{"id", "What is 37 + 48 - 25?", "60"};
  CHECK(resolve_template("compact") == "User: {question}\nAssistant:");
  CHECK(render_prompt(resolve_template("compact"), p) == "User: What is 37 + 48 - 25?\nAssistant:");
  CHECK_THAT(render_prompt(resolve_template("r1zero"), p),
             Contains("answer here </answer>. User: What is 37 + 48 - 25?\nAssistant:"));
  CHECK(template_presets() == std::vector<std::string>{"r1zero", "compact"});
}

TEST_CASE("a literal template is used as is and every placeholder is replaced", "[template]") {
  const Problem p{"id", "Q", "A"};
  CHECK(resolve_template("Q: {question} A:") == "Q: {question} A:");
  CHECK(render_prompt("[{question}|{question}]", p) == "[Q|Q]");
  // The inserted question is not scanned again, so this cannot loop or expand twice.
  CHECK(render_prompt("<{question}>", Problem{"id", "{question}", "A"}) == "<{question}>");
}

TEST_CASE("a template that is neither a preset nor contains {question} is an error", "[template]") {
  CHECK_THROWS_WITH(resolve_template("r1-zero"), Contains("'r1-zero'") && Contains("r1zero, compact"));
  CHECK_THROWS_AS(resolve_template("{Question}"), std::invalid_argument);
  CHECK_THROWS_WITH(render_prompt("User: no placeholder", Problem{"id", "Q", "A"}), Contains("{question}"));
}
