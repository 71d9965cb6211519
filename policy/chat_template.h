// Chat templates without Jinja: a tokenizer_config.json's chat_template is recognised by the markers of the
// families below and rendered natively, string for string what transformers' apply_chat_template gives
// (tests/policy/test_chat_template.cpp holds each family to HF's output on the real templates):
//   deepseek  DeepSeek-V3 / R1: {{ bos_token }}, every system message joined by a blank line up front, then
//             "<｜User｜>" + user, "<｜Assistant｜>" + assistant + "<｜end▁of▁sentence｜>". R1's template
//             keeps only the text after the last "</think>" of an assistant turn; the generation prompt is
//             read from the template ("<｜Assistant｜>", or "<｜Assistant｜><think>\n" in the updated R1
//             template).
//   chatml    Qwen2 / Qwen2.5: "<|im_start|>" + role + "\n" + content + "<|im_end|>\n" per message, plus the
//             template's default system turn (Qwen2.5: "You are Qwen, created by Alibaba Cloud. ...") when
//             the first message is not a system one.
//   qwen3     Qwen3's ChatML: the first system message up front; the reasoning ("<think>...</think>") of an
//             assistant turn is dropped before the last real user turn and re-wrapped as
//             "<think>\n...\n</think>\n\n" after it.
// Only what a prompt needs is supported: system / user / assistant messages with text content. Tools,
// tool calls, multimodal content, Qwen3's enable_thinking switch, DeepSeek-V3.1's thinking switch and every
// other family (Llama-3 included: no real Llama-3 template was at hand to check against) are errors that say
// what is supported and suggest a plain text template (the r1zero preset) instead.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "policy/tokenizer_config.h"

namespace aha::policy {

struct ChatMessage {
  std::string role;  // "system", "user" or "assistant"
  std::string content;
};

// [{"role": ..., "content": "..."}, ...] -> messages; anything else (a tool role, tool_calls, list content,
// extra keys) is std::invalid_argument "<where>[i]: ...".
std::vector<ChatMessage> parse_chat_messages(const nlohmann::json& messages, const std::string& where);

class ChatTemplate {
 public:
  enum class Family { kDeepSeek, kChatML, kQwen3 };

  // Recognises `jinja` by its markers; `bos_token` is what {{ bos_token }} renders ("" for none) and `where`
  // names the template in errors. Throws std::invalid_argument for a template of no supported family.
  static ChatTemplate recognise(const std::string& jinja, const std::string& bos_token,
                                const std::string& where);

  // The config's chat_template (an error when it has none).
  static ChatTemplate from_config(const TokenizerConfig& config);

  // The prompt text; add_generation_prompt appends the assistant header the model continues from.
  // Encode the result with Tokenizer::encode (no extra BOS: the template writes its own).
  std::string render(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const;

  Family family() const { return family_; }
  const std::string& generation_prompt() const { return generation_prompt_; }
  // e.g. "deepseek (assistant reasoning stripped, generation prompt \"<｜Assistant｜>\")"
  std::string description() const;

 private:
  ChatTemplate() = default;
  std::string render_deepseek(const std::vector<ChatMessage>& messages) const;
  std::string render_chatml(const std::vector<ChatMessage>& messages) const;
  std::string render_qwen3(const std::vector<ChatMessage>& messages) const;

  Family family_ = Family::kDeepSeek;
  std::string where_;
  std::string bos_token_;
  std::string generation_prompt_;
  bool strip_reasoning_ = false;               // deepseek: R1 drops text up to the last "</think>"
  std::optional<std::string> default_system_;  // chatml: the template's default system prompt
};

}  // namespace aha::policy
