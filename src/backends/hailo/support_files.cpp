#include "backends/hailo/support_files.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "model/transformer.h"

namespace hclip::hailo {

Result<TextSupportFiles> load_text_support_files(const std::string& lut_path, const std::string& projection_path) {
    TextSupportFiles f;
    HCLIP_ASSIGN_OR_RETURN(f.lut, read_npy_f32(lut_path));
    HCLIP_ASSIGN_OR_RETURN(f.projection, read_npy_f32(projection_path));
    if (f.lut.shape.size() != 2 || f.lut.shape[0] == 0 || f.lut.shape[1] == 0) {
        return invalid_argument(lut_path + " must be a 2-D [vocabulary, width] matrix");
    }
    if (f.projection.shape.size() != 2 || f.projection.shape[1] == 0) {
        return invalid_argument(projection_path + " must be a 2-D [width, embedding] matrix");
    }
    if (f.projection.shape[0] != f.lut.shape[1] && f.projection.shape[1] == f.lut.shape[1]) {
        return invalid_argument(projection_path + " is " + std::to_string(f.projection.shape[0]) + "x" +
                                std::to_string(f.projection.shape[1]) +
                                ": a text projection stored transposed ([embedding, width]); it must be [width, "
                                "embedding], applied as x P. Regenerate both files with make_hailo_support_files");
    }
    if (f.projection.shape[0] != f.lut.shape[1]) {
        return invalid_argument(projection_path + " has " + std::to_string(f.projection.shape[0]) +
                                " rows but the token embeddings in " + lut_path + " are " +
                                std::to_string(f.lut.shape[1]) + " wide; the two files are from different models");
    }
    return f;
}

Result<TextSupportFiles> text_support_files_from_model(const ClipModel& model) {
    const TextConfig& c = model.config().text;
    const TextWeights& w = model.text();
    if (w.token_embedding == nullptr || w.projection.weight == nullptr) {
        return invalid_argument(
            "the model's text weights are packed or 16-bit; load it with pack_weights off and "
            "float32 weights");
    }
    TextSupportFiles f;
    const auto vocab = static_cast<std::size_t>(c.vocab_size), width = static_cast<std::size_t>(c.width);
    f.lut.shape = {vocab, width};
    f.lut.data.assign(w.token_embedding, w.token_embedding + vocab * width);
    const ProjectionWeights& p = w.projection;
    const auto in = static_cast<std::size_t>(p.in), out = static_cast<std::size_t>(p.out);
    if (in != width) return internal_error("the text projection's input width differs from the text width");
    f.projection.shape = {in, out};
    f.projection.data.resize(in * out);
    for (std::size_t j = 0; j < in; ++j) {
        for (std::size_t i = 0; i < out; ++i) {
            // Hugging Face stores P^T [out, in]; OpenAI stores P [in, out]. The file is always P.
            f.projection.data[j * out + i] = p.stored_transposed ? p.weight[i * in + j] : p.weight[j * out + i];
        }
    }
    return f;
}

namespace {

// Both files are float32 copies of checkpoint tensors, so "identical" allows only rounding far below the values
// (a file from another model differs by about the size of the values themselves).
constexpr double kRelativeTolerance = 1e-5;

struct Difference {
    double largest = 0.0;    // max |a - b|
    double magnitude = 0.0;  // max |b|
    bool same() const { return largest <= kRelativeTolerance * std::max(magnitude, 1e-30); }
};

Difference compare(const float* a, const float* b, std::size_t n) {
    Difference d;
    for (std::size_t i = 0; i < n; ++i) {
        d.largest = std::max(d.largest, std::fabs(static_cast<double>(a[i]) - static_cast<double>(b[i])));
        d.magnitude = std::max(d.magnitude, std::fabs(static_cast<double>(b[i])));
    }
    return d;
}

std::string number(double x) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3g", x);
    return buf;
}

std::string regenerate(const ClipModel& model, const std::string& lut_path) {
    return "Regenerate both files from the checkpoint you serve: `make_hailo_support_files --model-dir " +
           model.model_dir() + " --out " + std::filesystem::path(lut_path).parent_path().string() + "`";
}

std::string shape_text(const NpyArray& a) {
    std::string s;
    for (std::size_t d : a.shape)
        s += (s.empty() ? "" : "x") + std::to_string(d);
    return s;
}

// The checkpoint's projection P as [in, out], packed or not: P applied to the identity rows (exact: every product
// is by 1 or 0).
std::vector<float> model_projection(const ProjectionWeights& p) {
    const auto in = static_cast<std::size_t>(p.in), out = static_cast<std::size_t>(p.out);
    std::vector<float> identity(in * in, 0.0f), result(in * out);
    for (std::size_t i = 0; i < in; ++i)
        identity[i * in + i] = 1.0f;
    projection_forward(p, identity.data(), p.in, p.in, result.data());
    return result;
}

}  // namespace

Status check_text_support_files_match(const TextSupportFiles& files, const ClipModel& model,
                                      const std::string& lut_path, const std::string& projection_path) {
    const TextConfig& c = model.config().text;
    const TextWeights& w = model.text();
    const auto vocab = static_cast<std::size_t>(c.vocab_size), width = static_cast<std::size_t>(c.width);
    const std::string checkpoint = "the checkpoint in " + model.model_dir();
    if (w.token_embedding == nullptr) {
        return invalid_argument(
            "the files of the Hailo text encoder are checked against the float32 token embedding "
            "of " +
            checkpoint + ", which this model keeps in " + std::string(weight_storage_name(model.weight_storage())) +
            " only: use clip.weights: fp32 with the Hailo text encoder");
    }
    if (files.lut.shape != std::vector<std::size_t>{vocab, width}) {
        return invalid_argument(lut_path + " is " + shape_text(files.lut) + " but the token embedding of " +
                                checkpoint + " is " + std::to_string(vocab) + "x" + std::to_string(width) +
                                ": the file is from another model. " + regenerate(model, lut_path));
    }
    const Difference lut = compare(files.lut.data.data(), w.token_embedding, vocab * width);
    if (!lut.same()) {
        return invalid_argument(lut_path + " is not the token embedding of " + checkpoint + " (largest difference " +
                                number(lut.largest) + " for values up to " + number(lut.magnitude) +
                                "): the file is from another model. " + regenerate(model, lut_path));
    }
    const ProjectionWeights& p = w.projection;
    const auto in = static_cast<std::size_t>(p.in), out = static_cast<std::size_t>(p.out);
    const std::vector<float> want = model_projection(p);
    if (files.projection.shape == std::vector<std::size_t>{out, in} && in != out) {
        return invalid_argument(projection_path + " is " + shape_text(files.projection) + ", the text projection of " +
                                checkpoint + " stored transposed (it must be [" + std::to_string(in) + ", " +
                                std::to_string(out) + "], applied as x P). " + regenerate(model, lut_path));
    }
    if (files.projection.shape != std::vector<std::size_t>{in, out}) {
        return invalid_argument(projection_path + " is " + shape_text(files.projection) +
                                " but the text projection of " + checkpoint + " is " + std::to_string(in) + "x" +
                                std::to_string(out) + ": the file is from another model. " +
                                regenerate(model, lut_path));
    }
    const Difference direct = compare(files.projection.data.data(), want.data(), in * out);
    if (direct.same()) return {};
    if (in == out) {
        std::vector<float> transposed(in * out);
        for (std::size_t j = 0; j < in; ++j)
            for (std::size_t i = 0; i < out; ++i)
                transposed[i * in + j] = want[j * out + i];
        if (compare(files.projection.data.data(), transposed.data(), in * out).same()) {
            return invalid_argument(projection_path + " holds the text projection of " + checkpoint +
                                    " TRANSPOSED (stored as [out, in], e.g. Hugging Face's text_projection.weight; "
                                    "it must be OpenAI's [in, out], applied as x P); with it every text embedding "
                                    "would be wrong. " +
                                    regenerate(model, lut_path));
        }
    }
    return invalid_argument(projection_path + " is not the text projection of " + checkpoint + " (largest difference " +
                            number(direct.largest) + " for values up to " + number(direct.magnitude) +
                            "): the file is from another model, while " + lut_path + " matches. " +
                            regenerate(model, lut_path));
}

Status write_text_support_files(const ClipModel& model, const std::string& dir) {
    HCLIP_ASSIGN_OR_RETURN(TextSupportFiles f, text_support_files_from_model(model));
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return not_found("cannot create " + dir + ": " + ec.message());
    const std::filesystem::path d(dir);
    HCLIP_RETURN_IF_ERROR(write_npy_f32((d / kLutFileName).string(), f.lut.shape, f.lut.data));
    return write_npy_f32((d / kProjectionFileName).string(), f.projection.shape, f.projection.data);
}

}  // namespace hclip::hailo
