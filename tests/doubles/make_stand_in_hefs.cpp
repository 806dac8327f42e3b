// Writes the CPU stand-in's HEF manifests and the text encoder's support files for a model, for the tests that run
// the test program's emulated Hailo backend.
//   make_stand_in_hefs --model-dir DIR --out DIR
#include <cstdio>
#include <string>

#include "backends/hailo/support_files.h"
#include "doubles/cpu_stand_in.h"

int main(int argc, char** argv) {
    std::string model_dir, out_dir;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--model-dir") model_dir = argv[i + 1];
        if (a == "--out") out_dir = argv[i + 1];
    }
    if (model_dir.empty() || out_dir.empty()) {
        std::fprintf(stderr, "usage: make_stand_in_hefs --model-dir DIR --out DIR\n");
        return 2;
    }
    auto model = hclip::ClipModel::load(model_dir, {.pack_weights = false});
    hclip::Status s = model.ok() ? hclip::hailo::write_text_support_files(**model, out_dir) : model.status();
    if (s.ok()) s = hclip::hailo::write_stand_in_hefs(**model, out_dir);
    if (!s.ok()) {
        std::fprintf(stderr, "make_stand_in_hefs: %s\n", s.to_string().c_str());
        return 1;
    }
    return 0;
}
