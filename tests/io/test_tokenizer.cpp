// Tests of cringe/data/tokenizer.hpp: deterministic vocabularies, encode/decode, and files that
// round trip or raise IoError naming the file and the problem.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "cringe/data/tokenizer.hpp"
#include "temp_dir.hpp"

using Catch::Matchers::Contains;
using cringe::IoError;
using cringe::ValueError;
using cringe::data::WordTokenizer;
using cringe_test::TempDir;
using cringe_test::write_bytes;
using Ids = cringe::Tokens;

namespace {

const std::vector<std::string> kTexts = {
    "the cat sat on the mat",
    "the dog sat",
    "a cat and a dog",
};
// Counts: the 3, a 2, cat 2, dog 2, sat 2, and 1, mat 1, on 1.

std::vector<std::string> vocabulary(const WordTokenizer& t) {
    std::vector<std::string> words;
    for (std::size_t i = 0; i < t.size(); ++i) words.push_back(t.word(static_cast<std::int64_t>(i)));
    return words;
}

}  // namespace

TEST_CASE("WordTokenizer::build orders words by count, ties in byte order", "[data][tokenizer]") {
    const WordTokenizer t = WordTokenizer::build(kTexts);
    CHECK(vocabulary(t) == std::vector<std::string>{"<pad>", "<bos>", "<eos>", "<sep>", "<unk>", "the", "a", "cat", "dog", "sat",
                                                     "and", "mat", "on"});
    CHECK((t.pad_id() == 0 && t.bos_id() == 1 && t.eos_id() == 2 && t.sep_id() == 3 && t.unk_id() == 4));

    // The order of the texts does not matter.
    std::vector<std::string> reversed(kTexts.rbegin(), kTexts.rend());
    CHECK(vocabulary(WordTokenizer::build(reversed)) == vocabulary(t));
}

TEST_CASE("WordTokenizer::build min_count and max_size", "[data][tokenizer]") {
    CHECK(vocabulary(WordTokenizer::build(kTexts, 2)) ==
          std::vector<std::string>{"<pad>", "<bos>", "<eos>", "<sep>", "<unk>", "the", "a", "cat", "dog", "sat"});
    CHECK(vocabulary(WordTokenizer::build(kTexts, 1, 7)) == std::vector<std::string>{"<pad>", "<bos>", "<eos>", "<sep>", "<unk>", "the", "a"});
    CHECK(WordTokenizer::build(kTexts, 1, 5).size() == 5);
    CHECK(WordTokenizer::build(kTexts, 1, 1000).size() == 13);
    CHECK(WordTokenizer::build(kTexts, 4).size() == 5);
    CHECK(WordTokenizer::build({}).size() == 5);
    CHECK(WordTokenizer().size() == 5);
    CHECK_THROWS_AS(WordTokenizer::build(kTexts, 1, 4), ValueError);
    CHECK_THROWS_WITH(WordTokenizer::build(kTexts, 1, 3), Contains("max_size is 3; expected 0 (no limit) or >= 5"));
}

TEST_CASE("WordTokenizer encode and decode", "[data][tokenizer]") {
    const WordTokenizer t = WordTokenizer::build(kTexts);
    CHECK(t.encode("the cat sat") == Ids{5, 7, 9});
    CHECK(t.encode("  the\tcat\n\nsat \r\n") == Ids{5, 7, 9});  // any ASCII whitespace separates
    CHECK(t.encode("the zebra") == Ids{5, 4});
    CHECK(t.encode("The") == Ids{4});  // no case folding
    CHECK(t.encode("").empty());
    CHECK(t.encode(" \t ").empty());
    CHECK(t.encode("a <sep> dog <eos>") == Ids{6, 3, 8, 2});  // special spellings are the special ids
    CHECK(t.encode_with("the cat", true, true) == Ids{1, 5, 7, 2});
    CHECK(t.encode_with("the cat", false, true) == Ids{5, 7, 2});

    CHECK(t.decode(Ids{1, 5, 7, 3, 8, 2, 0, 0}) == "the cat dog");
    CHECK(t.decode(Ids{1, 5, 7, 3, 8, 2, 0}, false) == "<bos> the cat <sep> dog <eos> <pad>");
    CHECK(t.decode(Ids{5, 4, 9}) == "the <unk> sat");  // <unk> stands for a word: kept
    CHECK(t.decode(Ids{}).empty());
    CHECK(t.decode(t.encode("  a   dog sat  ")) == "a dog sat");

    CHECK_THROWS_AS(t.decode(Ids{5, 13}), ValueError);
    CHECK_THROWS_WITH(t.decode(Ids{5, 13}), Contains("id 13 at position 1 is out of range; expected 0 <= id < 13"));
    CHECK_THROWS_WITH(t.decode(Ids{-1}), Contains("id -1 at position 0"));
}

TEST_CASE("WordTokenizer id, word, contains", "[data][tokenizer]") {
    const WordTokenizer t = WordTokenizer::build(kTexts);
    CHECK(t.id("cat") == 7);
    CHECK(t.id("zebra") == t.unk_id());
    CHECK(t.id("<sep>") == 3);
    CHECK(t.contains("cat"));
    CHECK_FALSE(t.contains("zebra"));
    CHECK(t.word(12) == "on");
    CHECK(t.word(0) == "<pad>");
    CHECK_THROWS_AS(t.word(13), ValueError);
    CHECK_THROWS_WITH(t.word(-3), Contains("WordTokenizer::word: id -3 is out of range; expected 0 <= id < 13"));
}

TEST_CASE("WordTokenizer save and load round trip", "[data][tokenizer]") {
    TempDir dir;
    const auto path = dir / "tokenizer.json";
    const std::vector<std::string> texts = {"héllo wörld 你好 héllo", "x\x01y z"};  // UTF-8 and a control byte are fine
    const WordTokenizer t = WordTokenizer::build(texts);
    t.save(path);
    CHECK(dir.entries() == std::vector<std::string>{"tokenizer.json"});

    const nlohmann::json j = nlohmann::json::parse(cringe::io::read_file(path));
    CHECK(j.at("type") == "word");
    CHECK(j.at("special") == nlohmann::json::array({"<pad>", "<bos>", "<eos>", "<sep>", "<unk>"}));
    CHECK(j.at("words") == nlohmann::json::array({"héllo", "wörld", "x\x01y", "z", "你好"}));

    const WordTokenizer back = WordTokenizer::load(path);
    CHECK(vocabulary(back) == vocabulary(t));
    CHECK(back.encode("héllo 你好 nope") == t.encode("héllo 你好 nope"));

    WordTokenizer().save(path);
    CHECK(WordTokenizer::load(path).size() == 5);
}

TEST_CASE("WordTokenizer::save of words that are not UTF-8 raises IoError and writes nothing", "[data][tokenizer]") {
    TempDir dir;
    const auto path = dir / "tokenizer.json";
    CHECK_THROWS_WITH(WordTokenizer::build({"caf\xe9"}).save(path),
                      Contains("WordTokenizer::save: " + path.string()) && Contains("cannot encode as JSON"));
    CHECK(dir.entries().empty());
}

TEST_CASE("every malformed tokenizer file raises IoError naming the file and the problem", "[data][tokenizer]") {
    struct Case {
        const char* what;
        std::string text;
        std::string phrase;
    };
    const std::string special = R"("special":["<pad>","<bos>","<eos>","<sep>","<unk>"])";
    const auto file = [&](const std::string& words) { return R"({"type":"word",)" + special + R"(,"words":)" + words + "}"; };
    const std::vector<Case> cases = {
        {"empty file", "", "not valid JSON"},
        {"not JSON", "{\"type\":", "not valid JSON"},
        {"not an object", "[]", "expected a JSON object, got array"},
        {"missing type", "{" + special + R"(,"words":[]})", "key 'type' is null; expected \"word\""},
        {"other type", R"({"type":"bpe",)" + special + R"(,"words":[]})", "key 'type' is \"bpe\"; expected \"word\""},
        {"missing special", R"({"type":"word","words":[]})", "key 'special' is null; expected [\"<pad>\""},
        {"special reordered", R"({"type":"word","special":["<bos>","<pad>","<eos>","<sep>","<unk>"],"words":[]})",
         "(ids 0-4 are fixed)"},
        {"special short", R"({"type":"word","special":["<pad>"],"words":[]})", "key 'special' is [\"<pad>\"]"},
        {"missing words", R"({"type":"word",)" + special + "}", "key 'words' is null; expected an array of strings"},
        {"words not an array", file(R"("a b")"), "key 'words' is \"a b\"; expected an array of strings"},
        {"word not a string", file(R"(["a",7])"), "words[1] (id 6) is 7; expected a string"},
        {"empty word", file(R"(["a",""])"), "words[1] (id 6) is \"\"; expected one non-empty word without whitespace"},
        {"word with a space", file(R"(["a b"])"), "words[0] (id 5) is \"a b\"; expected one non-empty word"},
        {"word with a newline", file(R"(["a\n"])"), "expected one non-empty word without whitespace"},
        {"special among words", file(R"(["a","<unk>"])"), "words[1] (id 6) is \"<unk>\", a special token"},
        {"repeated word", file(R"(["a","b","a"])"), "words[2] (id 7) is \"a\", the same word as words[0]"},
        {"repeated key", R"({"type":"word","type":"word"})", "key 'type' appears twice"},
    };

    TempDir dir;
    const auto path = dir / "tokenizer.json";
    for (const Case& c : cases) {
        INFO(c.what << ": " << c.text);
        write_bytes(path, c.text);
        CHECK_THROWS_AS(WordTokenizer::load(path), IoError);
        CHECK_THROWS_WITH(WordTokenizer::load(path), Contains("WordTokenizer::load: " + path.string() + ": ") && Contains(c.phrase));
    }
    CHECK_THROWS_WITH(WordTokenizer::load(dir / "absent.json"), Contains((dir / "absent.json").string()) && Contains("No such file"));
}
