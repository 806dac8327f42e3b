#include "core/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace hclip {

namespace {
Status errno_status(const std::string& what, const std::string& path) {
    int err = errno;
    std::string m = what + " '" + path + "': " + std::strerror(err);
    return err == ENOENT ? not_found(m) : invalid_argument(m);
}
}  // namespace

Result<MappedFile> MappedFile::open(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno_status("cannot open", path);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        Status s = errno_status("cannot stat", path);
        ::close(fd);
        return s;
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        return invalid_argument("not a regular file: '" + path + "'");
    }
    MappedFile file;
    file.path_ = path;
    file.size_ = static_cast<std::size_t>(st.st_size);
    if (file.size_ > 0) {
        void* p = ::mmap(nullptr, file.size_, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            Status s = errno_status("cannot map", path);
            ::close(fd);
            return s;
        }
        file.data_ = static_cast<const std::uint8_t*>(p);
    }
    ::close(fd);  // the mapping stays valid after the descriptor is closed
    return file;
}

void MappedFile::map_in_small_pages() const {
#if defined(MADV_NOHUGEPAGE)
    if (data_ != nullptr) (void)::madvise(const_cast<std::uint8_t*>(data_), size_, MADV_NOHUGEPAGE);
#endif
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : data_(other.data_), size_(other.size_), path_(std::move(other.path_)) {
    other.data_ = nullptr;
    other.size_ = 0;
}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
    if (this != &other) {
        if (data_ != nullptr) ::munmap(const_cast<std::uint8_t*>(data_), size_);
        data_ = other.data_;
        size_ = other.size_;
        path_ = std::move(other.path_);
        other.data_ = nullptr;
        other.size_ = 0;
    }
    return *this;
}

MappedFile::~MappedFile() {
    if (data_ != nullptr) ::munmap(const_cast<std::uint8_t*>(data_), size_);
}

Result<std::string> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return errno_status("cannot open", path);
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) return errno_status("cannot read", path);
    return ss.str();
}

}  // namespace hclip
