// cringe/version.hpp - the library's version: the ONE place it is written. CMake reads these three
// lines (CMakeLists.txt), so the package version, the pkg-config file and the code always agree.
// What changed between versions: CHANGELOG.md.
#pragma once

#define CRINGE_VERSION_MAJOR 0
#define CRINGE_VERSION_MINOR 2
#define CRINGE_VERSION_PATCH 0

#define CRINGE_VERSION_STRINGIFY_(x) #x
#define CRINGE_VERSION_STRINGIFY(x) CRINGE_VERSION_STRINGIFY_(x)

namespace cringe {

/// The version as "MAJOR.MINOR.PATCH" (the same string CMake's find_package(cringe) reports).
inline constexpr const char* version_string = CRINGE_VERSION_STRINGIFY(CRINGE_VERSION_MAJOR) "." CRINGE_VERSION_STRINGIFY(
    CRINGE_VERSION_MINOR) "." CRINGE_VERSION_STRINGIFY(CRINGE_VERSION_PATCH);

}  // namespace cringe
