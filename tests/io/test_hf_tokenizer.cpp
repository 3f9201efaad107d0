// Tests of cringe/io/hf_tokenizer.hpp: a WordTokenizer written as a Hugging Face tokenizer.json
// reads back with the same ids, a tokenizer.json written in the `tokenizers` library's own layout
// reads correctly, and every file WordTokenizer could not reproduce raises IoError naming the key.
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "cringe/io/hf_tokenizer.hpp"
#include "temp_dir.hpp"

using Catch::Matchers::Contains;
using cringe::IoError;
using cringe::ValueError;
using cringe::data::WordTokenizer;
using cringe_test::TempDir;
using cringe_test::write_bytes;
namespace io = cringe::io;

namespace {
namespace hf_tokenizer_test {

using Ids = cringe::Tokens;

std::vector<std::string> vocabulary(const WordTokenizer& t) {
    std::vector<std::string> words;
    for (std::size_t i = 0; i < t.size(); ++i) words.push_back(t.word(static_cast<std::int64_t>(i)));
    return words;
}

const std::filesystem::path kFixtureDir = std::filesystem::path(CRINGE_SOURCE_DIR) / "tests" / "reference" / "hf_tokenizer";

}  // namespace hf_tokenizer_test
}  // namespace

TEST_CASE("save_hf_tokenizer / load_hf_tokenizer round trip: same vocabulary, same ids", "[io][hf_tokenizer]") {
    using namespace hf_tokenizer_test;
    const std::vector<std::string> texts = {"the cat sat on the mat", "héllo wörld 你好 héllo", "x\x01y z the", "a dog. <sep> b"};
    const WordTokenizer t = WordTokenizer::build(texts);
    TempDir dir;
    io::save_hf_tokenizer(t, dir.path(), 32);
    std::vector<std::string> files = dir.entries();
    std::sort(files.begin(), files.end());
    CHECK(files == std::vector<std::string>{"special_tokens_map.json", "tokenizer.json", "tokenizer_config.json"});

    const WordTokenizer back = io::load_hf_tokenizer(dir.path());  // the directory or the file itself
    CHECK(vocabulary(back) == vocabulary(t));
    CHECK(vocabulary(io::load_hf_tokenizer(dir / "tokenizer.json")) == vocabulary(t));
    for (const std::string text : {"the cat sat on the mat", "  héllo\t你好\nnope  ", "<bos> a dog. <sep> x\x01y <eos> <pad>", ""}) {
        INFO(text);
        CHECK(back.encode(text) == t.encode(text));
        CHECK(back.decode(back.encode(text)) == t.decode(t.encode(text)));
    }
    CHECK(back.encode("the zebra") == Ids{5, 4});

    // Only the special tokens: the smallest tokenizer round trips too.
    io::save_hf_tokenizer(WordTokenizer(), dir.path());
    CHECK(io::load_hf_tokenizer(dir.path()).size() == 5);
}

TEST_CASE("save_hf_tokenizer writes what transformers' AutoTokenizer reads", "[io][hf_tokenizer]") {
    using namespace hf_tokenizer_test;
    const WordTokenizer t = WordTokenizer::build({"b a a"});  // a = 5, b = 6
    TempDir dir;
    io::save_hf_tokenizer(t, dir.path(), 16);

    const nlohmann::json j = nlohmann::json::parse(cringe::io::read_file(dir / "tokenizer.json"));
    CHECK(j.at("version") == "1.0");
    for (const char* key : {"truncation", "padding", "normalizer", "post_processor", "decoder"}) CHECK(j.at(key).is_null());
    CHECK(j.at("pre_tokenizer") == nlohmann::json{{"type", "WhitespaceSplit"}});
    CHECK(j.at("model") == nlohmann::json::parse(R"({"type": "WordLevel", "unk_token": "<unk>",
        "vocab": {"<pad>": 0, "<bos>": 1, "<eos>": 2, "<sep>": 3, "<unk>": 4, "a": 5, "b": 6}})"));
    REQUIRE(j.at("added_tokens").size() == 5);
    CHECK(j.at("added_tokens")[2] == nlohmann::json::parse(R"({"id": 2, "content": "<eos>", "single_word": true, "lstrip": false,
        "rstrip": false, "normalized": false, "special": true})"));
    for (std::size_t id = 0; id < 5; ++id) {
        CHECK(j.at("added_tokens")[id].at("id") == id);
        CHECK(j.at("added_tokens")[id].at("content") == t.word(static_cast<std::int64_t>(id)));
    }

    const nlohmann::json config = nlohmann::json::parse(cringe::io::read_file(dir / "tokenizer_config.json"));
    CHECK(config.at("tokenizer_class") == "PreTrainedTokenizerFast");
    CHECK(config.at("model_max_length") == 16);
    CHECK(config.at("clean_up_tokenization_spaces") == false);
    CHECK(config.at("added_tokens_decoder").at("4").at("content") == "<unk>");
    const nlohmann::json roles = nlohmann::json::parse(
        R"({"pad_token": "<pad>", "bos_token": "<bos>", "eos_token": "<eos>", "sep_token": "<sep>", "unk_token": "<unk>"})");
    for (const auto& [role, token] : roles.items()) CHECK(config.at(role) == token);
    CHECK(nlohmann::json::parse(cringe::io::read_file(dir / "special_tokens_map.json")) == roles);

    io::save_hf_tokenizer(t, dir.path());
    CHECK_FALSE(nlohmann::json::parse(cringe::io::read_file(dir / "tokenizer_config.json")).contains("model_max_length"));
}

TEST_CASE("a tokenizer.json in the tokenizers library's own layout reads correctly", "[io][hf_tokenizer]") {
    using namespace hf_tokenizer_test;
    // tests/reference/hf_tokenizer/tokenizer.json is written by hand the way `tokenizers` saves a
    // WordLevel model (single_word false, only some special tokens added); encodings.json holds
    // hand-computed ids, which tests/reference/check_hf_load.py also checks against transformers.
    const WordTokenizer t = io::load_hf_tokenizer(kFixtureDir / "tokenizer.json");
    CHECK(vocabulary(t) == std::vector<std::string>{"<pad>", "<bos>", "<eos>", "<sep>", "<unk>", "the", "cat", "sat", "on", "mat",
                                                     "héllo", "你好", "dog."});
    const nlohmann::json expected = nlohmann::json::parse(cringe::io::read_file(kFixtureDir / "encodings.json"));
    REQUIRE(expected.at("texts").size() == 5);
    for (std::size_t i = 0; i < expected.at("texts").size(); ++i) {
        const std::string text = expected.at("texts")[i].get<std::string>();
        INFO(text);
        CHECK(t.encode(text) == expected.at("ids")[i].get<Ids>());
    }
    CHECK(t.encode("the cat sat on the mat") == Ids{5, 6, 7, 8, 5, 9});  // the first case, restated
}

TEST_CASE("save_hf_tokenizer output matches the committed files that tokenizers.js loaded", "[io][hf_tokenizer]") {
    using namespace hf_tokenizer_test;
    // tests/reference/hf_tokenizer_saved/ was written by save_hf_tokenizer from these texts and then
    // loaded by the Hugging Face tokenizers.js library, which gave `saved_ids` (docs/transformer.md,
    // "Moving to PyTorch"). A change to the format shows up here first.
    const WordTokenizer t = WordTokenizer::build({"the cat sat on the mat", "héllo 你好 dog."});
    TempDir dir;
    io::save_hf_tokenizer(t, dir.path(), 16);
    const std::filesystem::path saved = kFixtureDir.parent_path() / "hf_tokenizer_saved";
    for (const char* name : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"}) {
        INFO(name);
        CHECK(cringe::io::read_file(dir / name) == cringe::io::read_file(saved / name));
    }
    const nlohmann::json expected = nlohmann::json::parse(cringe::io::read_file(kFixtureDir / "encodings.json"));
    const WordTokenizer back = io::load_hf_tokenizer(saved);
    for (std::size_t i = 0; i < expected.at("texts").size(); ++i) {
        const std::string text = expected.at("texts")[i].get<std::string>();
        INFO(text);
        CHECK(t.encode(text) == expected.at("saved_ids")[i].get<Ids>());
        CHECK(back.encode(text) == expected.at("saved_ids")[i].get<Ids>());
    }
}

TEST_CASE("every tokenizer.json WordTokenizer cannot reproduce raises IoError naming the key", "[io][hf_tokenizer]") {
    using namespace hf_tokenizer_test;
    struct Case {
        const char* what;
        std::string text;
        std::string phrase;
    };
    const std::string specials = R"("<pad>": 0, "<bos>": 1, "<eos>": 2, "<sep>": 3, "<unk>": 4)";
    const std::string model = R"({"type": "WordLevel", "unk_token": "<unk>", "vocab": {)" + specials + R"(, "a": 5}})";
    const std::string split = R"("pre_tokenizer": {"type": "WhitespaceSplit"})";
    const auto file = [&](const std::string& extra) { return "{" + split + R"(, "model": )" + model + extra + "}"; };
    const auto with_vocab = [&](const std::string& vocab) {
        return "{" + split + R"(, "model": {"type": "WordLevel", "unk_token": "<unk>", "vocab": {)" + vocab + "}}}";
    };
    const std::vector<Case> cases = {
        {"not JSON", "{\"model\":", "not valid JSON"},
        {"not an object", "[]", "expected a JSON object, got array"},
        {"other version", file(R"(, "version": "2.0")"), "key 'version' is \"2.0\"; expected \"1.0\""},
        {"truncation", file(R"(, "truncation": {"max_length": 4})"), "key 'truncation' is {\"max_length\":4}; expected null"},
        {"padding", file(R"(, "padding": {"strategy": "BatchLongest"})"), "key 'padding' is"},
        {"normalizer", file(R"(, "normalizer": {"type": "Lowercase"})"), "key 'normalizer' is {\"type\":\"Lowercase\"}; expected null"},
        {"post_processor", file(R"(, "post_processor": {"type": "TemplateProcessing"})"), "key 'post_processor' is"},
        {"decoder", file(R"(, "decoder": {"type": "WordPiece"})"), "key 'decoder' is {\"type\":\"WordPiece\"}; expected null"},
        {"no pre_tokenizer", R"({"model": )" + model + "}", "key 'pre_tokenizer' is null; expected {\"type\":\"WhitespaceSplit\"}"},
        {"Whitespace splits punctuation", R"({"pre_tokenizer": {"type": "Whitespace"}, "model": )" + model + "}",
         "key 'pre_tokenizer' is {\"type\":\"Whitespace\"}; expected {\"type\":\"WhitespaceSplit\"}"},
        {"no model", "{" + split + "}", "key 'model' is null; expected an object"},
        {"BPE model", "{" + split + R"(, "model": {"type": "BPE"}})", "key 'model.type' is \"BPE\"; expected \"WordLevel\""},
        {"other unk", "{" + split + R"(, "model": {"type": "WordLevel", "unk_token": "[UNK]", "vocab": {}}})",
         "key 'model.unk_token' is \"[UNK]\"; expected \"<unk>\""},
        {"vocab not an object", "{" + split + R"(, "model": {"type": "WordLevel", "unk_token": "<unk>", "vocab": []}})",
         "key 'model.vocab' is []; expected an object token -> id"},
        {"id not an integer", with_vocab(specials + R"(, "a": "5")"), "key 'model.vocab' maps \"a\" to \"5\"; expected an id 0 <= id < 6"},
        {"negative id", with_vocab(specials + R"(, "a": -1)"), "maps \"a\" to -1; expected an id 0 <= id < 6"},
        {"id past the end (a gap)", with_vocab(specials + R"(, "a": 6)"), "maps \"a\" to 6; expected an id 0 <= id < 6"},
        {"id twice", with_vocab(specials + R"(, "a": 5, "b": 5)"), "maps both \"a\" and \"b\" to id 5; expected each id once"},
        {"token twice", with_vocab(specials + R"(, "a": 5, "a": 6)"), "key 'a' appears twice"},
        {"specials reordered", with_vocab(R"("<bos>": 0, "<pad>": 1, "<eos>": 2, "<sep>": 3, "<unk>": 4)"),
         "key 'model.vocab': id 0 is \"<bos>\"; expected \"<pad>\" (cringe's special tokens have the fixed ids 0-4)"},
        {"specials missing", with_vocab(R"("<pad>": 0, "<bos>": 1, "<eos>": 2)"), "key 'model.vocab': id 3 is absent; expected \"<sep>\""},
        {"token with a space", with_vocab(specials + R"(, "a b": 5)"),
         "key 'model.vocab': WordTokenizer::from_words: words[0] (id 5) is \"a b\"; expected one non-empty word without whitespace"},
        {"empty token", with_vocab(specials + R"(, "": 5)"), "words[0] (id 5) is \"\"; expected one non-empty word"},
        {"added_tokens not an array", file(R"(, "added_tokens": {})"), "key 'added_tokens' is {}; expected an array"},
        {"added token without id", file(R"(, "added_tokens": [{"content": "<pad>"}])"),
         "key 'added_tokens[0]' is {\"content\":\"<pad>\"}; expected an object with an integer 'id' and a string 'content'"},
        {"added token not special", file(R"(, "added_tokens": [{"id": 5, "content": "a"}])"),
         "key 'added_tokens[0]' is {\"content\":\"a\",\"id\":5}; expected one of cringe's special tokens under its id"},
        {"added token under another id", file(R"(, "added_tokens": [{"id": 0, "content": "<pad>"}, {"id": 1, "content": "<eos>"}])"),
         "key 'added_tokens[1]' is"},
    };

    TempDir dir;
    const auto path = dir / "tokenizer.json";
    for (const Case& c : cases) {
        INFO(c.what << ": " << c.text);
        write_bytes(path, c.text);
        CHECK_THROWS_AS(io::load_hf_tokenizer(path), IoError);
        CHECK_THROWS_WITH(io::load_hf_tokenizer(path), Contains("load_hf_tokenizer: " + path.string() + ": ") && Contains(c.phrase));
    }
    // A directory without a tokenizer.json names the file it looked for.
    TempDir empty;
    CHECK_THROWS_WITH(io::load_hf_tokenizer(empty.path()),
                      Contains("load_hf_tokenizer: " + (empty / "tokenizer.json").string()) && Contains("No such file"));
}

TEST_CASE("save_hf_tokenizer errors: a word that is not UTF-8, an unwritable directory", "[io][hf_tokenizer]") {
    using namespace hf_tokenizer_test;
    TempDir dir;
    CHECK_THROWS_WITH(io::save_hf_tokenizer(WordTokenizer::build({"caf\xe9"}), dir / "model"),
                      Contains("save_hf_tokenizer: " + (dir / "model" / "tokenizer.json").string()) && Contains("cannot encode as JSON"));
    CHECK(dir.entries() == std::vector<std::string>{"model"});  // created, but nothing written in it
    CHECK(std::filesystem::is_empty(dir / "model"));
    write_bytes(dir / "file", "x");
    CHECK_THROWS_AS(io::save_hf_tokenizer(WordTokenizer(), dir / "file" / "model"), IoError);
    CHECK_THROWS_WITH(io::save_hf_tokenizer(WordTokenizer(), dir / "file" / "model"),
                      Contains("save_hf_tokenizer: cannot create directory " + (dir / "file" / "model").string()));
}

TEST_CASE("WordTokenizer::from_words validates like load", "[data][tokenizer][hf_tokenizer]") {
    using namespace hf_tokenizer_test;
    CHECK(vocabulary(WordTokenizer::from_words({"b", "a"})) == std::vector<std::string>{"<pad>", "<bos>", "<eos>", "<sep>", "<unk>", "b", "a"});
    CHECK(WordTokenizer::from_words({}).size() == 5);
    CHECK_THROWS_AS(WordTokenizer::from_words({"a", "a"}), ValueError);
    CHECK_THROWS_WITH(WordTokenizer::from_words({"a", "b", "a"}),
                      Contains("WordTokenizer::from_words: words[2] (id 7) is \"a\", the same word as words[0]"));
    CHECK_THROWS_WITH(WordTokenizer::from_words({"<eos>"}), Contains("words[0] (id 5) is \"<eos>\", a special token"));
    CHECK_THROWS_WITH(WordTokenizer::from_words({"a\tb"}), Contains("expected one non-empty word without whitespace"));
    // A word that is not UTF-8 is fine in memory; its error message still prints.
    CHECK_THROWS_WITH(WordTokenizer::from_words({"caf\xe9 x"}), Contains("words[0] (id 5) is \"caf"));
}
