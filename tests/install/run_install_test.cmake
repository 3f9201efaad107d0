# Installs this source tree into a scratch prefix, then (1) configures, builds and runs the downstream
# project against it with find_package(cringe CONFIG REQUIRED), and (2) checks the pkg-config file: it
# reports the version and include flags with which a plain compiler call finds the headers. Run by
# CTest (install:find_package). The library is configured with tests and examples OFF, so this also
# checks that installing needs neither Catch2 nor CLI11.
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
function(run)
    execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
    endif()
    message(STATUS "${out}")
endfunction()
run(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/lib -G ${GENERATOR} -DCRINGE_BUILD_TESTS=OFF -DCRINGE_BUILD_EXAMPLES=OFF -DCMAKE_INSTALL_PREFIX=${prefix} -DCMAKE_CXX_COMPILER=${CXX})
run(${CMAKE_COMMAND} --install ${WORK_DIR}/lib)

# The version the headers carry (include/cringe/version.hpp is its one place).
file(STRINGS ${SOURCE_DIR}/include/cringe/version.hpp lines REGEX "^#define CRINGE_VERSION_(MAJOR|MINOR|PATCH) ")
string(REGEX MATCHALL "[0-9]+" parts "${lines}")
string(REPLACE ";" "." version "${parts}")

# The downstream programs check the package, not the optimiser: no build type (no -O flags), and one
# compile at a time, because CTest counts this test as one job beside the others (docs/testing.md, "Time").
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/install/downstream -B ${WORK_DIR}/downstream -G ${GENERATOR}
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE= -DCRINGE_EXPECTED_VERSION=${version} -DCMAKE_CXX_COMPILER=${CXX})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/downstream --parallel 1)
run(${WORK_DIR}/downstream/downstream)
run(${WORK_DIR}/downstream/downstream_io ${WORK_DIR}/downstream/state)

# The same program with cringe as a FetchContent subproject (its tests, examples and install rules off
# because it is not the top-level project).
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/install/downstream -B ${WORK_DIR}/subproject -G ${GENERATOR}
    -DVIA_FETCHCONTENT=ON -DFETCHCONTENT_SOURCE_DIR_CRINGE=${SOURCE_DIR} -DCMAKE_BUILD_TYPE=
    -DCRINGE_EXPECTED_VERSION=${version} -DCMAKE_CXX_COMPILER=${CXX})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/subproject --parallel 1)
run(${WORK_DIR}/subproject/downstream)
run(${WORK_DIR}/subproject/downstream_io ${WORK_DIR}/subproject/state)

find_program(PKG_CONFIG pkg-config)
if(PKG_CONFIG)
    set(ENV{PKG_CONFIG_PATH} ${prefix}/share/pkgconfig)
    execute_process(COMMAND ${PKG_CONFIG} --modversion cringe OUTPUT_VARIABLE pc_version OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0 OR NOT pc_version STREQUAL version)
        message(FATAL_ERROR "pkg-config --modversion cringe: '${pc_version}' (exit ${rc}), expected '${version}'")
    endif()
    execute_process(COMMAND ${PKG_CONFIG} --cflags cringe OUTPUT_VARIABLE pc_cflags OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0 OR NOT pc_cflags MATCHES "-I${prefix}/include")
        message(FATAL_ERROR "pkg-config --cflags cringe: '${pc_cflags}' (exit ${rc}), expected -I${prefix}/include")
    endif()
    # A plain compiler call with those flags finds the installed headers.
    separate_arguments(cflags UNIX_COMMAND "${pc_cflags}")
    file(WRITE ${WORK_DIR}/pc_check.cpp "#include <cringe/version.hpp>\nint main() { return cringe::version_string[0] == 0 ? 1 : 0; }\n")
    run(${CXX} ${cflags} ${WORK_DIR}/pc_check.cpp -o ${WORK_DIR}/pc_check)
    run(${WORK_DIR}/pc_check)
    # cringe-io: the same include flags (it requires cringe) and a compile of an io/ header with them.
    execute_process(COMMAND ${PKG_CONFIG} --cflags cringe-io OUTPUT_VARIABLE pc_io_cflags OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0 OR NOT pc_io_cflags MATCHES "-I${prefix}/include")
        message(FATAL_ERROR "pkg-config --cflags cringe-io: '${pc_io_cflags}' (exit ${rc}), expected -I${prefix}/include")
    endif()
    separate_arguments(io_cflags UNIX_COMMAND "${pc_io_cflags}")
    file(WRITE ${WORK_DIR}/pc_io_check.cpp "#include <cringe/io/dtype.hpp>\n#include <cringe/io/json_file.hpp>\nint main() { return cringe::io::dtype_name(cringe::io::DType::F32).empty() ? 1 : 0; }\n")
    run(${CXX} ${io_cflags} -fsyntax-only ${WORK_DIR}/pc_io_check.cpp)
    message(STATUS "pkg-config: cringe ${pc_version}, ${pc_cflags}; cringe-io ${pc_io_cflags}")
else()
    message(STATUS "pkg-config not found: the .pc check is skipped")
endif()
