#include "server/log.h"

#include <atomic>
#include <cstdio>

namespace hclip::server {

namespace {
std::atomic<bool> g_debug{false};

void write_line(const char* level, const std::string& message) {
    // One fputs per line: stdio locks the stream, so lines from concurrent threads never interleave.
    const std::string line = std::string(level) + " " + message + "\n";
    std::fputs(line.c_str(), stderr);
    std::fflush(stderr);
}
}  // namespace

void set_debug_logging(bool enabled) {
    g_debug.store(enabled);
}
bool debug_logging() {
    return g_debug.load();
}
void log_info(const std::string& message) {
    write_line("INFO", message);
}
void log_warning(const std::string& message) {
    write_line("WARNING", message);
}
void log_error(const std::string& message) {
    write_line("ERROR", message);
}
void log_debug(const std::string& message) {
    if (g_debug.load()) write_line("DEBUG", message);
}

}  // namespace hclip::server
