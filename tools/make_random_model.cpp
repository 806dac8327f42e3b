// Writes a random-weight CLIP ViT model directory in the OpenAI checkpoint layout, so anyone can benchmark the
// engine at full size without the real weights:  make_random_model --preset vit-b-32 --out DIR
// The weights are seeded and scaled like a trained model's (small projections, LayerNorm gains near 1) so the
// activations stay in a realistic range; the outputs mean nothing.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "io/safetensors.h"

namespace {

struct Preset {
    const char* name;
    int image_size, patch, vision_width, vision_layers, text_width, text_layers, embed_dim;
};

constexpr Preset kPresets[] = {
    {"vit-b-32", 224, 32, 768, 12, 512, 12, 512},
    {"vit-b-16", 224, 16, 768, 12, 512, 12, 512},
    {"vit-l-14", 224, 14, 1024, 24, 768, 12, 768},
    {"vit-l-14-336", 336, 14, 1024, 24, 768, 12, 768},
};

class Writer {
  public:
    explicit Writer(unsigned seed) : rng_(seed) {}

    void normal(const std::string& name, std::vector<std::int64_t> shape, float stddev, float mean = 0.0f) {
        std::size_t n = 1;
        for (auto d : shape)
            n *= static_cast<std::size_t>(d);
        std::vector<float> v(n);
        std::normal_distribution<float> dist(mean, stddev);
        for (auto& x : v)
            x = dist(rng_);
        storage_.push_back(std::move(v));
        shapes_.push_back({name, std::move(shape)});
    }

    hclip::Status write(const std::string& path) {
        std::vector<hclip::TensorToWrite> tensors;
        for (std::size_t i = 0; i < storage_.size(); ++i) {
            tensors.push_back({shapes_[i].first, shapes_[i].second, storage_[i]});
        }
        return hclip::write_safetensors(path, tensors, {{"format", "pt"}, {"note", "random weights"}});
    }

  private:
    std::mt19937 rng_;
    std::vector<std::vector<float>> storage_;
    std::vector<std::pair<std::string, std::vector<std::int64_t>>> shapes_;
};

void add_blocks(Writer& w, const std::string& prefix, int layers, int width) {
    const float s = 1.0f / std::sqrt(static_cast<float>(width));
    for (int i = 0; i < layers; ++i) {
        const std::string p = prefix + std::to_string(i) + ".";
        w.normal(p + "ln_1.weight", {width}, 0.02f, 1.0f);
        w.normal(p + "ln_1.bias", {width}, 0.02f);
        w.normal(p + "attn.in_proj_weight", {3 * width, width}, s);
        w.normal(p + "attn.in_proj_bias", {3 * width}, 0.02f);
        w.normal(p + "attn.out_proj.weight", {width, width}, s);
        w.normal(p + "attn.out_proj.bias", {width}, 0.02f);
        w.normal(p + "ln_2.weight", {width}, 0.02f, 1.0f);
        w.normal(p + "ln_2.bias", {width}, 0.02f);
        w.normal(p + "mlp.c_fc.weight", {4 * width, width}, s);
        w.normal(p + "mlp.c_fc.bias", {4 * width}, 0.02f);
        w.normal(p + "mlp.c_proj.weight", {width, 4 * width}, s * 0.5f);
        w.normal(p + "mlp.c_proj.bias", {width}, 0.02f);
    }
}

int usage() {
    std::fprintf(stderr,
                 "usage: make_random_model --out DIR [--preset vit-b-32|vit-b-16|vit-l-14|vit-l-14-336] [--seed N]\n");
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

    const int grid = preset->image_size / preset->patch;
    const int vw = preset->vision_width, tw = preset->text_width;
    Writer w(seed);
    w.normal("visual.conv1.weight", {vw, 3, preset->patch, preset->patch}, 0.02f);
    w.normal("visual.class_embedding", {vw}, 0.05f);
    w.normal("visual.positional_embedding", {grid * grid + 1, vw}, 0.05f);
    w.normal("visual.ln_pre.weight", {vw}, 0.02f, 1.0f);
    w.normal("visual.ln_pre.bias", {vw}, 0.02f);
    add_blocks(w, "visual.transformer.resblocks.", preset->vision_layers, vw);
    w.normal("visual.ln_post.weight", {vw}, 0.02f, 1.0f);
    w.normal("visual.ln_post.bias", {vw}, 0.02f);
    w.normal("visual.proj", {vw, preset->embed_dim}, 1.0f / std::sqrt(static_cast<float>(vw)));
    w.normal("token_embedding.weight", {49408, tw}, 0.02f);
    w.normal("positional_embedding", {77, tw}, 0.01f);
    add_blocks(w, "transformer.resblocks.", preset->text_layers, tw);
    w.normal("ln_final.weight", {tw}, 0.02f, 1.0f);
    w.normal("ln_final.bias", {tw}, 0.02f);
    w.normal("text_projection", {tw, preset->embed_dim}, 1.0f / std::sqrt(static_cast<float>(tw)));
    w.normal("logit_scale", {}, 0.0f, std::log(100.0f));

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
