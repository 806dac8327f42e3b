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
    std::variant<rc::VitGeometry, rc::ResNetGeometry, rc::FastVitGeometry> vision;
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
    // MobileCLIP (OpenCLIP MobileCLIP2-S0, MobileCLIP-S1, MobileCLIP-S2: timm fastvit_mci0/1/2, non-causal text).
    {"mobileclip-s0", rc::FastVitGeometry{{2, 6, 10, 2}, {64, 128, 256, 512}}, {512, 12}, 512},
    {"mobileclip-s1", rc::FastVitGeometry{{4, 12, 20, 4}, {64, 128, 256, 512}}, {512, 12}, 512},
    {"mobileclip-s2", rc::FastVitGeometry{{4, 12, 24, 4}, {80, 160, 320, 640}}, {512, 12}, 512},
};

// The open_clip_config.json the Hub repositories of MobileCLIP carry (the text tower is CustomTextCLIP's).
std::string mobileclip_config(const char* preset, int embed_dim, int text_width) {
    const std::string timm = std::string("fastvit_mci") + preset[std::string(preset).size() - 1];
    return R"({"model_cfg": {"embed_dim": )" + std::to_string(embed_dim) + R"(, "vision_cfg": {"timm_model_name": ")" +
           timm + R"(", "timm_model_pretrained": false, "timm_pool": "avg", "timm_proj": null, "image_size": 256},)" +
           R"( "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": )" + std::to_string(text_width) +
           R"(, "heads": 8, "layers": 12, "no_causal_mask": true}, "custom_text": true},)" +
           R"( "preprocess_cfg": {"mean": [0, 0, 0], "std": [1, 1, 1], "interpolation": "bilinear",)" +
           R"( "resize_mode": "shortest"}})";
}

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
    const auto* fastvit = std::get_if<rc::FastVitGeometry>(&preset->vision);
    if (const auto* vit = std::get_if<rc::VitGeometry>(&preset->vision))
        rc::add_vit_vision(w, *vit, preset->embed_dim);
    else if (fastvit != nullptr)
        rc::add_fastvit_vision(w, *fastvit, preset->embed_dim);
    else
        rc::add_resnet_vision(w, std::get<rc::ResNetGeometry>(preset->vision), preset->embed_dim);
    rc::add_text(w, preset->text, preset->embed_dim, fastvit != nullptr ? "text." : "");

    std::error_code ec;
    std::filesystem::create_directories(out, ec);
    if (fastvit != nullptr) {
        std::FILE* config = std::fopen((std::filesystem::path(out) / "open_clip_config.json").string().c_str(), "w");
        if (config == nullptr) {
            std::fprintf(stderr, "make_random_model: cannot write open_clip_config.json in %s\n", out.c_str());
            return 1;
        }
        const std::string text = mobileclip_config(preset->name, preset->embed_dim, preset->text.width);
        std::fputs(text.c_str(), config);
        std::fclose(config);
    }
    const std::string path = (std::filesystem::path(out) / "model.safetensors").string();
    hclip::Status s = w.write(path);
    if (!s.ok()) {
        std::fprintf(stderr, "make_random_model: %s\n", s.to_string().c_str());
        return 1;
    }
    std::printf("wrote %s (%s, random weights, %s)\n", path.c_str(), preset->name,
                fastvit != nullptr ? "OpenCLIP MobileCLIP layout" : "OpenAI layout");
    return 0;
}
