// Read-only memory mapping of a whole file. Model weights are used in place from the mapping.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "core/status.h"

namespace hclip {

class MappedFile {
  public:
    static Result<MappedFile> open(const std::string& path);

    MappedFile() = default;
    MappedFile(MappedFile&& other) noexcept;
    MappedFile& operator=(MappedFile&& other) noexcept;
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;
    ~MappedFile();

    std::span<const std::uint8_t> bytes() const { return {data_, size_}; }

    // Asks the kernel to map this file's pages one by one, never 2 MB at a time. Call it before reading, on a
    // mapping whose bulk is read once and released (model weights that are packed or converted): since Linux
    // maps large page-cache folios of some file systems (ext4 from 6.16, XFS) whole, touching one small tensor
    // that stays in use would otherwise keep the 2 MB of released weights around it resident. Advice only.
    void map_in_small_pages() const;

    const std::string& path() const { return path_; }

  private:
    const std::uint8_t* data_ = nullptr;
    std::size_t size_ = 0;
    std::string path_;
};

// Whole-file read for small files (configs, vocabularies, images).
Result<std::string> read_file(const std::string& path);

}  // namespace hclip
