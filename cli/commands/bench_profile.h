// One POST /v1/classify with a photo-sized JPEG (about 700 KB of base64), taken apart: each stage the service
// runs for it, timed on its own in this process, next to the whole request over HTTP.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "server/clip_service.h"

namespace hclip::cli {

struct RequestProfileOptions {
    int port = 0;  // the service's HTTP port on 127.0.0.1
    int iterations = 10;
    std::vector<std::uint8_t> jpeg;  // the picture the request carries
    // One picture (image_size x image_size RGB, as the service prepares it) through an image tower like the
    // service's workers have, batch 1.
    std::function<void(std::span<const std::uint8_t> rgb)> tower;
};

// A JPEG of about `bytes` bytes (the synthetic picture, grown until it is that large).
std::vector<std::uint8_t> make_photo_sized_jpeg(std::size_t bytes);

// Prints the breakdown (median of `iterations` for each stage). Returns false when a stage fails.
bool print_request_profile(server::ClipService& service, const RequestProfileOptions& options);

}  // namespace hclip::cli
