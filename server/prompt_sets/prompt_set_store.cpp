#include "server/prompt_sets/prompt_set_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/mapped_file.h"

namespace hclip::server {

namespace fs = std::filesystem;

namespace {

constexpr const char* kSuffix = ".json";
constexpr const char* kTempMarker = ".tmp-";  // ".<name>.json.tmp-<pid>-<n>": never a valid set name

std::string errno_text() {
    return std::strerror(errno);
}

Status write_all(int fd, const std::string& bytes, const std::string& path) {
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return internal_error("cannot write " + path + ": " + errno_text());
        done += static_cast<std::size_t>(n);
    }
    return {};
}

// A rename or unlink is durable only once the directory itself is synced.
Status sync_directory(const std::string& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return internal_error("cannot open " + dir + ": " + errno_text());
    const int rc = ::fsync(fd);
    const std::string why = rc != 0 ? errno_text() : "";
    ::close(fd);
    if (rc != 0) return internal_error("cannot sync " + dir + ": " + why);
    return {};
}

}  // namespace

Result<std::unique_ptr<PromptSetStore>> PromptSetStore::open(std::string directory, std::vector<PromptSet> configured,
                                                             PromptSetLimits limits) {
    std::unique_ptr<PromptSetStore> store(new PromptSetStore(std::move(directory), limits));
    if (configured.size() > limits.max_sets) {
        return resource_exhausted("prompt_sets declares " + std::to_string(configured.size()) + " sets; the limit is " +
                                  std::to_string(limits.max_sets));
    }
    for (auto& set : configured) {
        HCLIP_RETURN_IF_ERROR(validate_prompt_set(set, limits).with_context("prompt_sets." + set.name));
        auto entry = std::make_shared<Entry>();
        entry->configured = true;
        entry->generation = store->next_generation_++;
        const std::string name = set.name;
        entry->set = std::move(set);
        store->sets_[name] = std::move(entry);
    }
    HCLIP_RETURN_IF_ERROR(store->load_directory());
    return store;
}

Status PromptSetStore::load_directory() {
    std::error_code ec;
    if (!fs::exists(directory_, ec)) return {};
    fs::directory_iterator it(directory_, ec);
    if (ec) return internal_error("cannot list " + directory_ + ": " + ec.message());
    for (const auto& file : it) {
        const std::string base = file.path().filename().string();
        if (base.find(kTempMarker) != std::string::npos) {
            fs::remove(file.path(), ec);  // an interrupted write: the old file (if any) is still in place
            continue;
        }
        if (base.size() <= std::strlen(kSuffix) || !base.ends_with(kSuffix)) continue;
        const std::string name = base.substr(0, base.size() - std::strlen(kSuffix));
        const std::string path = file.path().string();
        if (!is_valid_prompt_set_name(name)) continue;  // not a file this store wrote
        if (sets_.count(name)) {
            return invalid_argument(path + " stores prompt set '" + name +
                                    "', which the configuration also declares; remove one of them");
        }
        HCLIP_ASSIGN_OR_RETURN(std::string text, read_file(path));
        const nlohmann::json body = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
        if (body.is_discarded()) return data_loss(path + " is not valid JSON");
        auto parsed = parse_prompt_set(body, name);
        if (!parsed.ok()) return parsed.status().with_context(path);
        PromptSet set = std::move(parsed).value();
        HCLIP_RETURN_IF_ERROR(validate_prompt_set(set, limits_).with_context(path));
        if (sets_.size() >= limits_.max_sets) {
            return resource_exhausted(directory_ + " holds more than " + std::to_string(limits_.max_sets) +
                                      " prompt sets");
        }
        auto entry = std::make_shared<Entry>();
        entry->generation = next_generation_++;
        entry->set = std::move(set);
        sets_[name] = std::move(entry);
    }
    return {};
}

Status PromptSetStore::write_file(const PromptSet& set) const {
    std::error_code ec;
    fs::create_directories(directory_, ec);
    if (ec) return internal_error("cannot create " + directory_ + ": " + ec.message());
    static std::atomic<unsigned long> counter{0};
    const std::string final_path = directory_ + "/" + set.name + kSuffix;
    const std::string temp_path = directory_ + "/." + set.name + kSuffix + kTempMarker + std::to_string(::getpid()) +
                                  "-" + std::to_string(counter++);
    const std::string bytes = prompt_set_json(set).dump(2) + "\n";
    const int fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0) return internal_error("cannot create " + temp_path + ": " + errno_text());
    Status status = write_all(fd, bytes, temp_path);
    if (status.ok() && ::fsync(fd) != 0) status = internal_error("cannot sync " + temp_path + ": " + errno_text());
    if (::close(fd) != 0 && status.ok()) status = internal_error("cannot close " + temp_path + ": " + errno_text());
    if (status.ok() && ::rename(temp_path.c_str(), final_path.c_str()) != 0) {
        status = internal_error("cannot rename " + temp_path + " to " + final_path + ": " + errno_text());
    }
    if (!status.ok()) {
        ::unlink(temp_path.c_str());
        return status;
    }
    return sync_directory(directory_);
}

Result<PromptSetStore::PutOutcome> PromptSetStore::put(PromptSet set) {
    HCLIP_RETURN_IF_ERROR(validate_prompt_set(set, limits_));
    std::lock_guard write_lock(write_mutex_);
    bool exists = false;
    {
        std::lock_guard lock(map_mutex_);
        auto it = sets_.find(set.name);
        if (it != sets_.end() && it->second->configured) {
            return invalid_argument("prompt set '" + set.name +
                                    "' is declared in the configuration (prompt_sets:); change it there");
        }
        exists = it != sets_.end();
        if (!exists && sets_.size() >= limits_.max_sets) {
            return resource_exhausted("there are already " + std::to_string(sets_.size()) +
                                      " prompt sets; the limit is " + std::to_string(limits_.max_sets));
        }
    }
    HCLIP_RETURN_IF_ERROR(write_file(set));
    auto entry = std::make_shared<Entry>();
    std::lock_guard lock(map_mutex_);
    entry->generation = next_generation_++;
    const std::string name = set.name;
    entry->set = std::move(set);
    sets_[name] = std::move(entry);
    return exists ? PutOutcome::kReplaced : PutOutcome::kCreated;
}

Status PromptSetStore::remove(const std::string& name) {
    std::lock_guard write_lock(write_mutex_);
    {
        std::lock_guard lock(map_mutex_);
        auto it = sets_.find(name);
        if (it == sets_.end()) return not_found("no prompt set named '" + name + "'");
        if (it->second->configured) {
            return invalid_argument("prompt set '" + name +
                                    "' is declared in the configuration (prompt_sets:); remove it there");
        }
    }
    const std::string path = directory_ + "/" + name + kSuffix;
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        return internal_error("cannot remove " + path + ": " + errno_text());
    }
    HCLIP_RETURN_IF_ERROR(sync_directory(directory_));
    std::lock_guard lock(map_mutex_);
    sets_.erase(name);
    return {};
}

std::shared_ptr<const PromptSetStore::Entry> PromptSetStore::get(const std::string& name) const {
    std::lock_guard lock(map_mutex_);
    auto it = sets_.find(name);
    return it == sets_.end() ? nullptr : it->second;
}

std::vector<std::string> PromptSetStore::names() const {
    std::lock_guard lock(map_mutex_);
    std::vector<std::string> out;
    out.reserve(sets_.size());
    for (const auto& [name, _] : sets_)
        out.push_back(name);
    return out;
}

bool PromptSetStore::is_configured(const std::string& name) const {
    auto entry = get(name);
    return entry && entry->configured;
}

void PromptSetStore::cache_embeddings(const std::string& name, std::uint64_t generation,
                                      std::shared_ptr<const std::vector<float>> embeddings) {
    std::lock_guard lock(map_mutex_);
    auto it = sets_.find(name);
    if (it == sets_.end() || it->second->generation != generation) return;
    auto updated = std::make_shared<Entry>(*it->second);
    updated->label_embeddings = std::move(embeddings);
    it->second = std::move(updated);
}

}  // namespace hclip::server
