// Tests of cringe/io/json_file.hpp: parse_json's limits (nesting depth, repeated keys, NUL bytes)
// and its linear time in the number of members, through every reader that uses it (a cringe-ref
// request, config.json, a safetensors header, a tokenizer file).
#include <chrono>
#include <cstdint>
#include <cstring>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

#include "cringe/data/tokenizer.hpp"
#include "cringe/io/hf_config.hpp"
#include "cringe/io/json_file.hpp"
#include "../../examples/oracle/loss_request.hpp"
#include "cringe/io/safetensors.hpp"
#include "temp_dir.hpp"

using Catch::Matchers::Contains;
using cringe::IoError;
using cringe::io::max_json_depth;
using cringe::io::parse_json;
using cringe_test::TempDir;
using cringe_test::write_bytes;

namespace {
namespace json_limits {

/// `depth` arrays nested in each other: "[[[...]]]".
std::string nested_arrays(std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

/// A safetensors file (length field + header) with an empty buffer.
std::string safetensors_with_header(const std::string& header) {
    std::string out(8, '\0');
    const std::uint64_t n = header.size();
    std::memcpy(out.data(), &n, 8);
    return out + header;
}

/// {"t0": {...}, "t1": {...}, ...}: `members` members whose values are objects (the shape that
/// made nlohmann's callback parser quadratic), here `members` empty F32 tensors of a safetensors header.
std::string many_empty_tensors(std::size_t members) {
    std::string header = "{";
    for (std::size_t i = 0; i < members; ++i) {
        if (i) header += ",";
        header += "\"t" + std::to_string(i) + "\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}";
    }
    return header + "}";
}

/// The message of the IoError that f() throws ("" and a failed check if it throws none).
template <class F>
std::string io_error_of(F&& f) {
    try {
        f();
    } catch (const IoError& e) {
        return e.what();
    }
    FAIL_CHECK("expected an IoError");
    return "";
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace json_limits
}  // namespace

TEST_CASE("parse_json accepts nesting up to max_json_depth and rejects deeper", "[io][json][limits]") {
    using json_limits::nested_arrays;
    CHECK(max_json_depth == 128);
    nlohmann::json ok = parse_json(nested_arrays(max_json_depth), "test");
    for (std::size_t level = 1; level < max_json_depth; ++level) ok = nlohmann::json(ok[0]);
    CHECK(ok == nlohmann::json::array());
    // objects count as levels too, mixed with arrays
    std::string mixed;
    for (std::size_t i = 0; i < max_json_depth / 2; ++i) mixed += "{\"a\":[";
    mixed += "1";
    for (std::size_t i = 0; i < max_json_depth / 2; ++i) mixed += "]}";
    CHECK_NOTHROW(parse_json(mixed, "test"));
    CHECK_THAT(json_limits::io_error_of([&] { (void)parse_json("{\"a\":" + nested_arrays(max_json_depth) + "}", "test"); }), Contains("test: JSON nested deeper than 128 levels of arrays and objects; expected at most 128"));
    // the input of the report: 100,000 levels (200 KB) crashed with a stack overflow
    CHECK_THAT(json_limits::io_error_of([&] { (void)parse_json(nested_arrays(100000), "input"); }), Contains("input: JSON nested deeper than 128"));
    // brackets inside strings (with escaped quotes) are not nesting
    const std::string in_string = "[\"" + std::string(1000, '[') + "\\\"" + std::string(1000, '{') + "\"]";
    CHECK(parse_json(in_string, "test")[0].get<std::string>().size() == 2001);
}

TEST_CASE("parse_json: invalid JSON, repeated keys, NUL bytes and trailing text are IoError", "[io][json]") {
    CHECK_THAT(json_limits::io_error_of([&] { (void)parse_json("{\"a\":1,\"b\":{\"c\":2,\"c\":3}}", "where"); }), Contains("where: key 'c' appears twice in one JSON object"));
    CHECK_NOTHROW(parse_json("{\"a\":{\"c\":2},\"b\":{\"c\":3}}", "where"));  // the same key in two objects is fine
    CHECK_THAT(json_limits::io_error_of([&] { (void)parse_json("[1,\0 2]", "where"); }), Contains("where: not valid JSON"));
    CHECK_THAT(json_limits::io_error_of([&] { (void)parse_json(std::string("{}\0{}", 5), "where"); }), Contains("NUL byte at offset 2"));
    CHECK_THAT(json_limits::io_error_of([&] { (void)parse_json("{} x", "where"); }), Contains("where: not valid JSON"));
    CHECK_THAT(json_limits::io_error_of([&] { (void)parse_json("", "where"); }), Contains("where: not valid JSON"));
    CHECK_THAT(json_limits::io_error_of([&] { (void)parse_json("[1e999]", "where"); }), Contains("number overflow"));
    // values keep their JSON types: a large unsigned stays unsigned, a float stays a float
    const auto j = parse_json(R"({"u": 18446744073709551615, "i": -3, "f": 0.5, "s": "x", "n": null, "b": true, "o": {}, "a": []})", "where");
    CHECK(j["u"].is_number_unsigned());
    CHECK(j["u"].get<std::uint64_t>() == 18446744073709551615ULL);
    CHECK(j["i"].get<std::int64_t>() == -3);
    CHECK(j["f"].get<double>() == 0.5);
    CHECK(j["s"] == "x");
    CHECK(j["n"].is_null());
    CHECK(j["b"] == true);
    CHECK(j["o"] == nlohmann::json::object());
    CHECK(j["a"] == nlohmann::json::array());
}

TEST_CASE("every JSON reader rejects deep nesting with an IoError naming it", "[io][json][limits]") {
    const std::string deep = json_limits::nested_arrays(100000);
    TempDir dir;
    SECTION("config.json") {
        write_bytes(dir / "config.json", "{\"vocab_size\": " + deep + "}");
        CHECK_THAT(json_limits::io_error_of([&] { (void)cringe::io::load_gpt_config(dir / "config.json"); }), Contains("load_gpt_config: ") && Contains("config.json: JSON nested deeper than 128"));
    }
    SECTION("a safetensors header") {
        write_bytes(dir / "model.safetensors", json_limits::safetensors_with_header("{\"a\":" + deep + "}"));
        CHECK_THAT(json_limits::io_error_of([&] { (void)cringe::io::read_safetensors_header(dir / "model.safetensors"); }), Contains("model.safetensors: header: JSON nested deeper than 128"));
        CHECK_THAT(json_limits::io_error_of([&] { (void)cringe::io::load_safetensors<float>(dir / "model.safetensors"); }), Contains("JSON nested deeper than 128"));
    }
    SECTION("a tokenizer file") {
        write_bytes(dir / "tokenizer.json", "{\"type\": \"word\", \"words\": " + deep + "}");
        CHECK_THAT(json_limits::io_error_of([&] { (void)cringe::data::WordTokenizer::load(dir / "tokenizer.json"); }), Contains("WordTokenizer::load: ") && Contains("JSON nested deeper than 128"));
    }
    SECTION("a cringe-ref request (in the options, which are copied)") {
        CHECK_THAT(json_limits::io_error_of([&] { (void)parse_json("{\"loss\":\"cringe\",\"options\":{\"k\":" + deep + "}}", "input"); }), Contains("input: JSON nested deeper than 128"));
    }
}

TEST_CASE("parse_json is fast for 200,000 members in one object or array", "[io][json][limits]") {
    // Before, parse_json took time quadratic in the members of one container (20,000 members with
    // object values: 2.8 s, so 200,000: about 5 minutes). Now O(n log n): about 0.5 s at -O1.
    // The time is printed, not asserted (machines differ); the values are.
    constexpr std::size_t n = 200000;
    SECTION("a safetensors header of 200,000 empty tensors") {
        TempDir dir;
        const std::string header = json_limits::many_empty_tensors(n);
        write_bytes(dir / "model.safetensors", json_limits::safetensors_with_header(header));
        const auto start = std::chrono::steady_clock::now();
        const auto tensors = cringe::io::read_safetensors_header(dir / "model.safetensors");
        WARN("read_safetensors_header, " << n << " tensors (" << header.size() << " bytes): " << json_limits::seconds_since(start) << " s");
        REQUIRE(tensors.size() == n);
        for (const auto& t : tensors) {
            CHECK(t.begin == 0);
            CHECK(t.end == 0);
        }
        // the same header with the first name repeated at the end
        std::string repeated = header;
        repeated.back() = ',';
        repeated += "\"t0\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}";
        write_bytes(dir / "model.safetensors", json_limits::safetensors_with_header(repeated));
        CHECK_THAT(json_limits::io_error_of([&] { (void)cringe::io::read_safetensors_header(dir / "model.safetensors"); }), Contains("header: key 't0' appears twice in one JSON object"));
    }
    SECTION("a loss request with 200,000 rows") {
        std::string logits, targets, labels;
        for (std::size_t b = 0; b < n; ++b) {
            const char* sep = b ? "," : "";
            logits += sep + std::string("[[0.5,") + std::to_string(b % 7) + "]]";
            targets += sep + std::string("[") + std::to_string(b % 2) + "]";
            labels += sep + std::to_string(static_cast<int>(b % 3) - 1);
        }
        const std::string text = R"({"loss":"cross_entropy","logits":[)" + logits + R"(],"targets":[)" + targets +
                                 R"(],"labels":[)" + labels + "]}";
        const auto start = std::chrono::steady_clock::now();
        const auto request = oracle::parse_loss_request(parse_json(text, "input"));
        WARN("parse_json + parse_loss_request, " << n << " rows (" << text.size() << " bytes): " << json_limits::seconds_since(start) << " s");
        REQUIRE(request.logits.shape()[0] == n);
        CHECK(request.logits(n - 1, 0, 1) == static_cast<double>((n - 1) % 7));
        CHECK(request.targets(n - 1, 0) == static_cast<std::int64_t>((n - 1) % 2));
        CHECK(request.labels[n - 1] == static_cast<int>((n - 1) % 3) - 1);
    }
    SECTION("an object of 200,000 members with object values") {
        std::string text = "{";
        for (std::size_t i = 0; i < n; ++i) text += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":{\"v\":" + std::to_string(i) + "}";
        text += "}";
        const auto start = std::chrono::steady_clock::now();
        const auto j = parse_json(text, "test");
        WARN("parse_json, object of " << n << " object members (" << text.size() << " bytes): " << json_limits::seconds_since(start) << " s");
        REQUIRE(j.size() == n);
        CHECK(j["k199999"]["v"] == 199999);
        CHECK(j["k12345"]["v"] == 12345);
    }
}

TEST_CASE("json_excerpt cuts long values for error messages", "[io][json]") {
    CHECK(cringe::io::json_excerpt(nlohmann::json{1, 2}) == "[1,2]");
    CHECK(cringe::io::json_excerpt(nlohmann::json(std::string(500, 'x')), 10) == "\"xxxxxxxxx...");
    CHECK(cringe::io::json_excerpt(nlohmann::json(std::string("\xff"))) == "\"\xEF\xBF\xBD\"");  // not UTF-8: replaced
}

TEST_CASE("read_stream_bounded reads a stream up to its limit and refuses more", "[io][json][limits]") {
    std::istringstream exact(std::string(1000, 'x'));
    CHECK(cringe::io::read_stream_bounded(exact, 1000, "stdin") == std::string(1000, 'x'));
    std::istringstream empty("");
    CHECK(cringe::io::read_stream_bounded(empty, 10, "stdin").empty());
    std::istringstream over(std::string(200000, 'x'));  // more than one chunk
    CHECK_THAT(json_limits::io_error_of([&] { (void)cringe::io::read_stream_bounded(over, 100000, "input: standard input"); }),
               Contains("input: standard input: more than 100000 bytes; expected at most 100000"));
    CHECK(over.tellg() <= 100001);  // stopped after max_bytes + 1 bytes
}
