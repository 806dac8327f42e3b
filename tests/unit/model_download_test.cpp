// hailo-clip models pull against a local HTTP server on 127.0.0.1: success through a Hugging Face-style redirect,
// resume after a cut connection, checksum mismatch, 404 and a server that is gone, all in bounded time.
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "io/sha256.h"
#include "models/catalog.h"
#include "models/download.h"
#include "support/run_cli.h"

namespace hclip::models {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

std::string pseudo_random_bytes(std::size_t n) {
    std::string s(n, '\0');
    std::uint32_t x = 12345;
    for (auto& c : s) {
        x = x * 1664525u + 1013904223u;
        c = static_cast<char>(x >> 24);
    }
    return s;
}

// Serves files like Hugging Face: /<repo>/resolve/main/<file> answers 302 to /cdn/<file> with the SHA-256 in
// X-Linked-ETag for the large file; /cdn/<file> serves the bytes (Range supported by cpp-httplib).
class FixtureServer {
  public:
    std::map<std::string, std::string> files;
    std::map<std::string, std::string> linked_etag;  // file -> value sent as X-Linked-ETag
    std::atomic<bool> cut_next{false};               // the next full response sends half, then closes
    std::mutex mutex;
    std::vector<std::string> ranges;  // Range headers seen on /cdn/

    FixtureServer() {
        server_.Get(R"(/(.+)/resolve/main/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
            const std::string name = req.matches[2];
            if (!files.count(name)) {
                res.status = 404;
                return;
            }
            res.status = 302;
            res.set_header("Location", "/cdn/" + name);
            if (linked_etag.count(name)) res.set_header("X-Linked-ETag", "\"" + linked_etag[name] + "\"");
        });
        server_.Get(R"(/cdn/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
            const std::string name = req.matches[1];
            {
                std::lock_guard lock(mutex);
                ranges.push_back(req.get_header_value("Range"));
            }
            const std::string& body = files.at(name);
            if (!req.has_header("Range") && cut_next.exchange(false)) {
                res.set_content_provider(body.size(), "application/octet-stream",
                                         [&body](size_t offset, size_t, httplib::DataSink& sink) {
                                             if (offset == 0) sink.write(body.data(), body.size() / 2);
                                             return false;  // the connection is cut half way
                                         });
                return;
            }
            res.set_content(body, "application/octet-stream");
        });
        port_ = server_.bind_to_any_port("127.0.0.1");
        thread_ = std::thread([this] { server_.listen_after_bind(); });
        // cpp-httplib ignores stop() until it is listening: wait for that, or the destructor could hang.
        while (!server_.is_running())
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ~FixtureServer() {
        server_.stop();
        if (thread_.joinable()) thread_.join();
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  private:
    httplib::Server server_;
    int port_ = 0;
    std::thread thread_;
};

class ModelDownload : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("hclip-download-" + std::to_string(::getpid()) + "-" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        model_.name = "tiny";
        model_.repository = "org/tiny-model";
        model_.files = {{"model.safetensors", std::nullopt, ""}, {"config.json", std::nullopt, ""}};
        server_.files["model.safetensors"] = pseudo_random_bytes(3 * 1024 * 1024 + 17);
        server_.files["config.json"] = R"({"projection_dim": 48})";
        server_.linked_etag["model.safetensors"] = sha256_hex(server_.files["model.safetensors"]);
    }
    void TearDown() override { fs::remove_all(dir_); }

    PullOptions options() {
        PullOptions o;
        o.base_url = server_.url();
        o.models_dir = dir_;
        o.connect_timeout_s = 2;
        o.read_timeout_s = 5;
        return o;
    }
    bool nothing_installed() const { return !fs::exists(dir_ / "tiny"); }

    fs::path dir_;
    KnownModel model_;
    FixtureServer server_;
};

TEST_F(ModelDownload, PullsVerifiesAndInstallsAtomically) {
    std::uint64_t last_done = 0, last_total = 0;
    auto o = options();
    o.on_progress = [&](const PullProgress& p) {
        if (p.file == "model.safetensors") {
            last_done = p.done;
            last_total = p.total;
        }
    };
    auto result = pull_model(model_, o);
    ASSERT_TRUE(result.ok()) << result.status().to_string();
    EXPECT_FALSE(result->already_installed);
    EXPECT_EQ(result->dir, dir_ / "tiny");
    EXPECT_EQ(read_file(dir_ / "tiny/model.safetensors"), server_.files["model.safetensors"]);
    EXPECT_EQ(read_file(dir_ / "tiny/config.json"), server_.files["config.json"]);
    EXPECT_EQ(last_done, server_.files["model.safetensors"].size());
    EXPECT_EQ(last_total, server_.files["model.safetensors"].size());
    EXPECT_FALSE(fs::exists(dir_ / ".tiny.partial")) << "the staging folder is renamed into place";

    // The manifest records what was checked against what.
    auto manifest = read_manifest(dir_ / "tiny");
    ASSERT_TRUE(manifest.ok()) << manifest.status().to_string();
    ASSERT_EQ(manifest->files.size(), 2u);
    EXPECT_EQ(manifest->files[0].sha256, server_.linked_etag["model.safetensors"]);
    EXPECT_EQ(manifest->files[0].sha256_source, "server");
    EXPECT_EQ(manifest->files[1].sha256_source, "computed");
    auto checks = verify_against_manifest(dir_ / "tiny");
    ASSERT_TRUE(checks.ok());
    for (const auto& c : *checks)
        EXPECT_TRUE(c.ok) << c.name << ": " << c.detail;

    // A second pull leaves the verified model alone.
    auto again = pull_model(model_, options());
    ASSERT_TRUE(again.ok());
    EXPECT_TRUE(again->already_installed);

    // verify notices a changed file.
    {
        std::fstream f(dir_ / "tiny/model.safetensors", std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(1000);
        f.put('\x7f');
    }
    checks = verify_against_manifest(dir_ / "tiny");
    ASSERT_TRUE(checks.ok());
    EXPECT_FALSE((*checks)[0].ok);
    EXPECT_NE((*checks)[0].detail.find("SHA-256"), std::string::npos) << (*checks)[0].detail;
}

TEST_F(ModelDownload, ResumesAfterACutConnection) {
    server_.cut_next = true;
    std::vector<std::string> messages;
    auto o = options();
    o.on_message = [&](const std::string& m) { messages.push_back(m); };
    auto result = pull_model(model_, o);
    ASSERT_TRUE(result.ok()) << result.status().to_string();
    EXPECT_EQ(read_file(dir_ / "tiny/model.safetensors"), server_.files["model.safetensors"]);
    // The second request asked only for what was missing.
    std::lock_guard lock(server_.mutex);
    ASSERT_GE(server_.ranges.size(), 2u);
    EXPECT_EQ(server_.ranges[0], "");
    const std::string& resume = server_.ranges[1];
    ASSERT_EQ(resume.rfind("bytes=", 0), 0u) << resume;
    const auto from = std::stoull(resume.substr(6));
    EXPECT_GT(from, 0u);
    EXPECT_LT(from, server_.files["model.safetensors"].size());
    bool said = false;
    for (const auto& m : messages)
        said = said || m.find("resuming") != std::string::npos;
    EXPECT_TRUE(said);
}

TEST_F(ModelDownload, ChecksumMismatchInstallsNothing) {
    server_.linked_etag["model.safetensors"] = sha256_hex("something else");
    auto result = pull_model(model_, options());
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), StatusCode::kDataLoss);
    const std::string m = result.status().message();
    EXPECT_NE(m.find("checksum"), std::string::npos) << m;
    EXPECT_NE(m.find(server_.linked_etag["model.safetensors"]), std::string::npos) << m;
    EXPECT_NE(m.find("nothing was installed"), std::string::npos) << m;
    EXPECT_TRUE(nothing_installed());
    EXPECT_FALSE(fs::exists(dir_ / ".tiny.partial/model.safetensors.part")) << "a bad file is not resumed";
}

TEST_F(ModelDownload, CatalogSizeMismatchInstallsNothing) {
    model_.files[1].size = 5;
    auto result = pull_model(model_, options());
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), StatusCode::kDataLoss);
    EXPECT_NE(result.status().message().find("expected 5"), std::string::npos) << result.status().message();
    EXPECT_TRUE(nothing_installed());
}

TEST_F(ModelDownload, MissingFileIsA404) {
    model_.files.push_back({"vocab.json", std::nullopt, ""});
    auto result = pull_model(model_, options());
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), StatusCode::kNotFound);
    EXPECT_NE(result.status().message().find("vocab.json"), std::string::npos);
    EXPECT_NE(result.status().message().find("404"), std::string::npos);
    EXPECT_TRUE(nothing_installed());
}

TEST_F(ModelDownload, ServerGoneFailsFastWithHowToCopyByHand) {
    std::string url;
    {
        FixtureServer gone;
        url = gone.url();
    }  // stopped: nothing listens on that port any more
    auto o = options();
    o.base_url = url;
    const auto start = std::chrono::steady_clock::now();
    auto result = pull_model(model_, o);
    const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), StatusCode::kUnavailable);
    EXPECT_LT(seconds, 10.0);
    const std::string m = result.status().message();
    EXPECT_NE(m.find("cannot reach"), std::string::npos) << m;
    EXPECT_NE(m.find("model.safetensors"), std::string::npos) << m;
    EXPECT_NE(m.find("copy them into " + (dir_ / "tiny").string()), std::string::npos) << m;
    EXPECT_NE(m.find("hailo-clip models verify tiny"), std::string::npos) << m;
    EXPECT_TRUE(nothing_installed());
}

TEST(ModelCatalog, ShippedCatalogHasVitB32) {
    auto catalog = load_catalog(fs::path(HCLIP_SOURCE_DIR) / "assets/models.json");
    ASSERT_TRUE(catalog.ok()) << catalog.status().to_string();
    auto model = find_known_model(*catalog, "clip-vit-b-32");
    ASSERT_TRUE(model.ok()) << model.status().to_string();
    EXPECT_EQ(model->repository, "openai/clip-vit-base-patch32");
    std::vector<std::string> names;
    for (const auto& f : model->files)
        names.push_back(f.name);
    EXPECT_EQ(names, (std::vector<std::string>{"model.safetensors", "config.json", "vocab.json", "merges.txt",
                                               "preprocessor_config.json"}));
    auto unknown = find_known_model(*catalog, "clip-vit-x");
    ASSERT_FALSE(unknown.ok());
    EXPECT_NE(unknown.status().message().find("clip-vit-b-32"), std::string::npos);
}

// The ResNet models the user's configuration names: OpenCLIP's files of the OpenAI weights only. The same Hub
// repositories also hold a timm image-tower-only model.safetensors, which is no CLIP model and must not be fetched.
TEST(ModelCatalog, ShippedCatalogHasResNets) {
    auto catalog = load_catalog(fs::path(HCLIP_SOURCE_DIR) / "assets/models.json");
    ASSERT_TRUE(catalog.ok()) << catalog.status().to_string();
    for (const auto& [name, repository, dimension] :
         {std::tuple{"clip-resnet-50", "timm/resnet50_clip.openai", 1024},
          std::tuple{"clip-resnet-50x4", "timm/resnet50x4_clip.openai", 640}}) {
        auto model = find_known_model(*catalog, name);
        ASSERT_TRUE(model.ok()) << model.status().to_string();
        EXPECT_EQ(model->repository, repository);
        EXPECT_EQ(model->embedding_dimension, dimension);
        std::vector<std::string> names;
        for (const auto& f : model->files)
            names.push_back(f.name);
        EXPECT_EQ(names, (std::vector<std::string>{"open_clip_model.safetensors", "open_clip_config.json", "vocab.json",
                                                   "merges.txt"}));
    }
}

// Apple's MobileCLIP checkpoints in OpenCLIP's layout, each under Apple's research-only model licence.
TEST(ModelCatalog, ShippedCatalogHasMobileClipWithItsLicence) {
    auto catalog = load_catalog(fs::path(HCLIP_SOURCE_DIR) / "assets/models.json");
    ASSERT_TRUE(catalog.ok()) << catalog.status().to_string();
    for (const auto& [name, repository] : {std::pair{"mobileclip2-s0", "timm/MobileCLIP2-S0-OpenCLIP"},
                                           std::pair{"mobileclip2-s2", "timm/MobileCLIP2-S2-OpenCLIP"},
                                           std::pair{"mobileclip-s2", "apple/MobileCLIP-S2-OpenCLIP"},
                                           std::pair{"mobileclip-b", "apple/MobileCLIP-B-OpenCLIP"}}) {
        SCOPED_TRACE(name);
        auto model = find_known_model(*catalog, name);
        ASSERT_TRUE(model.ok()) << model.status().to_string();
        EXPECT_EQ(model->repository, repository);
        EXPECT_EQ(model->embedding_dimension, 512);
        EXPECT_EQ(model->license, "apple-amlr");
        EXPECT_NE(license_notice(*model).find("research"), std::string::npos) << license_notice(*model);
        std::vector<std::string> names;
        for (const auto& f : model->files)
            names.push_back(f.name);
        EXPECT_EQ(names, (std::vector<std::string>{"open_clip_model.safetensors", "open_clip_config.json", "vocab.json",
                                                   "merges.txt"}));
    }
    // The OpenAI models record no licence restriction: nothing is printed for them.
    EXPECT_EQ(license_notice(find_known_model(*catalog, "clip-vit-b-32").value()), "");
}

TEST(ModelCatalog, ALicenceNeedsANameAndAnHttpsUrl) {
    const fs::path dir = fs::temp_directory_path() / ("hclip-catalog-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const auto load = [&](const std::string& extra) {
        std::ofstream(dir / "models.json")
            << R"({"models": [{"name": "m", "repository": "o/m", "files": [{"name": "a"}])" << extra << "}]}";
        return load_catalog(dir / "models.json");
    };
    EXPECT_TRUE(load(R"(, "license": "x", "license_url": "https://example.org/l")").ok());
    EXPECT_FALSE(load(R"(, "license": "x", "license_url": "ftp://example.org/l")").ok());
    EXPECT_FALSE(load(R"(, "license_summary": "research only")").ok());
    fs::remove_all(dir);
}

// The command-line tool against a local server: the licence is printed before the download, and `models list`
// shows it beside the installed folder.
TEST(ModelCatalog, PullPrintsTheLicenceAndListShowsIt) {
    FixtureServer server;
    for (const char* name : {"open_clip_model.safetensors", "open_clip_config.json", "vocab.json", "merges.txt"})
        server.files[name] = std::string("not a real ") + name;
    const fs::path dir = fs::temp_directory_path() / ("hclip-pull-licence-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    auto r = testing::run_program(
        testing::cli_path(), {"models", "pull", "mobileclip2-s0", "--dest", dir.string(), "--base-url", server.url()});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    const auto licence = r.out.find(
        "mobileclip2-s0 is licensed under apple-amlr: Apple Machine Learning Research Model "
        "License, non-commercial scientific research only");
    const auto installed = r.out.find("installed mobileclip2-s0 in");
    EXPECT_NE(licence, std::string::npos) << r.out;
    EXPECT_NE(installed, std::string::npos) << r.out;
    EXPECT_LT(licence, installed) << "the licence comes before the download";
    EXPECT_NE(r.out.find("https://github.com/apple/ml-mobileclip/blob/main/LICENSE_MODELS"), std::string::npos);

    r = testing::run_program(testing::cli_path(), {"models", "list", "--dir", dir.string()});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    std::istringstream lines(r.out);
    std::string header, row;
    std::getline(lines, header);
    std::getline(lines, row);
    EXPECT_NE(header.find("LICENSE"), std::string::npos) << r.out;
    EXPECT_EQ(row.rfind("mobileclip2-s0", 0), 0u) << r.out;
    EXPECT_NE(row.find("apple-amlr"), std::string::npos) << r.out;
    fs::remove_all(dir);
}

}  // namespace
}  // namespace hclip::models
