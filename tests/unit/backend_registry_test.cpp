// The engine's backend layer: the registry, how ClipEngine::open chooses a backend per tower, the probe's reason,
// the fallback to the CPU (only when asked, always reported), and that the CLI and the service build their engine
// through the same function.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <vector>

#include "backends/builtin_backends.h"
#include "backends/cpu/cpu_backend.h"
#include "backends/hailo/hailo_status.h"
#include "backends/hailo/support_files.h"
#include "cli/args.h"
#include "cli/engine_setup.h"
#include "doubles/stand_in_backend.h"
#include "engine/backend_registry.h"
#include "engine/clip_engine.h"
#include "server/clip_service.h"
#include "support/fixtures.h"

namespace hclip {
namespace {

namespace fs = std::filesystem;

bool contains(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

// Each test may replace backends in the program's registry; the built-in ones are back afterwards.
class Backends : public ::testing::Test {
  protected:
    void TearDown() override { register_builtin_backends(); }

    EngineOptions tiny(const std::string& backend) {
        EngineOptions o;
        o.model_dir = testing::fixture("models/tiny-openai");
        o.max_batch = 2;
        o.backend = backend;
        o.log = {.info = [this](const std::string& m) { record("info: " + m); },
                 .warning = [this](const std::string& m) { record("warning: " + m); }};
        return o;
    }
    void record(const std::string& m) {
        std::lock_guard lock(mutex_);
        log_ += m + "\n";
    }
    std::string log() {
        std::lock_guard lock(mutex_);
        return log_;
    }

    // A "hailo" backend whose probe always says no.
    static void register_unavailable_hailo(const std::string& reason) {
        BackendRegistry::global().add({.name = "hailo",
                                       .probe =
                                           [reason] {
                                               return BackendProbe{false, reason};
                                           },
                                       .open = [](const BackendContext&) -> Result<std::shared_ptr<Backend>> {
                                           return internal_error("opened although the probe said no");
                                       }});
    }

    std::mutex mutex_;
    std::string log_;
};

TEST_F(Backends, RegistryNamesWhatIsRegistered) {
    BackendRegistry registry;
    registry.add(cpu_backend_factory());
    EXPECT_TRUE(registry.find("cpu").ok());
    auto missing = registry.find("tpu");
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
    EXPECT_TRUE(contains(missing.status().message(), "registered: cpu")) << missing.status().message();
    registry.add(cpu_backend_factory());  // the same name replaces, never duplicates
    EXPECT_EQ(registry.names(), std::vector<std::string>{"cpu"});
    register_builtin_backends(registry);
    EXPECT_EQ(registry.names(), (std::vector<std::string>{"cpu", "hailo"}));
}

TEST_F(Backends, CpuServesBothTowers) {
    auto engine = ClipEngine::open(tiny("cpu"));
    ASSERT_TRUE(engine.ok()) << engine.status().to_string();
    EXPECT_EQ((*engine)->image_backend(), "cpu");
    EXPECT_EQ((*engine)->text_backend(), "cpu");
    EXPECT_EQ((*engine)->backend_name(), "cpu");
    EXPECT_TRUE((*engine)->fallbacks().empty());
    EXPECT_EQ((*engine)->create_image_encoder().value()->backend_name(), "cpu");
    EXPECT_TRUE((*engine)->backend_state().ready);
}

TEST_F(Backends, AutoWithoutAnUsableNpuUsesTheCpuAndSaysWhy) {
    register_unavailable_hailo("no device in this test");
    auto engine = ClipEngine::open(tiny("auto"));
    ASSERT_TRUE(engine.ok()) << engine.status().to_string();
    EXPECT_EQ((*engine)->backend_name(), "cpu");
    EXPECT_TRUE(contains(log(), "backend auto: using the CPU (hailo: no device in this test)")) << log();
    EXPECT_TRUE((*engine)->fallbacks().empty()) << "auto choosing the CPU is a choice, not a fallback";
}

TEST_F(Backends, AnUnavailableChoiceFailsWithTheProbesReason) {
    register_unavailable_hailo("no device in this test");
    auto engine = ClipEngine::open(tiny("hailo"));
    ASSERT_FALSE(engine.ok());
    EXPECT_EQ(engine.status().code(), StatusCode::kUnavailable);
    EXPECT_TRUE(contains(engine.status().message(), "the hailo backend is not available: no device in this test"))
        << engine.status().message();
}

TEST_F(Backends, FallbackToTheCpuOnlyWhenAskedAndAlwaysReported) {
    register_unavailable_hailo("no device in this test");
    EngineOptions o = tiny("hailo");
    o.fallback_to_cpu = true;
    auto engine = ClipEngine::open(o);
    ASSERT_TRUE(engine.ok()) << engine.status().to_string();
    EXPECT_EQ((*engine)->backend_name(), "cpu");
    ASSERT_EQ((*engine)->fallbacks().size(), 1u);
    EXPECT_TRUE(contains((*engine)->fallbacks()[0], "no device in this test"));
    EXPECT_TRUE(contains(log(),
                         "warning: the hailo backend is not available: no device in this test; the CPU "
                         "serves both towers instead"))
        << log();
}

TEST_F(Backends, UnknownBackendIsAnError) {
    auto engine = ClipEngine::open(tiny("tpu"));
    ASSERT_FALSE(engine.ok());
    EXPECT_EQ(engine.status().code(), StatusCode::kNotFound);
    EXPECT_TRUE(contains(engine.status().message(), "no backend 'tpu'")) << engine.status().message();
}

// The Hailo backend's own code over the stand-in device (a test double registered as "hailo").
class StandInBackends : public Backends {
  protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("hclip-backends-" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
        fs::create_directories(dir_);
        auto model = ClipModel::load(testing::fixture("models/tiny-openai"), {.pack_weights = false});
        ASSERT_TRUE(model.ok());
        ASSERT_TRUE(hailo::write_text_support_files(**model, dir_.string()).ok());
        ASSERT_TRUE(hailo::write_stand_in_hefs(**model, dir_.string()).ok());
        hailo::register_stand_in_backend(BackendRegistry::global(), faults_);
    }
    void TearDown() override {
        Backends::TearDown();
        fs::remove_all(dir_);
    }
    EngineOptions stand_in(const std::string& backend) {
        EngineOptions o = tiny(backend);
        o.hailo.image_hef = (dir_ / hailo::kStandInImageHef).string();
        o.hailo.text_hef = (dir_ / hailo::kStandInTextHef).string();
        o.hailo.token_embedding_lut = (dir_ / hailo::kLutFileName).string();
        o.hailo.text_projection = (dir_ / hailo::kProjectionFileName).string();
        return o;
    }
    fs::path dir_;
    std::shared_ptr<hailo::StandInFaults> faults_ = std::make_shared<hailo::StandInFaults>();
};

TEST_F(StandInBackends, EachTowerFromItsChosenBackend) {
    auto both = ClipEngine::open(stand_in("hailo"));
    ASSERT_TRUE(both.ok()) << both.status().to_string();
    EXPECT_EQ((*both)->backend_name(), "hailo-emulated");
    EXPECT_TRUE(contains(log(), "CPU EMULATION")) << log();

    EngineOptions o = stand_in("hailo");
    o.text_backend = "cpu";
    o.hailo.text_hef = "/nonexistent/text.hef";  // not opened: the text tower runs on the CPU
    auto mixed = ClipEngine::open(o);
    ASSERT_TRUE(mixed.ok()) << mixed.status().to_string();
    EXPECT_EQ((*mixed)->backend_name(), "hailo-emulated+cpu-text");
    EXPECT_EQ((*mixed)->create_image_encoder().value()->backend_name(), "hailo-emulated");
    EXPECT_EQ((*mixed)->create_text_encoder().value()->backend_name(), "cpu");

    o = stand_in("cpu");
    o.text_backend = "hailo";
    auto reversed = ClipEngine::open(o);
    ASSERT_TRUE(reversed.ok()) << reversed.status().to_string();
    EXPECT_EQ((*reversed)->backend_name(), "cpu+hailo-emulated-text");
    EXPECT_EQ((*reversed)->create_text_encoder().value()->backend_name(), "hailo-emulated");
}

TEST_F(StandInBackends, BusyDeviceFallsBackOnlyWhenAsked) {
    faults_->open_code = hailo::code::kOutOfPhysicalDevices;
    faults_->open_failures = -1;
    auto strict = ClipEngine::open(stand_in("hailo"));
    ASSERT_FALSE(strict.ok());
    EXPECT_EQ(strict.status().code(), StatusCode::kUnavailable);
    EXPECT_TRUE(contains(strict.status().message(), "HAILO_OUT_OF_PHYSICAL_DEVICES (74)")) << strict.status().message();

    EngineOptions o = stand_in("hailo");
    o.fallback_to_cpu = true;
    auto lenient = ClipEngine::open(o);
    ASSERT_TRUE(lenient.ok()) << lenient.status().to_string();
    EXPECT_EQ((*lenient)->backend_name(), "cpu");
    ASSERT_EQ((*lenient)->fallbacks().size(), 1u);
    EXPECT_TRUE(contains((*lenient)->fallbacks()[0], "(74)"));
}

TEST_F(StandInBackends, AConfigurationErrorNeverFallsBack) {
    EngineOptions o = stand_in("hailo");
    o.fallback_to_cpu = true;
    o.hailo.image_hef = (dir_ / "missing.hef").string();
    auto engine = ClipEngine::open(o);
    ASSERT_FALSE(engine.ok());
    EXPECT_TRUE(contains(engine.status().message(), "missing.hef")) << engine.status().message();
}

// The CLI and the service: one path to the engine. A spy registered as "cpu" records what each asks for.
TEST_F(Backends, CliAndServiceBuildTheirEngineThroughTheSameFunction) {
    struct Seen {
        std::string model_dir;
        int max_batch = 0;
        bool image = false, text = false;
        std::string image_hef;
        bool operator==(const Seen&) const = default;
    };
    auto seen = std::make_shared<std::vector<Seen>>();
    BackendFactory spy = cpu_backend_factory();
    spy.open = [seen, real = spy.open](const BackendContext& c) {
        seen->push_back({c.model->model_dir(), c.max_batch, c.towers.image, c.towers.text,
                         c.hailo != nullptr ? c.hailo->image_hef : ""});
        return real(c);
    };
    BackendRegistry::global().add(spy);

    const fs::path config =
        fs::temp_directory_path() /
        ("hclip-same-path-" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) + ".yaml");
    std::ofstream(config) << "clip:\n  model_dir: " << testing::fixture("models/tiny-openai")
                          << "\n  embedding_dimension: 48\n  batch_size: 3\n  backend: cpu\n"
                          << "hailo:\n  image_hef: /somewhere/image.hef\n"
                          << "performance:\n  worker_threads: 1\n";
    auto service_config = server::load_service_config(config.string());
    ASSERT_TRUE(service_config.ok()) << service_config.status().to_string();
    auto service = server::ClipService::create(*service_config);
    ASSERT_TRUE(service.ok()) << service.status().to_string();
    (*service)->shutdown(server::Clock::now());

    auto args = cli::Args::parse({"--config", config.string(), "--threads", "1"}, cli::engine_value_flags(), {});
    ASSERT_TRUE(args.ok());
    auto engine = cli::engine_from_args(*args);
    ASSERT_TRUE(engine.ok()) << engine.status().to_string();
    fs::remove(config);

    ASSERT_EQ(seen->size(), 2u) << "each must open its backend through ClipEngine::open and the registry";
    EXPECT_EQ((*seen)[0], (*seen)[1]);
    EXPECT_EQ((*seen)[0].max_batch, 3);
    EXPECT_EQ((*seen)[0].image_hef, "/somewhere/image.hef");
    EXPECT_TRUE((*seen)[0].image && (*seen)[0].text);
}

}  // namespace
}  // namespace hclip
