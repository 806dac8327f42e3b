// Log lines on stderr, which systemd's journal collects. One line per request, clear start-up lines, and
// details only when server.debug is on.
#pragma once

#include <string>

namespace hclip::server {

void set_debug_logging(bool enabled);
bool debug_logging();
void log_info(const std::string& message);
void log_warning(const std::string& message);
void log_error(const std::string& message);
void log_debug(const std::string& message);

}  // namespace hclip::server
