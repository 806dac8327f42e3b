// A small argument parser for the subcommands: --flag VALUE, repeated flags, boolean switches and positionals.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/status.h"

namespace hclip::cli {

class Args {
  public:
    // `value_flags` take a value ("--model-dir DIR"); `switches` do not ("--raw"). Anything else starting with
    // "--" is an error; everything else is positional.
    static Result<Args> parse(const std::vector<std::string>& argv, const std::set<std::string>& value_flags,
                              const std::set<std::string>& switches);

    std::optional<std::string> value(const std::string& flag) const;
    std::vector<std::string> values(const std::string& flag) const;
    bool has(const std::string& flag) const { return switches_.count(flag) > 0 || values_.count(flag) > 0; }
    const std::vector<std::string>& positional() const { return positional_; }

    Result<int> int_value(const std::string& flag, int fallback, int min, int max) const;
    Result<double> number_value(const std::string& flag, double fallback) const;

  private:
    std::multimap<std::string, std::string> values_;
    std::set<std::string> switches_;
    std::vector<std::string> positional_;
};

// --model-dir, falling back to $HAILO_CLIP_MODEL_DIR.
Result<std::string> model_dir_from(const Args& args);

}  // namespace hclip::cli
