#include "models/download.h"

#include <httplib.h>

#include <unistd.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <optional>
#include <system_error>

#include "io/sha256.h"

namespace hclip::models {

namespace fs = std::filesystem;

std::string default_base_url() {
    if (const char* env = std::getenv("HAILO_CLIP_MODEL_BASE_URL"); env != nullptr && *env != '\0') return env;
    return kDefaultBaseUrl;
}

namespace {

struct Url {
    std::string origin;  // scheme://host[:port]
    std::string path;    // /..., with any query
};

Result<Url> split_url(const std::string& url) {
    const auto sep = url.find("://");
    if (sep == std::string::npos) return invalid_argument("'" + url + "' is not an http:// or https:// URL");
    const std::string scheme = url.substr(0, sep);
    if (scheme != "http" && scheme != "https") {
        return invalid_argument("'" + url + "' is not an http:// or https:// URL");
    }
    const auto slash = url.find('/', sep + 3);
    if (slash == std::string::npos) return Url{url, "/"};
    return Url{url.substr(0, slash), url.substr(slash)};
}

std::string strip_etag(std::string v) {
    if (v.rfind("W/", 0) == 0) v = v.substr(2);
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    return v;
}

bool is_sha256_hex(const std::string& s) {
    if (s.size() != 64) return false;
    for (char c : s) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    return true;
}

std::optional<std::uint64_t> parse_u64(const std::string& s) {
    if (s.empty()) return std::nullopt;
    char* end = nullptr;
    const unsigned long long v = std::strtoull(s.c_str(), &end, 10);
    if (*end != '\0') return std::nullopt;
    return static_cast<std::uint64_t>(v);
}

// "bytes 100-199/200" -> {100, 200}; "bytes */200" -> {nullopt, 200}.
std::pair<std::optional<std::uint64_t>, std::optional<std::uint64_t>> parse_content_range(const std::string& v) {
    const auto slash = v.rfind('/');
    if (v.rfind("bytes ", 0) != 0 || slash == std::string::npos) return {};
    const auto total = parse_u64(v.substr(slash + 1));
    const std::string range = v.substr(6, slash - 6);
    const auto dash = range.find('-');
    if (dash == std::string::npos) return {std::nullopt, total};
    return {parse_u64(range.substr(0, dash)), total};
}

// What the servers said about one file, over all the redirects of one request.
struct Stated {
    std::string sha256;                 // X-Linked-ETag (Hugging Face, large files) or a SHA-256 ETag
    std::optional<std::uint64_t> size;  // X-Linked-Size, Content-Range total, or Content-Length of a 200
};

enum class Outcome { kComplete, kRetry };

class FileDownload {
  public:
    FileDownload(const PullOptions& options, std::string name, std::string url, fs::path part)
        : options_(options), name_(std::move(name)), url_(std::move(url)), part_(std::move(part)) {}

    // One attempt: resumes from the .part file, follows redirects. kRetry after a cut connection.
    Result<Outcome> attempt(Stated& stated, bool& reached_server) {
        std::string url = url_;
        for (int hop = 0; hop < 10; ++hop) {
            HCLIP_ASSIGN_OR_RETURN(Url u, split_url(url));
            httplib::Client client(u.origin);
            if (!client.is_valid()) return invalid_argument("cannot use " + u.origin);
            client.set_connection_timeout(options_.connect_timeout_s, 0);
            client.set_read_timeout(options_.read_timeout_s, 0);
            client.set_follow_location(false);  // by hand: the first answer carries the SHA-256
            client.set_url_encode(false);       // redirect targets come encoded already
            client.set_decompress(false);

            std::error_code ec;
            const std::uint64_t have = fs::exists(part_, ec) ? fs::file_size(part_, ec) : 0;
            httplib::Headers headers = {{"Accept-Encoding", "identity"}, {"User-Agent", "hailo-clip"}};
            if (have > 0) headers.emplace("Range", "bytes=" + std::to_string(have) + "-");

            int status = 0;
            std::string location;
            std::unique_ptr<std::FILE, int (*)(std::FILE*)> out(nullptr, &std::fclose);
            std::uint64_t done = 0, total = 0;
            std::string write_error;
            auto on_response = [&](const httplib::Response& r) {
                status = r.status;
                reached_server = true;
                if (r.has_header("X-Linked-ETag")) stated.sha256 = strip_etag(r.get_header_value("X-Linked-ETag"));
                if (r.has_header("X-Linked-Size")) stated.size = parse_u64(r.get_header_value("X-Linked-Size"));
                if (status >= 300 && status < 400) {
                    location = r.get_header_value("Location");
                    return true;
                }
                if (stated.sha256.empty() && r.has_header("ETag")) {
                    const std::string etag = strip_etag(r.get_header_value("ETag"));
                    if (is_sha256_hex(etag)) stated.sha256 = etag;
                }
                if (status == 200) {
                    if (auto n = parse_u64(r.get_header_value("Content-Length")); n && !stated.size) stated.size = n;
                    out.reset(std::fopen(part_.c_str(), "wb"));  // fresh: the server ignored or got no Range
                    done = 0;
                } else if (status == 206) {
                    const auto [start, whole] = parse_content_range(r.get_header_value("Content-Range"));
                    if (whole && !stated.size) stated.size = whole;
                    if (start && *start == have) {
                        out.reset(std::fopen(part_.c_str(), "ab"));
                        done = have;
                    } else {
                        out.reset(std::fopen(part_.c_str(), "wb"));  // a range we did not ask for: start over
                        status = 0;
                        return false;
                    }
                } else if (status == 416) {
                    const auto [start, whole] = parse_content_range(r.get_header_value("Content-Range"));
                    if (whole && !stated.size) stated.size = whole;
                    return true;
                } else {
                    return true;  // an error status; its body is not written anywhere
                }
                if (!out) {
                    write_error = "cannot write " + part_.string();
                    return false;
                }
                total = stated.size.value_or(0);
                return true;
            };
            auto on_data = [&](const char* data, size_t n) {
                if (!out) return true;  // a redirect's or an error's body
                if (std::fwrite(data, 1, n, out.get()) != n) {
                    write_error = "cannot write " + part_.string() + " (disk full?)";
                    return false;
                }
                done += n;
                if (options_.on_progress) options_.on_progress({name_, done, total});
                return true;
            };
            auto result = client.Get(u.path, headers, on_response, on_data);
            if (out && std::fflush(out.get()) != 0) write_error = "cannot write " + part_.string();
            out.reset();
            if (!write_error.empty()) return internal_error(write_error);

            if (!result) {
                if (status == 0 && !reached_server) {
                    return unavailable("cannot reach " + u.origin + " (" + httplib::to_string(result.error()) + ")");
                }
                return Outcome::kRetry;  // cut mid-transfer: the next attempt resumes from the .part file
            }
            if (status >= 300 && status < 400) {
                if (location.empty())
                    return unavailable(url + " answered HTTP " + std::to_string(status) + " without a Location");
                url = location.front() == '/' ? u.origin + location : location;
                continue;
            }
            if (status == 200 || status == 206) {
                if (stated.size && done < *stated.size) return Outcome::kRetry;
                return Outcome::kComplete;
            }
            if (status == 416 && stated.size && have == *stated.size) return Outcome::kComplete;
            if (status == 416) {
                fs::remove(part_, ec);  // a .part larger than the file: start afresh
                return Outcome::kRetry;
            }
            if (status == 404) return not_found(url_ + " does not exist (HTTP 404)");
            if (status == 401 || status == 403) {
                return unavailable(url_ + " refused the download (HTTP " + std::to_string(status) + ")");
            }
            return unavailable(url_ + " answered HTTP " + std::to_string(status));
        }
        return unavailable(url_ + ": too many redirects");
    }

  private:
    const PullOptions& options_;
    std::string name_, url_;
    fs::path part_;
};

std::string utc_now() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

void message(const PullOptions& o, const std::string& text) {
    if (o.on_message) o.on_message(text);
}

}  // namespace

Result<PullResult> pull_model(const KnownModel& model, const PullOptions& options) {
    std::string base = options.base_url.empty() ? std::string(kDefaultBaseUrl) : options.base_url;
    while (!base.empty() && base.back() == '/')
        base.pop_back();
    HCLIP_RETURN_IF_ERROR(split_url(base).status());
    if (options.models_dir.empty()) return invalid_argument("no models directory given");

    PullResult out;
    out.dir = options.models_dir / model.name;
    std::error_code ec;
    if (!options.force && fs::exists(out.dir / kManifestName, ec)) {
        out.already_installed = true;
        auto manifest = read_manifest(out.dir);
        if (manifest.ok()) out.manifest = *manifest;
        return out;
    }
    fs::create_directories(options.models_dir, ec);
    if (ec) return internal_error("cannot create " + options.models_dir.string() + ": " + ec.message());
    // Beside the destination (same file system, so the final rename is atomic); kept across runs to resume.
    const fs::path staging = options.models_dir / ("." + model.name + ".partial");
    fs::create_directories(staging, ec);
    if (ec) return internal_error("cannot create " + staging.string() + ": " + ec.message());

    Manifest manifest{model.name, model.repository, model.revision, base, utc_now(), {}};
    bool reached_server = false;
    for (const KnownFile& file : model.files) {
        const std::string url = file_url(model, file, base);
        const fs::path part = staging / (file.name + ".part");
        message(options, "downloading " + url);
        FileDownload download(options, file.name, url, part);
        Stated stated;
        bool complete = false;
        for (int attempt = 1; attempt <= std::max(1, options.attempts) && !complete; ++attempt) {
            auto outcome = download.attempt(stated, reached_server);
            if (!outcome.ok()) {
                if (outcome.status().code() == StatusCode::kUnavailable && !reached_server) {
                    return unavailable(outcome.status().message() + ". Offline or blocked? " +
                                       manual_copy_hint(model, base, out.dir));
                }
                return outcome.status();
            }
            complete = *outcome == Outcome::kComplete;
            if (!complete)
                message(options,
                        file.name + ": connection cut; resuming (attempt " + std::to_string(attempt + 1) + ")");
        }
        if (!complete) {
            return unavailable("the download of " + file.name + " kept breaking off after " +
                               std::to_string(options.attempts) + " attempts; run the same command again to resume");
        }

        // Verify: the catalog's values win over the server's.
        const auto size = fs::file_size(part, ec);
        if (ec) return internal_error("cannot read " + part.string());
        const std::optional<std::uint64_t> expected_size = file.size ? file.size : stated.size;
        std::string expected_sha = file.sha256, sha_source = "catalog";
        if (expected_sha.empty() && is_sha256_hex(stated.sha256)) {
            expected_sha = stated.sha256;
            sha_source = "server";
        }
        auto fail = [&](const std::string& what) {
            fs::remove(part, ec);  // the next try starts this file afresh
            return data_loss(file.name + " from " + url + " " + what + "; nothing was installed");
        };
        if (expected_size && size != *expected_size) {
            return fail("has " + std::to_string(size) + " bytes, expected " + std::to_string(*expected_size));
        }
        HCLIP_ASSIGN_OR_RETURN(std::string sha, sha256_file(part.string()));
        if (!expected_sha.empty() && sha != expected_sha) {
            return fail("failed its checksum: SHA-256 " + sha + ", expected " + expected_sha + " (" +
                        (sha_source == "catalog" ? "the catalog" : "stated by the server") + ")");
        }
        if (expected_sha.empty()) sha_source = "computed";
        manifest.files.push_back({file.name, size, sha, sha_source});
        message(options,
                file.name + ": " + std::to_string(size) + " bytes, " +
                    (sha_source == "computed" ? "SHA-256 recorded (no published checksum)" : "SHA-256 verified"));
    }

    // Every file verified: give them their names, write the manifest, swap the folder into place.
    for (const auto& f : manifest.files) {
        fs::rename(staging / (f.name + ".part"), staging / f.name, ec);
        if (ec) return internal_error("cannot rename in " + staging.string() + ": " + ec.message());
    }
    HCLIP_RETURN_IF_ERROR(write_manifest(staging, manifest));
    const fs::path old = options.models_dir / ("." + model.name + ".old-" + std::to_string(::getpid()));
    if (fs::exists(out.dir, ec)) {
        fs::rename(out.dir, old, ec);
        if (ec) return internal_error("cannot move the old " + out.dir.string() + " aside: " + ec.message());
    }
    fs::rename(staging, out.dir, ec);
    if (ec) return internal_error("cannot move the model into " + out.dir.string() + ": " + ec.message());
    fs::remove_all(old, ec);
    out.manifest = std::move(manifest);
    return out;
}

}  // namespace hclip::models
