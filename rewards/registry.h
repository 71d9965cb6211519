// The rule registry: every built-in rule by name, built from a RuleSpec (see rule.h). This is the one file
// that includes every rule; no rule includes it (rubric.h builds its rules through it).
//
//   format, accuracy                 tags.h options; format.h, accuracy.h
//   math, integer (= aime)           math/math_rule.h
//   gsm8k, countdown                 gsm8k.h, countdown.h
//   code                             code/code_reward.h
//   overlong, length_range           shaping/length.h
//   language, repetition             shaping/language.h, shaping/repetition.h
//   custom, plugin, program          custom/custom_rule.h, custom/plugin_rule.h, custom/program_rule.h;
//                                    also as "<kind>.<label>", so one rubric can hold several of each
//                                    (the rubric refuses a name twice)
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "rewards/rule.h"

namespace aha::rewards {

// Unknown name or unknown option key -> std::invalid_argument naming it and listing what is allowed.
// The weight is the rubric's business.
std::unique_ptr<Rule> make_rule(const RuleSpec& spec);
std::vector<std::string> known_rules();

// Rules that shape a reward (format, overlong, length_range, language, repetition) rather than decide
// whether the answer is right; every other rule is a verifier (SourceRubrics::verifier).
bool is_shaping_rule(const std::string& name);

}  // namespace aha::rewards
