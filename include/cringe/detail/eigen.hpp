// cringe/detail/eigen.hpp - includes Eigen/Core with one false GCC warning silenced, so that our
// programs can use AVX-512 (docs/pitfalls.md, "`-march=native` and AVX-512").
//
// With -march=native on a CPU that has AVX-512, GCC 12 inlines Eigen's vectorised reductions and then
// reports -Wmaybe-uninitialized (or -Wuninitialized) inside its own avx512fintrin.h (`__m512d __Y = __Y;`, a deliberate
// "undefined vector" idiom). The warning points at the intrinsics header, so silencing it around the
// include that first brings that header in silences exactly this case and nothing in our code. Every
// cringe header that needs Eigen includes it through here.
#pragma once

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <Eigen/Core>
#pragma GCC diagnostic pop
#else
#include <Eigen/Core>
#endif
