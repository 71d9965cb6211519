// Reading tokenizer_config.json (see tokenizer_config.h).
#include "policy/tokenizer_config.h"

#include <nlohmann/json.hpp>
#include <stdexcept>

namespace aha::policy {
namespace {

using json = nlohmann::json;

// transformers writes int(1e30) for "no limit"; anything this large is that sentinel, not a context length.
constexpr double kNoLimitThreshold = 1e18;

std::string short_dump(const json& j) {
  std::string s = j.dump();
  return s.size() > 80 ? s.substr(0, 77) + "..." : s;
}

[[noreturn]] void fail(const std::string& file, const std::string& field, const std::string& what) {
  throw std::runtime_error(file + ": " + field + ": " + what);
}

std::optional<SpecialToken> read_token(const json& root, const char* field, const Tokenizer& tokenizer,
                                       const std::string& file) {
  if (!root.contains(field) || root[field].is_null()) return std::nullopt;
  const json& j = root[field];
  std::string content;
  if (j.is_string()) {
    content = j.get<std::string>();
  } else if (j.is_object() && j.contains("content") && j["content"].is_string()) {
    content = j["content"].get<std::string>();
  } else {
    fail(file, field,
         "expected a string, an AddedToken object {\"content\": \"...\"} or null, got " + short_dump(j));
  }
  auto id = tokenizer.token_to_id(content);
  if (!id)
    fail(file, field,
         "'" + content +
             "' is not a token of the tokenizer (neither an added token nor in the BPE vocab); "
             "the tokenizer_config.json does not belong to this tokenizer.json");
  return SpecialToken{content, *id};
}

bool read_bool(const json& root, const char* field, const std::string& file) {
  if (!root.contains(field) || root[field].is_null()) return false;
  if (!root[field].is_boolean()) fail(file, field, "expected true or false, got " + short_dump(root[field]));
  return root[field].get<bool>();
}

std::optional<int64_t> read_max_length(const json& root, const std::string& file) {
  if (!root.contains("model_max_length") || root["model_max_length"].is_null()) return std::nullopt;
  const json& j = root["model_max_length"];
  if (j.is_number_float() && j.get<double>() >= kNoLimitThreshold) return std::nullopt;
  if (j.is_number_unsigned() && j.get<uint64_t>() >= static_cast<uint64_t>(kNoLimitThreshold))
    return std::nullopt;
  if (!j.is_number_integer() || j.get<int64_t>() < 1)
    fail(file, "model_max_length", "expected a positive integer, got " + short_dump(j));
  return j.get<int64_t>();
}

// A string, or HF's list form [{"name": "default", "template": ...}, {"name": "tool_use", ...}].
std::optional<std::string> read_chat_template(const json& root, const std::string& file) {
  if (!root.contains("chat_template") || root["chat_template"].is_null()) return std::nullopt;
  const json& j = root["chat_template"];
  if (j.is_string()) return j.get<std::string>();
  if (!j.is_array())
    fail(file, "chat_template",
         "expected a string or a list of {\"name\", \"template\"} objects, got " + short_dump(j));
  std::string names;
  for (size_t i = 0; i < j.size(); ++i) {
    const json& entry = j[i];
    if (!entry.is_object() || !entry.contains("name") || !entry["name"].is_string() ||
        !entry.contains("template") || !entry["template"].is_string())
      fail(file, "chat_template[" + std::to_string(i) + "]",
           "expected {\"name\": \"...\", \"template\": \"...\"}, got " + short_dump(entry));
    if (entry["name"] == "default") return entry["template"].get<std::string>();
    names += (names.empty() ? "" : ", ") + entry["name"].get<std::string>();
  }
  fail(file, "chat_template", "a list of templates without one named \"default\" (names: " + names + ")");
}

}  // namespace

std::vector<int64_t> TokenizerConfig::encode(const Tokenizer& tokenizer, std::string_view text) const {
  std::vector<int64_t> ids;
  if (add_bos_token) ids.push_back(bos_token->id);
  auto body = tokenizer.encode(text);
  ids.insert(ids.end(), body.begin(), body.end());
  if (add_eos_token) ids.push_back(eos_token->id);
  return ids;
}

TokenizerConfig parse_tokenizer_config(std::string_view json_text, const Tokenizer& tokenizer,
                                       const std::string& name_for_errors) {
  const std::string& file = name_for_errors;
  json root;
  try {
    root = json::parse(json_text);
  } catch (const json::exception& e) {  // parse errors, and numbers out of range (1e400)
    throw std::runtime_error(file + ": invalid JSON: " + e.what());
  }
  if (!root.is_object()) fail(file, "(root)", "expected a JSON object, got " + short_dump(root));

  TokenizerConfig c;
  c.file = file;
  c.bos_token = read_token(root, "bos_token", tokenizer, file);
  c.eos_token = read_token(root, "eos_token", tokenizer, file);
  c.pad_token = read_token(root, "pad_token", tokenizer, file);
  c.add_bos_token = read_bool(root, "add_bos_token", file);
  c.add_eos_token = read_bool(root, "add_eos_token", file);
  if (c.add_bos_token && !c.bos_token) fail(file, "add_bos_token", "is true but bos_token is null or absent");
  if (c.add_eos_token && !c.eos_token) fail(file, "add_eos_token", "is true but eos_token is null or absent");
  c.chat_template = read_chat_template(root, file);
  c.chat_template_origin = file + ": chat_template";
  c.model_max_length = read_max_length(root, file);
  return c;
}

TokenizerConfig load_tokenizer_config(const std::filesystem::path& file, const Tokenizer& tokenizer) {
  return parse_tokenizer_config(read_file_maybe_gzip(file, "tokenizer config"), tokenizer, file.string());
}

std::optional<TokenizerConfig> load_tokenizer_config_from_dir(const std::filesystem::path& dir,
                                                              const Tokenizer& tokenizer) {
  const auto file = dir / "tokenizer_config.json";
  if (!std::filesystem::exists(file)) return std::nullopt;
  TokenizerConfig c = load_tokenizer_config(file, tokenizer);
  const auto jinja = dir / "chat_template.jinja";
  if (std::filesystem::exists(jinja)) {
    c.chat_template = read_file_maybe_gzip(jinja, "chat template");
    c.chat_template_origin = jinja.string();
  }
  return c;
}

}  // namespace aha::policy
