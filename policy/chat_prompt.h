// A text as the one user message of a model directory's chat template, with the generation prompt
// (policy/chat_template.h), for `aha generate/tokenize --chat` and held-out eval with the "chat" template
// (eval/evaluate.h).
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "datasets/task.h"
#include "policy/chat_template.h"
#include "policy/tokenizer.h"
#include "policy/tokenizer_config.h"

namespace aha::policy {

// `flag` names the option that asked for it in the error a model without a chat template gets, which
// names the missing file in `model_dir`.
std::string render_chat(const std::string& model_dir, const Tokenizer& tokenizer, const std::string& text,
                        const std::string& flag = "--chat");

// A problem's prompt as a model needs it, text and token ids:
//   the question through a text template (a preset name or text with {question}, datasets/template.h), or
//   through the model's chat template as the one user message when the template is "chat";
//   chat messages (a data row's prompt as [{"role", "content"}, ...]) always through the chat template, with
//   the generation prompt (add_generation_prompt).
// Token ids get the BOS token in front when the model's tokenizer_config.json says add_bos_token and the
// text does not already start with it (a chat template writes its own): what HF's tokenizer(text) gives.
class PromptRenderer {
 public:
  // Reads model_dir/tokenizer_config.json when there is one. std::invalid_argument for an unknown template,
  // and for "chat" when the model has no chat template (the message names `template_option`).
  PromptRenderer(const std::filesystem::path& model_dir, std::shared_ptr<const Tokenizer> tokenizer,
                 const std::string& template_name, const std::string& template_option = "--template");

  // std::invalid_argument naming problem.where when the prompt is chat messages and the model has no chat
  // template, or the messages are not ones a chat template takes.
  std::string text(const datasets::Problem& problem) const;
  std::vector<int64_t> encode(const std::string& prompt_text) const;
  bool adds_bos() const { return bos_.has_value(); }

 private:
  const ChatTemplate& chat(const std::string& who) const;

  std::filesystem::path model_dir_;
  std::shared_ptr<const Tokenizer> tokenizer_;
  std::optional<TokenizerConfig> config_;
  std::optional<ChatTemplate> chat_;
  std::string template_option_;
  std::string template_text_;  // "" for "chat"
  std::optional<SpecialToken> bos_;
};

}  // namespace aha::policy
