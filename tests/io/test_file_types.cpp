// Every file reader refuses a FIFO, device or directory before reading (instead of blocking
// forever), and reads only what a header promises (instead of reading a huge file whole first).
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "cringe/data/tokenizer.hpp"
#include "cringe/io/checkpoint.hpp"
#include "../support/child_process.hpp"
#include "temp_dir.hpp"

using cringe::IoError;
using cringe_test::TempDir;
using cringe_test::write_bytes;

namespace {
namespace file_types {

/// Runs `call` in a child process killed after `seconds` (a hang becomes a failure, not a stuck
/// test) and, when `extra_memory` > 0, with its address space limited to grow by that much (reading
/// a huge file whole becomes a std::bad_alloc, not an OOM kill). Returns 0 when `call` threw an
/// IoError whose message contains `phrase`; 1 returned, 2 another message, 3 bad_alloc, 4 other
/// exception, 100 + n killed by signal n (SIGALRM = 14: it hung).
int expect_io_error_in_child(const std::function<void()>& call, const std::string& phrase, unsigned seconds,
                             std::size_t extra_memory = 0) {
    return cringe_test::run_in_child(seconds, extra_memory, [&] {
        try {
            call();
        } catch (const IoError& e) {
            return std::string(e.what()).find(phrase) != std::string::npos ? 0 : 2;
        } catch (const std::bad_alloc&) {
            return 3;
        } catch (...) {
            return 4;
        }
        return 1;
    });
}

/// A file of `size` bytes that starts with `head` and is sparse after it (no disk space used).
void make_sparse_file(const std::filesystem::path& path, const std::string& head, std::uint64_t size) {
    write_bytes(path, head);
    std::filesystem::resize_file(path, size);
}

std::string length_field(std::uint64_t n) { return std::string(reinterpret_cast<const char*>(&n), 8); }

}  // namespace file_types
}  // namespace

// Regression (issue: hostile inputs, item 4): open() of a FIFO without a writer blocks forever, and
// the readers opened before they checked the file type.
TEST_CASE("every reader refuses a FIFO at once instead of blocking", "[io][file_types]") {
    using namespace file_types;
    TempDir tmp;
    const auto fifo = tmp.path() / "fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const std::string phrase = fifo.string() + ": is not a regular file (a FIFO); expected a regular file";
    const std::vector<std::pair<std::string, std::function<void()>>> readers = {
        {"read_file", [&] { cringe::io::read_file(fifo); }},
        {"read_file_head", [&] { cringe::io::read_file_head(fifo, 8); }},
        {"load_safetensors", [&] { cringe::io::load_safetensors<float>(fifo); }},
        {"read_safetensors_header", [&] { cringe::io::read_safetensors_header(fifo); }},
        {"read_safetensors_metadata", [&] { cringe::io::read_safetensors_metadata(fifo); }},
        {"load_gpt_config", [&] { cringe::io::load_gpt_config(fifo); }},
        {"WordTokenizer::load", [&] { cringe::data::WordTokenizer::load(fifo); }},
    };
    for (const auto& [name, call] : readers) {
        INFO(name);
        CHECK(expect_io_error_in_child(call, phrase, 10) == 0);
    }
    // a checkpoint directory whose weights file is a FIFO
    const auto dir = tmp.path() / "m";
    cringe::io::save_pretrained(cringe::nn::Gpt<float>({.vocab_size = 5, .n_positions = 3, .n_embd = 4, .n_layer = 1, .n_head = 1}, 1), dir);
    std::filesystem::remove(dir / "model.safetensors");
    REQUIRE(::mkfifo((dir / "model.safetensors").c_str(), 0600) == 0);
    CHECK(expect_io_error_in_child([&] { cringe::io::load_pretrained<float>(dir); }, "model.safetensors: is not a regular file (a FIFO)", 10) == 0);
}

TEST_CASE("a device is not a file to read", "[io][file_types]") {
    CHECK_THROWS_WITH(cringe::io::read_file("/dev/null", "reader"), "reader: /dev/null: is not a regular file (a device); expected a regular file");
    CHECK_THROWS_WITH(cringe::io::load_safetensors<double>("/dev/zero"), Catch::Contains("/dev/zero: is not a regular file (a device)"));
}

// Regression (issue: hostile inputs, item 4): a 6 GB file with a bad 8-byte header was read whole
// (103 s, 5.9 GB of memory) before it was rejected. The files here are sparse: they use no disk.
TEST_CASE("a huge file is refused from its header or its size, without being read", "[io][file_types][limits]") {
    using namespace file_types;
    if (cringe_test::under_address_sanitizer()) {
        WARN("skipped: AddressSanitizer reserves terabytes of address space, so RLIMIT_AS cannot bound it");
        return;
    }
    TempDir tmp;
    const std::uint64_t six_gb = 6'000'000'000;
    const std::size_t memory = std::size_t{512} << 20;  // far less than the file

    const auto bad_header = tmp.path() / "bad_header.safetensors";
    make_sparse_file(bad_header, length_field(2) + "xx", six_gb);
    CHECK(expect_io_error_in_child([&] { cringe::io::load_safetensors<float>(bad_header); },
                                   "header does not start with '{'; expected a JSON object", 60, memory) == 0);

    // a valid header whose tensors cover 16 bytes: the rest is refused before any of it is read
    const std::string header = R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})";
    const auto trailing = tmp.path() / "trailing.safetensors";
    make_sparse_file(trailing, length_field(header.size()) + header, six_gb);
    CHECK(expect_io_error_in_child([&] { cringe::io::load_safetensors<float>(trailing); },
                                   cringe::cat(six_gb - 8 - header.size() - 16, " trailing bytes after the last tensor"), 60, memory) == 0);
    CHECK(expect_io_error_in_child([&] { cringe::io::read_safetensors_header(trailing); }, "trailing bytes", 60, memory) == 0);

    // JSON files are read whole, so their size is capped before reading
    const auto config = tmp.path() / "config.json";
    make_sparse_file(config, "{", six_gb);
    CHECK(expect_io_error_in_child([&] { cringe::io::load_gpt_config(config); },
                                   "config.json: file is 6000000000 bytes; the limit for this file is 16777216 bytes", 60, memory) == 0);
    CHECK(expect_io_error_in_child([&] { cringe::data::WordTokenizer::load(config); },
                                   "config.json: file is 6000000000 bytes; the limit for this file is 268435456 bytes", 60, memory) == 0);
    CHECK_THROWS_WITH(cringe::io::read_file(config, "reader", 1000), Catch::Contains("reader: ") && Catch::Contains("the limit for this file is 1000 bytes"));
}

TEST_CASE("a file that shrinks between the header and the buffer is an error, not a short read", "[io][file_types]") {
    TempDir tmp;
    const auto path = tmp.path() / "t.safetensors";
    cringe::io::save_safetensors<double>(path, {{"a", cringe::zeros<double>({4})}}, cringe::io::DType::F64);
    const cringe::io::RegularFileReader file(path, "reader");
    const std::uint64_t size = file.size();
    std::filesystem::resize_file(path, size - 4);
    CHECK_THROWS_WITH(file.read_exactly(0, size), Catch::Contains("file changed while it was being read") && Catch::Contains(path.string()));
    CHECK(file.read_up_to(0, size).size() == size - 4);
}
