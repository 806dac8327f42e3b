#include "io/npy.h"

#include <bit>
#include <cctype>
#include <cstring>
#include <fstream>
#include <limits>

#include "core/mapped_file.h"

namespace hclip {

namespace {

static_assert(std::endian::native == std::endian::little, "the .npy reader assumes a little-endian host");

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicSize = 6;

// A tiny scanner over the header, a Python dict literal: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
class HeaderScanner {
  public:
    explicit HeaderScanner(std::string_view s) : s_(s) {}
    void skip_space() {
        while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t'))
            ++pos_;
    }
    bool eat(char c) {
        skip_space();
        if (pos_ < s_.size() && s_[pos_] == c) {
            ++pos_;
            return true;
        }
        return false;
    }
    bool peek(char c) {
        skip_space();
        return pos_ < s_.size() && s_[pos_] == c;
    }
    bool quoted(std::string& out) {
        skip_space();
        if (pos_ >= s_.size() || (s_[pos_] != '\'' && s_[pos_] != '"')) return false;
        const char q = s_[pos_++];
        const std::size_t end = s_.find(q, pos_);
        if (end == std::string_view::npos) return false;
        out = std::string(s_.substr(pos_, end - pos_));
        pos_ = end + 1;
        return true;
    }
    bool word(std::string& out) {
        skip_space();
        const std::size_t start = pos_;
        while (pos_ < s_.size() && std::isalpha(static_cast<unsigned char>(s_[pos_])))
            ++pos_;
        out = std::string(s_.substr(start, pos_ - start));
        return !out.empty();
    }
    bool number(std::size_t& out) {
        skip_space();
        const std::size_t start = pos_;
        std::size_t v = 0;
        while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
            const auto digit = static_cast<std::size_t>(s_[pos_] - '0');
            if (v > (std::numeric_limits<std::size_t>::max() - digit) / 10) return false;
            v = v * 10 + digit;
            ++pos_;
        }
        out = v;
        return pos_ > start;
    }
    bool at_end() {
        skip_space();
        return pos_ == s_.size();
    }

  private:
    std::string_view s_;
    std::size_t pos_ = 0;
};

}  // namespace

Result<NpyArray> parse_npy_f32(std::span<const std::uint8_t> bytes, const std::string& source) {
    auto bad = [&](const std::string& why) { return data_loss(source + " is not a valid .npy file: " + why); };
    if (bytes.size() < kMagicSize + 4 || std::memcmp(bytes.data(), kMagic, kMagicSize) != 0) {
        return bad("it does not start with the NumPy magic string");
    }
    const int major = bytes[6];
    const int minor = bytes[7];
    std::size_t header_len = 0;
    std::size_t prefix = 0;
    if (major == 1 && minor == 0) {
        header_len = static_cast<std::size_t>(bytes[8]) | (static_cast<std::size_t>(bytes[9]) << 8);
        prefix = 10;
    } else if (major == 2 && minor == 0) {
        if (bytes.size() < 12) return bad("truncated header");
        header_len = static_cast<std::size_t>(bytes[8]) | (static_cast<std::size_t>(bytes[9]) << 8) |
                     (static_cast<std::size_t>(bytes[10]) << 16) | (static_cast<std::size_t>(bytes[11]) << 24);
        prefix = 12;
    } else {
        return bad("format version " + std::to_string(major) + "." + std::to_string(minor) +
                   " (only 1.0 and 2.0 are read)");
    }
    if (header_len > bytes.size() - prefix) return bad("the header is longer than the file");
    std::string_view header(reinterpret_cast<const char*>(bytes.data() + prefix), header_len);
    if (header.empty() || header.back() != '\n') return bad("the header does not end with a newline");
    header.remove_suffix(1);

    HeaderScanner sc(header);
    std::string descr;
    bool have_descr = false, have_order = false, have_shape = false, fortran = false;
    std::vector<std::size_t> shape;
    if (!sc.eat('{')) return bad("the header is not a dictionary");
    while (!sc.peek('}')) {
        std::string key;
        if (!sc.quoted(key) || !sc.eat(':')) return bad("malformed header dictionary");
        if (key == "descr" && !have_descr) {
            if (!sc.quoted(descr)) return bad("'descr' is not a string");
            have_descr = true;
        } else if (key == "fortran_order" && !have_order) {
            std::string w;
            if (!sc.word(w) || (w != "True" && w != "False")) return bad("'fortran_order' is not True or False");
            fortran = w == "True";
            have_order = true;
        } else if (key == "shape" && !have_shape) {
            if (!sc.eat('(')) return bad("'shape' is not a tuple");
            while (!sc.peek(')')) {
                std::size_t d = 0;
                if (!sc.number(d)) return bad("'shape' holds something other than whole numbers");
                shape.push_back(d);
                if (!sc.eat(',')) break;
            }
            if (!sc.eat(')')) return bad("'shape' is not a closed tuple");
            have_shape = true;
        } else {
            return bad("unexpected or repeated header key '" + key + "'");
        }
        if (!sc.eat(',')) break;
    }
    if (!sc.eat('}') || !sc.at_end()) return bad("malformed header dictionary");
    if (!have_descr || !have_order || !have_shape) return bad("the header lacks descr, fortran_order or shape");
    if (descr != "<f4") {
        return unsupported(source + " holds '" + descr + "' values; only little-endian float32 ('<f4') is read");
    }
    if (fortran) return unsupported(source + " is stored in Fortran order; only C order is read");
    std::size_t count = 1;
    for (std::size_t d : shape) {
        if (d != 0 && count > std::numeric_limits<std::size_t>::max() / 4 / d) return bad("the shape is too large");
        count *= d;
    }
    const std::size_t data_bytes = bytes.size() - prefix - header_len;
    if (data_bytes != count * 4) {
        return bad("the shape needs " + std::to_string(count * 4) + " bytes of data but the file has " +
                   std::to_string(data_bytes));
    }
    NpyArray out;
    out.shape = std::move(shape);
    out.data.resize(count);
    if (count > 0) std::memcpy(out.data.data(), bytes.data() + prefix + header_len, count * 4);
    return out;
}

Result<NpyArray> read_npy_f32(const std::string& path) {
    HCLIP_ASSIGN_OR_RETURN(MappedFile file, MappedFile::open(path));
    return parse_npy_f32(file.bytes(), path);
}

std::vector<std::uint8_t> encode_npy_f32(std::span<const std::size_t> shape, std::span<const float> data) {
    std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
    for (std::size_t i = 0; i < shape.size(); ++i) {
        dict += std::to_string(shape[i]);
        if (shape.size() == 1 || i + 1 < shape.size()) dict += ",";
        if (i + 1 < shape.size()) dict += " ";
    }
    dict += "), }";
    // Pad with spaces so magic + length + header is a multiple of 64, ending in a newline.
    std::size_t prefix = 10;
    std::size_t total = prefix + dict.size() + 1;
    if ((total + 63) / 64 * 64 - prefix > 0xffff) prefix = 12;
    total = prefix + dict.size() + 1;
    const std::size_t padded = (total + 63) / 64 * 64;
    dict.append(padded - total, ' ');
    dict += '\n';
    std::vector<std::uint8_t> out(kMagic, kMagic + kMagicSize);
    out.push_back(prefix == 10 ? 1 : 2);
    out.push_back(0);
    const std::size_t n = dict.size();
    out.push_back(static_cast<std::uint8_t>(n & 0xff));
    out.push_back(static_cast<std::uint8_t>((n >> 8) & 0xff));
    if (prefix == 12) {
        out.push_back(static_cast<std::uint8_t>((n >> 16) & 0xff));
        out.push_back(static_cast<std::uint8_t>((n >> 24) & 0xff));
    }
    out.insert(out.end(), dict.begin(), dict.end());
    const auto* raw = reinterpret_cast<const std::uint8_t*>(data.data());
    out.insert(out.end(), raw, raw + data.size_bytes());
    return out;
}

Status write_npy_f32(const std::string& path, std::span<const std::size_t> shape, std::span<const float> data) {
    std::size_t count = 1;
    for (std::size_t d : shape)
        count *= d;
    if (count != data.size()) {
        return invalid_argument("writing " + path + ": " + std::to_string(data.size()) +
                                " values do not fill the shape");
    }
    const std::vector<std::uint8_t> bytes = encode_npy_f32(shape, data);
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    if (!f) return not_found("cannot create " + path);
    f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    f.close();
    if (!f) return internal_error("cannot write " + path);
    return {};
}

}  // namespace hclip
