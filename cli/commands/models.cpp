// hailo-clip models pull NAME [--dest DIR] [--base-url URL] [--force] | list [--dir DIR] | verify NAME [--dir DIR]
// Model management for the service (src/models, docs/deployment.md).
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>

#include "cli/args.h"
#include "cli/command.h"
#include "model/clip_model.h"
#include "models/catalog.h"
#include "models/download.h"

namespace hclip::cli {

namespace fs = std::filesystem;

namespace {

// The service's default clip.model_dir is <this>/clip-vit-b-32.
constexpr const char* kDefaultModelsDir = "/var/lib/hailo-clip/models";

constexpr const char* kUsage =
    "usage: hailo-clip models pull NAME [--dest DIR] [--base-url URL] [--force]\n"
    "       hailo-clip models list [--dir DIR]\n"
    "       hailo-clip models verify NAME [--dir DIR]\n"
    "DIR defaults to /var/lib/hailo-clip/models; URL to $HAILO_CLIP_MODEL_BASE_URL or https://huggingface.co\n";

std::string human_bytes(std::uint64_t n) {
    char buf[32];
    if (n >= 1000000) {
        std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(n) / 1e6);
    } else if (n >= 1000) {
        std::snprintf(buf, sizeof buf, "%.1f kB", static_cast<double>(n) / 1e3);
    } else {
        std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(n));
    }
    return buf;
}

// On a terminal one redrawn bar; otherwise a plain line every 10% (logs, install scripts).
class ProgressPrinter {
  public:
    ProgressPrinter() : tty_(::isatty(STDERR_FILENO) == 1) {}

    void update(const models::PullProgress& p) {
        if (p.file != file_) {
            finish();
            file_ = p.file;
            last_decile_ = -1;
        }
        if (tty_) {
            const int width = 30;
            const double frac = p.total > 0 ? static_cast<double>(p.done) / static_cast<double>(p.total) : 0.0;
            const int filled = static_cast<int>(frac * width);
            std::string bar(static_cast<std::size_t>(filled), '#');
            bar.resize(width, '.');
            std::fprintf(stderr, "\r  %-26s [%s] %5.1f%% %s", p.file.c_str(), bar.c_str(), frac * 100.0,
                         human_bytes(p.done).c_str());
            open_line_ = true;
        } else if (p.total > 0) {
            const int decile = static_cast<int>(p.done * 10 / p.total);
            if (decile != last_decile_) {
                last_decile_ = decile;
                std::fprintf(stderr, "  %s: %d%% (%s of %s)\n", p.file.c_str(), decile * 10,
                             human_bytes(p.done).c_str(), human_bytes(p.total).c_str());
            }
        }
    }
    void finish() {
        if (open_line_) std::fputc('\n', stderr);
        open_line_ = false;
    }

  private:
    bool tty_;
    bool open_line_ = false;
    std::string file_;
    int last_decile_ = -1;
};

Result<std::vector<models::KnownModel>> catalog() {
    HCLIP_ASSIGN_OR_RETURN(fs::path file, models::find_catalog());
    return models::load_catalog(file);
}

int run_pull(const Argv& argv) {
    auto args = Args::parse(argv, {"--dest", "--base-url"}, {"--force"});
    if (!args.ok()) return fail(args.status().message(), kExitUsage);
    if (args->positional().size() != 1) return fail(std::string("pull needs one model name\n") + kUsage, kExitUsage);
    auto known = catalog();
    if (!known.ok()) return fail(known.status().message());
    auto model = models::find_known_model(*known, args->positional()[0]);
    if (!model.ok()) return fail(model.status().message(), kExitUsage);

    // Before any byte is fetched: the weights' terms are the user's to accept, not ours.
    if (const std::string notice = models::license_notice(*model); !notice.empty()) {
        std::printf("%s is licensed under %s\n", model->name.c_str(), notice.c_str());
        std::fflush(stdout);
    }

    models::PullOptions options;
    options.base_url = args->value("--base-url").value_or(models::default_base_url());
    options.models_dir = args->value("--dest").value_or(kDefaultModelsDir);
    options.force = args->has("--force");
    ProgressPrinter progress;
    options.on_progress = [&progress](const models::PullProgress& p) { progress.update(p); };
    options.on_message = [&progress](const std::string& m) {
        progress.finish();
        std::fprintf(stderr, "%s\n", m.c_str());
    };
    auto result = models::pull_model(*model, options);
    progress.finish();
    if (!result.ok()) return fail("cannot pull " + model->name + ": " + result.status().message());
    if (result->already_installed) {
        std::printf(
            "%s is already installed in %s (check it: hailo-clip models verify %s --dir %s; "
            "download again: --force)\n",
            model->name.c_str(), result->dir.c_str(), model->name.c_str(), options.models_dir.c_str());
        return 0;
    }
    std::printf("installed %s in %s (%zu files verified)\n", model->name.c_str(), result->dir.c_str(),
                result->manifest.files.size());
    if (!model->is_checkpoint()) {
        std::printf("point the hailo: section of the configuration at these files (docs/hailo.md)\n");
    }
    return 0;
}

std::uint64_t folder_bytes(const fs::path& dir) {
    std::uint64_t total = 0;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        if (e.is_regular_file(ec)) total += e.file_size(ec);
    }
    return total;
}

int run_list(const Argv& argv) {
    auto args = Args::parse(argv, {"--dir"}, {});
    if (!args.ok()) return fail(args.status().message(), kExitUsage);
    if (!args->positional().empty()) return fail("unexpected argument '" + args->positional()[0] + "'", kExitUsage);
    const fs::path dir = args->value("--dir").value_or(kDefaultModelsDir);
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return fail("no models directory at " + dir.string());
    std::vector<fs::path> entries;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        const std::string name = e.path().filename().string();
        if (!name.empty() && name[0] != '.' && e.is_directory(ec)) entries.push_back(e.path());
    }
    std::sort(entries.begin(), entries.end());
    // The licence column comes from the catalog entry of the same name (a folder copied by hand has none).
    const auto known = catalog();
    std::printf("%-24s %-10s %-10s %-12s %s\n", "NAME", "DIMENSION", "SIZE", "LICENSE", "NOTE");
    for (const auto& path : entries) {
        std::string dim = "-", note, license = "-";
        if (known.ok()) {
            if (auto entry = models::find_known_model(*known, path.filename().string());
                entry.ok() && !entry->license.empty()) {
                license = entry->license;
            }
        }
        auto model = ClipModel::load(path.string(), ModelOptions{.pack_weights = false});
        if (model.ok()) {
            dim = std::to_string((*model)->config().embed_dim);
            note = fs::exists(path / models::kManifestName, ec) ? "pulled, manifest present" : "no manifest";
        } else {
            note = "does not load: " + model.status().message();
        }
        std::printf("%-24s %-10s %-10s %-12s %s\n", path.filename().c_str(), dim.c_str(),
                    human_bytes(folder_bytes(path)).c_str(), license.c_str(), note.c_str());
    }
    if (entries.empty()) std::printf("(no models in %s)\n", dir.c_str());
    return 0;
}

int run_verify(const Argv& argv) {
    auto args = Args::parse(argv, {"--dir"}, {});
    if (!args.ok()) return fail(args.status().message(), kExitUsage);
    if (args->positional().size() != 1) return fail(std::string("verify needs one model name\n") + kUsage, kExitUsage);
    const std::string name = args->positional()[0];
    const fs::path model_dir = fs::path(args->value("--dir").value_or(kDefaultModelsDir)) / name;
    std::error_code ec;
    if (!fs::is_directory(model_dir, ec)) return fail("no model at " + model_dir.string());

    int failed = 0;
    auto checks = models::verify_against_manifest(model_dir);
    if (!checks.ok()) {
        std::printf("FAIL  manifest     %s\n", checks.status().message().c_str());
        ++failed;
    } else {
        for (const auto& c : *checks) {
            std::printf("%s  %-12s %s\n", c.ok ? "PASS" : "FAIL", c.name.c_str(), c.detail.c_str());
            failed += c.ok ? 0 : 1;
        }
    }
    // Hailo resource files are not a checkpoint; the service compares them with its checkpoint at start-up.
    bool checkpoint = true;
    if (auto known = catalog(); known.ok()) {
        if (auto entry = models::find_known_model(*known, name); entry.ok()) checkpoint = entry->is_checkpoint();
    }
    auto model = checkpoint ? ClipModel::load(model_dir.string(), ModelOptions{.pack_weights = false})
                            : Result<std::shared_ptr<const ClipModel>>(unsupported("Hailo resources"));
    if (!checkpoint) {
        std::printf("PASS  %-12s %s\n", "kind", "Hailo resources (checked against the checkpoint when served)");
    } else if (model.ok()) {
        std::printf("PASS  %-12s %s\n", "loads", (*model)->config().summary().c_str());
    } else {
        std::printf("FAIL  %-12s %s\n", "loads", model.status().message().c_str());
        ++failed;
    }
    std::printf("%s: %s\n", name.c_str(), failed == 0 ? "verified" : "NOT verified");
    return failed == 0 ? 0 : kExitFailure;
}

}  // namespace

int run_models(const Argv& args) {
    if (args.empty()) {
        std::fputs(kUsage, stderr);
        return kExitUsage;
    }
    const Argv rest(args.begin() + 1, args.end());
    if (args[0] == "pull") return run_pull(rest);
    if (args[0] == "list") return run_list(rest);
    if (args[0] == "verify") return run_verify(rest);
    return fail("unknown models command '" + args[0] + "'\n" + kUsage, kExitUsage);
}

}  // namespace hclip::cli
