// cringe/io/json_file.hpp - strict JSON parsing and atomic JSON files, with errors that name the file.
//
// Every JSON document cringe reads (a safetensors header, config.json, a tokenizer) goes through
// parse_json. It differs from nlohmann::json::parse in two ways:
//   - a parse failure becomes an IoError that starts with `where` (the function and the file path);
//   - an object with the same key twice is rejected. nlohmann keeps the last one silently, so a
//     header listing a tensor twice would otherwise load without complaint;
//   - a NUL byte is rejected. JSON never allows one unescaped, but nlohmann's lexer takes it for
//     the end of the input and would ignore everything after it.
#pragma once

#include <filesystem>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "../error.hpp"
#include "atomic_file.hpp"

namespace cringe::io {

/// Parses `text` as one JSON document; throws IoError "<where>: ..." if it is not valid JSON or
/// an object repeats a key.
inline nlohmann::json parse_json(std::string_view text, const std::string& where) {
    if (const std::size_t nul = text.find('\0'); nul != std::string_view::npos)
        throw IoError(cat(where, ": not valid JSON: NUL byte at offset ", nul));
    // The parser reports each object's start, keys and end in document order, so one set of
    // keys per currently open object finds repeats.
    std::vector<std::set<std::string>> open_objects;
    const nlohmann::json::parser_callback_t reject_duplicate_keys =
        [&](int /*depth*/, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
            using Event = nlohmann::json::parse_event_t;
            if (event == Event::object_start) open_objects.emplace_back();
            if (event == Event::object_end) open_objects.pop_back();
            if (event == Event::key && !open_objects.back().insert(parsed.get<std::string>()).second)
                throw IoError(cat(where, ": key '", parsed.get<std::string>(), "' appears twice in one JSON object"));
            return true;
        };
    try {
        return nlohmann::json::parse(text, reject_duplicate_keys);
    } catch (const nlohmann::json::exception& e) {
        throw IoError(cat(where, ": not valid JSON: ", e.what()));
    }
}

/// Reads and parses a JSON file; every error names `who` and the path.
inline nlohmann::json read_json_file(const std::filesystem::path& path, std::string_view who) {
    return parse_json(read_file(path, who), cat(who, ": ", path.string()));
}

/// Writes `document` (indented, newline-terminated) atomically. ordered_json keeps the keys in the
/// order the writer chose, so the files read well and diff cleanly.
inline void write_json_file(const std::filesystem::path& path, const nlohmann::ordered_json& document,
                            std::string_view who) {
    std::string text;
    try {
        text = document.dump(2) + "\n";
    } catch (const nlohmann::json::exception& e) {  // a string that is not valid UTF-8
        throw IoError(cat(who, ": ", path.string(), ": cannot encode as JSON: ", e.what()));
    }
    write_file_atomically(path, text);
}

}  // namespace cringe::io
