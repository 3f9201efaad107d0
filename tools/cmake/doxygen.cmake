# tools/cmake/doxygen.cmake - the API reference of the public headers (docs/api.md).
#
# Included from the top-level CMakeLists.txt. When Doxygen is found (Debian: apt-get install doxygen):
#   - target cringe_docs builds BUILD/docs/api/html/index.html from docs/Doxyfile.in and FAILS on any
#     Doxygen warning (an undocumented public symbol, a broken reference), printing the warnings;
#   - with CRINGE_BUILD_TESTS, the CTest test docs:api_reference_no_warnings does the same.
# Without Doxygen neither exists, and nothing else changes.
#
# The same file is also the script that runs Doxygen (cmake -P, with DOXYGEN, DOXYFILE and
# WARNINGS set), so that the target and the test share one definition of "no warnings".

if(CMAKE_SCRIPT_MODE_FILE)
    # Script mode: run Doxygen, then fail if it wrote any warning.
    file(REMOVE "${WARNINGS}")
    execute_process(COMMAND "${DOXYGEN}" "${DOXYFILE}" RESULT_VARIABLE status)
    if(NOT status EQUAL 0)
        message(FATAL_ERROR "cringe_docs: doxygen exited with status ${status}")
    endif()
    set(log "")
    if(EXISTS "${WARNINGS}")
        file(READ "${WARNINGS}" log)
    endif()
    string(STRIP "${log}" log)
    if(NOT log STREQUAL "")
        message(FATAL_ERROR "cringe_docs: Doxygen warnings (document the symbol with a /// comment, "
                            "or ///< after a field; docs/api.md):\n${log}")
    endif()
    message(STATUS "cringe_docs: no warnings; open ${OUTPUT}")
    return()
endif()

find_package(Doxygen QUIET)
if(NOT DOXYGEN_FOUND)
    message(STATUS "cringe: Doxygen not found (Debian: apt-get install doxygen); no cringe_docs target")
    return()
endif()

set(CRINGE_DOCS_DIR ${PROJECT_BINARY_DIR}/docs/api)
set(CRINGE_DOCS_WARNINGS ${CRINGE_DOCS_DIR}/warnings.log)
configure_file(${PROJECT_SOURCE_DIR}/docs/Doxyfile.in ${CRINGE_DOCS_DIR}/Doxyfile @ONLY)
set(cringe_docs_command
    ${CMAKE_COMMAND} -DDOXYGEN=${DOXYGEN_EXECUTABLE} -DDOXYFILE=${CRINGE_DOCS_DIR}/Doxyfile
    -DWARNINGS=${CRINGE_DOCS_WARNINGS} -DOUTPUT=${CRINGE_DOCS_DIR}/html/index.html -P ${CMAKE_CURRENT_LIST_FILE})
add_custom_target(cringe_docs
    COMMAND ${cringe_docs_command}
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
    COMMENT "cringe_docs: Doxygen over include/cringe/ -> ${CRINGE_DOCS_DIR}/html/index.html"
    VERBATIM)
if(CRINGE_BUILD_TESTS)
    add_test(NAME docs:api_reference_no_warnings COMMAND ${cringe_docs_command} WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
    set_tests_properties(docs:api_reference_no_warnings PROPERTIES TIMEOUT 300)
endif()
message(STATUS "cringe: Doxygen ${DOXYGEN_VERSION} found; target cringe_docs builds the API reference")
