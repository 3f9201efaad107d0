// cringe/data/tokenizer.hpp - a word-level tokenizer: whitespace-separated words, one id per word.
//
// Ids 0-4 are the special tokens, the same in every vocabulary:
//   0 <pad>  fills a batch row after its sequence ends (never a prediction target)
//   1 <bos>  starts a sequence
//   2 <eos>  ends a sequence
//   3 <sep>  separates a context from its continuation
//   4 <unk>  stands for any word not in the vocabulary
// Words follow from id 5, most frequent first, ties in byte order, so the same texts always give
// the same ids. Words are byte strings split on ASCII whitespace; no case folding, no punctuation
// splitting. A special token's spelling inside a text ("a <sep> b") encodes to that special id.
//
// File (save/load): {"type": "word", "special": ["<pad>", ..., "<unk>"], "words": [id 5, id 6, ...]}
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "../error.hpp"
#include "../tensor.hpp"
#include "../io/json_file.hpp"

namespace cringe::data {

/// A word-level tokenizer: whitespace-separated words, one id per word, five fixed special tokens.
class WordTokenizer {
public:
    static constexpr std::int64_t kPad = 0;  ///< `<pad>` fills a batch row after its sequence ends
    static constexpr std::int64_t kBos = 1;  ///< `<bos>` starts a sequence
    static constexpr std::int64_t kEos = 2;  ///< `<eos>` ends a sequence
    static constexpr std::int64_t kSep = 3;  ///< `<sep>` separates a context from its continuation
    static constexpr std::int64_t kUnk = 4;  ///< `<unk>` stands for any word not in the vocabulary
    /// The special tokens' spellings, in id order.
    static constexpr std::array<std::string_view, 5> kSpecialTokens = {"<pad>", "<bos>", "<eos>", "<sep>", "<unk>"};
    /// The largest file load() reads (checked before reading): 2^21 words (the vocab_size limit of
    /// a model config) of up to ~100 bytes each as JSON.
    static constexpr std::uint64_t kMaxFileBytes = std::uint64_t{256} << 20;  // 256 MiB

    /// The special tokens only (size 5).
    WordTokenizer() : WordTokenizer(std::vector<std::string>{}) {}

    /// A vocabulary of the words of `texts` seen at least `min_count` times, most frequent first
    /// (ties in byte order). max_size > 0 caps size() - the special tokens included - by dropping
    /// the rarest words; it must then be >= 5.
    static WordTokenizer build(const std::vector<std::string>& texts, std::size_t min_count = 1, std::size_t max_size = 0) {
        if (max_size != 0 && max_size < kSpecialTokens.size())
            throw ValueError(cat("WordTokenizer::build: max_size is ", max_size, "; expected 0 (no limit) or >= ",
                                 kSpecialTokens.size(), " (the special tokens)"));
        std::map<std::string, std::size_t, std::less<>> counts;
        for (const std::string& text : texts)
            for (std::string_view w : split(text))
                if (!is_special(w)) ++counts[std::string(w)];

        std::vector<std::pair<std::string, std::size_t>> ranked;
        for (auto& [w, n] : counts)
            if (n >= min_count) ranked.emplace_back(w, n);
        // `counts` iterates in byte order and stable_sort keeps it among equal counts.
        std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
        if (max_size != 0 && ranked.size() > max_size - kSpecialTokens.size()) ranked.resize(max_size - kSpecialTokens.size());

        std::vector<std::string> words;
        for (auto& [w, n] : ranked) words.push_back(std::move(w));
        return WordTokenizer(std::move(words));
    }

    /// The number of tokens, special tokens included.
    std::size_t size() const { return vocab_.size(); }
    /// The padding id (0).
    std::int64_t pad_id() const { return kPad; }
    /// The begin-of-sequence id (1).
    std::int64_t bos_id() const { return kBos; }
    /// The end-of-sequence id (2).
    std::int64_t eos_id() const { return kEos; }
    /// The context/continuation separator id (3).
    std::int64_t sep_id() const { return kSep; }
    /// The unknown-word id (4).
    std::int64_t unk_id() const { return kUnk; }

    /// Whether `word` has an id of its own.
    bool contains(std::string_view word) const { return ids_.find(word) != ids_.end(); }

    /// The id of `word`, or unk_id() if it is not in the vocabulary.
    std::int64_t id(std::string_view word) const {
        const auto it = ids_.find(word);
        return it == ids_.end() ? kUnk : it->second;
    }

    /// The token with this id; ValueError if id is outside [0, size()).
    const std::string& word(std::int64_t id) const {
        if (id < 0 || static_cast<std::uint64_t>(id) >= vocab_.size())
            throw ValueError(cat("WordTokenizer::word: id ", id, " is out of range; expected 0 <= id < ", vocab_.size()));
        return vocab_[static_cast<std::size_t>(id)];
    }

    /// One id per whitespace-separated word; no `<bos>`/`<eos>` added.
    Tokens encode(std::string_view text) const { return encode_with(text, false, false); }

    /// encode(), optionally framed by `<bos>` and `<eos>`.
    Tokens encode_with(std::string_view text, bool add_bos, bool add_eos) const {
        Tokens ids;
        if (add_bos) ids.push_back(kBos);
        for (std::string_view w : split(text)) ids.push_back(id(w));
        if (add_eos) ids.push_back(kEos);
        return ids;
    }

    /// The words of `ids` joined by single spaces. skip_special drops `<pad>`, `<bos>`, `<eos>` and `<sep>`
    /// but keeps `<unk>`, which stands for a real word. ValueError for an id outside [0, size()).
    std::string decode(std::span<const TokenId> ids, bool skip_special = true) const {
        std::string text;
        for (std::size_t i = 0; i < ids.size(); ++i) {
            const std::int64_t id = ids[i];
            if (id < 0 || static_cast<std::uint64_t>(id) >= vocab_.size())
                throw ValueError(cat("WordTokenizer::decode: id ", id, " at position ", i, " is out of range; expected 0 <= id < ",
                                     vocab_.size()));
            if (skip_special && id < kUnk) continue;  // ids 0-3: <pad> <bos> <eos> <sep>
            if (!text.empty()) text += ' ';
            text += vocab_[static_cast<std::size_t>(id)];
        }
        return text;
    }

    /// Writes the vocabulary as JSON, atomically (see io/atomic_file.hpp).
    void save(const std::filesystem::path& path) const {
        nlohmann::ordered_json j;
        j["type"] = "word";
        j["special"] = kSpecialTokens;
        j["words"] = std::vector<std::string>(vocab_.begin() + kSpecialTokens.size(), vocab_.end());
        io::write_json_file(path, j, "WordTokenizer::save");
    }

    /// Reads a file written by save(); IoError naming the file and the problem if it is malformed.
    /// Keys other than type, special and words are ignored.
    static WordTokenizer load(const std::filesystem::path& path) {
        const std::string where = cat("WordTokenizer::load: ", path.string());
        const nlohmann::json j = io::parse_json(io::read_file(path, "WordTokenizer::load", kMaxFileBytes), where);
        if (!j.is_object()) throw IoError(cat(where, ": expected a JSON object, got ", j.type_name()));
        if (!j.contains("type") || j.at("type") != "word")
            throw IoError(cat(where, ": key 'type' is ", j.value("type", nlohmann::json()).dump(), "; expected \"word\""));
        if (!j.contains("special") || j.at("special") != nlohmann::json(kSpecialTokens))
            throw IoError(cat(where, ": key 'special' is ", j.value("special", nlohmann::json()).dump(), "; expected ",
                              nlohmann::json(kSpecialTokens).dump(), " (ids 0-4 are fixed)"));
        if (!j.contains("words") || !j.at("words").is_array())
            throw IoError(cat(where, ": key 'words' is ", j.value("words", nlohmann::json()).dump(), "; expected an array of strings"));

        std::vector<std::string> words;
        const nlohmann::json& list = j.at("words");
        for (std::size_t i = 0; i < list.size(); ++i) {
            if (!list[i].is_string())
                throw IoError(cat(where, ": words[", i, "] (id ", i + kSpecialTokens.size(), ") is ", list[i].dump(), "; expected a string"));
            words.push_back(list[i].get<std::string>());
        }
        check_words<IoError>(words, where);
        return WordTokenizer(std::move(words));
    }

    /// The vocabulary with exactly these words at ids 5, 6, ... after the special tokens, e.g. one
    /// read from another file format (io/hf_tokenizer.hpp). ValueError naming the entry if a word is
    /// empty, holds whitespace, is a special token or repeats an earlier word.
    static WordTokenizer from_words(std::vector<std::string> words) {
        check_words<ValueError>(words, "WordTokenizer::from_words");
        return WordTokenizer(std::move(words));
    }

    /// The whitespace-separated words of `text` (views into it).
    static std::vector<std::string_view> split(std::string_view text) {
        const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
        std::vector<std::string_view> words;
        std::size_t i = 0;
        while (i < text.size()) {
            while (i < text.size() && space(text[i])) ++i;
            const std::size_t start = i;
            while (i < text.size() && !space(text[i])) ++i;
            if (i > start) words.push_back(text.substr(start, i - start));
        }
        return words;
    }

private:
    /// `words` are the ids from 5 on; the caller guarantees they are distinct and not special.
    explicit WordTokenizer(std::vector<std::string> words) {
        vocab_.assign(kSpecialTokens.begin(), kSpecialTokens.end());
        vocab_.insert(vocab_.end(), std::make_move_iterator(words.begin()), std::make_move_iterator(words.end()));
        for (std::size_t i = 0; i < vocab_.size(); ++i) ids_.emplace(vocab_[i], static_cast<std::int64_t>(i));
    }

    /// Throws Err "<where>: words[i] (id i+5) is ..." for the first word that encode() could never
    /// produce (empty, with whitespace, a special token) or that repeats an earlier one.
    template <class Err>
    static void check_words(const std::vector<std::string>& words, const std::string& where) {
        std::map<std::string_view, std::size_t, std::less<>> seen;  // word -> index in `words`
        for (std::size_t i = 0; i < words.size(); ++i) {
            const std::string& w = words[i];
            const auto entry = [&] {  // `replace`: a word from from_words() need not be valid UTF-8
                return cat(where, ": words[", i, "] (id ", i + kSpecialTokens.size(), ") is ",
                           nlohmann::json(w).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
            };
            if (split(w) != std::vector<std::string_view>{w}) throw Err(cat(entry(), "; expected one non-empty word without whitespace"));
            if (is_special(w)) throw Err(cat(entry(), ", a special token; special tokens have the fixed ids 0-4"));
            if (const auto [it, fresh] = seen.emplace(w, i); !fresh) throw Err(cat(entry(), ", the same word as words[", it->second, "]"));
        }
    }

    static bool is_special(std::string_view w) {
        return std::find(kSpecialTokens.begin(), kSpecialTokens.end(), w) != kSpecialTokens.end();
    }

    std::vector<std::string> vocab_;                           // every token, in id order
    std::map<std::string, std::int64_t, std::less<>> ids_;     // token -> id (string_view lookups)
};

}  // namespace cringe::data
