// Writes a random-weight CLIP model directory in the OpenAI checkpoint layout, so anyone can benchmark the engine
// at full size without the real weights:  make_random_model --preset vit-b-32 --out DIR
// The outputs mean nothing (see random_checkpoint.h).
#include <cstdio>
#include <filesystem>
#include <string>
#include <variant>

#include "random_checkpoint.h"

namespace {

namespace rc = hclip::random_checkpoint;

struct Preset {
    const char* name;
    std::variant<rc::VitGeometry, rc::ResNetGeometry> vision;
    rc::TextGeometry text;
    int embed_dim;
};

// The published geometries (OpenAI clip/model.py build_model from each checkpoint's tensors).
const Preset kPresets[] = {
    {"vit-b-32", rc::VitGeometry{224, 32, 768, 12}, {512, 12}, 512},
    {"vit-b-16", rc::VitGeometry{224, 16, 768, 12}, {512, 12}, 512},
    {"vit-l-14", rc::VitGeometry{224, 14, 1024, 24}, {768, 12}, 768},
    {"vit-l-14-336", rc::VitGeometry{336, 14, 1024, 24}, {768, 12}, 768},
    {"rn50", rc::ResNetGeometry{64, {3, 4, 6, 3}, 224}, {512, 12}, 1024},
    {"rn101", rc::ResNetGeometry{64, {3, 4, 23, 3}, 224}, {512, 12}, 512},
    {"rn50x4", rc::ResNetGeometry{80, {4, 6, 10, 6}, 288}, {640, 12}, 640},
    {"rn50x16", rc::ResNetGeometry{96, {6, 8, 18, 8}, 384}, {768, 12}, 768},
    {"rn50x64", rc::ResNetGeometry{128, {3, 15, 36, 10}, 448}, {1024, 12}, 1024},
};

int usage() {
    std::string names;
    for (const auto& p : kPresets)
        names += (names.empty() ? "" : "|") + std::string(p.name);
    std::fprintf(stderr, "usage: make_random_model --out DIR [--preset %s] [--seed N]\n", names.c_str());
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    std::string out, preset_name = "vit-b-32";
    unsigned seed = 1234;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (i + 1 >= argc) return usage();
        if (a == "--out")
            out = argv[++i];
        else if (a == "--preset")
            preset_name = argv[++i];
        else if (a == "--seed")
            seed = static_cast<unsigned>(std::stoul(argv[++i]));
        else
            return usage();
    }
    if (out.empty()) return usage();
    const Preset* preset = nullptr;
    for (const auto& p : kPresets) {
        if (preset_name == p.name) preset = &p;
    }
    if (preset == nullptr) return usage();

    rc::Writer w(seed);
    if (const auto* vit = std::get_if<rc::VitGeometry>(&preset->vision))
        rc::add_vit_vision(w, *vit, preset->embed_dim);
    else
        rc::add_resnet_vision(w, std::get<rc::ResNetGeometry>(preset->vision), preset->embed_dim);
    rc::add_text(w, preset->text, preset->embed_dim);

    std::error_code ec;
    std::filesystem::create_directories(out, ec);
    const std::string path = (std::filesystem::path(out) / "model.safetensors").string();
    hclip::Status s = w.write(path);
    if (!s.ok()) {
        std::fprintf(stderr, "make_random_model: %s\n", s.to_string().c_str());
        return 1;
    }
    std::printf("wrote %s (%s, random weights, OpenAI layout)\n", path.c_str(), preset->name);
    return 0;
}
