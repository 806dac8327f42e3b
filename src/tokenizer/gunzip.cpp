#include "tokenizer/gunzip.h"

#include <zlib.h>

#include <algorithm>
#include <limits>

namespace hclip {

Result<std::string> gunzip(std::span<const std::uint8_t> compressed, std::size_t max_output) {
    if (compressed.size() > std::numeric_limits<uInt>::max()) return resource_exhausted("compressed data too large");
    z_stream stream{};
    // 15 window bits + 32: accept both gzip and zlib headers.
    if (inflateInit2(&stream, 15 + 32) != Z_OK) return internal_error("zlib initialisation failed");
    stream.next_in = const_cast<Bytef*>(compressed.data());  // zlib's API is not const-correct
    stream.avail_in = static_cast<uInt>(compressed.size());

    std::string out;
    constexpr std::size_t kChunk = 1 << 18;
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
        if (out.size() >= max_output) {
            inflateEnd(&stream);
            return resource_exhausted("decompressed data exceeds " + std::to_string(max_output) + " bytes");
        }
        const std::size_t old_size = out.size();
        const std::size_t chunk = std::min(kChunk, max_output - old_size);
        out.resize(old_size + chunk);
        stream.next_out = reinterpret_cast<Bytef*>(out.data() + old_size);
        stream.avail_out = static_cast<uInt>(chunk);
        rc = inflate(&stream, Z_NO_FLUSH);
        out.resize(old_size + (chunk - stream.avail_out));
        if (rc == Z_STREAM_END) break;
        if (rc != Z_OK) {
            const std::string reason = stream.msg != nullptr ? stream.msg : "corrupt or truncated data";
            inflateEnd(&stream);
            return data_loss("gzip: " + reason);
        }
        if (stream.avail_in == 0 && stream.avail_out != 0) {
            inflateEnd(&stream);
            return data_loss("gzip: truncated data");
        }
    }
    inflateEnd(&stream);
    return out;
}

}  // namespace hclip
