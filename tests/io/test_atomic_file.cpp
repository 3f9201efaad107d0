// Tests of cringe/io/atomic_file.hpp: contents written whole, and no partial or temporary file on failure.
#include <sys/resource.h>

#include <csignal>
#include <string>

#include <catch2/catch.hpp>

#include "cringe/io/atomic_file.hpp"
#include "temp_dir.hpp"

using Catch::Matchers::Contains;
using cringe::IoError;
using cringe::io::read_file;
using cringe::io::read_file_head;
using cringe::io::write_file_atomically;
using cringe_test::TempDir;

TEST_CASE("write_file_atomically writes, replaces, and leaves only the target", "[io][atomic_file]") {
    TempDir dir;
    const auto path = dir / "a.bin";
    const std::string binary("x\0y\xff", 4);  // embedded NUL and high byte survive
    write_file_atomically(path, binary);
    CHECK(read_file(path) == binary);

    write_file_atomically(path, "second");
    CHECK(read_file(path) == "second");
    write_file_atomically(path, "");
    CHECK(read_file(path).empty());
    CHECK(dir.entries() == std::vector<std::string>{"a.bin"});
}

TEST_CASE("write_file_atomically into a missing directory throws and leaves nothing", "[io][atomic_file]") {
    TempDir dir;
    const auto path = dir / "missing" / "a.bin";
    CHECK_THROWS_AS(write_file_atomically(path, "x"), IoError);
    CHECK_THROWS_WITH(write_file_atomically(path, "x"),
                      Contains(path.string()) && Contains("cannot create temporary file") && Contains("No such file"));
    CHECK(dir.entries().empty());
}

TEST_CASE("write_file_atomically over a directory fails at the rename and removes its temporary", "[io][atomic_file]") {
    TempDir dir;
    const auto path = dir / "sub";
    std::filesystem::create_directory(path);
    CHECK_THROWS_WITH(write_file_atomically(path, "x"), Contains(path.string()) && Contains("cannot rename"));
    CHECK(dir.entries() == std::vector<std::string>{"sub"});
    CHECK(std::filesystem::is_directory(path));
}

TEST_CASE("write_file_atomically keeps the previous file when the write fails midway", "[io][atomic_file]") {
    // A file-size limit makes write() fail with EFBIG whatever our privileges (a read-only
    // directory would not stop root). SIGXFSZ would kill the process; ignore it for the test.
    TempDir dir;
    const auto path = dir / "model.bin";
    write_file_atomically(path, "previous contents");

    rlimit old_limit{};
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &old_limit) == 0);
    const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
    rlimit small = old_limit;
    small.rlim_cur = 4096;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
    std::string error;
    try {
        write_file_atomically(path, std::string(100000, 'z'));
    } catch (const IoError& e) {
        error = e.what();
    }
    ::setrlimit(RLIMIT_FSIZE, &old_limit);
    std::signal(SIGXFSZ, old_handler);

    CHECK_THAT(error, Contains(path.string()) && Contains("cannot write") && Contains("File too large"));
    CHECK(read_file(path) == "previous contents");
    CHECK(dir.entries() == std::vector<std::string>{"model.bin"});
}

TEST_CASE("write_file_atomically refuses a path without a file name", "[io][atomic_file]") {
    TempDir dir;
    CHECK_THROWS_WITH(write_file_atomically(dir.path() / "", "x"), Contains("not a file name"));
}

TEST_CASE("read_file and read_file_head report missing files and directories", "[io][atomic_file]") {
    TempDir dir;
    const auto missing = dir / "nope.txt";
    CHECK_THROWS_AS(read_file(missing), IoError);
    CHECK_THROWS_WITH(read_file(missing), Contains("read_file: ") && Contains(missing.string()) && Contains("No such file"));
    CHECK_THROWS_WITH(read_file(dir.path(), "load_x"), Contains("load_x: ") && Contains("is a directory"));

    const auto path = dir / "f.txt";
    write_file_atomically(path, "0123456789");
    const auto head = read_file_head(path, 4);
    CHECK(head.bytes == "0123");
    CHECK(head.file_size == 10);
    CHECK(read_file_head(path, 100).bytes == "0123456789");
}
