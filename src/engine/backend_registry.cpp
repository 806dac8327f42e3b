#include "engine/backend_registry.h"

#include <algorithm>

namespace hclip {

BackendRegistry& BackendRegistry::global() {
    static BackendRegistry registry;
    return registry;
}

void BackendRegistry::add(BackendFactory factory) {
    std::lock_guard lock(mutex_);
    auto same = std::find_if(factories_.begin(), factories_.end(),
                             [&](const BackendFactory& f) { return f.name == factory.name; });
    if (same != factories_.end()) {
        *same = std::move(factory);
    } else {
        factories_.push_back(std::move(factory));
    }
}

Result<BackendFactory> BackendRegistry::find(const std::string& name) const {
    std::lock_guard lock(mutex_);
    for (const BackendFactory& f : factories_) {
        if (f.name == name) return f;
    }
    std::string known;
    for (const BackendFactory& f : factories_)
        known += (known.empty() ? "" : ", ") + f.name;
    return not_found("no backend '" + name + "' in this program (registered: " + (known.empty() ? "none" : known) +
                     ")");
}

std::vector<std::string> BackendRegistry::names() const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    for (const BackendFactory& f : factories_)
        out.push_back(f.name);
    return out;
}

}  // namespace hclip
