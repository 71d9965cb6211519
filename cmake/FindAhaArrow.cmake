# Finds the Arrow and Parquet C++ libraries that ship inside the PyPI pyarrow wheel (Debian has no Arrow
# package): the wheel's package folder holds include/ and the versioned libarrow.so.NNNN /
# libparquet.so.NNNN, with no unversioned symlinks, so the imported targets point at the versioned files.
#
#   AHA_ARROW_ROOT   the pyarrow package folder (`python -c 'import pyarrow, os; print(os.path.dirname(
#                    pyarrow.__file__))'`). When not given, asks the venv python of scripts/setup.sh
#                    ($AHA_CACHE/venv, default ~/.cache/aha/venv), so an already configured build dir finds
#                    Arrow on its next reconfigure with nothing passed.
#
# Defines aha::arrow and aha::parquet (IMPORTED SHARED; include dirs come in as SYSTEM, so -Werror in our
# targets ignores Arrow's headers). Linking a library by full path gives the build-tree executables an RPATH
# to its folder, so they run without LD_LIBRARY_PATH.

function(_aha_arrow_root_from_venv out)
  if(DEFINED ENV{AHA_CACHE})
    set(cache "$ENV{AHA_CACHE}")
  else()
    set(cache "$ENV{HOME}/.cache/aha")
  endif()
  set(python "${cache}/venv/bin/python")
  set(${out} "" PARENT_SCOPE)
  if(NOT EXISTS "${python}")
    return()
  endif()
  execute_process(
    COMMAND "${python}" -c "import os, pyarrow; print(os.path.dirname(pyarrow.__file__), end='')"
    OUTPUT_VARIABLE root ERROR_QUIET RESULT_VARIABLE status)
  if(status EQUAL 0)
    set(${out} "${root}" PARENT_SCOPE)
  endif()
endfunction()

# A root found in the venv is looked up again when it has gone (a venv rebuilt on another Python); one
# passed by hand is kept, so a wrong one fails below instead of being swapped for the venv's in silence.
if(NOT AHA_ARROW_ROOT OR (_AHA_ARROW_ROOT_FROM_VENV AND NOT EXISTS "${AHA_ARROW_ROOT}/include/arrow/util/config.h"))
  _aha_arrow_root_from_venv(found_root)
  if(found_root)
    set(AHA_ARROW_ROOT "${found_root}" CACHE PATH "pyarrow package folder holding include/ and libarrow" FORCE)
    set(_AHA_ARROW_ROOT_FROM_VENV ON CACHE INTERNAL "AHA_ARROW_ROOT came from the setup.sh venv")
  endif()
endif()

set(AHA_ARROW_INCLUDE_DIR "${AHA_ARROW_ROOT}/include")
set(_aha_arrow_config "${AHA_ARROW_INCLUDE_DIR}/arrow/util/config.h")
if(AHA_ARROW_ROOT AND EXISTS "${_aha_arrow_config}")
  # The library file names carry the SO version the headers were made with; take it from the headers so a
  # stale library beside them can never be linked.
  file(STRINGS "${_aha_arrow_config}" _aha_so_line REGEX "^#define ARROW_SO_VERSION ")
  file(STRINGS "${_aha_arrow_config}" _aha_version_line REGEX "^#define ARROW_VERSION_STRING ")
  string(REGEX REPLACE ".*\"(.*)\".*" "\\1" AHA_ARROW_SO_VERSION "${_aha_so_line}")
  string(REGEX REPLACE ".*\"(.*)\".*" "\\1" AhaArrow_VERSION "${_aha_version_line}")
  set(AHA_ARROW_LIBRARY "${AHA_ARROW_ROOT}/libarrow.so.${AHA_ARROW_SO_VERSION}")
  set(AHA_PARQUET_LIBRARY "${AHA_ARROW_ROOT}/libparquet.so.${AHA_ARROW_SO_VERSION}")
  if(NOT EXISTS "${AHA_ARROW_LIBRARY}" OR NOT EXISTS "${AHA_PARQUET_LIBRARY}")
    unset(AHA_ARROW_LIBRARY)
    unset(AHA_PARQUET_LIBRARY)
  endif()
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(AhaArrow
  REQUIRED_VARS AHA_ARROW_LIBRARY AHA_PARQUET_LIBRARY AHA_ARROW_INCLUDE_DIR
  VERSION_VAR AhaArrow_VERSION
  REASON_FAILURE_MESSAGE
    "run scripts/setup.sh (installs pyarrow into ~/.cache/aha/venv), or pass -DAHA_ARROW_ROOT=<the pyarrow package folder, holding include/ and libarrow.so.NNNN> (AHA_ARROW_ROOT is '${AHA_ARROW_ROOT}')")

if(AhaArrow_FOUND AND NOT TARGET aha::arrow)
  add_library(aha::arrow SHARED IMPORTED)
  set_target_properties(aha::arrow PROPERTIES
    IMPORTED_LOCATION "${AHA_ARROW_LIBRARY}"
    IMPORTED_SONAME "libarrow.so.${AHA_ARROW_SO_VERSION}"
    INTERFACE_INCLUDE_DIRECTORIES "${AHA_ARROW_INCLUDE_DIR}")
  add_library(aha::parquet SHARED IMPORTED)
  set_target_properties(aha::parquet PROPERTIES
    IMPORTED_LOCATION "${AHA_PARQUET_LIBRARY}"
    IMPORTED_SONAME "libparquet.so.${AHA_ARROW_SO_VERSION}"
    INTERFACE_LINK_LIBRARIES aha::arrow)
endif()
