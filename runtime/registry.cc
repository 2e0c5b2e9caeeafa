#include "duractor/runtime/registry.h"

namespace duractor {

Registry& Registry::add_activity(std::string name, ActivityFunction function) {
  if (auto valid = validate_name(name, "activity name"); !valid) {
    throw std::invalid_argument(valid.error().message);
  }
  if (!function) throw std::invalid_argument("activity '" + name + "' has no function");
  if (!activities_.emplace(name, std::move(function)).second) {
    throw std::invalid_argument("activity '" + name + "' is registered twice");
  }
  return *this;
}

Registry& Registry::add_orchestration(std::string name, std::uint32_t version,
                                      OrchestrationFunction function) {
  if (auto valid = validate_name(name, "orchestration name"); !valid) {
    throw std::invalid_argument(valid.error().message);
  }
  if (version == 0) {
    throw std::invalid_argument("orchestration '" + name +
                                "': version 0 means 'latest'; register versions from 1");
  }
  if (!function) throw std::invalid_argument("orchestration '" + name + "' has no function");
  auto& versions = orchestrations_[name];
  if (!versions.emplace(version, OrchestrationEntry{name, version, std::move(function)}).second) {
    throw std::invalid_argument("orchestration '" + name + "' version " + std::to_string(version) +
                                " is registered twice");
  }
  return *this;
}

const ActivityFunction* Registry::activity(std::string_view name) const {
  auto it = activities_.find(name);
  return it == activities_.end() ? nullptr : &it->second;
}

Result<const Registry::OrchestrationEntry*> Registry::orchestration(std::string_view name,
                                                                    std::uint32_t version) const {
  auto it = orchestrations_.find(name);
  if (it == orchestrations_.end() || it->second.empty()) {
    return fail(ErrorCode::kNotRegistered,
                "orchestration '" + std::string(name) + "' is not registered");
  }
  const auto& versions = it->second;
  if (version == 0) return &versions.rbegin()->second;
  auto v = versions.find(version);
  if (v == versions.end()) {
    std::string known;
    for (const auto& [n, entry] : versions) {
      known += (known.empty() ? "" : ", ") + std::to_string(n);
    }
    return fail(ErrorCode::kNotRegistered, "orchestration '" + std::string(name) + "' version " +
                                               std::to_string(version) +
                                               " is not registered (registered: " + known + ")");
  }
  return &v->second;
}

std::vector<std::string> Registry::activity_names() const {
  std::vector<std::string> out;
  for (const auto& [name, fn] : activities_) out.push_back(name);
  return out;
}

std::vector<std::pair<std::string, std::uint32_t>> Registry::orchestration_versions() const {
  std::vector<std::pair<std::string, std::uint32_t>> out;
  for (const auto& [name, versions] : orchestrations_) {
    for (const auto& [version, entry] : versions) out.emplace_back(name, version);
  }
  return out;
}

}  // namespace duractor
