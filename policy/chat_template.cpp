// Chat template recognition and native rendering (see chat_template.h). Each render_* function follows its
// family's real Jinja template statement by statement for text-only system/user/assistant messages; the
// Python string methods the templates call (split, lstrip, strip) are spelled out with the same semantics.
#include "policy/chat_template.h"

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string_view>

namespace aha::policy {
namespace {

using json = nlohmann::json;

const char* const kSupported =
    "aha renders chat templates natively, without Jinja, for these families only: DeepSeek-V3/R1 "
    "(<｜User｜>/<｜Assistant｜>), Qwen2/Qwen2.5 ChatML (<|im_start|>/<|im_end|>) and Qwen3; for another "
    "model "
    "use a plain text prompt template instead, e.g. the r1zero preset (aha eval --template r1zero)";

[[noreturn]] void unsupported(const std::string& where, const std::string& what) {
  throw std::invalid_argument(where + ": " + what + "; " + kSupported);
}

// A Jinja (Python) string literal's value: \n \t \r \\ \' \" are unescaped; any other backslash stays, as in
// Python (the templates of the supported families use no \x, \u or octal escapes in the literals read here).
std::string unescape(std::string_view raw) {
  std::string out;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '\\' || i + 1 == raw.size()) {
      out += raw[i];
      continue;
    }
    const char e = raw[++i];
    switch (e) {
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case 'r':
        out += '\r';
        break;
      case '\\':
      case '\'':
      case '"':
        out += e;
        break;
      default:
        out += '\\';
        out += e;
    }
  }
  return out;
}

struct Literal {
  size_t pos;  // offset of the opening quote in the template
  std::string value;
};

// Every string literal inside {{ ... }} and {% ... %} tags, in order; text outside tags and {# comments #}
// is skipped, so an apostrophe in plain template text is not mistaken for a quote.
std::vector<Literal> string_literals(std::string_view t) {
  std::vector<Literal> out;
  size_t i = 0;
  while (i + 1 < t.size()) {
    if (t[i] != '{' || (t[i + 1] != '{' && t[i + 1] != '%' && t[i + 1] != '#')) {
      ++i;
      continue;
    }
    const std::string_view close = t[i + 1] == '{' ? "}}" : t[i + 1] == '%' ? "%}" : "#}";
    const bool comment = t[i + 1] == '#';
    for (i += 2; i < t.size() && t.substr(i, 2) != close; ++i) {
      if (comment || (t[i] != '\'' && t[i] != '"')) continue;
      const char quote = t[i];
      const size_t start = i + 1;
      for (i = start; i < t.size() && t[i] != quote; ++i) {
        if (t[i] == '\\') ++i;
      }
      out.push_back({start - 1, unescape(t.substr(start, i - start))});
    }
    i += 2;
  }
  return out;
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Python's s.split(sep)[-1] and s.split(sep)[0].
std::string after_last(const std::string& s, std::string_view sep) {
  const size_t at = s.rfind(sep);
  return at == std::string::npos ? s : s.substr(at + sep.size());
}
std::string before_first(const std::string& s, std::string_view sep) {
  return s.substr(0, s.find(sep));
}

// Python's lstrip('\n'), rstrip('\n'), strip('\n').
std::string lstrip_newlines(const std::string& s) {
  const size_t at = s.find_first_not_of('\n');
  return at == std::string::npos ? "" : s.substr(at);
}
std::string rstrip_newlines(const std::string& s) {
  const size_t at = s.find_last_not_of('\n');
  return at == std::string::npos ? "" : s.substr(0, at + 1);
}
std::string strip_newlines(const std::string& s) {
  return rstrip_newlines(lstrip_newlines(s));
}

void check_messages(const std::vector<ChatMessage>& messages, const std::string& where) {
  if (messages.empty()) throw std::invalid_argument(where + ": no messages to render");
  for (size_t i = 0; i < messages.size(); ++i) {
    const std::string& role = messages[i].role;
    if (role != "system" && role != "user" && role != "assistant")
      throw std::invalid_argument(where + ": message " + std::to_string(i) + " has role '" + role +
                                  "'; supported roles: system, user, assistant");
  }
}

}  // namespace

std::vector<ChatMessage> parse_chat_messages(const json& messages, const std::string& where) {
  if (!messages.is_array() || messages.empty())
    throw std::invalid_argument(where +
                                ": expected a non-empty list of {\"role\", \"content\"} messages, got " +
                                messages.dump().substr(0, 80));
  std::vector<ChatMessage> out;
  for (size_t i = 0; i < messages.size(); ++i) {
    const json& m = messages[i];
    const std::string at = where + "[" + std::to_string(i) + "]";
    if (!m.is_object()) throw std::invalid_argument(at + ": expected an object {\"role\", \"content\"}");
    for (const auto& [key, value] : m.items()) {
      if (key == "tool_calls" || key == "tool_call_id")
        throw std::invalid_argument(at + "." + key +
                                    ": tool calls are not supported; messages are text only");
      if (key != "role" && key != "content")
        throw std::invalid_argument(at + "." + key + ": unknown key (allowed: role, content)");
    }
    if (!m.contains("role") || !m["role"].is_string())
      throw std::invalid_argument(at + ".role: expected \"system\", \"user\" or \"assistant\"");
    const std::string role = m["role"].get<std::string>();
    if (role == "tool" || role == "ipython")
      throw std::invalid_argument(at + ".role: '" + role + "' messages are not supported (no tools)");
    if (role != "system" && role != "user" && role != "assistant")
      throw std::invalid_argument(at + ".role: '" + role +
                                  "'; expected \"system\", \"user\" or \"assistant\"");
    if (!m.contains("content")) throw std::invalid_argument(at + ".content: missing");
    if (m["content"].is_array())
      throw std::invalid_argument(at +
                                  ".content: a list of parts (multimodal content) is not supported; "
                                  "content must be a string");
    if (!m["content"].is_string())
      throw std::invalid_argument(at + ".content: expected a string, got " +
                                  m["content"].dump().substr(0, 80));
    out.push_back({role, m["content"].get<std::string>()});
  }
  return out;
}

ChatTemplate ChatTemplate::recognise(const std::string& jinja, const std::string& bos_token,
                                     const std::string& where) {
  const auto literals = string_literals(jinja);
  auto has_literal = [&](std::string_view piece) {
    for (const auto& l : literals)
      if (contains(l.value, piece)) return true;
    return false;
  };
  // What the template appends for add_generation_prompt: the first literal after its last test of the flag
  // (the earlier ones only default it to false).
  auto generation_literal = [&](std::string_view must_start) {
    const size_t flag = jinja.rfind("add_generation_prompt");
    for (const auto& l : literals)
      if (flag != std::string::npos && l.pos > flag) {
        if (!starts_with(l.value, must_start)) break;
        return l.value;
      }
    unsupported(where, "cannot find the generation prompt (a literal starting with \"" +
                           std::string(must_start) + "\" after the last add_generation_prompt test)");
  };

  ChatTemplate t;
  t.where_ = where;
  t.bos_token_ = bos_token;
  if (contains(jinja, "<|start_header_id|>"))
    unsupported(where, "a Llama-3 chat template (<|start_header_id|> ... <|eot_id|>) is not supported");
  if (has_literal("<｜User｜>") && has_literal("<｜Assistant｜>")) {
    if (contains(jinja, "thinking"))
      unsupported(where, "a DeepSeek template with a thinking switch (DeepSeek-V3.1 style) is not supported");
    if (!contains(jinja, "bos_token"))
      unsupported(where,
                  "a DeepSeek-style template that does not write {{ bos_token }} is not one aha knows");
    t.family_ = Family::kDeepSeek;
    t.strip_reasoning_ = contains(jinja, "split('</think>')") || contains(jinja, "split(\"</think>\")");
    if (!t.strip_reasoning_ && contains(jinja, "</think>"))
      unsupported(where, "a DeepSeek template that handles </think> other than R1's split('</think>')[-1]");
    t.generation_prompt_ = generation_literal("<｜Assistant｜>");
    return t;
  }
  if (has_literal("<|im_start|>") && has_literal("<|im_end|>")) {
    if (contains(jinja, "reasoning_content")) {
      if (!contains(jinja, "last_query_index") || !contains(jinja, "split('</think>')"))
        unsupported(where, "a ChatML template with reasoning_content that is not Qwen3's");
      t.family_ = Family::kQwen3;
    } else {
      if (contains(jinja, "think>"))
        unsupported(where, "a ChatML template with <think> handling other than Qwen3's (e.g. QwQ's)");
      t.family_ = Family::kChatML;
      const std::string head = "<|im_start|>system\n", tail = "<|im_end|>\n";
      for (const auto& l : literals)
        if (starts_with(l.value, head) && ends_with(l.value, tail) &&
            l.value.size() > head.size() + tail.size()) {
          t.default_system_ = l.value.substr(head.size(), l.value.size() - head.size() - tail.size());
          break;
        }
    }
    t.generation_prompt_ = generation_literal("<|im_start|>assistant");
    return t;
  }
  unsupported(where,
              "unrecognised chat template (no DeepSeek <｜User｜>/<｜Assistant｜> nor ChatML <|im_start|> "
              "markers)");
}

ChatTemplate ChatTemplate::from_config(const TokenizerConfig& config) {
  if (!config.chat_template) throw std::invalid_argument(config.file + ": no chat_template; " + kSupported);
  return recognise(*config.chat_template, config.bos_token ? config.bos_token->content : "",
                   config.chat_template_origin);
}

std::string ChatTemplate::description() const {
  auto quoted = [](const std::string& s) { return json(s).dump(); };
  switch (family_) {
    case Family::kDeepSeek:
      return std::string("deepseek (") +
             (strip_reasoning_ ? "assistant reasoning stripped" : "assistant turns verbatim") +
             ", generation prompt " + quoted(generation_prompt_) + ")";
    case Family::kChatML:
      return "chatml (default system prompt " + (default_system_ ? quoted(*default_system_) : "none") +
             ", generation prompt " + quoted(generation_prompt_) + ")";
    case Family::kQwen3:
      return "qwen3 (reasoning kept after the last user turn, generation prompt " +
             quoted(generation_prompt_) + ")";
  }
  return "";
}

std::string ChatTemplate::render(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const {
  check_messages(messages, where_);
  std::string out = family_ == Family::kDeepSeek ? render_deepseek(messages)
                    : family_ == Family::kChatML ? render_chatml(messages)
                                                 : render_qwen3(messages);
  if (add_generation_prompt) out += generation_prompt_;
  return out;
}

std::string ChatTemplate::render_deepseek(const std::vector<ChatMessage>& messages) const {
  std::string system;
  bool first_system = true;
  for (const auto& m : messages) {
    if (m.role != "system") continue;
    system += (first_system ? "" : "\n\n") + m.content;
    first_system = false;
  }
  std::string out = bos_token_ + system;
  for (const auto& m : messages) {
    if (m.role == "user") out += "<｜User｜>" + m.content;
    if (m.role == "assistant")
      out += "<｜Assistant｜>" + (strip_reasoning_ ? after_last(m.content, "</think>") : m.content) +
             "<｜end▁of▁sentence｜>";
  }
  return out;
}

std::string ChatTemplate::render_chatml(const std::vector<ChatMessage>& messages) const {
  std::string out;
  if (default_system_ && messages[0].role != "system")
    out += "<|im_start|>system\n" + *default_system_ + "<|im_end|>\n";
  for (const auto& m : messages) out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
  return out;
}

std::string ChatTemplate::render_qwen3(const std::vector<ChatMessage>& messages) const {
  std::string out;
  if (messages[0].role == "system") out += "<|im_start|>system\n" + messages[0].content + "<|im_end|>\n";
  // The last user turn that is not a tool response wrapped in <tool_response> tags (the whole list if none).
  size_t last_query = messages.size() - 1;
  for (size_t k = messages.size(); k-- > 0;) {
    const auto& m = messages[k];
    if (m.role == "user" &&
        !(starts_with(m.content, "<tool_response>") && ends_with(m.content, "</tool_response>"))) {
      last_query = k;
      break;
    }
  }
  for (size_t i = 0; i < messages.size(); ++i) {
    const auto& m = messages[i];
    if (m.role == "user" || (m.role == "system" && i > 0)) {
      out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
    } else if (m.role == "assistant") {
      std::string content = m.content, reasoning;
      if (contains(m.content, "</think>")) {
        content = lstrip_newlines(after_last(m.content, "</think>"));
        reasoning =
            lstrip_newlines(after_last(rstrip_newlines(before_first(m.content, "</think>")), "<think>"));
      }
      const bool last = i + 1 == messages.size();
      if (i > last_query && (last || !reasoning.empty()))
        out += "<|im_start|>assistant\n<think>\n" + strip_newlines(reasoning) + "\n</think>\n\n" +
               lstrip_newlines(content);
      else
        out += "<|im_start|>assistant\n" + content;
      out += "<|im_end|>\n";
    }
  }
  return out;
}

}  // namespace aha::policy
