// Answer keys for majority voting (see answer_key.h).
#include "rewards/answer_key.h"

#include "rewards/accuracy.h"
#include "rewards/gsm8k.h"
#include "rewards/math/math_equiv.h"
#include "rewards/math/math_extract.h"
#include "rewards/tags.h"
#include "rewards/task_options.h"

namespace aha::rewards {
namespace {

class IntegerBlockKey final : public AnswerKey {
 public:
  explicit IntegerBlockKey(Tags tags) : tags_(std::move(tags)) {}
  std::optional<std::string> canonical(std::string_view completion) const override {
    const std::optional<std::string_view> block = last_answer_block(completion, tags_);
    if (!block) return std::nullopt;
    return canonical_integer(*block);
  }

 private:
  Tags tags_;
};

class MathKey final : public AnswerKey {
 public:
  MathKey(math::ExtractOptions extract, math::EquivOptions equiv) : extract_(std::move(extract)), equiv_(equiv) {}
  std::optional<std::string> canonical(std::string_view completion) const override {
    const std::optional<math::ExtractedAnswer> answer = math::extract_answer(completion, extract_);
    if (!answer || math::prepare_answer(answer->text).normalized.empty()) return std::nullopt;
    return answer->text;
  }
  bool same(const std::string& representative, const std::string& other) const override {
    return representative == other || math::equivalent(representative, other, equiv_);
  }

 private:
  math::ExtractOptions extract_;
  math::EquivOptions equiv_;
};

class Gsm8kKey final : public AnswerKey {
 public:
  explicit Gsm8kKey(math::ExtractOptions extract) : extract_(std::move(extract)) {}
  std::optional<std::string> canonical(std::string_view completion) const override {
    const std::optional<math::Rational> value = gsm8k_prediction(completion, extract_);
    if (!value) return std::nullopt;
    return value->to_string();
  }

 private:
  math::ExtractOptions extract_;
};

class ExactNumberKey final : public AnswerKey {
 public:
  explicit ExactNumberKey(math::ExtractOptions extract) : extract_(std::move(extract)) {}
  std::optional<std::string> canonical(std::string_view completion) const override {
    const std::optional<math::ExtractedAnswer> answer = math::extract_answer(completion, extract_);
    if (!answer) return std::nullopt;
    const std::optional<math::Rational> value = math::exact_number(math::prepare_answer(answer->text));
    if (!value) return std::nullopt;
    return value->to_string();
  }

 private:
  math::ExtractOptions extract_;
};

}  // namespace

std::unique_ptr<AnswerKey> make_answer_key(const RuleSpec& spec) {
  const std::string& name = spec.name;
  const nlohmann::json& options = spec.options;
  if (name == "accuracy") return std::make_unique<IntegerBlockKey>(tags_from_options(options, name));
  if (name == "math") {
    math::EquivOptions equiv;
    equiv.float_rounding =
        static_cast<int>(option_integer(options, "float_rounding", equiv.float_rounding, 0, 15, name));
    return std::make_unique<MathKey>(extract_options(options, name), equiv);
  }
  if (name == "gsm8k") return std::make_unique<Gsm8kKey>(extract_options(options, name));
  if (name == "integer" || name == "aime") return std::make_unique<ExactNumberKey>(extract_options(options, name));
  return nullptr;
}

}  // namespace aha::rewards
