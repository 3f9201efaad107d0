// Running a piece of a test in a child process with limits, for tests of what hostile input may cost:
// a hang becomes a failure instead of a stuck test, and an allocation past an address-space limit a
// std::bad_alloc in the child instead of an out-of-memory kill of the test machine.
#pragma once

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstddef>
#include <fstream>

#include <catch2/catch.hpp>

namespace cringe_test {

/// True in a build with AddressSanitizer, which maps its shadow memory up front: an address-space
/// limit cannot work with it, so the tests that set one skip themselves there.
constexpr bool under_address_sanitizer() {
#if defined(__SANITIZE_ADDRESS__)
    return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    return true;
#else
    return false;
#endif
#else
    return false;
#endif
}

/// The process's current virtual memory size in bytes (/proc/self/statm, first field in pages).
inline std::size_t virtual_memory_bytes() {
    std::ifstream statm("/proc/self/statm");
    std::size_t pages = 0;
    statm >> pages;
    return pages * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

/// Runs `body` (returning an int) in a child process and returns the child's exit status: body's
/// value, 90 when the limit could not be set, 100 + n when signal n ended it. With `seconds` > 0 the
/// child is killed by SIGALRM after that long (so a hang gives 114); with `extra_memory` > 0 its
/// address space may grow by at most that many bytes.
template <class Body>
int run_in_child(unsigned seconds, std::size_t extra_memory, Body body) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        if (seconds > 0) ::alarm(seconds);
        int code = 90;
        rlimit limit{};
        if (extra_memory == 0) {
            code = body();
        } else if (::getrlimit(RLIMIT_AS, &limit) == 0) {
            limit.rlim_cur = static_cast<rlim_t>(virtual_memory_bytes() + extra_memory);
            if (::setrlimit(RLIMIT_AS, &limit) == 0) code = body();
        }
        ::_exit(code);  // skip Catch's and the library's exit handlers in the child
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

}  // namespace cringe_test
