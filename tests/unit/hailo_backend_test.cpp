// The Hailo backend without a Hailo device: its host pre- and post-processing, start-up checks, error mapping and
// recovery, with the CPU stand-in test double emulating each HEF's contract (tests/doubles/cpu_stand_in.h). The
// embeddings must equal the CPU backend's; mutation tests apply known bugs (in test code only) and prove these
// comparisons catch them.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "backends/hailo/hailo_backend.h"
#include "backends/hailo/hailo_status.h"
#include "backends/hailo/support_files.h"
#include "backends/hailo/text_host.h"
#include "config/service_config.h"
#include "core/mapped_file.h"
#include "doubles/cpu_stand_in.h"
#include "engine/clip_engine.h"
#include "engine/embedding.h"
#include "engine/zero_shot.h"
#include "io/npy.h"
#include "io/safetensors.h"
#include "model/text_rows.h"
#include "model/text_tower.h"
#include "support/fixtures.h"
#include "support/golden.h"

namespace hclip::hailo {
namespace {

namespace fs = std::filesystem;

// Normalized embeddings, hailo (stand-in) against the oracle and against cpu: the fixtures' bound (README), no looser.
constexpr double kTolerance = 5e-5;

fs::path temp_dir(const std::string& name) {
    const fs::path d =
        fs::temp_directory_path() /
        ("hclip-hailo-" + name + "-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
         std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    fs::create_directories(d);
    return d;
}

// ---------------------------------------------------------------------------------------------------- .npy files

TEST(Npy, RoundTripVersion1AlignedHeader) {
    const std::vector<std::size_t> shape = {3, 2};
    const std::vector<float> data = {1.0f, -2.5f, 3.0f, 0.0f, 1e-7f, 65504.0f};
    const auto bytes = encode_npy_f32(shape, data);
    ASSERT_GE(bytes.size(), 10u);
    EXPECT_EQ(bytes[6], 1);
    const std::size_t header_len = bytes[8] | (bytes[9] << 8);
    EXPECT_EQ((10 + header_len) % 64, 0u) << "NumPy pads the header to 64 bytes";
    EXPECT_EQ(bytes[10 + header_len - 1], '\n');
    auto a = parse_npy_f32(bytes, "mem");
    ASSERT_TRUE(a.ok()) << a.status().to_string();
    EXPECT_EQ(a->shape, shape);
    EXPECT_EQ(a->data, data);
    auto one_d = parse_npy_f32(encode_npy_f32(std::vector<std::size_t>{4}, std::vector<float>(4, 1.0f)), "mem");
    ASSERT_TRUE(one_d.ok()) << one_d.status().to_string();
    EXPECT_EQ(one_d->shape, std::vector<std::size_t>{4});
}

std::vector<std::uint8_t> npy_with_header(const std::string& dict, std::size_t data_bytes, int major = 1) {
    std::string h = dict;
    const std::size_t prefix = major == 1 ? 10 : 12;
    while ((prefix + h.size() + 1) % 64 != 0)
        h += ' ';
    h += '\n';
    std::vector<std::uint8_t> b = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<std::uint8_t>(major), 0};
    b.push_back(static_cast<std::uint8_t>(h.size() & 0xff));
    b.push_back(static_cast<std::uint8_t>(h.size() >> 8));
    if (major != 1) {
        b.push_back(0);
        b.push_back(0);
    }
    b.insert(b.end(), h.begin(), h.end());
    b.insert(b.end(), data_bytes, 0);
    return b;
}

TEST(Npy, ReadsVersion2AndPythonSpacing) {
    auto a = parse_npy_f32(npy_with_header("{'descr':'<f4','fortran_order':False,'shape':(2,3)}", 24, 2), "v2");
    ASSERT_TRUE(a.ok()) << a.status().to_string();
    EXPECT_EQ(a->shape, (std::vector<std::size_t>{2, 3}));
}

TEST(Npy, RejectsWhatItDoesNotRead) {
    const std::string good = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    ASSERT_TRUE(parse_npy_f32(npy_with_header(good, 24), "ok").ok());
    struct Case {
        std::vector<std::uint8_t> bytes;
        const char* why;
    };
    std::vector<Case> cases = {
        {npy_with_header(good, 20), "data shorter than the shape"},
        {npy_with_header(good, 28), "trailing data"},
        {npy_with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", 48), "float64"},
        {npy_with_header("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", 24), "big-endian"},
        {npy_with_header("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", 24), "Fortran order"},
        {npy_with_header("{'descr': '<f4', 'shape': (2, 3), }", 24), "missing key"},
        {npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }", 24), "negative dim"},
        {npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}", 24), "extra key"},
        {npy_with_header(good, 24, 3), "version 3"},
        {std::vector<std::uint8_t>{'N', 'U', 'M', 'P', 'Y'}, "no magic"},
    };
    for (auto& c : cases) {
        auto r = parse_npy_f32(c.bytes, "case");
        EXPECT_FALSE(r.ok()) << c.why;
    }
    // A header length beyond the file.
    auto trunc = npy_with_header(good, 24);
    trunc.resize(40);
    EXPECT_FALSE(parse_npy_f32(trunc, "truncated").ok());
}

// ------------------------------------------------------------------------------------------- status mapping

TEST(HailoStatus, MessagesNameTheCodeAndTheFix) {
    const Status busy = to_status(code::kOutOfPhysicalDevices, "creating the VDevice");
    EXPECT_EQ(busy.code(), StatusCode::kUnavailable);
    EXPECT_NE(busy.message().find("HAILO_OUT_OF_PHYSICAL_DEVICES (74)"), std::string::npos) << busy.message();
    EXPECT_NE(busy.message().find("group_id"), std::string::npos);
    EXPECT_NE(busy.message().find("lsof"), std::string::npos);
    EXPECT_EQ(to_status(code::kDeviceInUse, "x").code(), StatusCode::kUnavailable);

    const Status chip = to_status(code::kHefNotCompatibleWithDevice, "configuring a.hef");
    EXPECT_EQ(chip.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(chip.message().find("(93)"), std::string::npos);
    EXPECT_NE(chip.message().find("hailo10h"), std::string::npos);
    EXPECT_NE(to_status(code::kHefNotSupported, "x").message().find("HailoRT version"), std::string::npos);

    for (int c : {code::kInvalidDriverVersion, code::kDriverInvalidIoctl, code::kDriverInvalidResponse}) {
        const Status s = to_status(c, "x");
        EXPECT_EQ(s.code(), StatusCode::kUnavailable);
        EXPECT_NE(s.message().find("do not match"), std::string::npos) << s.message();
    }
    EXPECT_NE(to_status(code::kDriverNotInstalled, "x").message().find("hailo-h10-all"), std::string::npos);
    const Status t = to_status(code::kTimeout, "x");
    EXPECT_EQ(t.code(), StatusCode::kUnavailable);
    EXPECT_NE(t.message().find("in time"), std::string::npos);
    EXPECT_EQ(to_status(code::kOpenFileFailure, "x").code(), StatusCode::kNotFound);
    EXPECT_EQ(to_status(12345, "x").code(), StatusCode::kInternal);
    EXPECT_NE(to_status(12345, "x").message().find("12345"), std::string::npos);

    for (int c : {code::kCommunicationClosed, code::kRpcFailed, code::kDriverTimeout, code::kDeviceNotConnected}) {
        EXPECT_TRUE(is_device_lost(c)) << c;
        EXPECT_EQ(to_status(c, "x").code(), StatusCode::kUnavailable);
    }
    for (int c : {code::kTimeout, code::kOutOfPhysicalDevices, code::kInvalidOperation, code::kSuccess}) {
        EXPECT_FALSE(is_device_lost(c)) << c;
    }
}

// ------------------------------------------------------------------------------------- support files, rows

TEST(HailoSupportFiles, SameMatricesFromOpenAIAndHuggingFaceLayouts) {
    auto openai = ClipModel::load(testing::fixture("models/tiny-openai"), {.pack_weights = false});
    auto hf = ClipModel::load(testing::fixture("models/tiny-hf"), {.pack_weights = false});
    ASSERT_TRUE(openai.ok() && hf.ok());
    auto a = text_support_files_from_model(**openai);
    auto b = text_support_files_from_model(**hf);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a->lut.shape, (std::vector<std::size_t>{49408, 128}));
    EXPECT_EQ(a->projection.shape, (std::vector<std::size_t>{128, 48}));
    EXPECT_EQ(a->lut.data, b->lut.data);
    EXPECT_EQ(a->projection.data, b->projection.data) << "the HF projection is stored transposed; the file is P";

    const fs::path dir = temp_dir("support");
    ASSERT_TRUE(write_text_support_files(**hf, dir.string()).ok());
    auto back = load_text_support_files((dir / kLutFileName).string(), (dir / kProjectionFileName).string());
    ASSERT_TRUE(back.ok()) << back.status().to_string();
    EXPECT_EQ(back->projection.data, a->projection.data);
    EXPECT_EQ(back->lut.data, a->lut.data);
    // Files from different models are refused.
    auto wrong = load_text_support_files((dir / kProjectionFileName).string(), (dir / kProjectionFileName).string());
    EXPECT_FALSE(wrong.ok());
    fs::remove_all(dir);
}

// The text HEF's function (rows in, final-LayerNorm rows out) with the host's gather and projection reproduces
// the CPU text tower.
TEST(TextRowsTransformer, HostPipelineEqualsTextTower) {
    auto model = ClipModel::load(testing::fixture("models/tiny-openai"), {.pack_weights = false});
    ASSERT_TRUE(model.ok());
    auto support = text_support_files_from_model(**model);
    ASSERT_TRUE(support.ok());
    const TextConfig& c = (*model)->config().text;
    const auto w = static_cast<std::size_t>(c.width), e = static_cast<std::size_t>((*model)->config().embed_dim);
    TextRowsTransformer rows_tf(*model);
    TextTower tower(*model, 1);
    const std::vector<std::vector<std::int32_t>> texts = {
        {49406, 320, 1125, 539, 320, 2368, 49407}, {49406, 0, 0, 49407}, {49406, 49407}};
    for (const auto& ids : texts) {
        std::vector<float> rows(77 * w), out(77 * w), want(e), got(e, 0.0f);
        for (std::size_t t = 0; t < 77; ++t) {
            const auto id = static_cast<std::size_t>(t < ids.size() ? ids[t] : 0);
            std::copy_n(support->lut.data.begin() + static_cast<std::ptrdiff_t>(id * w), w, rows.begin() + t * w);
        }
        ASSERT_TRUE(rows_tf.run(rows, out).ok());
        const std::size_t eot = ids.size() - 1;
        for (std::size_t i = 0; i < e; ++i)
            for (std::size_t j = 0; j < w; ++j)
                got[i] += out[eot * w + j] * support->projection.data[j * e + i];
        ASSERT_TRUE(tower.encode(std::span(&ids, 1), want).ok());
        testing::expect_close("rows pipeline", got, want, e, 2e-5);
    }
}

// ------------------------------------------------------------------------------------ the backend, emulated

struct Emulated {
    std::unique_ptr<ClipEngine> engine;
    fs::path dir;
    HailoBackendOptions options;
    std::shared_ptr<StandInFaults> faults = std::make_shared<StandInFaults>();

    explicit Emulated(const std::string& model = "tiny-openai") {
        EngineOptions eo;
        eo.model_dir = testing::fixture("models/" + model);
        eo.max_batch = 4;
        eo.backend = "cpu";
        engine = std::move(ClipEngine::open(eo).value());
        dir = temp_dir(model);
        auto plain = ClipModel::load(eo.model_dir, {.pack_weights = false});
        EXPECT_TRUE(write_text_support_files(**plain, dir.string()).ok());
        EXPECT_TRUE(write_stand_in_hefs(**plain, dir.string()).ok());
        options.image_hef = (dir / kStandInImageHef).string();
        options.text_hef = (dir / kStandInTextHef).string();
        options.token_embedding_lut = (dir / kLutFileName).string();
        options.text_projection = (dir / kProjectionFileName).string();
        options.device.group_id = "SHARED";
        options.retry_initial = std::chrono::milliseconds(20);
        options.retry_max = std::chrono::milliseconds(200);
    }
    ~Emulated() { fs::remove_all(dir); }

    Result<std::shared_ptr<HailoBackend>> start() const {
        return HailoBackend::start(options, engine->model_ptr(), cpu_stand_in_factory(engine->model_ptr(), faults));
    }
};

std::vector<std::vector<std::int32_t>> fixture_token_ids(const ClipEngine& engine, const std::string& model) {
    auto j = nlohmann::json::parse(read_file(testing::fixture("models/" + model + "/expected.json")).value());
    std::vector<std::vector<std::int32_t>> ids;
    for (const auto& t : j.at("texts").get<std::vector<std::string>>())
        ids.push_back(engine.tokenize(t).ids);
    // Token id 0 is "!" inside a punctuation run ("!$" -> 0, 259): where "count of non-zero ids" goes wrong.
    for (const char* t : {"a photo of a cat!", "hi !$", "a sign saying stop !$ now"})
        ids.push_back(engine.tokenize(t).ids);
    return ids;
}

// The fixture pictures, prepared; `oracle_rows` (when given) receives each one's row in expected.safetensors.
std::vector<PreparedImage> fixture_images(const ClipEngine& engine, const std::string& model,
                                          std::vector<std::size_t>* oracle_rows = nullptr) {
    auto j = nlohmann::json::parse(read_file(testing::fixture("models/" + model + "/expected.json")).value());
    std::vector<PreparedImage> images;
    const auto files = j.at("images").get<std::vector<std::string>>();
    for (std::size_t row = 0; row < files.size(); ++row) {
        const std::string& file = files[row];
        if (file == "large_4000x3000.jpg") continue;  // slow to decode, adds nothing here
        if (oracle_rows != nullptr) oracle_rows->push_back(row);
        auto bytes = read_file(testing::fixture("images/" + file));
        auto p = engine.prepare_image(std::span(reinterpret_cast<const std::uint8_t*>(bytes->data()), bytes->size()));
        images.push_back(std::move(p).value());
    }
    return images;
}

// A known host-side mistake, applied in test code around the production host functions (text_host.h).
enum class HostMutation {
    kNone,
    kTransposedProjection,  // reads text_projection.npy as [embed, width]
    kEotByNonZeroCount,     // pools at (count of non-zero ids) - 1, as a known example does
};

// The Hailo text encoder's host side, step by step as HailoTextEncoder runs it, with `mutation` applied.
Result<std::vector<float>> host_text_embeddings(HailoBackend& backend, const ClipEngine& engine,
                                                const std::vector<std::vector<std::int32_t>>& ids,
                                                HostMutation mutation) {
    const TextConfig& c = engine.model().config().text;
    const TextSupportFiles& f = backend.support();
    const auto w = static_cast<std::size_t>(f.width()), e = static_cast<std::size_t>(f.embed());
    std::vector<float> rows(static_cast<std::size_t>(c.context_length) * w), out_rows(rows.size()), out;
    for (const auto& text : ids) {
        HCLIP_ASSIGN_OR_RETURN(int eot, TextTower::find_eot(text, c));
        if (mutation == HostMutation::kEotByNonZeroCount) {
            eot =
                static_cast<int>(std::count_if(text.begin(), text.end(), [](std::int32_t id) { return id != 0; })) - 1;
        }
        gather_token_rows(text, eot, c, f.lut, rows);
        HCLIP_RETURN_IF_ERROR(backend.run_text(rows, out_rows));
        const float* x = out_rows.data() + static_cast<std::size_t>(eot) * w;
        std::vector<float> y(e);
        if (mutation == HostMutation::kTransposedProjection) {
            for (std::size_t i = 0; i < e; ++i)
                for (std::size_t j = 0; j < w; ++j)
                    y[i] += x[j] * f.projection.data[i * w + j];
        } else {
            project_pooled_row(std::span<const float>(x, w), f.projection, y);
        }
        for (std::size_t i = 0; i < e; ++i)
            out.push_back(y[i]);
    }
    l2_normalize_rows(out, e);
    return out;
}

// Max |diff| of normalized text embeddings: the stand-in's device outputs through the host side (with `mutation`,
// or through the production encoder when `mutation` is kNone and `via_encoder`) against the CPU tower.
double text_difference(const Emulated& env, HostMutation mutation, bool double_ln, bool via_encoder = true) {
    env.faults->double_final_layer_norm = double_ln;
    auto backend = env.start();
    EXPECT_TRUE(backend.ok()) << backend.status().to_string();
    if (!backend.ok()) return 0.0;
    const int e = env.engine->embed_dim();
    const auto ids = fixture_token_ids(*env.engine, "tiny-openai");
    auto cpu = env.engine->create_text_encoder();
    auto want = embed_texts(**cpu, ids, e, true);
    Result<std::vector<float>> got = Status();
    if (via_encoder && mutation == HostMutation::kNone) {
        got = embed_texts(*(*backend)->create_text_encoder().value(), ids, e, true);
    } else {
        got = host_text_embeddings(**backend, *env.engine, ids, mutation);
    }
    EXPECT_TRUE(got.ok() && want.ok());
    env.faults->double_final_layer_norm = false;
    if (!got.ok() || !want.ok()) return 0.0;
    return testing::max_abs_difference(*got, *want).max_abs;
}

class HailoEmulatedGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(HailoEmulatedGolden, EmbeddingsEqualTheCpuBackendAndTheOracle) {
    const std::string model = GetParam();
    Emulated env(model);
    auto backend = env.start();
    ASSERT_TRUE(backend.ok()) << backend.status().to_string();
    EXPECT_EQ((*backend)->name(), "hailo-emulated");
    EXPECT_TRUE((*backend)->emulated());
    const int e = env.engine->embed_dim();
    auto expected = SafetensorsFile::open(testing::fixture("models/" + model + "/expected.safetensors"));
    ASSERT_TRUE(expected.ok());

    auto ids = fixture_token_ids(*env.engine, model);
    auto hailo_text = (*backend)->create_text_encoder().value();
    EXPECT_EQ(hailo_text->backend_name(), "hailo-emulated");
    auto got = embed_texts(*hailo_text, ids, e, true);
    auto want = embed_texts(*env.engine->create_text_encoder().value(), ids, e, true);
    ASSERT_TRUE(got.ok() && want.ok()) << got.status().to_string();
    testing::expect_close(model + " hailo text vs cpu", *got, *want, static_cast<std::size_t>(e), kTolerance);
    const auto oracle = expected->read_f32("text_embeds_normalized").value();
    testing::expect_close(model + " hailo text vs oracle", std::span<const float>(*got).first(oracle.size()), oracle,
                          static_cast<std::size_t>(e), kTolerance);

    std::vector<std::size_t> rows;
    const auto images = fixture_images(*env.engine, model, &rows);
    auto hailo_image = (*backend)->create_image_encoder().value();
    auto got_img = embed_images(*hailo_image, images, e, true);
    ASSERT_TRUE(got_img.ok()) << got_img.status().to_string();
    // The stand-in's image HEF runs the CPU vision tower, so "hailo image vs cpu" could only compare that tower with
    // itself. The oracle (the official implementation's output for the same pictures) is independent of both.
    const auto image_oracle = expected->read_f32("image_embeds_normalized").value();
    std::vector<float> want_img;
    for (std::size_t row : rows) {
        const auto at = image_oracle.begin() + static_cast<std::ptrdiff_t>(row * static_cast<std::size_t>(e));
        want_img.insert(want_img.end(), at, at + e);
    }
    testing::expect_close(model + " hailo image vs oracle", *got_img, want_img, static_cast<std::size_t>(e),
                          kTolerance);
}

// tiny-openai-resnet: the ResNet image HEF contract (uint8 RGB at the model's 96 px in, the embedding out) through
// the same host code; its text tower is the same transformer as the ViT models'.
INSTANTIATE_TEST_SUITE_P(Fixtures, HailoEmulatedGolden,
                         ::testing::Values("tiny-openai", "tiny-hf", "tiny-openai-resnet"),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                             std::string n = p.param;
                             for (char& c : n)
                                 c = c == '-' ? '_' : c;
                             return n;
                         });

// Mutation tests: each applies one known bug (in test code: around the host functions, or in the stand-in's
// device outputs); the comparison above must then fail clearly.
TEST(HailoMutation, HostStepsWithoutMutationEqualTheEncoder) {
    Emulated env;
    EXPECT_LT(text_difference(env, HostMutation::kNone, false), kTolerance);
    EXPECT_LT(text_difference(env, HostMutation::kNone, false, /*via_encoder=*/false), kTolerance);
}

TEST(HailoMutation, TransposedProjectionIsCaught) {
    Emulated env;
    const double d = text_difference(env, HostMutation::kTransposedProjection, false);
    std::cout << "  transposed projection: max |diff| " << d << "\n";
    EXPECT_GT(d, 100 * kTolerance);
}

TEST(HailoMutation, FinalLayerNormTwiceIsCaught) {
    Emulated env;
    const double d = text_difference(env, HostMutation::kNone, true);
    std::cout << "  LayerNorm twice: max |diff| " << d << "\n";
    EXPECT_GT(d, 100 * kTolerance);
}

TEST(HailoMutation, EotByCountingNonZeroIdsIsCaught) {
    Emulated env;
    const double d = text_difference(env, HostMutation::kEotByNonZeroCount, false);
    std::cout << "  EOT by non-zero count: max |diff| " << d << "\n";
    EXPECT_GT(d, 100 * kTolerance);
}

// ----------------------------------------------------------------------------------------- start-up checks

TEST(HailoStartup, ImageTowerOnly) {
    Emulated env;
    env.options.text_on_npu = false;                           // the engine puts the text tower on another backend
    env.options.token_embedding_lut = "/nonexistent/lut.npy";  // not needed then
    env.options.text_hef = "/nonexistent/text.hef";
    auto backend = env.start();
    ASSERT_TRUE(backend.ok()) << backend.status().to_string();
    EXPECT_EQ((*backend)->name(), "hailo-emulated");
    EXPECT_FALSE((*backend)->create_text_encoder().ok());
    EXPECT_EQ((*backend)->create_image_encoder().value()->backend_name(), "hailo-emulated");
}

TEST(HailoStartup, TextTowerOnly) {
    Emulated env;
    env.options.image_on_npu = false;
    env.options.image_hef = "/nonexistent/image.hef";
    auto backend = env.start();
    ASSERT_TRUE(backend.ok()) << backend.status().to_string();
    EXPECT_FALSE((*backend)->create_image_encoder().ok());
    EXPECT_TRUE((*backend)->create_text_encoder().ok());
}

TEST(HailoStartup, MissingHefNamesTheFileAndTheCode) {
    Emulated env;
    env.options.text_hef = (env.dir / "missing.hef").string();
    auto backend = env.start();
    ASSERT_FALSE(backend.ok());
    EXPECT_EQ(backend.status().code(), StatusCode::kNotFound);
    EXPECT_NE(backend.status().message().find("missing.hef"), std::string::npos) << backend.status().message();
    EXPECT_NE(backend.status().message().find("HAILO_OPEN_FILE_FAILURE (13)"), std::string::npos);
}

TEST(HailoStartup, NotAHefIsRefused) {
    Emulated env;
    std::ofstream(env.dir / "junk.hef") << "not a hef";
    env.options.image_hef = (env.dir / "junk.hef").string();
    auto backend = env.start();
    ASSERT_FALSE(backend.ok());
    EXPECT_NE(backend.status().message().find("HAILO_INVALID_HEF (26)"), std::string::npos)
        << backend.status().message();
}

void write_manifest(const fs::path& p, const char* emulates, std::vector<NpuTensorInfo> in,
                    std::vector<NpuTensorInfo> out) {
    std::ofstream(p) << stand_in_manifest(emulates, in, out);
}

TEST(HailoStartup, WrongBufferSizesAreExplained) {
    Emulated env;
    // A text encoder HEF for a 256-wide model.
    write_manifest(env.dir / "t.hef", "text", {{"in", {1, 77, 256}, HostFormat::kFloat32, 0}},
                   {{"out", {1, 77, 256}, HostFormat::kFloat32, 0}});
    env.options.text_hef = (env.dir / "t.hef").string();
    auto backend = env.start();
    ASSERT_FALSE(backend.ok());
    EXPECT_EQ(backend.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(backend.status().message().find("1x77x256 float32"), std::string::npos) << backend.status().message();
    EXPECT_NE(backend.status().message().find("78848 bytes"), std::string::npos) << backend.status().message();

    // An image encoder whose output is not the embedding size.
    Emulated env2;
    write_manifest(env2.dir / "i.hef", "image", {{"in", {224, 224, 3}, HostFormat::kUint8, 0}},
                   {{"out", {1, 1, 512}, HostFormat::kFloat32, 0}});
    env2.options.image_hef = (env2.dir / "i.hef").string();
    auto b2 = env2.start();
    ASSERT_FALSE(b2.ok());
    EXPECT_NE(b2.status().message().find("48 float32"), std::string::npos) << b2.status().message();
}

// The ResNet image HEF contract (clip_resnet_50x4_image_encoder: uint8 RGB at the model's resolution in, the
// embedding out) is checked at start-up against the checkpoint: here the 96 px ResNet fixture, text on the CPU.
TEST(HailoStartup, ResNetImageHefIsCheckedAgainstTheCheckpoint) {
    Emulated env("tiny-openai-resnet");
    env.options.text_on_npu = false;
    write_manifest(env.dir / "i224.hef", "image", {{"in", {224, 224, 3}, HostFormat::kUint8, 0}},
                   {{"out", {1, 1, 48}, HostFormat::kFloat32, 0}});
    env.options.image_hef = (env.dir / "i224.hef").string();
    auto wrong_size = env.start();
    ASSERT_FALSE(wrong_size.ok());
    EXPECT_NE(wrong_size.status().message().find("takes 96x96x3 uint8 RGB"), std::string::npos)
        << wrong_size.status().message();

    write_manifest(env.dir / "i640.hef", "image", {{"in", {96, 96, 3}, HostFormat::kUint8, 0}},
                   {{"out", {1, 1, 640}, HostFormat::kFloat32, 0}});
    env.options.image_hef = (env.dir / "i640.hef").string();
    auto wrong_embedding = env.start();
    ASSERT_FALSE(wrong_embedding.ok());
    EXPECT_NE(wrong_embedding.status().message().find("48 float32"), std::string::npos)
        << wrong_embedding.status().message();

    write_manifest(env.dir / "i96.hef", "image", {{"in", {96, 96, 3}, HostFormat::kUint8, 0}},
                   {{"out", {1, 1, 48}, HostFormat::kFloat32, 0}});
    env.options.image_hef = (env.dir / "i96.hef").string();
    auto right = env.start();
    EXPECT_TRUE(right.ok()) << right.status().to_string();
}

TEST(HailoStartup, WrongTensorCountIsExplained) {
    Emulated env;
    write_manifest(env.dir / "i.hef", "image", {{"in", {224, 224, 3}, HostFormat::kUint8, 0}},
                   {{"a", {1, 1, 48}, HostFormat::kFloat32, 0}, {"b", {1, 1, 48}, HostFormat::kFloat32, 0}});
    env.options.image_hef = (env.dir / "i.hef").string();
    auto backend = env.start();
    ASSERT_FALSE(backend.ok());
    EXPECT_NE(backend.status().message().find("1 inputs and 2 outputs"), std::string::npos)
        << backend.status().message();
}

TEST(HailoStartup, SupportFilesAreChecked) {
    Emulated env;
    env.options.token_embedding_lut = (env.dir / "none.npy").string();
    EXPECT_EQ(env.start().status().code(), StatusCode::kNotFound);
    // A projection to the wrong embedding size.
    Emulated env2;
    const std::vector<std::size_t> shape = {128, 40};
    ASSERT_TRUE(write_npy_f32((env2.dir / "p.npy").string(), shape, std::vector<float>(128 * 40)).ok());
    env2.options.text_projection = (env2.dir / "p.npy").string();
    auto b = env2.start();
    ASSERT_FALSE(b.ok());
    EXPECT_NE(b.status().message().find("projects to 40"), std::string::npos) << b.status().message();
}

TEST(HailoStartup, BusyDeviceIsUnavailableWithAdvice) {
    Emulated env;
    env.faults->open_code = code::kOutOfPhysicalDevices;
    env.faults->open_failures = -1;
    auto backend = env.start();
    ASSERT_FALSE(backend.ok());
    EXPECT_EQ(backend.status().code(), StatusCode::kUnavailable);
    EXPECT_NE(backend.status().message().find("(74)"), std::string::npos);
    EXPECT_EQ(HailoBackend::start(env.options, env.engine->model_ptr(), nullptr).status().code(),
              StatusCode::kUnavailable)
        << "no HailoRT in this build";
}

// ---------------------------------------------------------------------------------------------- run time

bool wait_ready(const HailoBackend& b, std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        if (b.device_state().ready) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
}

TEST(HailoRuntime, LostDeviceIsReinitializedWithBackOff) {
    Emulated env;
    std::vector<std::string> warnings;
    std::mutex warnings_mutex;
    env.options.log_warning = [&](const std::string& m) {
        std::lock_guard lock(warnings_mutex);
        warnings.push_back(m);
    };
    auto backend = env.start();
    ASSERT_TRUE(backend.ok()) << backend.status().to_string();
    auto encoder = (*backend)->create_image_encoder().value();
    const auto images = fixture_images(*env.engine, "tiny-openai");
    const std::span<const std::uint8_t> rgb = images[0].rgb;
    std::vector<float> out(static_cast<std::size_t>(env.engine->embed_dim()));
    ASSERT_TRUE(encoder->encode(rgb, 1, out).ok());

    // The next run loses the device; the next two reopenings fail too.
    env.faults->run_code = code::kCommunicationClosed;
    env.faults->runs_to_skip = 0;
    env.faults->run_failures = 1;
    env.faults->open_code = code::kDeviceNotConnected;
    env.faults->open_failures = 2;
    const auto lost_at = std::chrono::steady_clock::now();
    Status s = encoder->encode(rgb, 1, out);
    EXPECT_EQ(s.code(), StatusCode::kUnavailable);
    EXPECT_NE(s.message().find("HAILO_COMMUNICATION_CLOSED (62)"), std::string::npos) << s.message();
    EXPECT_FALSE((*backend)->device_state().ready);
    Status during = encoder->encode(rgb, 1, out);
    EXPECT_EQ(during.code(), StatusCode::kUnavailable);
    EXPECT_NE(during.message().find("being reinitialized"), std::string::npos) << during.message();

    ASSERT_TRUE(wait_ready(**backend, std::chrono::seconds(10)));
    const auto took = std::chrono::steady_clock::now() - lost_at;
    // Attempts after 20, 40 and 80 ms of back-off: the third succeeds.
    EXPECT_GE(took, std::chrono::milliseconds(140));
    EXPECT_EQ((*backend)->device_state().reinitializations, 1);
    EXPECT_EQ(env.faults->device_opens.load(), 4);  // start + 3 attempts
    EXPECT_TRUE(encoder->encode(rgb, 1, out).ok());
    std::lock_guard lock(warnings_mutex);
    ASSERT_GE(warnings.size(), 3u);
    EXPECT_NE(warnings[0].find("lost"), std::string::npos);
    EXPECT_NE(warnings[1].find("next attempt in 40 ms"), std::string::npos) << warnings[1];
}

TEST(HailoRuntime, TimeoutIsUnavailableWithoutReinitializing) {
    Emulated env;
    auto backend = env.start();
    ASSERT_TRUE(backend.ok());
    env.faults->run_code = code::kTimeout;
    env.faults->run_failures = 1;
    auto encoder = (*backend)->create_text_encoder().value();
    std::vector<float> out(static_cast<std::size_t>(env.engine->embed_dim()));
    const std::vector<std::vector<std::int32_t>> ids = {env.engine->tokenize("a cat").ids};
    Status s = encoder->encode(ids, out);
    EXPECT_EQ(s.code(), StatusCode::kUnavailable);
    EXPECT_NE(s.message().find("HAILO_TIMEOUT (4)"), std::string::npos);
    EXPECT_TRUE((*backend)->device_state().ready);
    EXPECT_TRUE(encoder->encode(ids, out).ok());
    EXPECT_EQ(env.faults->device_opens.load(), 1);
}

TEST(HailoRuntime, ConcurrentWorkersShareOneDevice) {
    Emulated env;
    auto backend = env.start();
    ASSERT_TRUE(backend.ok());
    const auto images = fixture_images(*env.engine, "tiny-openai");
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 3; ++t) {
        threads.emplace_back([&, t] {
            auto img = (*backend)->create_image_encoder().value();
            auto txt = (*backend)->create_text_encoder().value();
            std::vector<float> out(static_cast<std::size_t>(env.engine->embed_dim()));
            const std::vector<std::vector<std::int32_t>> ids = {
                env.engine->tokenize("worker " + std::to_string(t)).ids};
            for (int i = 0; i < 5; ++i) {
                if (!img->encode(images[static_cast<std::size_t>(i)].rgb, 1, out).ok()) ++failures;
                if (!txt->encode(ids, out).ok()) ++failures;
            }
        });
    }
    for (auto& th : threads)
        th.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(env.faults->device_opens.load(), 1);
}

TEST(HailoConfig, SectionIsReadAndCheckedStrictly) {
    auto c = server::parse_service_config(
        "clip:\n  backend: hailo\nhailo:\n  image_hef: /x/i.hef\n  text_encoder: cpu\n  on_unavailable: cpu\n"
        "  group_id: UNIQUE\n  timeout_ms: 500\n  retry_max_seconds: 5\n",
        "t.yaml");
    ASSERT_TRUE(c.ok()) << c.status().to_string();
    EXPECT_EQ(c->clip.backend, "hailo");
    EXPECT_EQ(c->hailo.image_hef, "/x/i.hef");
    EXPECT_EQ(c->hailo.text_encoder, "cpu");
    EXPECT_EQ(c->hailo.on_unavailable, "cpu");
    EXPECT_EQ(c->hailo.group_id, "UNIQUE");
    EXPECT_EQ(c->hailo.timeout_ms, 500);
    EXPECT_EQ(c->hailo.retry_max_seconds, 5);
    EXPECT_EQ(server::ServiceConfig().clip.backend, "auto");
    EXPECT_EQ(server::ServiceConfig().hailo.on_unavailable, "fail");
    for (const char* bad :
         {"clip:\n  backend: npu\n", "hailo:\n  on_unavailable: retry\n", "hailo:\n  text_encoder: gpu\n",
          "hailo:\n  timeout_ms: 0\n", "hailo:\n  hef: x\n", "hailo:\n  group_id: ''\n",
          // A production program cannot be told to emulate the NPU: the key does not exist.
          "hailo:\n  device_emulation: cpu-stand-in\n"}) {
        auto r = server::parse_service_config(bad, "bad.yaml");
        EXPECT_FALSE(r.ok()) << bad;
        if (!r.ok()) {
            EXPECT_NE(r.status().message().find("bad.yaml"), std::string::npos);
        }
    }
}

TEST(StandInFaults, Parse) {
    auto f = parse_stand_in_faults("open:74:2,run:62:3:1");
    ASSERT_TRUE(f.ok()) << f.status().to_string();
    EXPECT_EQ((*f)->open_code.load(), 74);
    EXPECT_EQ((*f)->open_failures.load(), 2);
    EXPECT_EQ((*f)->run_code.load(), 62);
    EXPECT_EQ((*f)->runs_to_skip.load(), 3);
    EXPECT_EQ((*f)->run_failures.load(), 1);
    EXPECT_EQ((*parse_stand_in_faults("open:74"))->open_failures.load(), -1);
    EXPECT_FALSE(parse_stand_in_faults("open").ok());
    EXPECT_FALSE(parse_stand_in_faults("boom:1").ok());
    EXPECT_FALSE(parse_stand_in_faults("run:6x:1").ok());
}

}  // namespace
}  // namespace hclip::hailo
