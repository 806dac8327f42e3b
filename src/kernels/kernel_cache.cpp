#include "kernels/kernel_cache.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "kernels/compute_pool.h"
#include "kernels/gemm.h"
#include "kernels/packed_gemm.h"

namespace hclip {

namespace {

// 2: products of up to 64 rows timed with their weights coming from memory, and the panel kernel.
// 3: the numbers multiplied are part of the key.
constexpr const char* kMagic = "hailo-clip gemm kernel timings 3";

std::string products_name(PackedType products) {
    return products == PackedType::kBf16 ? "bf16" : "float32";
}

// The CPU's name as /proc/cpuinfo gives it: "model name" on x86-64, the implementer and part numbers on arm64.
std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    std::string line, implementer, part;
    while (std::getline(in, line)) {
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string name = line.substr(0, colon);
        name.erase(name.find_last_not_of(" \t") + 1);
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(" \t"));
        if (name == "model name") return value;
        if (name == "CPU implementer" && implementer.empty()) implementer = value;
        if (name == "CPU part" && part.empty()) part = value;
    }
    if (!part.empty()) return "implementer " + implementer + " part " + part;
    return "unknown";
}

// Everything after "name " on a line that must start with it.
bool field(std::istream& in, const std::string& name, std::string& value) {
    std::string line;
    if (!std::getline(in, line) || line.rfind(name + " ", 0) != 0) return false;
    value = line.substr(name.size() + 1);
    return true;
}

}  // namespace

GemmCacheKey current_gemm_cache_key(PackedType products) {
    return {cpu_model() + ", " + std::to_string(machine_cores()) + " cores",
            gemm_library_version() + "; " + packed_gemm_library_version(), compute_threads(), products_name(products)};
}

Result<GemmTimings> read_gemm_cache(const std::string& path, const GemmCacheKey& key) {
    std::ifstream in(path);
    if (!in) return not_found("no gemm timings file '" + path + "'");
    const auto corrupt = [&](const std::string& why) {
        return data_loss("gemm timings file '" + path + "' is not valid (" + why + ")");
    };
    std::string magic, cpu, libraries, threads, products;
    if (!std::getline(in, magic) || magic != kMagic) return corrupt("first line");
    if (!field(in, "cpu", cpu) || !field(in, "libraries", libraries) || !field(in, "threads", threads) ||
        !field(in, "products", products)) {
        return corrupt("header");
    }
    const auto other = [&](const std::string& what, const std::string& was) {
        return unavailable("gemm timings file '" + path + "' is for another " + what + " (" + was + ")");
    };
    if (cpu != key.cpu) return other("CPU", cpu);
    if (libraries != key.libraries) return other("library build", libraries);
    if (threads != std::to_string(key.threads)) return other("thread count", threads + " threads");
    if (products != key.products) return other("kind of products", products);
    GemmTimings timings;
    std::string line;
    bool ended = false;
    while (std::getline(in, line)) {
        if (line == "end") {
            ended = true;
            break;
        }
        std::istringstream row(line);
        std::string tag, kernel_name;
        GemmTimingKey k;
        double seconds = 0.0;
        if (!(row >> tag >> k.shape.n >> k.shape.k >> k.m >> kernel_name >> seconds) || tag != "t") {
            return corrupt("line '" + line + "'");
        }
        const auto kernel = parse_gemm_kernel(kernel_name);
        if (!kernel || k.shape.n <= 0 || k.shape.k <= 0 || k.m <= 0 || !(seconds > 0.0 && seconds < 1e6)) {
            return corrupt("line '" + line + "'");
        }
        k.kernel = *kernel;
        timings[k] = seconds;
    }
    if (!ended) return corrupt("no end line: cut short");
    return timings;
}

Status write_gemm_cache(const std::string& path, const GemmCacheKey& key, const GemmTimings& timings) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path target(path);
    if (target.has_parent_path()) fs::create_directories(target.parent_path(), ec);
    if (ec) return unavailable("cannot create '" + target.parent_path().string() + "': " + ec.message());
    std::string temp = path + ".XXXXXX";
    const int fd = ::mkstemp(temp.data());
    if (fd < 0) return unavailable("cannot write gemm timings next to '" + path + "'");
    std::ostringstream text;
    text << kMagic << "\ncpu " << key.cpu << "\nlibraries " << key.libraries << "\nthreads " << key.threads
         << "\nproducts " << key.products << "\n";
    text.precision(17);  // max_digits10: the timings read back exactly
    for (const auto& [k, seconds] : timings) {
        text << "t " << k.shape.n << ' ' << k.shape.k << ' ' << k.m << ' ' << gemm_kernel_name(k.kernel) << ' '
             << seconds << '\n';
    }
    text << "end\n";
    const std::string data = text.str();
    bool ok = ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size());
    ok = (::close(fd) == 0) && ok;
    if (!ok || std::rename(temp.c_str(), path.c_str()) != 0) {
        ::unlink(temp.c_str());
        return unavailable("cannot write gemm timings to '" + path + "'");
    }
    return {};
}

std::string default_gemm_cache_path() {
    constexpr const char* kFile = "gemm-kernels.txt";
    if (const char* d = std::getenv("CACHE_DIRECTORY"); d != nullptr && *d != '\0') {
        // systemd may list several directories separated by ':'; the first is ours.
        std::string dir(d);
        return dir.substr(0, dir.find(':')) + "/" + kFile;
    }
    if (const char* d = std::getenv("XDG_CACHE_HOME"); d != nullptr && *d == '/') {
        return std::string(d) + "/hailo-clip/" + kFile;
    }
    if (const char* d = std::getenv("HOME"); d != nullptr && *d == '/') {
        return std::string(d) + "/.cache/hailo-clip/" + kFile;
    }
    return "";
}

std::string gemm_cache_path_for(const std::string& path, PackedType products) {
    if (path.empty() || products == PackedType::kF32) return path;
    const std::filesystem::path p(path);
    const std::string bf16_name = p.stem().string() + "-bf16" + p.extension().string();
    return p.has_parent_path() ? (p.parent_path() / bf16_name).string() : bf16_name;
}

}  // namespace hclip
