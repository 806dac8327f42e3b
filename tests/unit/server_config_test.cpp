#include <gtest/gtest.h>

#include <cstdio>

#include "config/engine_options.h"
#include "config/service_config.h"
#include "kernels/kernel_cache.h"

namespace hclip::server {
namespace {

TEST(ServiceConfig, EmptyFileMeansDefaults) {
    auto c = parse_service_config("", "t.yaml");
    ASSERT_TRUE(c.ok()) << c.status().to_string();
    EXPECT_EQ(c->server.host, "0.0.0.0");
    EXPECT_EQ(c->server.port, 5000);
    EXPECT_FALSE(c->server.debug);
    EXPECT_EQ(c->clip.model, "clip-vit-b-32");
    EXPECT_FALSE(c->clip.embedding_dimension.has_value());  // the model's
    EXPECT_FALSE(c->clip.image_size.has_value());
    EXPECT_EQ(c->performance.worker_threads, 2);
    EXPECT_EQ(c->performance.request_timeout, 30.0);
    EXPECT_EQ(c->performance.max_queue_size, 10);
    EXPECT_EQ(c->performance.gemm_threads, 0);  // the shared compute pool: one thread per core
    EXPECT_EQ(c->clip.logit_scale, 100.0);
    EXPECT_EQ(c->clip.self_test, "report");
}

TEST(ServiceConfig, GemmKernelSettingsReachTheEngine) {
    auto defaults = parse_service_config("", "t.yaml");
    ASSERT_TRUE(defaults.ok());
    EXPECT_EQ(defaults->performance.gemm_kernel, "auto");
    EXPECT_EQ(defaults->performance.gemm_kernel_cache, "");
    EXPECT_EQ(engine_options_from_config(*defaults).gemm_kernel, GemmKernelMode::kAuto);
    EXPECT_EQ(engine_options_from_config(*defaults).gemm_kernel_cache, default_gemm_cache_path());
    auto forced = parse_service_config("performance:\n  gemm_kernel: plain\n  gemm_kernel_cache: off\n", "t.yaml");
    ASSERT_TRUE(forced.ok()) << forced.status().to_string();
    EXPECT_EQ(engine_options_from_config(*forced).gemm_kernel, GemmKernelMode::kPlain);
    EXPECT_EQ(engine_options_from_config(*forced).gemm_kernel_cache, "");
    auto path = parse_service_config("performance:\n  gemm_kernel: packed\n  gemm_kernel_cache: /c/k.txt\n", "t.yaml");
    ASSERT_TRUE(path.ok()) << path.status().to_string();
    EXPECT_EQ(engine_options_from_config(*path).gemm_kernel, GemmKernelMode::kPacked);
    EXPECT_EQ(engine_options_from_config(*path).gemm_kernel_cache, "/c/k.txt");
    auto panels = parse_service_config("performance:\n  gemm_kernel: panels\n", "t.yaml");
    ASSERT_TRUE(panels.ok()) << panels.status().to_string();
    EXPECT_EQ(engine_options_from_config(*panels).gemm_kernel, GemmKernelMode::kPanels);
    EXPECT_FALSE(parse_service_config("performance:\n  gemm_kernel: fastest\n", "t.yaml").ok());
}

TEST(ServiceConfig, TheSeedReadmeConfigParses) {
    const char* seed = R"(
server:
  host: 0.0.0.0
  port: 5000
  debug: false

clip:
  # Model selection
  model: clip-resnet-50x4
  embedding_dimension: 640
  device: 0
  image_size: 224
  batch_size: 1

performance:
  worker_threads: 2
  request_timeout: 30
)";
    auto c = parse_service_config(seed, "seed.yaml");
    ASSERT_TRUE(c.ok()) << c.status().to_string();
    EXPECT_EQ(c->clip.model, "clip-resnet-50x4");
    EXPECT_EQ(c->clip.batch_size, 1);
    // ... and is then refused against a 512-dimension model, naming the key, the value and the expectation.
    Status s = check_config_against_model(*c, 512, 224);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("clip.embedding_dimension is 640"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("512"), std::string::npos) << s.message();
}

// Left out, clip.embedding_dimension and clip.image_size are the model's: any model starts (a ViT-L/14 at 336 px
// used to be refused against the built-in 512 / 224).
TEST(ServiceConfig, DimensionAndImageSizeLeftOutAreTheModels) {
    auto c = parse_service_config("clip:\n  model: clip-vit-l-14-336\n", "t.yaml");
    ASSERT_TRUE(c.ok()) << c.status().to_string();
    EXPECT_TRUE(check_config_against_model(*c, 768, 336).ok());
    EXPECT_TRUE(check_config_against_model(*c, 512, 224).ok());
    auto null_values = parse_service_config("clip:\n  embedding_dimension: null\n  image_size:\n", "t.yaml");
    ASSERT_TRUE(null_values.ok()) << null_values.status().to_string();
    EXPECT_TRUE(check_config_against_model(*null_values, 768, 336).ok());
}

// Written, they are a statement about the model, and a contradiction still stops start-up.
TEST(ServiceConfig, DimensionAndImageSizeWrittenMustMatchTheModel) {
    auto c = parse_service_config("clip:\n  embedding_dimension: 512\n  image_size: 224\n", "t.yaml");
    ASSERT_TRUE(c.ok()) << c.status().to_string();
    EXPECT_TRUE(check_config_against_model(*c, 512, 224).ok());
    Status dim = check_config_against_model(*c, 768, 224);
    EXPECT_EQ(dim.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(dim.message().find("clip.embedding_dimension is 512"), std::string::npos) << dim.message();
    Status size = check_config_against_model(*c, 512, 336);
    EXPECT_EQ(size.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(size.message().find("clip.image_size is 224"), std::string::npos) << size.message();
}

// Against the model it names (RN50x4: 640-dimension embeddings, 288 px), the seed's image_size: 224 is refused with
// the model's 288; without image_size (the default: the model's own) it is accepted.
TEST(ServiceConfig, SeedImageSizeIsCheckedAgainstTheModel) {
    auto c = parse_service_config("clip:\n  model: clip-resnet-50x4\n  embedding_dimension: 640\n  image_size: 224\n",
                                  "seed.yaml");
    ASSERT_TRUE(c.ok()) << c.status().to_string();
    Status s = check_config_against_model(*c, 640, 288);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("clip.image_size is 224"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("takes 288 px images; set clip.image_size: 288"), std::string::npos) << s.message();
    c->clip.image_size = ServiceConfig{}.clip.image_size;
    EXPECT_TRUE(check_config_against_model(*c, 640, 288).ok());
}

// The seed names a model and no directory: the installed model of that name.
TEST(ServiceConfig, ModelWithoutDirectoryIsTheInstalledModelOfThatName) {
    auto c = parse_service_config("clip:\n  model: clip-resnet-50x4\n", "seed.yaml");
    ASSERT_TRUE(c.ok()) << c.status().to_string();
    EXPECT_EQ(c->clip.model_dir, "/var/lib/hailo-clip/models/clip-resnet-50x4");
    auto both = parse_service_config("clip:\n  model: x\n  model_dir: /srv/models/y\n", "both.yaml");
    ASSERT_TRUE(both.ok());
    EXPECT_EQ(both->clip.model_dir, "/srv/models/y");
}

struct BadCase {
    const char* yaml;
    const char* words;
};

class BadConfig : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadConfig, IsRefusedNamingTheKey) {
    auto c = parse_service_config(GetParam().yaml, "bad.yaml");
    ASSERT_FALSE(c.ok()) << GetParam().yaml;
    EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(c.status().message().find(GetParam().words), std::string::npos) << c.status().message();
    EXPECT_NE(c.status().message().find("bad.yaml"), std::string::npos) << c.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadConfig,
    ::testing::Values(BadCase{"server:\n  prot: 5000\n", "unknown setting server.prot"},
                      BadCase{"srever:\n  port: 5000\n", "unknown section 'srever'"},
                      BadCase{"server:\n  port: http\n", "server.port is 'http'; expected a whole number"},
                      BadCase{"server:\n  port: 70000\n", "from 0 to 65535"},
                      BadCase{"server:\n  port: \"5000\"\n", "server.port"},
                      BadCase{"server:\n  debug: maybe\n", "true or false"},
                      BadCase{"clip:\n  logit_scale: -1\n", "clip.logit_scale"},
                      BadCase{"clip:\n  batch_size: 2.5\n", "clip.batch_size"},
                      BadCase{"clip:\n  self_test: sometimes\n", "clip.self_test"},
                      BadCase{"performance:\n  worker_threads: 0\n", "performance.worker_threads"},
                      BadCase{"performance:\n  gemm_threads: -1\n", "performance.gemm_threads"},
                      BadCase{"performance:\n  gemm_kernel: fastest\n", "performance.gemm_kernel"},
                      BadCase{"performance:\n  request_timeout: fast\n", "expected a number"},
                      BadCase{"clip: [1, 2]\n", "clip is a list"},
                      BadCase{"clip:\n  model_dir: [a]\n", "clip.model_dir"},
                      BadCase{"server: {port: 1\n", "not valid YAML"}, BadCase{"- just\n- a list\n", "mapping"},
                      BadCase{"server:\n  read_timeout: 0\n", "server.read_timeout"},
                      BadCase{"server:\n  write_timeout: soon\n", "server.write_timeout"},
                      BadCase{"server:\n  api_key: short\n", "shorter than 16"},
                      BadCase{"server:\n  api_key: \"a key with spaces in it\"\n", "printable ASCII"},
                      BadCase{"server:\n  api_key: 0123456789abcdef\n  api_key_file: /k\n", "not both"}));

TEST(ServiceConfig, ApiKeyFileIsReadAndTrimmed) {
    const std::string path = ::testing::TempDir() + "hclip_api_key_test";
    {
        std::FILE* f = std::fopen(path.c_str(), "w");
        ASSERT_NE(f, nullptr);
        std::fputs("  0123456789abcdef-key\n", f);
        std::fclose(f);
    }
    auto c = parse_service_config("server:\n  api_key_file: " + path + "\n", "k.yaml");
    ASSERT_TRUE(c.ok()) << c.status().to_string();
    EXPECT_EQ(c->server.api_key, "0123456789abcdef-key");
    std::remove(path.c_str());
    auto missing = parse_service_config("server:\n  api_key_file: " + path + "\n", "k.yaml");
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.status().message().find("server.api_key_file"), std::string::npos);
}

TEST(ServiceConfig, TimeoutsAreRead) {
    auto c =
        parse_service_config("server:\n  read_timeout: 2.5\n  write_timeout: 3\n  keep_alive_timeout: 1\n", "t.yaml");
    ASSERT_TRUE(c.ok()) << c.status().to_string();
    EXPECT_EQ(c->server.read_timeout, 2.5);
    EXPECT_EQ(c->server.write_timeout, 3.0);
    EXPECT_EQ(c->server.keep_alive_timeout, 1.0);
}

TEST(ServiceConfig, MissingFileIsNotFound) {
    auto c = load_service_config("/nonexistent/hailo-clip.yaml");
    EXPECT_EQ(c.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace hclip::server

namespace hclip::server {
namespace {

// The shipped example must parse and must state exactly the built-in defaults, so the comments stay true.
TEST(ServiceConfig, ShippedExampleParsesAndEqualsTheDefaults) {
    auto c = load_service_config(std::string(HCLIP_SOURCE_DIR) + "/config/hailo-clip.yaml");
    ASSERT_TRUE(c.ok()) << c.status().to_string();
    const ServiceConfig d;
    EXPECT_EQ(c->server.host, d.server.host);
    EXPECT_EQ(c->server.port, d.server.port);
    EXPECT_EQ(c->server.debug, d.server.debug);
    EXPECT_EQ(c->server.http_threads, d.server.http_threads);
    EXPECT_EQ(c->server.read_timeout, d.server.read_timeout);
    EXPECT_EQ(c->server.write_timeout, d.server.write_timeout);
    EXPECT_EQ(c->server.keep_alive_timeout, d.server.keep_alive_timeout);
    EXPECT_EQ(c->server.api_key, d.server.api_key);
    EXPECT_EQ(c->server.api_key_file, d.server.api_key_file);
    EXPECT_EQ(c->server.metrics_require_api_key, d.server.metrics_require_api_key);
    EXPECT_EQ(c->clip.model, d.clip.model);
    EXPECT_EQ(c->clip.model_dir, d.clip.model_dir);
    EXPECT_EQ(c->clip.embedding_dimension, d.clip.embedding_dimension);
    EXPECT_EQ(c->clip.device, d.clip.device);
    EXPECT_EQ(c->clip.image_size, d.clip.image_size);
    EXPECT_EQ(c->clip.batch_size, d.clip.batch_size);
    EXPECT_EQ(c->clip.logit_scale, d.clip.logit_scale);
    EXPECT_EQ(c->clip.text_cache_size, d.clip.text_cache_size);
    EXPECT_EQ(c->clip.backend, d.clip.backend);
    EXPECT_EQ(c->clip.self_test, d.clip.self_test);
    EXPECT_EQ(c->clip.weights, d.clip.weights);
    EXPECT_EQ(c->clip.compute, d.clip.compute);
    EXPECT_EQ(c->performance.hung_worker_timeout, d.performance.hung_worker_timeout);
    EXPECT_EQ(c->performance.health_probe_interval, d.performance.health_probe_interval);
    EXPECT_EQ(c->hailo.image_hef, d.hailo.image_hef);
    EXPECT_EQ(c->hailo.text_hef, d.hailo.text_hef);
    EXPECT_EQ(c->hailo.token_embedding_lut, d.hailo.token_embedding_lut);
    EXPECT_EQ(c->hailo.text_projection, d.hailo.text_projection);
    EXPECT_EQ(c->hailo.text_encoder, d.hailo.text_encoder);
    EXPECT_EQ(c->hailo.on_unavailable, d.hailo.on_unavailable);
    EXPECT_EQ(c->hailo.group_id, d.hailo.group_id);
    EXPECT_EQ(c->hailo.timeout_ms, d.hailo.timeout_ms);
    EXPECT_EQ(c->hailo.retry_max_seconds, d.hailo.retry_max_seconds);
    EXPECT_EQ(c->performance.worker_threads, d.performance.worker_threads);
    EXPECT_EQ(c->performance.request_timeout, d.performance.request_timeout);
    EXPECT_EQ(c->performance.max_queue_size, d.performance.max_queue_size);
    EXPECT_EQ(c->performance.gemm_threads, d.performance.gemm_threads);
    EXPECT_EQ(c->performance.gemm_kernel, d.performance.gemm_kernel);
    EXPECT_EQ(c->performance.gemm_kernel_cache, d.performance.gemm_kernel_cache);
    EXPECT_EQ(c->limits.max_body_bytes, d.limits.max_body_bytes);
    EXPECT_EQ(c->limits.max_image_pixels, d.limits.max_image_pixels);
    EXPECT_EQ(c->limits.max_prompts, d.limits.max_prompts);
    EXPECT_EQ(c->limits.max_prompt_bytes, d.limits.max_prompt_bytes);
    EXPECT_EQ(c->limits.max_batch_items, d.limits.max_batch_items);
    EXPECT_EQ(c->storage.state_dir, d.storage.state_dir);
    EXPECT_EQ(c->prompt_sets.size(), d.prompt_sets.size());
}

}  // namespace
}  // namespace hclip::server

namespace hclip::server {
namespace {

TEST(ServiceConfig, WeightStorageIsFp32UnlessChosen) {
    auto d = parse_service_config("", "t.yaml");
    ASSERT_TRUE(d.ok()) << d.status().to_string();
    EXPECT_EQ(d->clip.weights, "fp32");
    EXPECT_EQ(engine_options_from_config(*d).weights, WeightStorage::kF32);
    for (const auto& [text, storage] : {std::pair{"bf16", WeightStorage::kBf16}, std::pair{"fp16", WeightStorage::kF16},
                                        std::pair{"fp32", WeightStorage::kF32}}) {
        auto c = parse_service_config(std::string("clip:\n  weights: ") + text + "\n", "t.yaml");
        ASSERT_TRUE(c.ok()) << c.status().to_string();
        EXPECT_EQ(engine_options_from_config(*c).weights, storage) << text;
    }
    auto bad = parse_service_config("clip:\n  weights: int8\n", "t.yaml");
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.status().message().find("weights"), std::string::npos) << bad.status().message();
}

TEST(ServiceConfig, ComputeIsFp32UnlessChosen) {
    auto d = parse_service_config("", "t.yaml");
    ASSERT_TRUE(d.ok()) << d.status().to_string();
    EXPECT_EQ(d->clip.compute, "fp32");
    EXPECT_EQ(engine_options_from_config(*d).compute, ComputePrecision::kF32);
    auto c = parse_service_config("clip:\n  compute: bf16\n", "t.yaml");
    ASSERT_TRUE(c.ok()) << c.status().to_string();
    EXPECT_EQ(engine_options_from_config(*c).compute, ComputePrecision::kBf16);
    auto bad = parse_service_config("clip:\n  compute: fp16\n", "t.yaml");
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.status().message().find("compute"), std::string::npos) << bad.status().message();
}

}  // namespace
}  // namespace hclip::server
