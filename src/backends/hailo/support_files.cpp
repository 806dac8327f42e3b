#include "backends/hailo/support_files.h"

#include <filesystem>

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
        return invalid_argument("the model's text weights are packed; load it with pack_weights off");
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
