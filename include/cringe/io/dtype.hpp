// cringe/io/dtype.hpp - the element types cringe writes to and reads from files.
//
// Only IEEE binary32 and binary64 are supported: they are what cringe computes in, and both convert
// to float and double without surprises. Half precision would need a converter we do not have.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <type_traits>

namespace cringe::io {

/// safetensors names in comments; Hugging Face "torch_dtype" names are float32 / float64.
enum class DType {
    F32,  // "F32", little-endian IEEE binary32
    F64,  // "F64", little-endian IEEE binary64
};

/// "F32" or "F64", as safetensors spells it.
inline std::string_view dtype_name(DType dtype) { return dtype == DType::F32 ? "F32" : "F64"; }

/// Bytes per element.
inline std::size_t dtype_size(DType dtype) { return dtype == DType::F32 ? 4 : 8; }

/// "F32" -> F32, "F64" -> F64, anything else -> nullopt (the caller says what it got).
inline std::optional<DType> dtype_from_name(std::string_view name) {
    if (name == "F32") return DType::F32;
    if (name == "F64") return DType::F64;
    return std::nullopt;
}

/// The DType that stores T without loss: float -> F32, double -> F64.
template <class T>
constexpr DType dtype_of() {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "cringe files hold float or double");
    return std::is_same_v<T, float> ? DType::F32 : DType::F64;
}

}  // namespace cringe::io
