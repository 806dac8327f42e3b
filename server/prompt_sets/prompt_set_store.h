// The prompt sets the service knows: those declared in the configuration (read-only) and those stored over the
// API, one JSON file each in <state_dir>/prompt-sets/. A write is atomic on disk (temporary file, fsync, rename,
// fsync of the directory), so a crash leaves the old or the new set, never a broken file. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "server/prompt_sets/prompt_set.h"

namespace hclip::server {

class PromptSetStore {
  public:
    // One set as published: immutable. `label_embeddings` is filled once the set was first used.
    struct Entry {
        PromptSet set;
        bool configured = false;       // declared in the configuration: PUT and DELETE are refused
        std::uint64_t generation = 0;  // changes on every PUT, so a late embedding never lands on a newer set
        std::shared_ptr<const std::vector<float>> label_embeddings;
    };

    // Validates the configured sets, then loads the stored ones from `directory` if it exists (it is created on
    // the first PUT). Leftover temporary files of an interrupted write are removed. A stored file that cannot be
    // read, or a stored name that is also configured, is an error naming the file.
    static Result<std::unique_ptr<PromptSetStore>> open(std::string directory, std::vector<PromptSet> configured,
                                                        PromptSetLimits limits);

    enum class PutOutcome { kCreated, kReplaced };
    // Validates, writes the file, then publishes. kNotFound-free errors: invalid_argument, resource_exhausted
    // (too many sets), kInternal for a failed write (the set is then unchanged).
    Result<PutOutcome> put(PromptSet set);
    // not_found when there is no such set.
    Status remove(const std::string& name);

    std::shared_ptr<const Entry> get(const std::string& name) const;
    std::vector<std::string> names() const;  // sorted
    bool is_configured(const std::string& name) const;
    // Attaches computed label embeddings to the set `name` if it is still at `generation`.
    void cache_embeddings(const std::string& name, std::uint64_t generation,
                          std::shared_ptr<const std::vector<float>> embeddings);

    const std::string& directory() const { return directory_; }

  private:
    PromptSetStore(std::string directory, PromptSetLimits limits) : directory_(std::move(directory)), limits_(limits) {}
    Status load_directory();
    Status write_file(const PromptSet& set) const;

    const std::string directory_;
    const PromptSetLimits limits_;
    std::mutex write_mutex_;  // serializes PUT and DELETE, file and map together
    mutable std::mutex map_mutex_;
    std::map<std::string, std::shared_ptr<const Entry>> sets_;
    std::uint64_t next_generation_ = 1;
};

}  // namespace hclip::server
