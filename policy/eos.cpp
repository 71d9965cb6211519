// The end-of-text token; see eos.h.
#include "policy/eos.h"

#include <stdexcept>

namespace aha::policy {

int64_t resolve_eos_token(const ModelConfig& config, const Tokenizer& tokenizer, const std::string& where) {
  int64_t id = 0;
  if (config.eos_token_id) {
    id = *config.eos_token_id;
  } else if (auto token = tokenizer.token_to_id("<|endoftext|>")) {
    id = *token;
  } else {
    throw std::runtime_error(where +
                             ": no eos_token_id, and the tokenizer has no <|endoftext|> token to end "
                             "completions with; set eos_token_id");
  }
  if (id < 0 || id >= config.vocab_size)
    throw std::runtime_error(where + ": eos_token_id " + std::to_string(id) +
                             " is outside the vocabulary [0, " + std::to_string(config.vocab_size) + ")");
  return id;
}

int64_t resolve_eos_token(const LoadedPolicy& policy) {
  return resolve_eos_token(policy.config, *policy.tokenizer, (policy.dir / "config.json").string());
}

}  // namespace aha::policy
