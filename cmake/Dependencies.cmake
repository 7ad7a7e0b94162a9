# Every dependency comes from Debian 12 packages (scripts/install-deps.sh).
# Boost 1.81 is required: Debian's default 1.74 has no Boost.JSON.
find_package(Boost 1.81.0 EXACT CONFIG REQUIRED COMPONENTS json url)
find_package(OpenSSL 3 REQUIRED)
find_package(spdlog REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(SYSTEMD REQUIRED IMPORTED_TARGET libsystemd)

# Sanitizer and fuzzing variants (compile options for every target below).
include(${CMAKE_CURRENT_LIST_DIR}/Hardening.cmake)
