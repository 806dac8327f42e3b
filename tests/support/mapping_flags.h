// What the kernel says of this process's mapping of a file or an address: the VmFlags line of /proc/self/smaps
// ("rd mr mw me nh"), where "nh" is MADV_NOHUGEPAGE advice and "hg" MADV_HUGEPAGE. Some systems do not show advice
// there (qemu's user-mode emulation prints its own smaps without it): advice_shows_in_smaps() tells, so a test can say
// why it cannot check.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

namespace hclip::testing {

// The flags of the first mapping whose first line ("begin-end perms offset dev inode [path]") `is_it` accepts, or
// nullopt when none does. The lines inside a mapping start with a field name and a colon; VmFlags is its last.
template <class Header>
std::optional<std::string> first_mapping_flags(const Header& is_it) {
    std::ifstream smaps("/proc/self/smaps");
    std::string line;
    bool in_mapping = false;
    while (std::getline(smaps, line)) {
        unsigned long long begin = 0, end = 0;
        char dash = 0;
        if (std::sscanf(line.c_str(), "%llx%c%llx", &begin, &dash, &end) == 3 && dash == '-' &&
            line.find(':') > line.find(' ')) {
            in_mapping = is_it(line, begin, end);
        } else if (in_mapping && line.rfind("VmFlags:", 0) == 0) {
            return line.substr(8);
        }
    }
    return std::nullopt;
}

// The flags of the first mapping of `path` (its words, space-separated), or nullopt when it is not mapped. smaps
// names a file by its canonical path: `path` is resolved first (a fixtures folder reached through a symbolic link or
// "..", as a fresh clone has it, would otherwise never match).
inline std::optional<std::string> mapping_flags(const std::string& given) {
    std::error_code error;
    const std::filesystem::path resolved = std::filesystem::canonical(given, error);
    const std::string ending = " " + (error ? given : resolved.string());
    return first_mapping_flags([&](const std::string& header, unsigned long long, unsigned long long) {
        return header.size() > ending.size() &&
               header.compare(header.size() - ending.size(), ending.size(), ending) == 0;
    });
}

// The flags of the mapping that holds `address`, or nullopt when none does.
inline std::optional<std::string> mapping_flags_at(const void* address) {
    const auto at = reinterpret_cast<std::uintptr_t>(address);
    return first_mapping_flags(
        [&](const std::string&, unsigned long long begin, unsigned long long end) { return at >= begin && at < end; });
}

inline bool flags_have(const std::optional<std::string>& flags, const std::string& flag) {
    if (!flags) return false;
    std::istringstream words(*flags);
    std::string word;
    while (words >> word)
        if (word == flag) return true;
    return false;
}

// Maps `probe_file` (any readable file), advises MADV_NOHUGEPAGE and reports whether smaps shows "nh".
inline bool advice_shows_in_smaps(const std::string& probe_file) {
    const int fd = ::open(probe_file.c_str(), O_RDONLY);
    if (fd < 0) return false;
    void* p = ::mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (p == MAP_FAILED) return false;
    const bool shown = ::madvise(p, 4096, MADV_NOHUGEPAGE) == 0 && flags_have(mapping_flags(probe_file), "nh");
    ::munmap(p, 4096);
    return shown;
}

}  // namespace hclip::testing
