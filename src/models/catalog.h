// The models `hailo-clip models` knows (a data file, assets/models.json, installed as
// share/hailo-clip/models.json), and the manifest written beside a pulled model.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace hclip::models {

struct KnownFile {
    std::string name;
    std::optional<std::uint64_t> size;  // when known in advance
    std::string sha256;                 // lowercase hex, empty when not known in advance
    std::string url = {};               // where it is when not <base>/<repository>/resolve/<revision>/<name>
};

struct KnownModel {
    std::string name;  // "clip-vit-b-32": the folder under the models directory
    std::string description;
    std::string repository;  // "openai/clip-vit-base-patch32"
    std::string revision = "main";
    int embedding_dimension = 0;
    // "checkpoint": a CLIP model folder; "hailo-resources": the HEFs and .npy files of the Hailo backend.
    std::string kind = "checkpoint";
    std::vector<KnownFile> files;
    // The weights' licence when it restricts their use (shown by `models pull` and `models list`): its short
    // identifier ("apple-amlr"), what it allows in one sentence, and where its text is. Empty: none recorded.
    std::string license;
    std::string license_summary;
    std::string license_url;
    bool is_checkpoint() const { return kind == "checkpoint"; }
};

// "apple-amlr: research use only, ... (terms: URL)", or empty when the entry records no licence.
std::string license_notice(const KnownModel& model);

// Reads and checks the catalog file.
Result<std::vector<KnownModel>> load_catalog(const std::filesystem::path& file);

// <program>/../share/hailo-clip/models.json (installed, and the build tree), the install data folder chosen at
// build time, then the source tree's assets/models.json.
Result<std::filesystem::path> find_catalog();

// The entry called `name`, or an error listing the known names.
Result<KnownModel> find_known_model(const std::vector<KnownModel>& catalog, const std::string& name);

// What was verified at pull time; written as hailo-clip-manifest.json inside the model folder.
inline constexpr const char* kManifestName = "hailo-clip-manifest.json";

struct ManifestFile {
    std::string name;
    std::uint64_t size = 0;
    std::string sha256;
    std::string sha256_source;  // "catalog", "server" (stated by the server) or "computed" (nothing to compare)
};

struct Manifest {
    std::string name, repository, revision, source_url, downloaded_at;
    std::vector<ManifestFile> files;
};

Status write_manifest(const std::filesystem::path& model_dir, const Manifest& manifest);
Result<Manifest> read_manifest(const std::filesystem::path& model_dir);

struct FileCheck {
    std::string name;
    bool ok = false;
    std::string detail;
};

// Every file of the manifest re-checked: present, same size, same SHA-256.
Result<std::vector<FileCheck>> verify_against_manifest(const std::filesystem::path& model_dir);

// Where a file is fetched: a file with its own URL comes from there, unless `base_url` is not Hugging Face's (a
// mirror, e.g. a local server in tests): then from the same path on `base_url`. Other files: <base_url>/
// <repository>/resolve/<revision>/<name>.
std::string file_url(const KnownModel& model, const KnownFile& file, const std::string& base_url);

// How to put a model in place without the network: which files, from where, to where.
std::string manual_copy_hint(const KnownModel& model, const std::string& base_url,
                             const std::filesystem::path& dest_dir);

}  // namespace hclip::models
