// Every subcommand: takes its arguments (after the subcommand name), prints JSON on stdout, returns the exit code.
#pragma once

#include <string>
#include <vector>

namespace hclip::cli {

using Argv = std::vector<std::string>;

int run_embed_image(const Argv& args);
int run_embed_text(const Argv& args);
int run_classify(const Argv& args);
int run_tokenize(const Argv& args);
int run_bench(const Argv& args);
int run_selftest(const Argv& args);
int run_models(const Argv& args);

// Prints "hailo-clip: <message>" on stderr and returns `exit_code`.
int fail(const std::string& message, int exit_code = 1);

inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

}  // namespace hclip::cli
