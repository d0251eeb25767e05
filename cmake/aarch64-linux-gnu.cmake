# Cross build for Linux on ARM64 with Debian's aarch64-linux-gnu toolchain and the arm64
# multiarch libraries (scripts/install-deps.sh). Tests run through qemu-aarch64, which loads
# the arm64 libc from /lib/aarch64-linux-gnu by itself: do not add -L (threads hang).
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

# Build tools (protoc, grpc_cpp_plugin) are the host's; libraries and CMake packages are
# found in the multiarch directories by the compiler's own search paths.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64)

# Without this, pkg-config based finds (FindOpenSSL, FindCURL) pick the x86_64 libraries.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
