// Reading values out of a context.json that may come from another version or machine: a missing
// key or one of another type reads as absent instead of throwing.
#pragma once

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>

namespace nfb::report {

// The string at json[k1][k2]..., or empty when a level is missing or of another type.
inline std::string StringAt(const nlohmann::json& json, std::initializer_list<const char*> keys) {
  const nlohmann::json* node = &json;
  for (const char* key : keys) {
    if (!node->is_object()) return {};
    auto it = node->find(key);
    if (it == node->end()) return {};
    node = &*it;
  }
  return node->is_string() ? node->get<std::string>() : std::string();
}

}  // namespace nfb::report
