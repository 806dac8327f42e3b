#include "server/web/embedded_files.h"

namespace hclip::server {

const EmbeddedFile* find_embedded_file(std::string_view name) {
    for (const EmbeddedFile& file : embedded_web_files()) {
        if (file.name == name) return &file;
    }
    return nullptr;
}

const char* content_type_for(std::string_view name) {
    if (name.ends_with(".html")) return "text/html; charset=utf-8";
    if (name.ends_with(".js")) return "text/javascript; charset=utf-8";
    if (name.ends_with(".css")) return "text/css; charset=utf-8";
    if (name.ends_with(".json")) return "application/json";
    if (name.ends_with(".svg")) return "image/svg+xml";
    return "application/octet-stream";
}

}  // namespace hclip::server
