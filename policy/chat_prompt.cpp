// Chat prompts from a model directory (see chat_prompt.h).
#include "policy/chat_prompt.h"

#include <filesystem>
#include <stdexcept>

#include "datasets/template.h"

namespace aha::policy {

std::string render_chat(const std::string& model_dir, const Tokenizer& tokenizer, const std::string& text,
                        const std::string& flag) {
  auto config = load_tokenizer_config_from_dir(model_dir, tokenizer);
  if (!config)
    throw std::invalid_argument((std::filesystem::path(model_dir) / "tokenizer_config.json").string() +
                                ": not found; " + flag +
                                " needs the model's chat template (a base model has none: "
                                "use a plain text prompt template instead, e.g. aha eval --template r1zero)");
  return ChatTemplate::from_config(*config).render({{"user", text}}, /*add_generation_prompt=*/true);
}

PromptRenderer::PromptRenderer(const std::filesystem::path& model_dir, std::shared_ptr<const Tokenizer> tokenizer,
                               const std::string& template_name, const std::string& template_option)
    : model_dir_(model_dir), tokenizer_(std::move(tokenizer)), template_option_(template_option) {
  config_ = load_tokenizer_config_from_dir(model_dir, *tokenizer_);
  if (config_ && config_->chat_template) chat_ = ChatTemplate::from_config(*config_);
  if (config_ && config_->add_bos_token && config_->bos_token) bos_ = config_->bos_token;
  if (template_name == "chat") chat(template_option_ + " chat");  // fails now when the model has none
  else template_text_ = datasets::resolve_template(template_name);
}

const ChatTemplate& PromptRenderer::chat(const std::string& who) const {
  if (!chat_)
    throw std::invalid_argument((model_dir_ / "tokenizer_config.json").string() +
                                (config_ ? ": has no chat_template; " : ": not found; ") + who +
                                " needs the model's chat template (a base model has none: use a plain text "
                                "prompt template instead, e.g. r1zero, with the question as a string)");
  return *chat_;
}

std::string PromptRenderer::text(const datasets::Problem& problem) const {
  if (!problem.messages.is_null()) {
    const std::string where = problem.where.empty() ? problem.id : problem.where;
    return chat(where + ": a prompt given as chat messages")
        .render(parse_chat_messages(problem.messages, where + ": prompt"), /*add_generation_prompt=*/true);
  }
  if (template_text_.empty())
    return chat(template_option_ + " chat").render({{"user", problem.question}}, /*add_generation_prompt=*/true);
  return datasets::render_prompt(template_text_, problem);
}

std::vector<int64_t> PromptRenderer::encode(const std::string& prompt_text) const {
  std::vector<int64_t> ids;
  if (bos_ && prompt_text.rfind(bos_->content, 0) != 0) ids.push_back(bos_->id);
  const std::vector<int64_t> body = tokenizer_->encode(prompt_text);
  ids.insert(ids.end(), body.begin(), body.end());
  return ids;
}

}  // namespace aha::policy
