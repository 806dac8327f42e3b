#include "io/sha256.h"

#include <openssl/evp.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

namespace hclip {

namespace {

struct DigestContextDeleter {
    void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using DigestContext = std::unique_ptr<EVP_MD_CTX, DigestContextDeleter>;

struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
};

std::string to_hex(const unsigned char* digest, unsigned int length) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(length * 2u);
    for (unsigned int i = 0; i < length; ++i) {
        out += kHex[digest[i] >> 4];
        out += kHex[digest[i] & 0x0f];
    }
    return out;
}

Result<DigestContext> start_digest() {
    DigestContext ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
        return internal_error("OpenSSL could not start a SHA-256 digest");
    }
    return ctx;
}

Result<std::string> finish_digest(EVP_MD_CTX* ctx) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    if (EVP_DigestFinal_ex(ctx, digest.data(), &length) != 1) {
        return internal_error("OpenSSL could not finish a SHA-256 digest");
    }
    return to_hex(digest.data(), length);
}

}  // namespace

Result<std::string> sha256_file(const std::string& path) {
    std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
    if (!file) return not_found("cannot open '" + path + "' to hash it: " + std::strerror(errno));
    HCLIP_ASSIGN_OR_RETURN(DigestContext ctx, start_digest());
    std::vector<unsigned char> buffer(std::size_t{1} << 20);
    for (;;) {
        const std::size_t n = std::fread(buffer.data(), 1, buffer.size(), file.get());
        if (n > 0 && EVP_DigestUpdate(ctx.get(), buffer.data(), n) != 1) {
            return internal_error("OpenSSL failed while hashing '" + path + "'");
        }
        if (n < buffer.size()) {
            if (std::ferror(file.get())) return data_loss("read error while hashing '" + path + "'");
            break;
        }
    }
    return finish_digest(ctx.get());
}

std::string sha256_hex(std::string_view bytes) {
    auto ctx = start_digest();
    if (!ctx.ok() || EVP_DigestUpdate(ctx->get(), bytes.data(), bytes.size()) != 1) return {};
    auto hex = finish_digest(ctx->get());
    return hex.ok() ? *hex : std::string();
}

}  // namespace hclip
