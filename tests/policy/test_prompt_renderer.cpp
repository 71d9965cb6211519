// policy::PromptRenderer: a problem's prompt text and ids as a real base needs them. BOS is added exactly when
// tokenizer_config.json says add_bos_token (as HF's tokenizer(text) does) and not twice when the text starts
// with it; chat-message prompts go through the model's chat template (checked against the ChatML text a
// Qwen2 template gives); a prompt that needs a chat template the model lacks is an error naming the row.
#include <catch2/catch.hpp>

#include <fstream>

#include <nlohmann/json.hpp>

#include "policy/chat_prompt.h"
#include "tests/common/temp_dir.h"
#include "tests/common/tiny_model.h"

using aha::datasets::Problem;
using aha::policy::PromptRenderer;
using Catch::Matchers::Contains;

namespace {

std::shared_ptr<const aha::policy::Tokenizer> tiny_tokenizer() {
  return std::make_shared<const aha::policy::Tokenizer>(
      aha::policy::Tokenizer::load(aha::testing::tiny_tokenizer_path()));
}

}  // namespace

TEST_CASE("PromptRenderer adds BOS only when tokenizer_config.json asks, and never twice", "[prompt]") {
  aha::testing::TempDir dir("renderer");
  const auto tokenizer = tiny_tokenizer();
  const Problem p{"id", "What is 2 + 3?", "5"};
  const PromptRenderer plain(dir.path, tokenizer, "compact");
  const std::string text = plain.text(p);
  CHECK_THAT(text, Contains("What is 2 + 3?"));
  CHECK(plain.encode(text) == tokenizer->encode(text));  // no tokenizer_config.json: nothing added

  std::ofstream(dir.path / "tokenizer_config.json") << R"({"bos_token": "<|endoftext|>", "add_bos_token": true})";
  const PromptRenderer with_bos(dir.path, tokenizer, "compact");
  const int64_t bos = tokenizer->encode("<|endoftext|>").at(0);
  std::vector<int64_t> expected{bos};
  for (int64_t id : tokenizer->encode(text)) expected.push_back(id);
  CHECK(with_bos.encode(text) == expected);
  CHECK(with_bos.encode("<|endoftext|>" + text) == expected);  // a text that starts with BOS keeps one
}

TEST_CASE("PromptRenderer renders chat messages through the chat template, or names the row", "[prompt]") {
  aha::testing::TempDir dir("renderer");
  const auto tokenizer = tiny_tokenizer();
  Problem p{"rows/3", "", "42"};
  p.messages = nlohmann::json::parse(R"([{"role": "system", "content": "Be brief."},
                                         {"role": "user", "content": "What is 7 * 6?"}])");
  p.where = "data/rows.parquet: row 3";
  const PromptRenderer no_template(dir.path, tokenizer, "r1zero");
  CHECK_THROWS_WITH(no_template.text(p), Contains("data/rows.parquet: row 3: a prompt given as chat messages needs"));
  CHECK_THROWS_WITH(PromptRenderer(dir.path, tokenizer, "chat", "data.template"),
                    Contains("tokenizer_config.json: not found; data.template chat needs the model's chat template"));

  std::filesystem::copy_file(std::filesystem::path(AHA_SOURCE_DIR) / "tests/fixtures/chat_templates/qwen2.tokenizer_config.json",
                             dir.path / "tokenizer_config.json");
  const PromptRenderer chat(dir.path, tokenizer, "r1zero");
  CHECK(chat.text(p) ==
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 7 * 6?<|im_end|>\n<|im_start|>assistant\n");
  // a string prompt still goes through the text template
  CHECK_THAT(chat.text(Problem{"id", "What is 2 + 3?", "5"}), Contains("Assistant:"));
}
