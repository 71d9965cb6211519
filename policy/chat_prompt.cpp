// Chat prompts from a model directory (see chat_prompt.h).
#include "policy/chat_prompt.h"

#include <filesystem>
#include <stdexcept>

#include "policy/chat_template.h"
#include "policy/tokenizer_config.h"

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

}  // namespace aha::policy
