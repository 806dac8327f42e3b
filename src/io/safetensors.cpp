#include "io/safetensors.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/half.h"

namespace hclip {

namespace {

// A header this large is not a model header; refusing it bounds the JSON parser's memory.
constexpr std::uint64_t kMaxHeaderBytes = 100ull << 20;

bool parse_dtype(std::string_view s, DType* out) {
    static const std::pair<std::string_view, DType> kTable[] = {
        {"F32", DType::kF32}, {"F16", DType::kF16},  {"BF16", DType::kBF16}, {"F64", DType::kF64},
        {"I64", DType::kI64}, {"I32", DType::kI32},  {"I16", DType::kI16},   {"I8", DType::kI8},
        {"U8", DType::kU8},   {"BOOL", DType::kBool}};
    for (const auto& [name, dt] : kTable) {
        if (name == s) {
            *out = dt;
            return true;
        }
    }
    return false;
}

template <typename T>
T load_le(const std::uint8_t* p) {
    T v;
    std::memcpy(&v, p, sizeof(T));  // host is little-endian on every supported target
    return v;
}

}  // namespace

std::string_view dtype_name(DType dtype) {
    switch (dtype) {
        case DType::kF32:
            return "F32";
        case DType::kF16:
            return "F16";
        case DType::kBF16:
            return "BF16";
        case DType::kF64:
            return "F64";
        case DType::kI64:
            return "I64";
        case DType::kI32:
            return "I32";
        case DType::kI16:
            return "I16";
        case DType::kI8:
            return "I8";
        case DType::kU8:
            return "U8";
        case DType::kBool:
            return "BOOL";
    }
    return "?";
}

std::size_t dtype_size(DType dtype) {
    switch (dtype) {
        case DType::kF64:
        case DType::kI64:
            return 8;
        case DType::kF32:
        case DType::kI32:
            return 4;
        case DType::kF16:
        case DType::kBF16:
        case DType::kI16:
            return 2;
        case DType::kI8:
        case DType::kU8:
        case DType::kBool:
            return 1;
    }
    return 1;
}

std::int64_t TensorView::numel() const {
    std::int64_t n = 1;
    for (auto d : shape)
        n *= d;
    return n;
}

std::string TensorView::shape_string() const {
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (i) s += ", ";
        s += std::to_string(shape[i]);
    }
    return s + "]";
}

void SafetensorsFile::map_in_small_pages() const {
    if (file_ != nullptr) file_->map_in_small_pages();
}

Result<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
    HCLIP_ASSIGN_OR_RETURN(MappedFile mapped, MappedFile::open(path));
    auto file = std::make_shared<MappedFile>(std::move(mapped));
    HCLIP_ASSIGN_OR_RETURN(SafetensorsFile st, parse(file->bytes(), path));
    st.file_ = std::move(file);
    return st;
}

Result<SafetensorsFile> SafetensorsFile::parse(std::span<const std::uint8_t> bytes, std::string source_name) {
    const std::string where = "safetensors file '" + source_name + "'";
    if (bytes.size() < 8) return data_loss(where + " is truncated: " + std::to_string(bytes.size()) + " bytes");
    const std::uint64_t header_len = load_le<std::uint64_t>(bytes.data());
    if (header_len < 2 || header_len > kMaxHeaderBytes || header_len > bytes.size() - 8) {
        return data_loss(where + " has an invalid header length " + std::to_string(header_len) + " (file is " +
                         std::to_string(bytes.size()) + " bytes); the file is truncated or not safetensors");
    }
    const char* header_begin = reinterpret_cast<const char*>(bytes.data() + 8);
    nlohmann::json header = nlohmann::json::parse(header_begin, header_begin + header_len, nullptr, false);
    if (header.is_discarded() || !header.is_object()) {
        return data_loss(where + " has a header that is not a JSON object");
    }
    const std::span<const std::uint8_t> data = bytes.subspan(8 + header_len);

    SafetensorsFile out;
    out.source_name_ = std::move(source_name);
    for (auto it = header.begin(); it != header.end(); ++it) {
        const std::string& name = it.key();
        const auto& entry = it.value();
        if (name == "__metadata__") {
            if (!entry.is_object()) return data_loss(where + ": __metadata__ is not an object");
            for (auto m = entry.begin(); m != entry.end(); ++m) {
                if (m.value().is_string()) out.metadata_[m.key()] = m.value().get<std::string>();
            }
            continue;
        }
        const std::string bad = where + ": tensor '" + name + "' ";
        if (!entry.is_object()) return data_loss(bad + "has no header entry object");
        auto dt = entry.find("dtype");
        auto sh = entry.find("shape");
        auto off = entry.find("data_offsets");
        if (dt == entry.end() || !dt->is_string() || sh == entry.end() || !sh->is_array() || off == entry.end() ||
            !off->is_array() || off->size() != 2) {
            return data_loss(bad + "needs a string 'dtype', an array 'shape' and two 'data_offsets'");
        }
        TensorView t;
        t.name = name;
        if (!parse_dtype(dt->get<std::string>(), &t.dtype)) {
            return unsupported(bad + "has unsupported dtype '" + dt->get<std::string>() + "'");
        }
        std::uint64_t numel = 1;
        for (const auto& d : *sh) {
            if (!d.is_number_unsigned()) return data_loss(bad + "has a non-integer or negative dimension");
            const std::uint64_t dim = d.get<std::uint64_t>();
            if (dim > (1ull << 40) || (dim != 0 && numel > (1ull << 40) / dim)) {
                return data_loss(bad + "has an absurd shape");
            }
            numel *= dim;
            t.shape.push_back(static_cast<std::int64_t>(dim));
        }
        if (!(*off)[0].is_number_unsigned() || !(*off)[1].is_number_unsigned()) {
            return data_loss(bad + "has invalid data_offsets");
        }
        const std::uint64_t begin = (*off)[0].get<std::uint64_t>();
        const std::uint64_t end = (*off)[1].get<std::uint64_t>();
        if (begin > end || end > data.size()) {
            return data_loss(bad + "has data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                             "] outside the " + std::to_string(data.size()) +
                             "-byte data section; the file is truncated or corrupt");
        }
        if (end - begin != numel * dtype_size(t.dtype)) {
            return data_loss(bad + "holds " + std::to_string(end - begin) + " bytes but shape " + t.shape_string() +
                             " of " + std::string(dtype_name(t.dtype)) + " needs " +
                             std::to_string(numel * dtype_size(t.dtype)));
        }
        t.data = data.subspan(begin, end - begin);
        out.tensors_.push_back(std::move(t));
    }
    std::sort(out.tensors_.begin(), out.tensors_.end(),
              [](const TensorView& a, const TensorView& b) { return a.name < b.name; });
    return out;
}

const TensorView* SafetensorsFile::find(std::string_view name) const {
    auto it = std::lower_bound(tensors_.begin(), tensors_.end(), name,
                               [](const TensorView& t, std::string_view n) { return t.name < n; });
    return (it != tensors_.end() && it->name == name) ? &*it : nullptr;
}

Status convert_to_f32(const TensorView& t, std::span<float> out) {
    const auto n = static_cast<std::size_t>(t.numel());
    if (out.size() != n) return internal_error("convert_to_f32: output size mismatch for '" + t.name + "'");
    const std::uint8_t* p = t.data.data();
    const std::size_t es = dtype_size(t.dtype);
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint8_t* e = p + i * es;
        switch (t.dtype) {
            case DType::kF32:
                out[i] = load_le<float>(e);
                break;
            case DType::kF16:
                out[i] = f16_to_f32(load_le<std::uint16_t>(e));
                break;
            case DType::kBF16:
                out[i] = bf16_to_f32(load_le<std::uint16_t>(e));
                break;
            case DType::kF64:
                out[i] = static_cast<float>(load_le<double>(e));
                break;
            case DType::kI64:
                out[i] = static_cast<float>(load_le<std::int64_t>(e));
                break;
            case DType::kI32:
                out[i] = static_cast<float>(load_le<std::int32_t>(e));
                break;
            case DType::kI16:
                out[i] = static_cast<float>(load_le<std::int16_t>(e));
                break;
            case DType::kI8:
                out[i] = static_cast<float>(static_cast<std::int8_t>(*e));
                break;
            case DType::kU8:
            case DType::kBool:
                out[i] = static_cast<float>(*e);
                break;
        }
    }
    return {};
}

Result<std::vector<float>> SafetensorsFile::read_f32(std::string_view name) const {
    const TensorView* t = find(name);
    if (t == nullptr) return not_found("tensor '" + std::string(name) + "' is missing from " + source_name_);
    std::vector<float> out(static_cast<std::size_t>(t->numel()));
    HCLIP_RETURN_IF_ERROR(convert_to_f32(*t, out));
    return out;
}

Result<std::vector<std::int64_t>> SafetensorsFile::read_i64(std::string_view name) const {
    const TensorView* t = find(name);
    if (t == nullptr) return not_found("tensor '" + std::string(name) + "' is missing from " + source_name_);
    std::vector<std::int64_t> out(static_cast<std::size_t>(t->numel()));
    const std::uint8_t* p = t->data.data();
    for (std::size_t i = 0; i < out.size(); ++i) {
        switch (t->dtype) {
            case DType::kI64:
                out[i] = load_le<std::int64_t>(p + i * 8);
                break;
            case DType::kI32:
                out[i] = load_le<std::int32_t>(p + i * 4);
                break;
            default:
                return invalid_argument("tensor '" + t->name + "' is not an integer tensor");
        }
    }
    return out;
}

Status write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                         const std::map<std::string, std::string>& metadata) {
    nlohmann::json header = nlohmann::json::object();
    if (!metadata.empty()) header["__metadata__"] = metadata;
    std::uint64_t offset = 0;
    for (const auto& t : tensors) {
        std::uint64_t numel = 1;
        for (auto d : t.shape)
            numel *= static_cast<std::uint64_t>(d);
        if (numel != t.data.size()) return invalid_argument("write_safetensors: '" + t.name + "' size mismatch");
        header[t.name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + numel * 4}}};
        offset += numel * 4;
    }
    std::string text = header.dump();
    while ((text.size() + 8) % 8 != 0)
        text.push_back(' ');  // keep the data section 8-byte aligned
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) return invalid_argument("cannot write '" + path + "'");
    const std::uint64_t len = text.size();
    out.write(reinterpret_cast<const char*>(&len), 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    // nlohmann orders keys alphabetically, but offsets follow the input order, so data is written in input order.
    for (const auto& t : tensors) {
        out.write(reinterpret_cast<const char*>(t.data.data()), static_cast<std::streamsize>(t.data.size_bytes()));
    }
    if (!out) return internal_error("short write to '" + path + "'");
    return {};
}

}  // namespace hclip
