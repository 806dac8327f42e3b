// Which published reference a model is: by the weights file's SHA-256, else by its names and architecture.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "model/clip_model.h"
#include "selftest/expectations.h"
#include "selftest/selftest.h"

namespace hclip::selftest {

// What the model is: its file's hash, the names it goes by, its architecture and layout.
struct Identity {
    std::string sha256;
    std::vector<std::string> names;
    std::map<std::string, std::string> signature;
    std::string layout;
};

struct Match {
    const ModelEntry* entry = nullptr;
    std::string how;            // "sha256" or "name and architecture"
    bool sha_mismatch = false;  // matched by name and architecture, but the entry lists other files
    std::vector<std::string> hints;
};

// The options' names, the model folder's name and a Hugging Face config.json's "_name_or_path".
std::vector<std::string> model_names(const ClipModel& model, const SelfTestOptions& options);

// "key got (entry: want)" for each architecture value the entry states differently.
std::vector<std::string> architecture_differences(const ModelEntry& entry, const Identity& id);

// The entry for `id`, or none with hints why the near misses did not match.
Match match_entry(const Expectations& e, const Identity& id);

}  // namespace hclip::selftest
