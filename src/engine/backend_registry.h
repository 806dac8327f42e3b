// The backends a program can use, by name, in the manner of ONNX Runtime's execution providers or ggml's backend
// registry. A program registers its backends once at start (src/backends/builtin_backends.h) before it opens an
// engine; a test program may register a test double under a built-in name.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "engine/backend.h"

namespace hclip {

class BackendRegistry {
  public:
    // The program's registry.
    static BackendRegistry& global();

    // Adds a backend, or replaces the one of the same name.
    void add(BackendFactory factory);
    // A copy of the named factory, or not_found naming what is registered.
    Result<BackendFactory> find(const std::string& name) const;
    // Registration order.
    std::vector<std::string> names() const;

  private:
    mutable std::mutex mutex_;
    std::vector<BackendFactory> factories_;
};

}  // namespace hclip
