# cmake -DDOC=<docs/install.md> -DSNIPPET=<tests/install/downstream/CMakeLists.txt> -P check_docs_snippet.cmake
# The downstream CMake snippet shown in the install guide must be the file install_downstream builds.
file(READ "${DOC}" doc)
file(READ "${SNIPPET}" snippet)
string(FIND "${doc}" "```cmake\n${snippet}```" pos)
if(pos EQUAL -1)
  message(FATAL_ERROR "${DOC} does not contain ${SNIPPET} verbatim in a ```cmake block: update the page")
endif()
message(STATUS "${DOC} shows ${SNIPPET} verbatim")
