# Embeds the code harness's Python programs (code/harness/*.py) in a C++ header, run at build time by
# rewards/CMakeLists.txt:  cmake -DINPUT_DIR=<harness dir> -DOUTPUT=<header> -P embed_harness.cmake
# Each <stem>.py becomes `inline constexpr unsigned char k<Stem>Py[]`: its bytes without the file's
# leading "#" comment lines (a header for readers that the interpreter never needs), so the program starts
# at the first line that is not a comment, the blank line after the header. The bytes are written as
# numbers, not as a raw string, so nothing in a .py (a ")PY\"", a "\r", UTF-8) can change what the C++
# sees. No NUL terminator: code_harness.cpp takes the whole array.
if(NOT INPUT_DIR OR NOT OUTPUT)
  message(FATAL_ERROR "embed_harness.cmake: pass -DINPUT_DIR=<dir of .py files> -DOUTPUT=<header path>")
endif()
file(GLOB programs ${INPUT_DIR}/*.py)
if(NOT programs)
  message(FATAL_ERROR "embed_harness.cmake: no .py files in ${INPUT_DIR}")
endif()

set(sixteen_bytes "")  # CMake's regex has no {n}: 16 bytes to a line of the array
foreach(i RANGE 1 16)
  string(APPEND sixteen_bytes "0x..,")
endforeach()

set(header "// Generated from rewards/code/harness/*.py by rewards/code/embed_harness.cmake; do not edit.\n")
string(APPEND header "#pragma once\n\nnamespace aha::rewards {\n")
foreach(program ${programs})
  get_filename_component(stem ${program} NAME_WE)
  file(READ ${program} text)
  while(text MATCHES "^#")
    string(FIND "${text}" "\n" end_of_line)
    if(end_of_line EQUAL -1)
      set(text "")
    else()
      math(EXPR end_of_line "${end_of_line} + 1")
      string(SUBSTRING "${text}" ${end_of_line} -1 text)
    endif()
  endwhile()
  if(text STREQUAL "")
    message(FATAL_ERROR "embed_harness.cmake: ${program} has nothing but comments")
  endif()
  string(LENGTH "${text}" size)
  string(HEX "${text}" hex)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(REGEX REPLACE "(${sixteen_bytes})" "\\1\n    " bytes "${bytes}")
  string(SUBSTRING ${stem} 0 1 first)
  string(TOUPPER ${first} first)
  string(SUBSTRING ${stem} 1 -1 rest)
  string(APPEND header "\n// ${stem}.py, ${size} bytes after its header comment.\n")
  string(APPEND header "inline constexpr unsigned char k${first}${rest}Py[] = {\n    ${bytes}};\n")
endforeach()
string(APPEND header "\n}  // namespace aha::rewards\n")
file(WRITE ${OUTPUT} "${header}")
