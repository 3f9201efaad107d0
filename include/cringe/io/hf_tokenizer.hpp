// cringe/io/hf_tokenizer.hpp - data::WordTokenizer <-> a Hugging Face tokenizer.json.
//
// save_hf_tokenizer writes, next to the config.json and model.safetensors of save_pretrained, the
// three files with which `transformers.AutoTokenizer.from_pretrained(DIR)` builds a fast tokenizer
// that gives the same ids as WordTokenizer::encode:
//   DIR/tokenizer.json           the `tokenizers` library's format: a WordLevel model (vocab = every
//                                token -> its id, unk_token "<unk>"), the WhitespaceSplit
//                                pre-tokenizer, the five special tokens as added tokens, and no
//                                normalizer, post-processor (no <bos>/<eos> added) or decoder
//                                (decode joins the tokens with single spaces, as ours does)
//   DIR/tokenizer_config.json    tokenizer_class PreTrainedTokenizerFast, which special token is the
//                                bos/eos/pad/sep/unk token, model_max_length
//   DIR/special_tokens_map.json  the same special tokens, for older transformers versions
// load_hf_tokenizer reads a tokenizer.json back. It accepts only what WordTokenizer can reproduce
// exactly - a WordLevel model with cringe's special tokens at ids 0-4 and words split on whitespace -
// and names the field of anything else, since a tokenizer that splits or maps text differently
// would give a model the wrong ids without any error.
//
// Where the two can differ (docs/transformer.md, "Moving to PyTorch"): WhitespaceSplit also splits
// on Unicode whitespace (U+00A0, U+3000, ...), which WordTokenizer keeps inside a word; and a
// special token glued to punctuation ("<eos>.") is split out by the Hugging Face tokenizer only.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "../data/tokenizer.hpp"
#include "../error.hpp"
#include "json_file.hpp"

namespace cringe::io {
namespace detail {

/// One special token as `tokenizers` and `transformers` describe an added token. single_word:
/// matched only as a whole word, as WordTokenizer does ("a<sep>b" stays one unknown word).
inline nlohmann::ordered_json hf_added_token(std::string_view content) {
    nlohmann::ordered_json t;
    t["content"] = content;
    t["single_word"] = true;
    t["lstrip"] = false;
    t["rstrip"] = false;
    t["normalized"] = false;
    t["special"] = true;
    return t;
}

/// Which transformers attribute each of WordTokenizer's special tokens is, in id order.
inline constexpr std::array<const char*, 5> kHfSpecialRoles = {"pad_token", "bos_token", "eos_token", "sep_token", "unk_token"};

/// Throws unless j[key] is absent or null: a component cringe does not implement.
inline void hf_require_null(const nlohmann::json& j, const char* key, const char* why, const std::string& where) {
    if (j.contains(key) && !j.at(key).is_null())
        throw IoError(cat(where, ": key '", key, "' is ", j.at(key).dump(), "; expected null (", why, ")"));
}

}  // namespace detail

/// The tokenizer.json document for `tokenizer` (what save_hf_tokenizer writes).
inline nlohmann::ordered_json hf_tokenizer_json(const data::WordTokenizer& tokenizer) {
    nlohmann::ordered_json j;
    j["version"] = "1.0";
    j["truncation"] = nullptr;
    j["padding"] = nullptr;
    nlohmann::ordered_json added = nlohmann::ordered_json::array();
    for (std::size_t id = 0; id < data::WordTokenizer::kSpecialTokens.size(); ++id) {
        nlohmann::ordered_json t;
        t["id"] = id;  // `tokenizers` puts the id first
        t.update(detail::hf_added_token(data::WordTokenizer::kSpecialTokens[id]));
        added.push_back(std::move(t));
    }
    j["added_tokens"] = std::move(added);
    j["normalizer"] = nullptr;
    j["pre_tokenizer"] = {{"type", "WhitespaceSplit"}};
    j["post_processor"] = nullptr;
    j["decoder"] = nullptr;
    nlohmann::ordered_json vocab = nlohmann::ordered_json::object();  // in id order, so the file reads well
    for (std::size_t id = 0; id < tokenizer.size(); ++id) vocab[tokenizer.word(static_cast<std::int64_t>(id))] = id;
    j["model"] = {{"type", "WordLevel"}, {"vocab", std::move(vocab)}, {"unk_token", tokenizer.word(tokenizer.unk_id())}};
    return j;
}

/// The tokenizer_config.json document: the class transformers builds and the special tokens' roles.
/// model_max_length (the model's n_positions) is omitted when absent; transformers then assumes no limit.
inline nlohmann::ordered_json hf_tokenizer_config_json(std::optional<std::size_t> model_max_length = std::nullopt) {
    nlohmann::ordered_json j;
    j["tokenizer_class"] = "PreTrainedTokenizerFast";
    nlohmann::ordered_json decoder = nlohmann::ordered_json::object();
    for (std::size_t id = 0; id < data::WordTokenizer::kSpecialTokens.size(); ++id)
        decoder[std::to_string(id)] = detail::hf_added_token(data::WordTokenizer::kSpecialTokens[id]);
    j["added_tokens_decoder"] = std::move(decoder);
    for (std::size_t id = 0; id < detail::kHfSpecialRoles.size(); ++id)
        j[detail::kHfSpecialRoles[id]] = data::WordTokenizer::kSpecialTokens[id];
    // Our decode joins words with single spaces; transformers' clean-up would also glue " ." to ".".
    j["clean_up_tokenization_spaces"] = false;
    if (model_max_length) j["model_max_length"] = *model_max_length;
    return j;
}

/// Writes DIR/tokenizer.json, DIR/tokenizer_config.json and DIR/special_tokens_map.json, each
/// atomically, creating DIR if needed. Pass the model's n_positions as model_max_length. The model
/// saved beside it needs vocab_size >= tokenizer.size(). IoError if a file cannot be written or a
/// word is not valid UTF-8 (JSON holds only Unicode text).
inline void save_hf_tokenizer(const data::WordTokenizer& tokenizer, const std::filesystem::path& dir,
                              std::optional<std::size_t> model_max_length = std::nullopt) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw IoError(cat("save_hf_tokenizer: cannot create directory ", dir.string(), ": ", ec.message()));
    const nlohmann::ordered_json document = hf_tokenizer_json(tokenizer);
    try {  // a word that is not UTF-8 fails here, before any file is written
        (void)document.dump();
    } catch (const nlohmann::json::exception& e) {
        throw IoError(cat("save_hf_tokenizer: ", (dir / "tokenizer.json").string(), ": cannot encode as JSON: ", e.what()));
    }
    nlohmann::ordered_json special_map;
    for (std::size_t id = 0; id < detail::kHfSpecialRoles.size(); ++id)
        special_map[detail::kHfSpecialRoles[id]] = data::WordTokenizer::kSpecialTokens[id];
    // tokenizer.json last: a directory that has one has the other two.
    write_json_file(dir / "special_tokens_map.json", special_map, "save_hf_tokenizer");
    write_json_file(dir / "tokenizer_config.json", hf_tokenizer_config_json(model_max_length), "save_hf_tokenizer");
    write_json_file(dir / "tokenizer.json", document, "save_hf_tokenizer");
}

/// The WordTokenizer a tokenizer.json document describes. `where` starts every error message. Every
/// error is an IoError naming the key: anything WordTokenizer would not reproduce exactly is refused.
inline data::WordTokenizer word_tokenizer_from_hf_json(const nlohmann::json& j, const std::string& where) {
    using data::WordTokenizer;
    if (!j.is_object()) throw IoError(cat(where, ": expected a JSON object, got ", j.type_name()));
    if (j.contains("version") && j.at("version") != "1.0")
        throw IoError(cat(where, ": key 'version' is ", j.at("version").dump(), "; expected \"1.0\""));
    detail::hf_require_null(j, "truncation", "WordTokenizer never truncates", where);
    detail::hf_require_null(j, "padding", "WordTokenizer never pads", where);
    detail::hf_require_null(j, "normalizer", "WordTokenizer reads the text as it is", where);
    detail::hf_require_null(j, "post_processor", "WordTokenizer::encode adds no tokens", where);
    detail::hf_require_null(j, "decoder", "WordTokenizer::decode joins tokens with single spaces", where);
    const nlohmann::json whitespace_split = {{"type", "WhitespaceSplit"}};
    if (!j.contains("pre_tokenizer") || j.at("pre_tokenizer") != whitespace_split)
        throw IoError(cat(where, ": key 'pre_tokenizer' is ", j.value("pre_tokenizer", nlohmann::json()).dump(), "; expected ",
                          whitespace_split.dump(), " (WordTokenizer splits on whitespace only)"));

    // model: {"type": "WordLevel", "vocab": {token: id}, "unk_token": "<unk>"}
    if (!j.contains("model") || !j.at("model").is_object())
        throw IoError(cat(where, ": key 'model' is ", j.value("model", nlohmann::json()).dump(), "; expected an object"));
    const nlohmann::json& model = j.at("model");
    if (model.value("type", nlohmann::json()) != "WordLevel")
        throw IoError(cat(where, ": key 'model.type' is ", model.value("type", nlohmann::json()).dump(), "; expected \"WordLevel\""));
    const std::string unk(WordTokenizer::kSpecialTokens[static_cast<std::size_t>(WordTokenizer::kUnk)]);
    if (model.value("unk_token", nlohmann::json()) != unk)
        throw IoError(cat(where, ": key 'model.unk_token' is ", model.value("unk_token", nlohmann::json()).dump(), "; expected \"", unk, "\""));
    if (!model.contains("vocab") || !model.at("vocab").is_object())
        throw IoError(cat(where, ": key 'model.vocab' is ", model.value("vocab", nlohmann::json()).dump(), "; expected an object token -> id"));
    const nlohmann::json& vocab = model.at("vocab");

    // Ids must be 0 .. n-1, each once. The parser already refused a token listed twice.
    std::vector<std::optional<std::string>> by_id(vocab.size());
    for (const auto& [token, id] : vocab.items()) {
        if (!id.is_number_unsigned() || id.get<std::uint64_t>() >= vocab.size())
            throw IoError(cat(where, ": key 'model.vocab' maps ", nlohmann::json(token).dump(), " to ", id.dump(),
                              "; expected an id 0 <= id < ", vocab.size(), " (the number of tokens)"));
        auto& slot = by_id[id.get<std::size_t>()];
        if (slot)
            throw IoError(cat(where, ": key 'model.vocab' maps both ", nlohmann::json(*slot).dump(), " and ", nlohmann::json(token).dump(),
                              " to id ", id.dump(), "; expected each id once"));
        slot = token;
    }
    // With n ids below n and none twice, every id 0 .. n-1 is present.
    for (std::size_t id = 0; id < WordTokenizer::kSpecialTokens.size(); ++id)
        if (id >= by_id.size() || *by_id[id] != WordTokenizer::kSpecialTokens[id])
            throw IoError(cat(where, ": key 'model.vocab': id ", id, " is ",
                              id < by_id.size() ? nlohmann::json(*by_id[id]).dump() : std::string("absent"), "; expected \"",
                              WordTokenizer::kSpecialTokens[id], "\" (cringe's special tokens have the fixed ids 0-4)"));

    // added_tokens: only the special tokens, each under its vocab id. Any other added token would be
    // matched inside words before splitting, which WordTokenizer does not do.
    if (j.contains("added_tokens")) {
        const nlohmann::json& added = j.at("added_tokens");
        if (!added.is_array()) throw IoError(cat(where, ": key 'added_tokens' is ", added.dump(), "; expected an array"));
        for (std::size_t i = 0; i < added.size(); ++i) {
            const nlohmann::json& t = added[i];
            const std::string entry = cat(where, ": key 'added_tokens[", i, "]' is ", t.dump());
            if (!t.is_object() || !t.contains("id") || !t.contains("content") || !t.at("id").is_number_unsigned() ||
                !t.at("content").is_string())
                throw IoError(cat(entry, "; expected an object with an integer 'id' and a string 'content'"));
            const std::uint64_t id = t.at("id").get<std::uint64_t>();
            if (id >= WordTokenizer::kSpecialTokens.size() || t.at("content") != std::string(WordTokenizer::kSpecialTokens[id]))
                throw IoError(cat(entry, "; expected one of cringe's special tokens under its id (0 <pad>, 1 <bos>, 2 <eos>, 3 <sep>, 4 <unk>)"));
        }
    }

    std::vector<std::string> words;
    for (std::size_t id = WordTokenizer::kSpecialTokens.size(); id < by_id.size(); ++id) words.push_back(std::move(*by_id[id]));
    try {
        return WordTokenizer::from_words(std::move(words));
    } catch (const ValueError& e) {  // e.g. a token with a space, which WhitespaceSplit could never produce
        throw IoError(cat(where, ": key 'model.vocab': ", e.what()));
    }
}

/// Reads a tokenizer.json (the file itself, or a directory holding one); every error is an IoError
/// naming the file and the key.
inline data::WordTokenizer load_hf_tokenizer(const std::filesystem::path& path) {
    const std::filesystem::path file = std::filesystem::is_directory(path) ? path / "tokenizer.json" : path;
    return word_tokenizer_from_hf_json(read_json_file(file, "load_hf_tokenizer"), cat("load_hf_tokenizer: ", file.string()));
}

}  // namespace cringe::io
