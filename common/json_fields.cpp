// --set overrides; see json_fields.h.
#include "common/json_fields.h"

namespace aha::common {

void apply_override(nlohmann::json& config, const std::string& assignment) {
  auto eq = assignment.find('=');
  auto dot = assignment.find('.');
  if (eq == std::string::npos || dot == std::string::npos || dot > eq)
    throw std::invalid_argument("--set " + assignment + ": expected section.key=value");
  std::string section = assignment.substr(0, dot), key = assignment.substr(dot + 1, eq - dot - 1);
  std::string text = assignment.substr(eq + 1);
  if (!config.is_object())
    throw std::invalid_argument("--set " + assignment + ": the config is not a JSON object");
  if (config.contains(section) && !config[section].is_object())
    throw std::invalid_argument("--set " + assignment + ": '" + section + "' is not a section");
  nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) value = text;
  config[section][key] = value;
}

}  // namespace aha::common
