// Building the engine from the options every model-using subcommand shares.
#pragma once

#include <memory>
#include <set>
#include <string>

#include "cli/args.h"
#include "engine/clip_engine.h"

namespace hclip::cli {

// The options of engine_from_args, to add to a subcommand's own.
std::set<std::string> engine_value_flags();

// The engine of every model-using subcommand: the service's configuration (--config, else its defaults) through
// server::engine_options_from_config, the flags on top (--backend, --image-backend, --text-backend, --threads,
// --weights, ...), then ClipEngine::open, exactly as the service builds its own. `pack_weights`: see EngineOptions.
Result<std::unique_ptr<ClipEngine>> engine_from_args(const Args& args, bool pack_weights = true);

// The model's name: --model-name, else the model directory's name ("clip-vit-b-32").
std::string model_name_from(const Args& args, const ClipEngine& engine);

}  // namespace hclip::cli
