# FindMsgpackCxx: msgpack-c's C++ headers (Debian: libmsgpack-cxx-dev), header-only and
# without Boost, as the imported target MsgpackCxx::MsgpackCxx. The package's own CMake
# configuration insists on Boost, which duractor does not use.
include(FindPackageHandleStandardArgs)
find_path(MSGPACK_CXX_INCLUDE_DIR msgpack.hpp)
find_package_handle_standard_args(MsgpackCxx REQUIRED_VARS MSGPACK_CXX_INCLUDE_DIR)
if(MsgpackCxx_FOUND AND NOT TARGET MsgpackCxx::MsgpackCxx)
  add_library(MsgpackCxx::MsgpackCxx INTERFACE IMPORTED)
  set_target_properties(MsgpackCxx::MsgpackCxx PROPERTIES
                        INTERFACE_INCLUDE_DIRECTORIES "${MSGPACK_CXX_INCLUDE_DIR}"
                        INTERFACE_COMPILE_DEFINITIONS MSGPACK_NO_BOOST)
endif()
mark_as_advanced(MSGPACK_CXX_INCLUDE_DIR)
