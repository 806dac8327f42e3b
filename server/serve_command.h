#pragma once

#include <string>
#include <vector>

namespace hclip::server {

// hailo-clip serve [--config PATH] [--model-dir DIR] [--host HOST] [--port N]
// Returns the process exit code: 0 after a graceful stop, 1 when the service cannot start, 2 on usage errors.
int run_serve(const std::vector<std::string>& args);

}  // namespace hclip::server
