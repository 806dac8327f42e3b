#include "model/preprocess_config.h"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace hclip {

using Json = nlohmann::json;

namespace {

// PIL's resampling constants, as CLIPImageProcessor stores them in `resample`.
constexpr int kPilBilinear = 2;
constexpr int kPilBicubic = 3;

// A key's value, or null when absent or JSON null (OpenCLIP's merge skips None values).
const Json* find_value(const Json& j, const char* key) {
    auto it = j.find(key);
    return (it == j.end() || it->is_null()) ? nullptr : &*it;
}

// mean / std: three numbers, or one number for every channel (OpenCLIP's image_transform accepts both).
Status read_channels(const Json& j, const char* key, const std::string& where, std::array<float, 3>& out) {
    const Json* v = find_value(j, key);
    if (v == nullptr) return {};
    if (v->is_number()) {
        out.fill(v->get<float>());
        return {};
    }
    if (!v->is_array() || v->size() != 3) return invalid_argument(where + key + " must be a number or 3 numbers");
    for (std::size_t i = 0; i < 3; ++i) {
        if (!(*v)[i].is_number()) return invalid_argument(where + key + " must be a number or 3 numbers");
        out[i] = (*v)[i].get<float>();
    }
    return {};
}

// A size a file states (a number, [h, w], or {"height", "width"} / {"shortest_edge"}) must be the tower's.
Status check_size(const Json* v, const std::string& what, int image_size) {
    if (v == nullptr) return {};
    std::optional<int> a, b;
    if (v->is_number_integer()) {
        a = b = v->get<int>();
    } else if (v->is_array() && v->size() == 2 && (*v)[0].is_number_integer() && (*v)[1].is_number_integer()) {
        a = (*v)[0].get<int>();
        b = (*v)[1].get<int>();
    } else if (v->is_object()) {
        for (const char* key : {"height", "width", "shortest_edge"}) {
            const Json* side = find_value(*v, key);
            if (side == nullptr) continue;
            if (!side->is_number_integer()) return invalid_argument(what + "." + key + " must be a whole number");
            (a ? b : a) = side->get<int>();
        }
        if (!a) return {};
        if (!b) b = a;
    } else {
        return invalid_argument(what + " must be a whole number or a pair of them");
    }
    if (*a != image_size || *b != image_size) {
        return invalid_argument("the config says " + what + " = " + std::to_string(*a) +
                                (*a != *b ? "x" + std::to_string(*b) : std::string()) +
                                " but the checkpoint's image tower takes " + std::to_string(image_size) + " px");
    }
    return {};
}

Status check_std(const PreprocessConfig& c, const std::string& where) {
    for (float s : c.std) {
        if (!(s > 0.0f)) return invalid_argument(where + "std must be positive");
    }
    return {};
}

Status apply_open_clip(const Json& preprocess_cfg, int image_size, PreprocessConfig& c) {
    const std::string where = "open_clip_config.json preprocess_cfg.";
    HCLIP_RETURN_IF_ERROR(read_channels(preprocess_cfg, "mean", where, c.mean));
    HCLIP_RETURN_IF_ERROR(read_channels(preprocess_cfg, "std", where, c.std));
    HCLIP_RETURN_IF_ERROR(check_std(c, where));
    if (const Json* v = find_value(preprocess_cfg, "interpolation")) {
        if (!v->is_string()) return invalid_argument(where + "interpolation must be a string");
        Result<ResampleFilter> filter = parse_interpolation(v->get<std::string>());
        if (!filter.ok()) return {filter.status().code(), where + "interpolation: " + filter.status().message()};
        c.interpolation = *filter;
    }
    if (const Json* v = find_value(preprocess_cfg, "resize_mode")) {
        if (!v->is_string()) return invalid_argument(where + "resize_mode must be a string");
        Result<ResizeMode> mode = parse_resize_mode(v->get<std::string>());
        if (!mode.ok()) return {mode.status().code(), where + "resize_mode: " + mode.status().message()};
        c.resize_mode = *mode;
    }
    if (const Json* v = find_value(preprocess_cfg, "mode"); v != nullptr && *v != "RGB") {
        return unsupported(where + "mode must be \"RGB\" (the only mode OpenCLIP has)");
    }
    // Only `longest` pads; another fill colour there would need a padding colour per image mode.
    if (const Json* v = find_value(preprocess_cfg, "fill_color");
        v != nullptr && c.resize_mode == ResizeMode::kLongest && *v != 0) {
        return unsupported(where + "fill_color " + v->dump() + " is not supported (only 0, OpenCLIP's default)");
    }
    return check_size(find_value(preprocess_cfg, "size"), where + "size", image_size);
}

Status apply_hugging_face(const Json& j, int image_size, PreprocessConfig& c) {
    const std::string where = "preprocessor_config.json ";
    HCLIP_RETURN_IF_ERROR(read_channels(j, "image_mean", where, c.mean));
    HCLIP_RETURN_IF_ERROR(read_channels(j, "image_std", where, c.std));
    HCLIP_RETURN_IF_ERROR(check_std(c, where + "image_"));
    if (const Json* v = find_value(j, "resample")) {
        if (v->is_number_integer() && v->get<int>() == kPilBicubic) {
            c.interpolation = ResampleFilter::kBicubic;
        } else if (v->is_number_integer() && v->get<int>() == kPilBilinear) {
            c.interpolation = ResampleFilter::kBilinear;
        } else {
            return unsupported(where + "resample " + v->dump() + " is not supported (2 = bilinear, 3 = bicubic)");
        }
    }
    HCLIP_RETURN_IF_ERROR(check_size(find_value(j, "size"), where + "size", image_size));
    return check_size(find_value(j, "crop_size"), where + "crop_size", image_size);
}

}  // namespace

Result<ResampleFilter> parse_interpolation(const std::string& name) {
    if (name == "bicubic" || name == "random") return ResampleFilter::kBicubic;
    if (name == "bilinear") return ResampleFilter::kBilinear;
    return unsupported("interpolation '" + name + "' is not supported (bicubic and bilinear are)");
}

Result<ResizeMode> parse_resize_mode(const std::string& name) {
    if (name == "shortest") return ResizeMode::kShortest;
    if (name == "longest") return ResizeMode::kLongest;
    if (name == "squash") return ResizeMode::kSquash;
    return unsupported("resize_mode '" + name + "' is not supported (shortest, longest and squash are)");
}

Result<PreprocessConfig> parse_preprocess_config(const Json* open_clip_config, const Json* preprocessor_config,
                                                 int image_size) {
    PreprocessConfig c;
    if (open_clip_config != nullptr) {
        if (const Json* pp = find_value(*open_clip_config, "preprocess_cfg")) {
            if (!pp->is_object()) return invalid_argument("open_clip_config.json preprocess_cfg must be an object");
            HCLIP_RETURN_IF_ERROR(apply_open_clip(*pp, image_size, c));
        }
    }
    if (preprocessor_config != nullptr) HCLIP_RETURN_IF_ERROR(apply_hugging_face(*preprocessor_config, image_size, c));
    return c;
}

}  // namespace hclip
