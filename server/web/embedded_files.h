// The files under server/web/ (the page at / and the OpenAPI document), built into the binary.
#pragma once

#include <span>
#include <string_view>

namespace hclip::server {

struct EmbeddedFile {
    std::string_view name;  // relative to server/web/, e.g. "index.html"
    std::string_view bytes;
};

std::span<const EmbeddedFile> embedded_web_files();

// The file called `name`, or nullptr.
const EmbeddedFile* find_embedded_file(std::string_view name);

// The Content-Type for a file name, from its extension.
const char* content_type_for(std::string_view name);

}  // namespace hclip::server
