// GgufFile: mapping a file read-only, and typed metadata lookups.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/model/gguf.h"
#include "server/model/gguf_parser.h"
#include "server/common/status.h"

namespace quantd::model {
namespace {

absl::Status open_error(const std::string& path, const char* what, int err) {
  const std::string msg = absl::StrCat("cannot ", what, " '", path, "': ", std::strerror(err));
  if (err == ENOENT) return absl::NotFoundError(msg);
  if (err == EACCES || err == EPERM) return absl::PermissionDeniedError(msg);
  return absl::InvalidArgumentError(msg);
}

absl::Status key_error(const std::string& key, const GgufValue& v, std::string_view expected) {
  return absl::InvalidArgumentError(absl::StrCat("metadata key '", key, "' has type ", gguf_type_name(v.type),
                                                 ", expected ", sv(expected)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<GgufFile>> GgufFile::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return open_error(path, "open", errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return open_error(path, "stat", err);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(absl::StrCat("'", path, "' is not a regular file"));
  }
  const auto size = static_cast<size_t>(st.st_size);
  if (size == 0) {
    ::close(fd);
    return absl::InvalidArgumentError(absl::StrCat("'", path, "' is empty, not a GGUF file"));
  }
  // Private and read-only: pages are shared with the page cache, and a write to the file by
  // someone else cannot be turned into a write through us.
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  const int err = errno;
  ::close(fd);  // the mapping keeps the file open
  if (map == MAP_FAILED) return open_error(path, "map", err);

  std::unique_ptr<GgufFile> file(new GgufFile());
  file->mapping_ = map;
  file->mapping_size_ = size;
  file->bytes_ = {static_cast<const uint8_t*>(map), size};
  absl::Status status = internal::run_gguf_parser(file.get());
  if (!status.ok()) return absl::Status(status.code(), absl::StrCat(path, ": ", status.message()));
  return file;
}

GgufFile::~GgufFile() {
  if (mapping_ != nullptr) ::munmap(mapping_, mapping_size_);
}

void GgufFile::release_pages(const uint8_t* data, uint64_t bytes) const {
  if (mapping_ == nullptr || bytes == 0) return;
  const auto base = reinterpret_cast<uintptr_t>(mapping_);
  const auto begin = reinterpret_cast<uintptr_t>(data);
  if (begin < base || bytes > mapping_size_ || begin - base > mapping_size_ - bytes) return;
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  // Only whole pages inside the range: neighbouring tensors may share the edge pages.
  const uintptr_t first = (begin + page - 1) / page * page;
  const uintptr_t last = (begin + bytes) / page * page;
  if (last > first) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

absl::StatusOr<std::string> GgufFile::get_string(const std::string& key) const {
  auto it = metadata_.find(key);
  if (it == metadata_.end()) return absl::NotFoundError(absl::StrCat("metadata key '", key, "' is missing"));
  if (it->second.type != GgufType::kString) return key_error(key, it->second, "string");
  return std::get<std::string>(it->second.value);
}

absl::StatusOr<uint64_t> GgufFile::get_uint(const std::string& key) const {
  auto it = metadata_.find(key);
  if (it == metadata_.end()) return absl::NotFoundError(absl::StrCat("metadata key '", key, "' is missing"));
  const GgufValue& v = it->second;
  if (const auto* u = std::get_if<uint64_t>(&v.value)) return *u;
  if (const auto* i = std::get_if<int64_t>(&v.value)) {
    if (*i < 0) {
      return absl::InvalidArgumentError(absl::StrCat("metadata key '", key, "' = ", *i, " is negative"));
    }
    return static_cast<uint64_t>(*i);
  }
  return key_error(key, v, "an integer");
}

absl::StatusOr<double> GgufFile::get_float(const std::string& key) const {
  auto it = metadata_.find(key);
  if (it == metadata_.end()) return absl::NotFoundError(absl::StrCat("metadata key '", key, "' is missing"));
  if (it->second.type != GgufType::kF32 && it->second.type != GgufType::kF64) {
    return key_error(key, it->second, "f32 or f64");
  }
  return std::get<double>(it->second.value);
}

absl::StatusOr<const GgufArray*> GgufFile::get_array(const std::string& key) const {
  auto it = metadata_.find(key);
  if (it == metadata_.end()) return absl::NotFoundError(absl::StrCat("metadata key '", key, "' is missing"));
  if (it->second.type != GgufType::kArray) return key_error(key, it->second, "array");
  return &std::get<GgufArray>(it->second.value);
}

}  // namespace quantd::model
