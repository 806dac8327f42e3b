// `hailo-clip models pull`: downloads a known model into the models directory. Resumable (a .part file per
// file, continued with an HTTP Range request), verified (size and SHA-256 against the catalog or what the
// server states), atomic (a staging folder beside the destination, renamed into place only when every file
// verified: the service never sees a half-written model).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "core/status.h"
#include "models/catalog.h"

namespace hclip::models {

inline constexpr const char* kDefaultBaseUrl = "https://huggingface.co";

// $HAILO_CLIP_MODEL_BASE_URL, else https://huggingface.co.
std::string default_base_url();

struct PullProgress {
    std::string file;
    std::uint64_t done = 0;
    std::uint64_t total = 0;  // 0 while unknown
};

struct PullOptions {
    std::string base_url = kDefaultBaseUrl;
    std::filesystem::path models_dir;  // the model goes to models_dir / model.name
    int connect_timeout_s = 5;         // offline must fail fast
    int read_timeout_s = 30;
    int attempts = 4;    // per file; every attempt after a cut connection resumes where it stopped
    bool force = false;  // download again even when the model is installed
    std::function<void(const PullProgress&)> on_progress;
    std::function<void(const std::string&)> on_message;
};

struct PullResult {
    std::filesystem::path dir;
    bool already_installed = false;
    Manifest manifest;
};

// Errors: kUnavailable when the server cannot be reached (the message says how to copy the files by hand),
// kNotFound for HTTP 404, kDataLoss for a size or checksum mismatch (nothing is installed; the bad file is
// deleted so the next try starts it afresh).
Result<PullResult> pull_model(const KnownModel& model, const PullOptions& options);

}  // namespace hclip::models
