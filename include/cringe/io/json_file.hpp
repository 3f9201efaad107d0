// cringe/io/json_file.hpp - strict JSON parsing and atomic JSON files, with errors that name the file.
//
// Every JSON document cringe reads (a safetensors header, config.json, a tokenizer, a cringe-ref
// request) goes through parse_json. It differs from nlohmann::json::parse in these ways:
//   - a parse failure becomes an IoError that starts with `where` (the function and the file path);
//   - an object with the same key twice is rejected. nlohmann keeps the last one silently, so a
//     header listing a tensor twice would otherwise load without complaint;
//   - a NUL byte is rejected. JSON never allows one unescaped, but nlohmann's lexer takes it for
//     the end of the input and would ignore everything after it;
//   - nesting is bounded: more than max_json_depth open arrays/objects is an IoError. nlohmann's
//     parser itself is iterative, but copying, comparing, printing (dump) and destroying a value
//     recurse once per level, so a 200 KB document of 100,000 '[' overflowed the stack later;
//   - time is O(n log n) in the size of the document. The document is built by our own SAX
//     handler (below), which inserts each key into its object as it is read: std::map's insert
//     both stores the member and says whether the key was already there. (nlohmann's parse with a
//     callback, used before, scans the whole parent container at the end of every child object:
//     quadratic, > 20 s for a 1.2 MB request.)
// Resource limits of every input are listed in docs/errors.md, section "Resource limits".
#pragma once

#include <cmath>
#include <cstddef>
#include <algorithm>
#include <filesystem>
#include <istream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "../error.hpp"
#include "atomic_file.hpp"

namespace cringe::io {

/// The deepest nesting of arrays and objects parse_json accepts. cringe's own documents need at
/// most 4 (a loss request's logits [B][T][V] inside the top-level object); 128 leaves room for any
/// config.json while keeping every recursive operation on the value far from the stack's limit.
inline constexpr std::size_t max_json_depth = 128;

/// At most `max_chars` characters of v.dump() (with "..." when cut): for error messages, so that a
/// bad value of several megabytes does not become a message of several megabytes.
inline std::string json_excerpt(const nlohmann::json& v, std::size_t max_chars = 80) {
    std::string text;
    try {
        text = v.dump();
    } catch (const nlohmann::json::exception&) {  // a string that is not valid UTF-8
        text = v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
    if (text.size() > max_chars) text = text.substr(0, max_chars) + "...";
    return text;
}

/// Throws NumericalError "<where>: grad[0][1][2] is nan; ..." naming the first NaN or infinity in
/// `v` (depth first, in key order). JSON has no NaN or infinity: dump() would print them as null,
/// a result that looks valid. Call it before printing or writing computed numbers.
inline void require_finite_numbers(const nlohmann::json& v, const std::string& where, const std::string& path = "") {
    if (v.is_number_float() && !std::isfinite(v.get<double>()))
        throw NumericalError(cat(where, ": ", path.empty() ? "the value" : path, " is ", v.get<double>(),
                                 "; expected a finite number (JSON has no NaN or infinity)"));
    if (v.is_array())
        for (std::size_t i = 0; i < v.size(); ++i) require_finite_numbers(v[i], where, cat(path, "[", i, "]"));
    if (v.is_object())
        for (const auto& [key, value] : v.items()) require_finite_numbers(value, where, path.empty() ? key : cat(path, ".", key));
}

namespace detail {

/// Builds the document from nlohmann's SAX events (nlohmann::json_sax, a public interface),
/// rejecting a repeated key and nesting deeper than max_json_depth by throwing IoError.
class StrictJsonBuilder final : public nlohmann::json_sax<nlohmann::json> {
public:
    StrictJsonBuilder(nlohmann::json& root, const std::string& where) : root_(root), where_(where) {}

    bool null() override { return add(nullptr); }
    bool boolean(bool v) override { return add(v); }
    bool number_integer(number_integer_t v) override { return add(v); }
    bool number_unsigned(number_unsigned_t v) override { return add(v); }
    bool number_float(number_float_t v, const string_t& /*text*/) override { return add(v); }
    bool string(string_t& v) override { return add(std::move(v)); }
    bool binary(binary_t& v) override { return add(nlohmann::json::binary(std::move(v))); }  // not produced by JSON text

    bool start_object(std::size_t /*elements: unknown for text*/) override { return open(nlohmann::json::object()); }
    bool key(string_t& k) override {
        auto& members = open_.back()->get_ref<nlohmann::json::object_t&>();
        // Insert the key now with a null value; the member's value is assigned when it is read.
        // std::map nodes never move, so the pointer stays valid while the object grows.
        auto [member, inserted] = members.emplace(std::move(k), nullptr);
        if (!inserted) throw IoError(cat(where_, ": key '", member->first, "' appears twice in one JSON object"));
        pending_member_ = &member->second;
        return true;
    }
    bool end_object() override { return close(); }
    bool start_array(std::size_t /*elements: unknown for text*/) override { return open(nlohmann::json::array()); }
    bool end_array() override { return close(); }

    bool parse_error(std::size_t /*position*/, const std::string& /*last_token*/, const nlohmann::json::exception& e) override {
        throw IoError(cat(where_, ": not valid JSON: ", e.what()));
    }

private:
    /// Stores `v` where the document is at (the root, the next array element or the pending
    /// member) and returns its address. An open array does not grow while a child is open, so the
    /// addresses kept in open_ stay valid.
    nlohmann::json* place(nlohmann::json&& v) {
        if (open_.empty()) {
            root_ = std::move(v);
            return &root_;
        }
        nlohmann::json& parent = *open_.back();
        if (parent.is_array()) {
            auto& elements = parent.get_ref<nlohmann::json::array_t&>();
            elements.push_back(std::move(v));
            return &elements.back();
        }
        *pending_member_ = std::move(v);
        return pending_member_;
    }
    bool add(nlohmann::json&& v) {
        place(std::move(v));
        return true;
    }
    bool open(nlohmann::json&& container) {
        if (open_.size() >= max_json_depth)
            throw IoError(cat(where_, ": JSON nested deeper than ", max_json_depth,
                              " levels of arrays and objects; expected at most ", max_json_depth));
        open_.push_back(place(std::move(container)));
        return true;
    }
    bool close() {
        open_.pop_back();
        return true;
    }

    nlohmann::json& root_;
    const std::string& where_;
    std::vector<nlohmann::json*> open_;          // the arrays and objects not yet closed, outermost first
    nlohmann::json* pending_member_ = nullptr;  // the member whose key was read last
};

}  // namespace detail

/// Parses `text` as one JSON document; throws IoError "<where>: ..." if it is not valid JSON, an
/// object repeats a key, or arrays and objects nest deeper than max_json_depth.
inline nlohmann::json parse_json(std::string_view text, const std::string& where) {
    if (const std::size_t nul = text.find('\0'); nul != std::string_view::npos)
        throw IoError(cat(where, ": not valid JSON: NUL byte at offset ", nul));
    nlohmann::json document;
    detail::StrictJsonBuilder builder(document, where);
    try {
        // strict = true: anything but whitespace after the document is an error.
        nlohmann::json::sax_parse(text, &builder, nlohmann::json::input_format_t::json, /*strict=*/true);
    } catch (const nlohmann::json::exception& e) {  // not expected (parse_error throws IoError), but never escapes
        throw IoError(cat(where, ": not valid JSON: ", e.what()));
    }
    return document;
}

/// All of `in` (standard input, a pipe) as bytes, refusing more than `max_bytes`: an IoError
/// "<where>: more than <max_bytes> bytes; expected at most <max_bytes>" after reading at most
/// max_bytes + 1 bytes, so an endless or huge stream is not held in memory.
inline std::string read_stream_bounded(std::istream& in, std::size_t max_bytes, const std::string& where) {
    std::string text;
    char chunk[65536];
    while (in) {
        const std::size_t want = std::min(sizeof chunk, max_bytes + 1 - text.size());
        in.read(chunk, static_cast<std::streamsize>(want));
        text.append(chunk, static_cast<std::size_t>(in.gcount()));
        if (text.size() > max_bytes) throw IoError(cat(where, ": more than ", max_bytes, " bytes; expected at most ", max_bytes));
    }
    if (in.bad()) throw IoError(cat(where, ": read error"));
    return text;
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
