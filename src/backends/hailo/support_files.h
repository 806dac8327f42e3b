// The host-side files of the Hailo CLIP text encoder: token_embedding_lut.npy ([vocab, width]: the rows fed to the
// HEF) and text_projection.npy ([width, embed], applied as y = x P to the row at the first end-of-text token).
// Hailo derives them from the checkpoint; the same derivation from any loaded model is here, so the stand-in and
// tests use files made exactly like the real ones.
#pragma once

#include <string>

#include "core/status.h"
#include "io/npy.h"
#include "model/clip_model.h"

namespace hclip::hailo {

inline constexpr const char* kLutFileName = "token_embedding_lut.npy";
inline constexpr const char* kProjectionFileName = "text_projection.npy";

struct TextSupportFiles {
    NpyArray lut;         // [vocab, width]
    NpyArray projection;  // [width, embed], row-major: y[i] = sum_j x[j] P[j][i]
    int vocab() const { return static_cast<int>(lut.shape[0]); }
    int width() const { return static_cast<int>(lut.shape[1]); }
    int embed() const { return static_cast<int>(projection.shape[1]); }
};

// Reads and checks both files: 2-D float32, the projection's rows equal to the LUT's width.
Result<TextSupportFiles> load_text_support_files(const std::string& lut_path, const std::string& projection_path);

// From a model loaded without packing (ModelOptions{.pack_weights = false}): the token embedding matrix and the
// text projection in (in, out) order, whichever layout the checkpoint stores.
Result<TextSupportFiles> text_support_files_from_model(const ClipModel& model);

// Compares the files with the checkpoint that is served, because Hailo's own scripts disagree on the projection's
// orientation (one saves Hugging Face's `weight`, another OpenAI's `text_projection`) and a square matrix cannot
// tell: identical -> ok; the projection stored the other way round -> refused saying so; anything else (another
// model) -> refused naming both files and the checkpoint. Each refusal says how to regenerate the files. Works on
// packed and plain models.
Status check_text_support_files_match(const TextSupportFiles& files, const ClipModel& model,
                                      const std::string& lut_path, const std::string& projection_path);

// Writes both files into `dir`.
Status write_text_support_files(const ClipModel& model, const std::string& dir);

}  // namespace hclip::hailo
