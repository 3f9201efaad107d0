// Tests of cringe/io/safetensors.hpp: exact round trips, the byte layout of the reference
// implementation, and an IoError naming the file and the problem for every kind of corrupt file.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "cringe/io/safetensors.hpp"
#include "temp_dir.hpp"

using Catch::Matchers::Contains;
using cringe::IoError;
using cringe::Shape;
using cringe::Tensor;
using cringe::ValueError;
using cringe::io::DType;
using cringe::io::load_safetensors;
using cringe::io::read_safetensors_header;
using cringe::io::read_safetensors_metadata;
using cringe::io::save_safetensors;
using cringe_test::TempDir;
using cringe_test::write_bytes;

namespace {

/// A safetensors file from its parts: the length field is N = header.size() unless given.
std::string raw_file(std::string_view header, std::string_view buffer, std::uint64_t n) {
    std::string out(8, '\0');
    std::memcpy(out.data(), &n, 8);
    return out.append(header).append(buffer);
}
std::string raw_file(std::string_view header, std::string_view buffer = "") {
    return raw_file(header, buffer, header.size());
}

template <class T>
Tensor<T> random_tensor(const Shape& shape, std::mt19937& rng) {
    std::normal_distribution<double> normal(0.0, 3.0);
    std::vector<T> values(cringe::numel(shape));
    for (T& v : values) v = static_cast<T>(normal(rng));
    return cringe::from_values<T>(shape, values);
}

/// Same shape and the same bits in every element (so -0.0 and 0.0 differ).
template <class T>
bool identical(const Tensor<T>& a, const Tensor<T>& b) {
    return cringe::to_shape(a.shape()) == cringe::to_shape(b.shape()) &&
           (a.size() == 0 || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);  // empty: data() may be null
}

}  // namespace

TEST_CASE("safetensors round trips are exact in F32 and F64", "[io][safetensors]") {
    TempDir dir;
    std::mt19937 rng(7);
    const std::vector<Shape> shapes = {{3, 4}, {}, {0, 5}, {2, 3, 4}, {1}};

    SECTION("float as F32") {
        std::vector<std::pair<std::string, Tensor<float>>> tensors;
        for (std::size_t i = 0; i < shapes.size(); ++i) tensors.emplace_back(cringe::cat("t", i), random_tensor<float>(shapes[i], rng));
        tensors[0].second(0, 0) = -0.0f;
        tensors[0].second(0, 1) = std::numeric_limits<float>::denorm_min();
        tensors[0].second(0, 2) = std::numeric_limits<float>::max();
        save_safetensors(dir / "f.safetensors", tensors, DType::F32);
        const auto loaded = load_safetensors<float>(dir / "f.safetensors");
        REQUIRE(loaded.size() == tensors.size());
        for (const auto& [name, t] : tensors) CHECK(identical(t, loaded.at(name)));
    }
    SECTION("double as F64") {
        std::vector<std::pair<std::string, Tensor<double>>> tensors;
        for (std::size_t i = 0; i < shapes.size(); ++i) tensors.emplace_back(cringe::cat("t", i), random_tensor<double>(shapes[i], rng));
        tensors[0].second(0, 0) = std::numeric_limits<double>::denorm_min();
        save_safetensors(dir / "d.safetensors", tensors, DType::F64);
        const auto loaded = load_safetensors<double>(dir / "d.safetensors");
        for (const auto& [name, t] : tensors) CHECK(identical(t, loaded.at(name)));
    }
    SECTION("double as F32 rounds each value to float") {
        const Tensor<double> t = random_tensor<double>({5, 2}, rng);
        save_safetensors<double>(dir / "x.safetensors", {{"w", t}}, DType::F32);
        CHECK(identical(cringe::tensor_cast<float>(t), load_safetensors<float>(dir / "x.safetensors").at("w")));
        CHECK(identical(cringe::tensor_cast<double>(cringe::tensor_cast<float>(t)),
                        load_safetensors<double>(dir / "x.safetensors").at("w")));
    }
    SECTION("float as F64 loads back exactly as float") {
        const Tensor<float> t = random_tensor<float>({7}, rng);
        save_safetensors<float>(dir / "x.safetensors", {{"w", t}}, DType::F64);
        CHECK(identical(t, load_safetensors<float>(dir / "x.safetensors").at("w")));
    }
}

TEST_CASE("safetensors header lists tensors in the order saved, with metadata", "[io][safetensors]") {
    TempDir dir;
    const auto path = dir / "m.safetensors";
    std::vector<std::pair<std::string, Tensor<double>>> tensors = {
        {"z.last", cringe::zeros<double>({2, 3})}, {"a.first", cringe::zeros<double>({4})}, {"m", cringe::zeros<double>({})}};
    save_safetensors(path, tensors, DType::F32, {{"format", "pt"}, {"step", "12"}});

    const auto infos = read_safetensors_header(path);
    REQUIRE(infos.size() == 3);
    CHECK(infos[0].name == "z.last");
    CHECK(infos[0].dtype == DType::F32);
    CHECK(infos[0].shape == Shape{2, 3});
    CHECK((infos[0].begin == 0 && infos[0].end == 24));
    CHECK((infos[1].name == "a.first" && infos[1].begin == 24 && infos[1].end == 40));
    CHECK((infos[2].name == "m" && infos[2].shape.empty() && infos[2].begin == 40 && infos[2].end == 44));
    CHECK(read_safetensors_metadata(path) == std::map<std::string, std::string>{{"format", "pt"}, {"step", "12"}});

    // The data starts 8-byte aligned: the header is padded with spaces.
    const std::string bytes = cringe::io::read_file(path);
    std::uint64_t n = 0;
    std::memcpy(&n, bytes.data(), 8);
    CHECK(n % 8 == 0);
    CHECK(bytes.size() == 8 + n + 44);
}

TEST_CASE("safetensors bytes match the reference implementation's test vectors", "[io][safetensors]") {
    // huggingface/safetensors tensor.rs, test_serialization and test_serialization_forced_alignement:
    // F32 values 0..5; floats 0,1,2,3,4,5 are 00000000 0000803f 00000040 00004040 00008040 0000a040.
    TempDir dir;
    const std::string floats("\x00\x00\x00\x00\x00\x00\x80\x3f\x00\x00\x00\x40\x00\x00\x40\x40\x00\x00\x80\x40\x00\x00\xa0\x40", 24);
    const std::vector<float> values = {0, 1, 2, 3, 4, 5};

    SECTION("64-byte header, no padding needed") {
        save_safetensors<float>(dir / "a.safetensors", {{"attn.0", cringe::from_values<float>({1, 2, 3}, values)}}, DType::F32);
        const std::string header = R"({"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}})";
        REQUIRE(header.size() == 64);
        CHECK(cringe::io::read_file(dir / "a.safetensors") == std::string("\x40\0\0\0\0\0\0\0", 8) + header + floats);
    }
    SECTION("65-byte header padded with 7 spaces to 72") {
        save_safetensors<float>(dir / "a.safetensors", {{"attn0", cringe::from_values<float>({1, 1, 2, 3}, values)}}, DType::F32);
        const std::string header = R"({"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}})";
        CHECK(cringe::io::read_file(dir / "a.safetensors") == std::string("\x48\0\0\0\0\0\0\0", 8) + header + "       " + floats);
    }
    SECTION("F64 scalar with metadata: 84-byte header padded to 88") {
        save_safetensors<double>(dir / "a.safetensors", {{"w", cringe::scalar_tensor(-2.5)}}, DType::F64, {{"format", "pt"}});
        const std::string header = R"({"__metadata__":{"format":"pt"},"w":{"dtype":"F64","shape":[],"data_offsets":[0,8]}})";
        const std::string minus_2_5("\x00\x00\x00\x00\x00\x00\x04\xc0", 8);  // IEEE binary64, little-endian
        CHECK(cringe::io::read_file(dir / "a.safetensors") == std::string("\x58\0\0\0\0\0\0\0", 8) + header + "    " + minus_2_5);
    }
    SECTION("the reader accepts what the reference writer wrote") {
        write_bytes(dir / "r.safetensors",
                    raw_file(R"({"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       )", floats));
        CHECK(identical(cringe::from_values<float>({1, 1, 2, 3}, values), load_safetensors<float>(dir / "r.safetensors").at("attn0")));
    }
}

TEST_CASE("safetensors files without tensors", "[io][safetensors]") {
    TempDir dir;
    save_safetensors<float>(dir / "e.safetensors", {}, DType::F32);
    CHECK(cringe::io::read_file(dir / "e.safetensors") == std::string("\x08\0\0\0\0\0\0\0{}      ", 16));
    CHECK(load_safetensors<float>(dir / "e.safetensors").empty());
}

TEST_CASE("every corrupt safetensors file raises IoError naming the file and the problem", "[io][safetensors]") {
    struct Case {
        const char* what;
        std::string bytes;
        std::string phrase;
    };
    const std::string f32x1 = R"({"dtype":"F32","shape":[1],"data_offsets":[0,4]})";
    const std::string four(4, '\0');
    const std::vector<Case> cases = {
        {"empty file", "", "file is 0 bytes; a safetensors file starts with an 8-byte header length"},
        {"shorter than 8 bytes", "abc", "file is 3 bytes"},
        {"header length past the end", raw_file("{}", "", 1000), "header length 1000 runs past the end of the file (2 bytes"},
        {"absurd header length", raw_file("{}", "", 200'000'000), "header length 200000000 is over the 100000000-byte limit"},
        {"huge header length", raw_file("{}", "", ~std::uint64_t{0}), "is over the 100000000-byte limit"},
        {"not JSON", raw_file("{not json}"), "header: not valid JSON"},
        {"JSON followed by garbage", raw_file("{} x"), "not valid JSON"},
        {"padded with NULs instead of spaces", raw_file(std::string("{}\0\0\0\0\0\0", 8)), "not valid JSON"},
        {"not UTF-8", raw_file("{\"a\xff\":{}}"), "not valid JSON"},
        {"not an object", raw_file("[1, 2]  "), "header does not start with '{'"},
        {"leading space", raw_file(" {}"), "header does not start with '{'"},
        {"empty header", raw_file(""), "header does not start with '{'"},
        {"tensor listed twice", raw_file(R"({"a":)" + f32x1 + R"(,"a":)" + f32x1 + "}", four), "key 'a' appears twice"},
        {"entry not an object", raw_file(R"({"a":3})"), "tensor 'a' is 3; expected an object"},
        {"missing dtype", raw_file(R"({"a":{"shape":[1],"data_offsets":[0,4]}})", four), "tensor 'a' is missing 'dtype'"},
        {"missing shape", raw_file(R"({"a":{"dtype":"F32","data_offsets":[0,4]}})", four), "tensor 'a' is missing 'shape'"},
        {"missing data_offsets", raw_file(R"({"a":{"dtype":"F32","shape":[1]}})", four), "tensor 'a' is missing 'data_offsets'"},
        {"unknown key", raw_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"offsets":[0,4]}})", four),
         "tensor 'a' has unknown key 'offsets'"},
        {"dtype not a string", raw_file(R"({"a":{"dtype":32,"shape":[1],"data_offsets":[0,4]}})", four),
         "tensor 'a' has dtype 32; expected a string"},
        {"F16", raw_file(R"({"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})", four),
         "tensor 'a': dtype F16 is not supported; expected F32 or F64"},
        {"lower-case dtype", raw_file(R"({"a":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}})", four), "dtype f32 is not supported"},
        {"shape not an array", raw_file(R"({"a":{"dtype":"F32","shape":"1","data_offsets":[0,4]}})", four),
         "tensor 'a' has shape \"1\"; expected an array of non-negative integers"},
        {"negative dimension", raw_file(R"({"a":{"dtype":"F32","shape":[2,-1],"data_offsets":[0,4]}})", four),
         "tensor 'a' has shape [2,-1]: dimension 1 is -1; expected a non-negative integer"},
        {"fractional dimension", raw_file(R"({"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,4]}})", four), "dimension 0 is 2.5"},
        {"integral float dimension", raw_file(R"({"a":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}})", four), "dimension 0 is 1.0"},
        {"boolean dimension", raw_file(R"({"a":{"dtype":"F32","shape":[true],"data_offsets":[0,4]}})", four), "dimension 0 is true"},
        {"dimension beyond u64", raw_file(R"({"a":{"dtype":"F32","shape":[99999999999999999999],"data_offsets":[0,4]}})", four),
         "dimension 0 is"},
        {"element count overflows", raw_file(R"({"a":{"dtype":"F32","shape":[4611686018427387904,8],"data_offsets":[0,0]}})"),
         "too many elements"},
        {"data_offsets of one number", raw_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", four),
         "tensor 'a' has data_offsets [0]; expected [begin, end]"},
        {"data_offsets of three", raw_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}})", four), "expected [begin, end]"},
        {"negative data_offsets", raw_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})", four), "expected [begin, end]"},
        {"data_offsets an object", raw_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":{"0":4}}})", four), "expected [begin, end]"},
        {"begin after end", raw_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", four),
         "tensor 'a' has data_offsets [8,4] with begin > end"},
        {"size does not match shape",
         raw_file(R"({"transformer.wte.weight":{"dtype":"F32","shape":[4,8],"data_offsets":[0,100]}})", std::string(100, '\0')),
         "tensor 'transformer.wte.weight' has data_offsets [0,100] but shape [4,8] F32 needs 128 bytes"},
        {"F64 size", raw_file(R"({"a":{"dtype":"F64","shape":[1],"data_offsets":[0,4]}})", four), "shape [1] F64 needs 8 bytes"},
        {"offsets past the buffer", raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", four),
         "tensor 'a' has data_offsets [0,8] past the end of the 4-byte buffer"},
        {"overlap",
         raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                  std::string(12, '\0')),
         "tensor 'b' data_offsets [4,12] overlap tensor 'a' [0,8]"},
        {"two tensors on the same bytes",
         raw_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", four),
         "tensor 'b' data_offsets [0,4] overlap tensor 'a' [0,4]"},
        {"empty tensor inside another",
         raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}})",
                  std::string(8, '\0')),
         "tensor 'b' data_offsets [4,4] overlap tensor 'a'"},
        {"hole between tensors",
         raw_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                  std::string(12, '\0')),
         "bytes [4,8) of the buffer belong to no tensor (hole before tensor 'b')"},
        {"hole at the start", raw_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", std::string(8, '\0')),
         "bytes [0,4) of the buffer belong to no tensor"},
        {"trailing bytes", raw_file(R"({"a":)" + f32x1 + "}", std::string(10, '\0')),
         "6 trailing bytes after the last tensor (buffer is 10 bytes, tensors cover 4)"},
        {"buffer but no tensors", raw_file("{}", "abc"), "3 trailing bytes"},
        {"metadata not an object", raw_file(R"({"__metadata__":[1]})"), "__metadata__ is [1]; expected an object of strings"},
        {"metadata value not a string", raw_file(R"({"__metadata__":{"step":12}})"), "__metadata__ key 'step' is 12; expected a string"},
    };

    TempDir dir;
    const auto path = dir / "model.safetensors";
    for (const Case& c : cases) {
        INFO(c.what);
        write_bytes(path, c.bytes);
        CHECK_THROWS_AS(load_safetensors<float>(path), IoError);
        CHECK_THROWS_WITH(load_safetensors<double>(path), Contains("load_safetensors: " + path.string() + ": ") && Contains(c.phrase));
        // The header-only reader finds the same problem without reading the buffer.
        CHECK_THROWS_WITH(read_safetensors_header(path), Contains("read_safetensors_header: " + path.string()) && Contains(c.phrase));
    }
}

TEST_CASE("a safetensors file truncated in any section raises IoError", "[io][safetensors]") {
    TempDir dir;
    const auto good = dir / "good.safetensors";
    save_safetensors<float>(good, {{"a", cringe::full<float>({3, 2}, 1.5f)}, {"b", cringe::full<float>({4}, -1.0f)}}, DType::F32,
                            {{"format", "pt"}});
    const std::string bytes = cringe::io::read_file(good);
    std::uint64_t n = 0;
    std::memcpy(&n, bytes.data(), 8);
    REQUIRE(bytes.size() == 8 + n + 40);

    const auto path = dir / "cut.safetensors";
    for (std::size_t cut : {std::size_t{0}, std::size_t{5}, std::size_t{7}, std::size_t{8}, std::size_t(8 + n / 2),
                            std::size_t(8 + n - 1), std::size_t(8 + n), std::size_t(8 + n + 1), std::size_t(8 + n + 24),
                            bytes.size() - 1}) {
        INFO("truncated to " << cut << " of " << bytes.size() << " bytes");
        write_bytes(path, bytes.substr(0, cut));
        const std::string phrase = cut < 8       ? "a safetensors file starts with an 8-byte header length"
                                   : cut < 8 + n ? "runs past the end of the file"
                                                 : "truncated file?";
        CHECK_THROWS_WITH(load_safetensors<float>(path), Contains(path.string()) && Contains(phrase));
    }
    write_bytes(path, bytes + "x");
    CHECK_THROWS_WITH(load_safetensors<float>(path), Contains(path.string()) && Contains("1 trailing bytes"));
}

TEST_CASE("load_safetensors refuses NaN, infinity and F64 values too large for float", "[io][safetensors]") {
    TempDir dir;
    const auto path = dir / "nan.safetensors";
    const float nan = std::numeric_limits<float>::quiet_NaN();
    save_safetensors<float>(path, {{"ok", cringe::full<float>({2}, 1.0f)}, {"h.0.attn", cringe::from_values<float>({3}, {1, nan, 2})}},
                            DType::F32);
    CHECK_THROWS_AS(load_safetensors<float>(path), IoError);
    CHECK_THROWS_WITH(load_safetensors<float>(path),
                      Contains(path.string()) && Contains("tensor 'h.0.attn' element 1 is nan") && Contains("allow_non_finite"));
    const auto loaded = load_safetensors<float>(path, /*allow_non_finite=*/true);
    CHECK(std::isnan(loaded.at("h.0.attn")(1)));

    save_safetensors<double>(path, {{"w", cringe::from_values<double>({2}, {-std::numeric_limits<double>::infinity(), 0})}}, DType::F64);
    CHECK_THROWS_WITH(load_safetensors<double>(path), Contains("tensor 'w' element 0 is -inf"));
    CHECK(std::isinf(load_safetensors<float>(path, true).at("w")(0)));

    save_safetensors<double>(path, {{"w", cringe::from_values<double>({2}, {1.0, 1e300})}}, DType::F64);
    CHECK(load_safetensors<double>(path).at("w")(1) == 1e300);
    CHECK_THROWS_WITH(load_safetensors<float>(path), Contains(path.string()) && Contains("tensor 'w' element 1 is 1e+300, too large for float"));
}

TEST_CASE("save_safetensors rejects bad input and keeps the previous file", "[io][safetensors]") {
    TempDir dir;
    const auto path = dir / "keep.safetensors";
    save_safetensors<float>(path, {{"a", cringe::full<float>({2}, 3.0f)}}, DType::F32);
    const std::string before = cringe::io::read_file(path);

    const auto t = cringe::full<float>({1}, 0.0f);
    CHECK_THROWS_AS(save_safetensors<float>(path, {{"a", t}, {"b", t}, {"a", t}}, DType::F32), ValueError);
    CHECK_THROWS_WITH(save_safetensors<float>(path, {{"a", t}, {"b", t}, {"a", t}}, DType::F32),
                      Contains(path.string()) && Contains("tensor name 'a' appears twice"));
    CHECK_THROWS_WITH(save_safetensors<float>(path, {{"__metadata__", t}}, DType::F32), Contains("'__metadata__' is reserved"));
    CHECK_THROWS_WITH(save_safetensors<float>(path, {{"bad\xff", t}}, DType::F32), Contains("not valid UTF-8"));
    CHECK_THROWS_WITH(save_safetensors<float>(path, {{"a", t}}, DType::F32, {{"k", "\xfe"}}), Contains("not valid UTF-8"));
    CHECK_THROWS_WITH(save_safetensors<double>(path, {{"big", cringe::full<double>({2}, -1e39)}}, DType::F32),
                      Contains("tensor 'big' element 0 is -1e+39, too large for F32"));
    CHECK(cringe::io::read_file(path) == before);
    CHECK(dir.entries() == std::vector<std::string>{"keep.safetensors"});

    // The largest float itself is fine, and NaN is written as is (load decides about it).
    save_safetensors<double>(path, {{"m", cringe::full<double>({1}, std::numeric_limits<float>::max())}}, DType::F32);
    CHECK(load_safetensors<float>(path).at("m")(0) == std::numeric_limits<float>::max());

    CHECK_THROWS_AS(save_safetensors<float>(dir / "no" / "such.safetensors", {{"a", t}}, DType::F32), IoError);
}

TEST_CASE("loading a missing file or a directory names the path", "[io][safetensors]") {
    TempDir dir;
    CHECK_THROWS_WITH(load_safetensors<float>(dir / "absent.safetensors"),
                      Contains("load_safetensors: " + (dir / "absent.safetensors").string()) && Contains("No such file"));
    CHECK_THROWS_WITH(read_safetensors_header(dir.path()), Contains("read_safetensors_header") && Contains("is a directory"));
}

TEST_CASE("randomly corrupted safetensors files load or raise IoError, nothing else", "[io][safetensors]") {
    // Run under ASan/UBSan this also shows the reader never reads out of bounds on any of them.
    TempDir dir;
    const auto path = dir / "fuzz.safetensors";
    save_safetensors<float>(path, {{"wte", cringe::full<float>({4, 2}, 0.5f)}, {"ln.b", cringe::full<float>({2}, 0.0f)}},
                            DType::F32, {{"format", "pt"}});
    const std::string good = cringe::io::read_file(path);
    std::mt19937 rng(2024);
    int loaded = 0, rejected = 0;
    for (int trial = 0; trial < 3000; ++trial) {
        std::string bytes = good;
        const int edits = 1 + static_cast<int>(rng() % 3);
        for (int e = 0; e < edits; ++e) {
            const std::size_t at = rng() % bytes.size();
            switch (rng() % 4) {
                case 0: bytes[at] = static_cast<char>(rng()); break;                    // any byte
                case 1: bytes[at] = "{}[],:\"0123456789- \\e."[rng() % 22]; break;       // a JSON byte
                case 2: bytes.resize(at); break;                                          // truncate
                case 3: bytes.insert(at, 1, static_cast<char>(rng())); break;            // insert
            }
            // push_back, not = "x": GCC 12 at -O3 raises a false -Wrestrict inside std::string::assign
            if (bytes.empty()) bytes.push_back('x');
        }
        write_bytes(path, bytes);
        try {
            load_safetensors<double>(path);
            ++loaded;
        } catch (const IoError& e) {
            REQUIRE_THAT(e.what(), Contains(path.string()));
            ++rejected;
        }
    }
    CHECK(loaded > 0);
    CHECK(rejected > 0);
}
