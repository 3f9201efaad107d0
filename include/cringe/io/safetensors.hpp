// cringe/io/safetensors.hpp - reading and writing tensors in the safetensors format (Hugging Face).
//
// A file is three sections:
//   [0, 8)        N, the header length: u64, little-endian
//   [8, 8+N)      the header: a UTF-8 JSON object, possibly padded at the end with spaces
//                   { "__metadata__": {"format": "pt"},                          (optional, str -> str)
//                     "wte.weight": {"dtype": "F32", "shape": [64, 32], "data_offsets": [0, 8192]},
//                     ... }
//   [8+N, end)    the buffer: each tensor's elements, row-major, little-endian, at bytes
//                 [begin, end) of data_offsets, counted from the start of the buffer
//
// The reader accepts what the reference implementation (huggingface/safetensors, tensor.rs) accepts,
// restricted to F32 and F64: a header of at most 100 MB that starts with '{'; each tensor's range
// holds exactly numel(shape) * dtype_size bytes; the ranges, sorted, tile the buffer exactly (no
// hole, no overlap, no trailing byte). It is stricter in three ways: a key repeated in one object,
// an unknown key in a tensor entry, and (unless allow_non_finite) a NaN or infinite value are
// errors. Every error is an IoError "<function>: <path>: <what is wrong>".
//
// The writer keeps the caller's tensor order and pads the header with spaces to a multiple of 8
// bytes, as the reference writer does, so F32/F64 data is aligned when the file is memory-mapped.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "../error.hpp"
#include "../tensor.hpp"
#include "atomic_file.hpp"
#include "dtype.hpp"
#include "json_file.hpp"

namespace cringe::io {

static_assert(std::endian::native == std::endian::little,
              "safetensors stores little-endian values; cringe reads and writes them with memcpy");

/// One tensor as the header describes it. begin/end are byte offsets into the buffer.
struct TensorInfo {
    /// The tensor's name.
    std::string name;
    /// Its element type.
    DType dtype = DType::F32;
    /// Its shape.
    Shape shape;
    /// Its first byte in the data buffer.
    std::size_t begin = 0;
    /// One past its last byte.
    std::size_t end = 0;
};

namespace detail {

/// The reference implementation refuses larger headers; a bigger length means a corrupt file.
inline constexpr std::uint64_t kMaxSafetensorsHeader = 100'000'000;

/// A parsed and validated header.
struct SafetensorsHeader {
    std::uint64_t header_length = 0;                // N
    std::vector<TensorInfo> tensors;                // sorted by position in the buffer
    std::map<std::string, std::string> metadata;   // "__metadata__"
    std::uint64_t buffer_start() const { return 8 + header_length; }
};

/// Section 1: N, checked against the file size and the 100 MB limit.
/// `head` holds the first bytes of the file (at least 8 if the file has them), `file_size` all of it.
inline std::uint64_t safetensors_header_length(std::string_view head, std::uint64_t file_size, const std::string& where) {
    if (file_size < 8 || head.size() < 8)
        throw IoError(cat(where, ": file is ", file_size, " bytes; a safetensors file starts with an 8-byte header length"));
    std::uint64_t n = 0;
    std::memcpy(&n, head.data(), 8);
    if (n > kMaxSafetensorsHeader)
        throw IoError(cat(where, ": header length ", n, " is over the ", kMaxSafetensorsHeader,
                          "-byte limit (corrupt file?)"));
    if (n > file_size - 8)
        throw IoError(cat(where, ": header length ", n, " runs past the end of the file (", file_size - 8,
                          " bytes follow the length field; truncated file?)"));
    return n;
}

/// n * m, or throws if the product does not fit in size_t.
inline std::size_t checked_mul(std::size_t n, std::size_t m, const std::string& what) {
    if (m != 0 && n > std::numeric_limits<std::size_t>::max() / m) throw IoError(what);
    return n * m;
}

/// One "name": {"dtype", "shape", "data_offsets"} entry, checked on its own.
inline TensorInfo parse_tensor_entry(const std::string& name, const nlohmann::json& entry, const std::string& where) {
    const std::string tensor = cat(where, ": tensor '", name, "'");
    if (!entry.is_object()) throw IoError(cat(tensor, " is ", entry.dump(), "; expected an object with dtype, shape, data_offsets"));
    for (const auto& [key, value] : entry.items())
        if (key != "dtype" && key != "shape" && key != "data_offsets")
            throw IoError(cat(tensor, " has unknown key '", key, "'; expected dtype, shape, data_offsets"));
    for (const char* key : {"dtype", "shape", "data_offsets"})
        if (!entry.contains(key)) throw IoError(cat(tensor, " is missing '", key, "'"));

    TensorInfo info;
    info.name = name;

    const nlohmann::json& dtype = entry.at("dtype");
    if (!dtype.is_string()) throw IoError(cat(tensor, " has dtype ", dtype.dump(), "; expected a string such as \"F32\""));
    const auto parsed = dtype_from_name(dtype.get<std::string>());
    if (!parsed) throw IoError(cat(tensor, ": dtype ", dtype.get<std::string>(), " is not supported; expected F32 or F64"));
    info.dtype = *parsed;

    // JSON integers >= 0 parse as number_unsigned; -1 and 2.0 do not.
    const nlohmann::json& shape = entry.at("shape");
    if (!shape.is_array()) throw IoError(cat(tensor, " has shape ", shape.dump(), "; expected an array of non-negative integers"));
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (!shape[i].is_number_unsigned())
            throw IoError(cat(tensor, " has shape ", shape.dump(), ": dimension ", i, " is ", shape[i].dump(),
                              "; expected a non-negative integer"));
        info.shape.push_back(shape[i].get<std::size_t>());
    }

    const nlohmann::json& offsets = entry.at("data_offsets");
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned())
        throw IoError(cat(tensor, " has data_offsets ", offsets.dump(), "; expected [begin, end] with non-negative integers"));
    info.begin = offsets[0].get<std::size_t>();
    info.end = offsets[1].get<std::size_t>();
    if (info.begin > info.end)
        throw IoError(cat(tensor, " has data_offsets [", info.begin, ",", info.end, "] with begin > end"));

    // A dimension of 0 makes the tensor empty however large the others are.
    const bool empty = std::find(info.shape.begin(), info.shape.end(), 0) != info.shape.end();
    const std::string too_big = cat(tensor, " has shape ", shape_str(info.shape), ", too many elements to address");
    std::size_t bytes = empty ? 0 : dtype_size(info.dtype);
    if (!empty)
        for (std::size_t d : info.shape) bytes = checked_mul(bytes, d, too_big);
    if (info.end - info.begin != bytes)
        throw IoError(cat(tensor, " has data_offsets [", info.begin, ",", info.end, "] but shape ", shape_str(info.shape),
                          " ", dtype_name(info.dtype), " needs ", bytes, " bytes"));
    return info;
}

/// The sorted byte ranges must cover [0, buffer_size) exactly once.
inline void check_buffer_tiling(const std::vector<TensorInfo>& sorted, std::uint64_t buffer_size, const std::string& where) {
    for (const TensorInfo& t : sorted)
        if (t.end > buffer_size)
            throw IoError(cat(where, ": tensor '", t.name, "' has data_offsets [", t.begin, ",", t.end,
                              "] past the end of the ", buffer_size, "-byte buffer (truncated file?)"));
    std::uint64_t covered = 0;
    const TensorInfo* previous = nullptr;  // the tensor whose data ends at `covered`
    for (const TensorInfo& t : sorted) {
        if (t.begin > covered)
            throw IoError(cat(where, ": bytes [", covered, ",", t.begin, ") of the buffer belong to no tensor (hole before tensor '",
                              t.name, "')"));
        if (t.begin < covered)
            throw IoError(cat(where, ": tensor '", t.name, "' data_offsets [", t.begin, ",", t.end, "] overlap tensor '",
                              previous->name, "' [", previous->begin, ",", previous->end, "]"));
        covered = t.end;
        previous = &t;
    }
    if (covered < buffer_size)
        throw IoError(cat(where, ": ", buffer_size - covered, " trailing bytes after the last tensor (buffer is ", buffer_size,
                          " bytes, tensors cover ", covered, ")"));
}

/// Sections 1 and 2 of a file of `file_size` bytes whose first 8 + N bytes (at least) are `head`.
inline SafetensorsHeader parse_safetensors_header(std::string_view head, std::uint64_t file_size, const std::string& where) {
    SafetensorsHeader header;
    header.header_length = safetensors_header_length(head, file_size, where);
    if (head.size() < header.buffer_start()) throw IoError(cat(where, ": file changed while it was being read"));
    const std::string_view text = head.substr(8, static_cast<std::size_t>(header.header_length));
    if (text.empty() || text.front() != '{') throw IoError(cat(where, ": header does not start with '{'; expected a JSON object"));
    const nlohmann::json json = parse_json(text, cat(where, ": header"));
    if (!json.is_object()) throw IoError(cat(where, ": header is not a JSON object"));

    for (const auto& [name, entry] : json.items()) {
        if (name != "__metadata__") {
            header.tensors.push_back(parse_tensor_entry(name, entry, where));
            continue;
        }
        if (!entry.is_object()) throw IoError(cat(where, ": __metadata__ is ", entry.dump(), "; expected an object of strings"));
        for (const auto& [key, value] : entry.items()) {
            if (!value.is_string())
                throw IoError(cat(where, ": __metadata__ key '", key, "' is ", value.dump(), "; expected a string"));
            header.metadata[key] = value.get<std::string>();
        }
    }
    std::sort(header.tensors.begin(), header.tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
        return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
    });
    check_buffer_tiling(header.tensors, file_size - header.buffer_start(), where);
    return header;
}

/// Sections 1 and 2 of an open file: reads the 8-byte length, checks it against the file size and
/// the 100 MB limit, then reads exactly those N bytes and checks every tensor's range against the
/// file size (which must equal 8 + N + what the tensors cover). Reads nothing of the buffer.
inline SafetensorsHeader read_safetensors_header_from(const RegularFileReader& file, const std::string& where) {
    const std::uint64_t n = safetensors_header_length(file.read_up_to(0, 8), file.size(), where);
    return parse_safetensors_header(file.read_exactly(0, 8 + n), file.size(), where);
}

/// Reads only the first 8 + N bytes of the file, however large its buffer is.
inline SafetensorsHeader read_safetensors_header_only(const std::filesystem::path& path, std::string_view who) {
    return read_safetensors_header_from(RegularFileReader(path, who), cat(who, ": ", path.string()));
}

/// Stored -> T for `count` elements at `src`, refusing non-finite values unless allowed and
/// F64 values too large for float (a cast that overflows is undefined behaviour in C++).
template <class Stored, class T>
void decode_elements(const char* src, T* dst, std::size_t count, const TensorInfo& info, bool allow_non_finite,
                     const std::string& where) {
    for (std::size_t i = 0; i < count; ++i) {
        Stored v;
        std::memcpy(&v, src + i * sizeof(Stored), sizeof(Stored));
        if (!std::isfinite(v) && !allow_non_finite)
            throw IoError(cat(where, ": tensor '", info.name, "' element ", i, " is ", v,
                              "; expected finite values (pass allow_non_finite = true to load it anyway)"));
        if constexpr (sizeof(Stored) > sizeof(T))  // F64 -> float
            if (std::isfinite(v) && std::abs(v) > static_cast<Stored>(std::numeric_limits<T>::max()))
                throw IoError(cat(where, ": tensor '", info.name, "' element ", i, " is ", v, ", too large for float"));
        dst[i] = static_cast<T>(v);
    }
}

/// T -> Stored for every element of `t`, into `dst`; refuses doubles too large for F32.
template <class Stored, class T>
void encode_elements(const Tensor<T>& t, char* dst, const std::string& name, const std::string& where) {
    const T* src = t.data();
    for (std::size_t i = 0; i < t.size(); ++i) {
        if constexpr (sizeof(T) > sizeof(Stored))  // double -> F32
            if (std::isfinite(src[i]) && std::abs(src[i]) > static_cast<T>(std::numeric_limits<Stored>::max()))
                throw ValueError(cat(where, ": tensor '", name, "' element ", i, " is ", src[i], ", too large for F32"));
        const Stored v = static_cast<Stored>(src[i]);
        std::memcpy(dst + i * sizeof(Stored), &v, sizeof(Stored));
    }
}

}  // namespace detail

/// Every tensor of the file, sorted by position in the buffer; reads only the header.
inline std::vector<TensorInfo> read_safetensors_header(const std::filesystem::path& path) {
    return detail::read_safetensors_header_only(path, "read_safetensors_header").tensors;
}

/// The "__metadata__" strings of the file (empty if it has none); reads only the header.
inline std::map<std::string, std::string> read_safetensors_metadata(const std::filesystem::path& path) {
    return detail::read_safetensors_header_only(path, "read_safetensors_metadata").metadata;
}

/// All tensors of the file by name, converted to T (float or double). F64 -> float rounds to
/// nearest. Throws IoError naming the path and the problem for any malformed file.
template <class T>
std::map<std::string, Tensor<T>> load_safetensors(const std::filesystem::path& path, bool allow_non_finite = false) {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "load_safetensors<T>: T is float or double");
    const std::string where = cat("load_safetensors: ", path.string());
    // The header first (a regular file, a sane length, ranges that tile exactly the rest of the
    // file); only then the buffer, whose size the header has just accounted for byte by byte.
    const RegularFileReader file(path, "load_safetensors");
    const detail::SafetensorsHeader header = detail::read_safetensors_header_from(file, where);
    const std::string buffer = file.read_exactly(header.buffer_start(), file.size() - header.buffer_start());

    std::map<std::string, Tensor<T>> tensors;
    for (const TensorInfo& info : header.tensors) {
        Tensor<T> t(typename Tensor<T>::shape_type(info.shape.begin(), info.shape.end()));
        const char* src = buffer.data() + info.begin;
        if (info.dtype == DType::F32)
            detail::decode_elements<float>(src, t.data(), t.size(), info, allow_non_finite, where);
        else
            detail::decode_elements<double>(src, t.data(), t.size(), info, allow_non_finite, where);
        tensors.emplace(info.name, std::move(t));
    }
    return tensors;
}

/// Writes `tensors` in the given order as `dtype`, atomically (see atomic_file.hpp).
/// Throws ValueError for a repeated name, the reserved name "__metadata__", a name or metadata
/// string that is not UTF-8, or a double too large for F32; IoError if the file cannot be written.
/// Hugging Face transformers expects metadata {"format": "pt"} in files it loads.
template <class T>
void save_safetensors(const std::filesystem::path& path, const std::vector<std::pair<std::string, Tensor<T>>>& tensors,
                      DType dtype, const std::map<std::string, std::string>& metadata = {}) {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "save_safetensors<T>: T is float or double");
    const std::string where = cat("save_safetensors: ", path.string());

    // Section 2, the header. ordered_json keeps the tensors in the caller's order.
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    if (!metadata.empty()) header["__metadata__"] = metadata;
    std::set<std::string> names;
    std::size_t buffer_size = 0;
    for (const auto& [name, t] : tensors) {
        if (name == "__metadata__") throw ValueError(cat(where, ": '__metadata__' is reserved and cannot name a tensor"));
        if (!names.insert(name).second) throw ValueError(cat(where, ": tensor name '", name, "' appears twice"));
        const std::size_t bytes = t.size() * dtype_size(dtype);
        nlohmann::ordered_json entry;
        entry["dtype"] = dtype_name(dtype);
        entry["shape"] = to_shape(t.shape());
        entry["data_offsets"] = {buffer_size, buffer_size + bytes};
        header[name] = std::move(entry);
        buffer_size += bytes;
    }
    std::string header_text;
    try {
        header_text = header.dump();
    } catch (const nlohmann::json::exception& e) {
        throw ValueError(cat(where, ": a tensor name or metadata string is not valid UTF-8: ", e.what()));
    }
    header_text.append((8 - header_text.size() % 8) % 8, ' ');

    // Sections 1 and 3.
    std::string file(8 + header_text.size() + buffer_size, '\0');
    const std::uint64_t n = header_text.size();
    std::memcpy(file.data(), &n, 8);
    std::memcpy(file.data() + 8, header_text.data(), header_text.size());
    char* out = file.data() + 8 + header_text.size();
    for (const auto& [name, t] : tensors) {
        if (dtype == DType::F32)
            detail::encode_elements<float>(t, out, name, where);
        else
            detail::encode_elements<double>(t, out, name, where);
        out += t.size() * dtype_size(dtype);
    }
    write_file_atomically(path, file);
}

}  // namespace cringe::io
