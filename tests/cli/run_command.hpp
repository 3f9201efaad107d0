// Runs a command with a given standard input; captures its exit status, stdout and stderr.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace cringe_test {

struct CommandResult {
    int status = -1;
    std::string out, err;
};

inline std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

inline CommandResult run_command(const std::string& command, const std::string& input) {
    static int counter = 0;
    const auto dir = std::filesystem::temp_directory_path() / ("cringe-cli-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::create_directories(dir);
    { std::ofstream(dir / "in") << input; }
    const std::string full = command + " < '" + (dir / "in").string() + "' > '" + (dir / "out").string() + "' 2> '" + (dir / "err").string() + "'";
    const int raw = std::system(full.c_str());
    CommandResult r;
    r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    r.out = slurp(dir / "out");
    r.err = slurp(dir / "err");
    std::filesystem::remove_all(dir);
    return r;
}

}  // namespace cringe_test
