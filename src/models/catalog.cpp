#include "models/catalog.h"

#include <fstream>
#include <sstream>
#include <system_error>

#include <nlohmann/json.hpp>

#include "io/sha256.h"

namespace hclip::models {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

bool is_sha256_hex(const std::string& s) {
    if (s.size() != 64) return false;
    for (char c : s) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    return true;
}

Result<json> read_json(const fs::path& file) {
    std::ifstream in(file);
    if (!in) return not_found("cannot read " + file.string());
    json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return invalid_argument(file.string() + " is not valid JSON");
    return j;
}

std::string str(const json& j, const char* key) {
    auto it = j.find(key);
    return (it != j.end() && it->is_string()) ? it->get<std::string>() : std::string();
}

}  // namespace

Result<std::vector<KnownModel>> load_catalog(const fs::path& file) {
    HCLIP_ASSIGN_OR_RETURN(json root, read_json(file));
    if (!root.is_object() || !root.contains("models") || !root["models"].is_array()) {
        return invalid_argument(file.string() + ": expected an object with a 'models' array");
    }
    std::vector<KnownModel> out;
    for (const json& m : root["models"]) {
        KnownModel model;
        if (!m.is_object()) return invalid_argument(file.string() + ": every model must be an object");
        model.name = str(m, "name");
        model.description = str(m, "description");
        model.repository = str(m, "repository");
        if (m.contains("revision")) model.revision = str(m, "revision");
        if (auto it = m.find("embedding_dimension"); it != m.end() && it->is_number_integer()) {
            model.embedding_dimension = it->get<int>();
        }
        if (m.contains("kind")) model.kind = str(m, "kind");
        if (model.kind != "checkpoint" && model.kind != "hailo-resources") {
            return invalid_argument(file.string() + ": model " + model.name + " has an unknown kind '" + model.kind +
                                    "' (checkpoint or hailo-resources)");
        }
        if (model.name.empty() || model.repository.empty() || model.revision.empty() || !m.contains("files") ||
            !m["files"].is_array() || m["files"].empty()) {
            return invalid_argument(file.string() + ": a model needs name, repository and files");
        }
        for (const json& f : m["files"]) {
            KnownFile kf;
            if (!f.is_object()) return invalid_argument(file.string() + ": every file must be an object");
            kf.name = str(f, "name");
            if (kf.name.empty() || kf.name.find('/') != std::string::npos || kf.name[0] == '.') {
                return invalid_argument(file.string() + ": model " + model.name + " has a bad file name '" + kf.name +
                                        "'");
            }
            if (auto it = f.find("size"); it != f.end()) {
                if (!it->is_number_unsigned()) return invalid_argument(file.string() + ": size of " + kf.name);
                kf.size = it->get<std::uint64_t>();
            }
            kf.url = str(f, "url");
            if (!kf.url.empty() && kf.url.rfind("https://", 0) != 0 && kf.url.rfind("http://", 0) != 0) {
                return invalid_argument(file.string() + ": url of " + kf.name + " is not an http(s) URL");
            }
            kf.sha256 = str(f, "sha256");
            if (!kf.sha256.empty() && !is_sha256_hex(kf.sha256)) {
                return invalid_argument(file.string() + ": sha256 of " + kf.name + " is not 64 lowercase hex digits");
            }
            model.files.push_back(std::move(kf));
        }
        model.license = str(m, "license");
        model.license_summary = str(m, "license_summary");
        model.license_url = str(m, "license_url");
        if (!model.license_url.empty() && model.license_url.rfind("https://", 0) != 0) {
            return invalid_argument(file.string() + ": license_url of " + model.name + " is not an https URL");
        }
        if (model.license.empty() && (!model.license_summary.empty() || !model.license_url.empty())) {
            return invalid_argument(file.string() + ": model " + model.name +
                                    " describes a licence without naming it (license)");
        }
        out.push_back(std::move(model));
    }
    return out;
}

Result<fs::path> find_catalog() {
    std::vector<fs::path> candidates;
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec && exe.has_parent_path())
        candidates.push_back(exe.parent_path().parent_path() / "share/hailo-clip/models.json");
#ifdef HCLIP_INSTALL_DATADIR
    candidates.push_back(fs::path(HCLIP_INSTALL_DATADIR) / "models.json");
#endif
#ifdef HCLIP_SOURCE_ASSETS_DIR
    candidates.push_back(fs::path(HCLIP_SOURCE_ASSETS_DIR) / "models.json");
#endif
    std::string tried;
    for (const auto& c : candidates) {
        if (fs::is_regular_file(c, ec)) return c;
        tried += (tried.empty() ? "" : ", ") + c.string();
    }
    return not_found("the list of known models (models.json) is not installed: looked in " + tried);
}

Result<KnownModel> find_known_model(const std::vector<KnownModel>& catalog, const std::string& name) {
    std::string names;
    for (const auto& m : catalog) {
        if (m.name == name) return m;
        names += (names.empty() ? "" : ", ") + m.name;
    }
    return not_found("unknown model '" + name + "'; known models: " + names);
}

Status write_manifest(const fs::path& model_dir, const Manifest& m) {
    json files = json::array();
    for (const auto& f : m.files) {
        files.push_back({{"name", f.name}, {"size", f.size}, {"sha256", f.sha256}, {"sha256_source", f.sha256_source}});
    }
    const json j = {{"name", m.name},
                    {"repository", m.repository},
                    {"revision", m.revision},
                    {"source_url", m.source_url},
                    {"downloaded_at", m.downloaded_at},
                    {"files", files}};
    const fs::path path = model_dir / kManifestName;
    std::ofstream out(path);
    out << j.dump(2) << "\n";
    out.close();
    if (!out) return internal_error("cannot write " + path.string());
    return {};
}

Result<Manifest> read_manifest(const fs::path& model_dir) {
    const fs::path path = model_dir / kManifestName;
    std::error_code ec;
    if (!fs::exists(path, ec)) {
        return not_found("no manifest (" + std::string(kManifestName) + ") in " + model_dir.string() +
                         ": the model was not installed by 'hailo-clip models pull'");
    }
    HCLIP_ASSIGN_OR_RETURN(json j, read_json(path));
    Manifest m;
    if (!j.is_object() || !j.contains("files") || !j["files"].is_array()) {
        return invalid_argument(path.string() + ": no 'files' list");
    }
    m.name = str(j, "name");
    m.repository = str(j, "repository");
    m.revision = str(j, "revision");
    m.source_url = str(j, "source_url");
    m.downloaded_at = str(j, "downloaded_at");
    for (const json& f : j["files"]) {
        ManifestFile mf;
        if (!f.is_object() || !f.contains("size") || !f["size"].is_number_unsigned()) {
            return invalid_argument(path.string() + ": a file entry without a size");
        }
        mf.name = str(f, "name");
        mf.size = f["size"].get<std::uint64_t>();
        mf.sha256 = str(f, "sha256");
        mf.sha256_source = str(f, "sha256_source");
        if (mf.name.empty() || mf.name.find('/') != std::string::npos || !is_sha256_hex(mf.sha256)) {
            return invalid_argument(path.string() + ": a file entry without a plain name or a SHA-256");
        }
        m.files.push_back(std::move(mf));
    }
    return m;
}

Result<std::vector<FileCheck>> verify_against_manifest(const fs::path& model_dir) {
    HCLIP_ASSIGN_OR_RETURN(Manifest m, read_manifest(model_dir));
    std::vector<FileCheck> out;
    for (const auto& f : m.files) {
        FileCheck c{f.name, false, ""};
        const fs::path path = model_dir / f.name;
        std::error_code ec;
        const auto size = fs::file_size(path, ec);
        if (ec) {
            c.detail = "missing";
        } else if (size != f.size) {
            c.detail = "size " + std::to_string(size) + " bytes, expected " + std::to_string(f.size);
        } else {
            auto sha = sha256_file(path.string());
            if (!sha.ok()) {
                c.detail = sha.status().message();
            } else if (*sha != f.sha256) {
                c.detail = "SHA-256 " + *sha + ", expected " + f.sha256;
            } else {
                c.ok = true;
                c.detail = std::to_string(size) + " bytes, SHA-256 " + f.sha256.substr(0, 16) + "... as " +
                           (f.sha256_source == "computed" ? "recorded at pull time" : "published");
            }
        }
        out.push_back(std::move(c));
    }
    return out;
}

std::string license_notice(const KnownModel& model) {
    if (model.license.empty()) return {};
    std::string s = model.license;
    if (!model.license_summary.empty()) s += ": " + model.license_summary;
    if (!model.license_url.empty()) s += " (terms: " + model.license_url + ")";
    return s;
}

std::string file_url(const KnownModel& model, const KnownFile& file, const std::string& base_url) {
    if (file.url.empty()) return base_url + "/" + model.repository + "/resolve/" + model.revision + "/" + file.name;
    if (base_url == "https://huggingface.co") return file.url;
    const auto host = file.url.find("://");
    const auto path = file.url.find('/', host + 3);
    return base_url + (path == std::string::npos ? "/" + file.name : file.url.substr(path));
}

std::string manual_copy_hint(const KnownModel& model, const std::string& base_url, const fs::path& dest_dir) {
    std::ostringstream s;
    s << "To install " << model.name << " without this download, fetch these files on a machine with access to "
      << base_url << ":\n";
    for (const auto& f : model.files) {
        s << "  " << file_url(model, f, base_url) << "\n";
    }
    s << "copy them into " << dest_dir.string() << "/ (that folder holding "
      << (model.is_checkpoint() ? "model.safetensors" : "the files") << " directly), then run: "
      << "hailo-clip models verify " << model.name << " --dir " << dest_dir.parent_path().string();
    return s.str();
}

}  // namespace hclip::models
