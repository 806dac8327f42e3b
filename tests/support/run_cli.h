// Runs the hailo-clip binary as a script would, capturing stdout, stderr and the exit code.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/mapped_file.h"
#include "support/test_programs.h"

namespace hclip::testing {

struct CliRun {
    int exit_code = -1;
    std::string out;
    std::string err;
};

inline std::string shell_quote(const std::string& s) {
    std::string q = "'";
    for (char c : s)
        q += (c == '\'') ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

// Runs `program` (hailo-clip, or the test program hailo-clip-test with its test doubles).
inline CliRun run_program(const std::string& program, const std::vector<std::string>& args) {
    // A unique stderr file: test programs run in parallel under ctest -j.
    std::string err_file = ::testing::TempDir() + "hclip_cli_stderr_XXXXXX";
    const int fd = ::mkstemp(err_file.data());
    if (fd >= 0) ::close(fd);
    std::string cmd = shell_quote(program);
    for (const auto& a : args)
        cmd += " " + shell_quote(a);
    cmd += " 2>" + shell_quote(err_file);
    CliRun r;
    FILE* pipe = ::popen(cmd.c_str(), "r");
    if (pipe != nullptr) {
        std::array<char, 4096> buf{};
        std::size_t n;
        while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0)
            r.out.append(buf.data(), n);
        const int status = ::pclose(pipe);
        r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    if (auto err = read_file(err_file); err.ok()) r.err = *err;
    std::remove(err_file.c_str());
    return r;
}

inline CliRun run_cli(const std::vector<std::string>& args) {
    return run_program(cli_path(), args);
}

}  // namespace hclip::testing
