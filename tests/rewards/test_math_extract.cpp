// Final-answer extraction (rewards/math/math_extract.h) from completions and from ground truths that are
// whole solutions. Each row names the behaviour it guards.
#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "rewards/math/math_extract.h"

using namespace aha::rewards::math;

namespace {

struct Row {
  const char* why;
  const char* text;
  const char* answer;  // nullptr: nothing extracted
  AnswerSource source;
};

}  // namespace

TEST_CASE("extract_answer finds the final answer", "[math][extract]") {
  const Row rows[] = {
      {"boxed", "so the answer is \\boxed{5}.", "5", AnswerSource::Boxed},
      {"last boxed wins", "first \\boxed{3}, then after checking again we get \\boxed{4}", "4",
       AnswerSource::Boxed},
      {"nested braces", "\\boxed{\\frac{1}{\\sqrt{2}}}", "\\frac{1}{\\sqrt{2}}", AnswerSource::Boxed},
      {"fbox", "\\fbox{7}", "7", AnswerSource::Boxed},
      {"boxed without braces", "$\\boxed 12$", "12", AnswerSource::Boxed},
      {"escaped braces do not nest", "\\boxed{\\{1,2\\}}", "\\{1,2\\}", AnswerSource::Boxed},
      {"adjacent boxes are a list", "x = \\boxed{2}, y = \\boxed{3}", "2, 3", AnswerSource::Boxed},
      {"unclosed box takes the rest", "\\boxed{1 + 2", "1 + 2", AnswerSource::Boxed},
      {"answer tag", "<think>2+2</think> <answer>4</answer>", "4", AnswerSource::AnswerTag},
      {"boxed inside the answer tag", "<answer>The answer is \\boxed{4}</answer>", "4", AnswerSource::Boxed},
      {"phrase inside the answer tag", "<answer>The answer is 4.</answer>", "4", AnswerSource::Phrase},
      {"last answer block", "<answer>3</answer> no, <answer>5</answer>", "5", AnswerSource::AnswerTag},
      {"unclosed block is ignored", "\\boxed{2} <answer>7", "2", AnswerSource::Boxed},
      {"the answer is", "Adding them, the answer is 42.", "42", AnswerSource::Phrase},
      {"final answer with dollars", "Final Answer: The final answer is $\\frac{1}{2}$. I hope it is correct.",
       "\\frac{1}{2}", AnswerSource::Phrase},
      {"answer colon with bold", "**Answer:** 18", "18", AnswerSource::Phrase},
      {"hashes", "so 3 + 4 = 7\n#### 7", "7", AnswerSource::Phrase},
      {"A: line", "She sells 9 eggs.\nA: 18", "18", AnswerSource::Phrase},
      {"rightmost phrase wins", "The answer is 3.\nWait.\n#### 5", "5", AnswerSource::Phrase},
      {"answer on the next line", "The answer is:\n$x = 5$", "x = 5", AnswerSource::Phrase},
      {"last formula", "We get $x=1$ and finally $y = 2$", "y = 2", AnswerSource::MathEnv},
      {"last number", "so she has 1,234.5 left", "1,234.5", AnswerSource::LastNumber},
      {"negative last number", "the result is -3 degrees", "-3", AnswerSource::LastNumber},
      {"fraction as last number", "it is 3/4 of the whole", "3/4", AnswerSource::LastNumber},
      {"number after formula", "with $x$ we get 12", "12", AnswerSource::LastNumber},
      {"nothing", "I am not sure.", nullptr, AnswerSource::WholeText},
      {"empty", "", nullptr, AnswerSource::WholeText},
      {"empty box", "\\boxed{}", nullptr, AnswerSource::WholeText},
  };
  for (const Row& row : rows) {
    INFO(row.why << ": " << row.text);
    const std::optional<ExtractedAnswer> got = extract_answer(row.text);
    if (!row.answer) {
      CHECK_FALSE(got);
      continue;
    }
    REQUIRE(got);
    CHECK(got->text == row.answer);
    CHECK(source_name(got->source) == source_name(row.source));
  }
}

TEST_CASE("extract_answer options", "[math][extract]") {
  ExtractOptions no_fallback;
  no_fallback.last_number_fallback = false;
  CHECK_FALSE(extract_answer("so she has 12 left", no_fallback));
  CHECK(extract_answer("\\boxed{12}", no_fallback)->text == "12");
  ExtractOptions custom_tags;
  custom_tags.answer_open = "[ANS]";
  custom_tags.answer_close = "[/ANS]";
  CHECK(extract_answer("<answer>1</answer> [ANS]2[/ANS]", custom_tags)->text == "2");
  ExtractOptions no_tags;
  no_tags.use_answer_tags = false;
  CHECK(extract_answer("<answer>1</answer> and 2", no_tags)->text == "2");
}

TEST_CASE("extract_reference reads whole solutions and bare answers", "[math][extract]") {
  CHECK(extract_reference("Natalia sold 48/2 = <<48/2=24>>24 clips in May.\n#### 72") == "72");
  CHECK(extract_reference("Janet sells 9 eggs.\nA: 18") == "18");
  CHECK(extract_reference(
            "so $r = \\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}.$The answer is: \\left( 3, \\frac{\\pi}{2} "
            "\\right)") == "\\left( 3, \\frac{\\pi}{2} \\right)");
  CHECK(extract_reference("  x = 5 ") == "x = 5");       // no marker: the whole answer
  CHECK(extract_reference("12 apples") == "12 apples");  // and never the last-number fallback
  CHECK(extract_reference("") == "");
}

TEST_CASE("extraction stays linear on hostile completions", "[math][extract][limits]") {
  const std::string nested = "\\boxed{" + std::string(100000, '{') + std::string(100000, '}') + "}";
  const std::string many_boxes = [] {
    std::string s;
    for (int k = 0; k < 20000; ++k) s += "\\boxed{" + std::to_string(k) + "} ";
    return s;
  }();
  const std::string dollars(200000, '$');
  const std::string digits(1 << 20, '7');
  for (const std::string* text : {&nested, &many_boxes, &dollars, &digits}) {
    const auto start = std::chrono::steady_clock::now();
    const std::optional<ExtractedAnswer> got = extract_answer(*text);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    INFO("length " << text->size() << " took " << seconds << " s");
    CHECK(seconds < 0.25);
    if (got) CHECK(got->text.size() <= kMaxAnswer);
  }
  // Many adjacent boxes: only the last 8 are joined.
  const std::optional<ExtractedAnswer> boxes = extract_answer(many_boxes);
  REQUIRE(boxes);
  CHECK(boxes->text == "19992, 19993, 19994, 19995, 19996, 19997, 19998, 19999");
}
