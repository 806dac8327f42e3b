#include "doubles/cpu_stand_in.h"

#include <nlohmann/json.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "backends/hailo/hailo_status.h"
#include "core/mapped_file.h"
#include "image/preprocess.h"
#include "kernels/ops.h"
#include "model/image_tower.h"
#include "model/text_rows.h"

namespace hclip::hailo {

namespace {

std::size_t element_bytes(HostFormat f) {
    return f == HostFormat::kFloat32 ? 4 : 1;
}

std::size_t elements(const std::vector<std::size_t>& shape) {
    std::size_t n = 1;
    for (std::size_t d : shape)
        n *= d;
    return n;
}

// Counts one run down against the fault plan; returns the code to fail with, or 0.
int run_fault(StandInFaults& f) {
    ++f.runs;
    if (f.run_code.load() == 0) return 0;
    if (f.runs_to_skip.load() > 0) {
        --f.runs_to_skip;
        return 0;
    }
    const int left = f.run_failures.load();
    if (left == 0) return 0;
    if (left > 0) --f.run_failures;
    return f.run_code.load();
}

class StandInModel final : public NpuModel {
  public:
    StandInModel(std::shared_ptr<const ClipModel> model, std::shared_ptr<StandInFaults> faults, bool image,
                 std::vector<NpuTensorInfo> inputs, std::vector<NpuTensorInfo> outputs)
        : model_(std::move(model)),
          faults_(std::move(faults)),
          image_(image),
          inputs_(std::move(inputs)),
          outputs_(std::move(outputs)) {
        const ClipConfig& c = model_->config();
        if (image_) {
            vision_ = make_image_tower(model_, 1);  // the model's family: ViT or ResNet
            spec_ = c.preprocess_spec();
            pixels_.resize(3u * static_cast<std::size_t>(c.vision.image_size) * c.vision.image_size);
        } else {
            text_ = std::make_unique<TextRowsTransformer>(model_);
            rows_.resize(static_cast<std::size_t>(c.text.context_length) * c.text.width);
        }
    }

    const std::vector<NpuTensorInfo>& inputs() const override { return inputs_; }
    const std::vector<NpuTensorInfo>& outputs() const override { return outputs_; }

    NpuStatus run(std::span<const std::uint8_t> in, std::span<float> out, std::chrono::milliseconds) override {
        if (int c = run_fault(*faults_); c != 0) return {c, "stand-in inference (injected fault)"};
        // HailoRT checks every buffer against the frame size; so does the stand-in.
        if (in.size() != inputs_[0].frame_bytes || out.size_bytes() != outputs_[0].frame_bytes) {
            return {code::kInvalidOperation, "stand-in inference: buffer size differs from the frame size"};
        }
        const ClipConfig& c = model_->config();
        if (image_) {
            if (in.size() != pixels_.size() || out.size() != static_cast<std::size_t>(c.embed_dim)) {
                return {code::kInvalidOperation, "stand-in inference: the manifest does not match the model"};
            }
            normalize_rgb8_to_chw(in, c.vision.image_size, spec_, pixels_);
            Status s = vision_->encode(pixels_, 1, out);
            if (!s.ok()) return {code::kInternalFailure, "stand-in image encoder: " + s.message()};
            return {};
        }
        if (in.size() != rows_.size() * 4 || out.size() != rows_.size()) {
            return {code::kInvalidOperation, "stand-in inference: the manifest does not match the model"};
        }
        std::memcpy(rows_.data(), in.data(), in.size());
        Status s = text_->run(rows_, out);
        if (!s.ok()) return {code::kInternalFailure, "stand-in text encoder: " + s.message()};
        if (faults_->double_final_layer_norm.load()) {
            const TextWeights& w = model_->text();
            layer_norm_rows(out.data(), c.text.width, out.data(), c.text.width, c.text.context_length, c.text.width,
                            w.ln_final.gamma, w.ln_final.beta, c.text.layer_norm_eps);
        }
        return {};
    }

  private:
    std::shared_ptr<const ClipModel> model_;
    std::shared_ptr<StandInFaults> faults_;
    bool image_;
    std::vector<NpuTensorInfo> inputs_, outputs_;
    std::unique_ptr<ImageTower> vision_;
    std::unique_ptr<TextRowsTransformer> text_;
    PreprocessSpec spec_;
    std::vector<float> pixels_, rows_;
};

class StandInDevice final : public NpuDevice {
  public:
    StandInDevice(std::shared_ptr<const ClipModel> model, std::shared_ptr<StandInFaults> faults, std::string group)
        : model_(std::move(model)), faults_(std::move(faults)), group_(std::move(group)) {}

    NpuStatus open_model(const std::string& hef_path, const NpuModelRequest& request,
                         std::unique_ptr<NpuModel>& out) override {
        const std::string what = "configuring " + hef_path;
        if (!std::filesystem::is_regular_file(hef_path)) return {code::kOpenFileFailure, what};
        auto text = read_file(hef_path);
        if (!text.ok()) return {code::kOpenFileFailure, what};
        nlohmann::json j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
        if (!j.is_object() || j.value("format", "") != kStandInFormat) {
            return {code::kInvalidHef, what + " (not a stand-in HEF manifest)"};
        }
        const std::string emulates = j.value("emulates", "");
        if (emulates != "image" && emulates != "text") return {code::kInvalidHef, what + " (unknown 'emulates')"};
        std::vector<NpuTensorInfo> inputs, outputs;
        auto read = [&](const char* key, HostFormat format, std::vector<NpuTensorInfo>& dst) {
            if (!j.contains(key) || !j[key].is_array()) return false;
            for (const auto& t : j[key]) {
                if (!t.is_object() || !t.contains("name") || !t.contains("shape") || !t["shape"].is_array()) {
                    return false;
                }
                NpuTensorInfo info;
                info.name = t["name"].get<std::string>();
                for (const auto& d : t["shape"]) {
                    if (!d.is_number_unsigned()) return false;
                    info.shape.push_back(d.get<std::size_t>());
                }
                info.format = format;
                info.frame_bytes = elements(info.shape) * element_bytes(format);
                dst.push_back(std::move(info));
            }
            return true;
        };
        if (!read("inputs", request.input, inputs) || !read("outputs", request.output, outputs)) {
            return {code::kInvalidHef, what + " (malformed tensor list)"};
        }
        out =
            std::make_unique<StandInModel>(model_, faults_, emulates == "image", std::move(inputs), std::move(outputs));
        return {};
    }

    std::string description() const override {
        return "CPU stand-in emulating the Hailo CLIP HEFs (no NPU), group " + group_;
    }
    bool emulated() const override { return true; }

  private:
    std::shared_ptr<const ClipModel> model_;
    std::shared_ptr<StandInFaults> faults_;
    std::string group_;
};

Result<int> parse_int(std::string_view s, std::string_view spec) {
    if (s.empty()) return invalid_argument("stand-in fault '" + std::string(spec) + "' has an empty number");
    int sign = 1;
    if (s.front() == '-') {
        sign = -1;
        s.remove_prefix(1);
    }
    int v = 0;
    for (char ch : s) {
        if (ch < '0' || ch > '9' || v > 100000) {
            return invalid_argument("stand-in fault '" + std::string(spec) + "' has a malformed number");
        }
        v = v * 10 + (ch - '0');
    }
    return sign * v;
}

}  // namespace

Result<std::shared_ptr<StandInFaults>> parse_stand_in_faults(std::string_view spec) {
    auto f = std::make_shared<StandInFaults>();
    while (!spec.empty()) {
        const std::size_t comma = spec.find(',');
        std::string_view item = spec.substr(0, comma);
        spec = comma == std::string_view::npos ? std::string_view() : spec.substr(comma + 1);
        std::vector<int> nums;
        const std::size_t colon = item.find(':');
        const std::string_view kind = item.substr(0, colon);
        std::string_view rest = colon == std::string_view::npos ? std::string_view() : item.substr(colon + 1);
        while (!rest.empty()) {
            const std::size_t c = rest.find(':');
            HCLIP_ASSIGN_OR_RETURN(int v, parse_int(rest.substr(0, c), item));
            nums.push_back(v);
            rest = c == std::string_view::npos ? std::string_view() : rest.substr(c + 1);
        }
        if (kind == "open" && (nums.size() == 1 || nums.size() == 2)) {
            f->open_code = nums[0];
            f->open_failures = nums.size() == 2 ? nums[1] : -1;
        } else if (kind == "run" && (nums.size() == 2 || nums.size() == 3)) {
            f->run_code = nums[0];
            f->runs_to_skip = nums[1];
            f->run_failures = nums.size() == 3 ? nums[2] : -1;
        } else {
            return invalid_argument("stand-in fault '" + std::string(item) +
                                    "': expected open:CODE[:COUNT] or run:CODE:SKIP[:COUNT]");
        }
    }
    return f;
}

NpuDeviceFactory cpu_stand_in_factory(std::shared_ptr<const ClipModel> model, std::shared_ptr<StandInFaults> faults) {
    if (!faults) faults = std::make_shared<StandInFaults>();
    return [model, faults](const NpuDeviceOptions& options, std::unique_ptr<NpuDevice>& out) -> NpuStatus {
        ++faults->device_opens;
        if (faults->open_code.load() != 0 && faults->open_failures.load() != 0) {
            if (faults->open_failures.load() > 0) --faults->open_failures;
            return {faults->open_code.load(), "creating the stand-in VDevice (injected fault)"};
        }
        out = std::make_unique<StandInDevice>(model, faults, options.group_id);
        return {};
    };
}

std::string stand_in_manifest(std::string_view emulates, const std::vector<NpuTensorInfo>& inputs,
                              const std::vector<NpuTensorInfo>& outputs) {
    auto list = [](const std::vector<NpuTensorInfo>& ts) {
        nlohmann::json a = nlohmann::json::array();
        for (const auto& t : ts)
            a.push_back({{"name", t.name}, {"shape", t.shape}});
        return a;
    };
    nlohmann::json j = {{"format", kStandInFormat},
                        {"emulates", std::string(emulates)},
                        {"inputs", list(inputs)},
                        {"outputs", list(outputs)}};
    return j.dump(2) + "\n";
}

Status write_stand_in_hefs(const ClipModel& model, const std::string& dir) {
    const ClipConfig& c = model.config();
    const auto s = static_cast<std::size_t>(c.vision.image_size);
    const auto ctx = static_cast<std::size_t>(c.text.context_length), w = static_cast<std::size_t>(c.text.width);
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return not_found("cannot create " + dir + ": " + ec.message());
    const std::string image = stand_in_manifest(
        "image", {{"clip_image_encoder/input_layer1", {s, s, 3}, HostFormat::kUint8, 0}},
        {{"clip_image_encoder/output", {1, 1, static_cast<std::size_t>(c.embed_dim)}, HostFormat::kFloat32, 0}});
    const std::string text =
        stand_in_manifest("text", {{"clip_text_encoder/input_layer1", {1, ctx, w}, HostFormat::kFloat32, 0}},
                          {{"clip_text_encoder/normalization", {1, ctx, w}, HostFormat::kFloat32, 0}});
    for (const auto& [name, body] : {std::pair{kStandInImageHef, image}, std::pair{kStandInTextHef, text}}) {
        const std::string path = (std::filesystem::path(dir) / name).string();
        std::ofstream f(path, std::ios::trunc);
        f << body;
        f.close();
        if (!f) return internal_error("cannot write " + path);
    }
    return {};
}

}  // namespace hclip::hailo
