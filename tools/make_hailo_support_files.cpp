// Writes the Hailo CLIP text encoder's host files from a model directory, derived the way Hailo derives them from
// the checkpoint: token_embedding_lut.npy (the token embedding matrix, [vocab, width]) and text_projection.npy
// ([width, embed], applied as x P).
// (The CPU stand-in's HEF manifests for tests: tests/doubles/make_stand_in_hefs.)
//
//   make_hailo_support_files --model-dir DIR --out DIR
#include <cstdio>
#include <cstring>
#include <string>

#include "backends/hailo/support_files.h"
#include "model/clip_model.h"

int main(int argc, char** argv) {
    std::string model_dir, out_dir;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--model-dir" && i + 1 < argc) {
            model_dir = argv[++i];
        } else if (a == "--out" && i + 1 < argc) {
            out_dir = argv[++i];
        } else {
            std::fprintf(stderr, "usage: make_hailo_support_files --model-dir DIR --out DIR\n");
            return 2;
        }
    }
    if (model_dir.empty() || out_dir.empty()) {
        std::fprintf(stderr, "usage: make_hailo_support_files --model-dir DIR --out DIR\n");
        return 2;
    }
    // Unpacked: the files are the plain matrices.
    auto model = hclip::ClipModel::load(model_dir, {.pack_weights = false});
    if (!model.ok()) {
        std::fprintf(stderr, "make_hailo_support_files: %s\n", model.status().to_string().c_str());
        return 1;
    }
    hclip::Status s = hclip::hailo::write_text_support_files(**model, out_dir);
    if (!s.ok()) {
        std::fprintf(stderr, "make_hailo_support_files: %s\n", s.to_string().c_str());
        return 1;
    }
    std::printf("wrote %s/%s and %s/%s\n", out_dir.c_str(), hclip::hailo::kLutFileName, out_dir.c_str(),
                hclip::hailo::kProjectionFileName);
    return 0;
}
