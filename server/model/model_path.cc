#include "server/model/model_path.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace quantd::model {
namespace {

absl::StatusOr<std::string> real_path(const std::string& path) {
  char buf[PATH_MAX];
  if (realpath(path.c_str(), buf) == nullptr) return absl::NotFoundError(absl::StrCat("no such file: ", path));
  return std::string(buf);
}

bool inside(const std::string& dir, const std::string& path) {
  return path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 && path[dir.size()] == '/';
}

}  // namespace

absl::StatusOr<std::string> resolve_model_path(const std::string& model_dir, const std::string& relative,
                                               bool must_exist) {
  if (model_dir.empty()) {
    return absl::FailedPreconditionError("the server has no --model_dir; it cannot open files named by clients");
  }
  if (relative.empty()) return absl::InvalidArgumentError("path is empty");
  if (relative[0] == '/') {
    return absl::PermissionDeniedError(absl::StrCat("path '", relative, "' is absolute; give it relative to the model directory"));
  }
  for (absl::string_view part : absl::StrSplit(relative, '/')) {
    if (part == "..") return absl::PermissionDeniedError(absl::StrCat("path '", relative, "' contains '..'"));
  }
  absl::StatusOr<std::string> dir = real_path(model_dir);
  if (!dir.ok()) return absl::FailedPreconditionError(absl::StrCat("--model_dir ", model_dir, " does not exist"));
  const std::string joined = *dir + "/" + relative;
  if (must_exist) {
    absl::StatusOr<std::string> real = real_path(joined);
    if (!real.ok()) return absl::NotFoundError(absl::StrCat("no model file '", relative, "' in the model directory"));
    if (!inside(*dir, *real)) {
      return absl::PermissionDeniedError(absl::StrCat("path '", relative, "' resolves outside the model directory"));
    }
    struct stat st;
    if (stat(real->c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      return absl::InvalidArgumentError(absl::StrCat("path '", relative, "' is not a regular file"));
    }
    return *real;
  }
  const size_t slash = joined.rfind('/');
  absl::StatusOr<std::string> parent = real_path(joined.substr(0, slash));
  if (!parent.ok()) return absl::NotFoundError(absl::StrCat("the directory of '", relative, "' does not exist"));
  if (*parent != *dir && !inside(*dir, *parent)) {
    return absl::PermissionDeniedError(absl::StrCat("path '", relative, "' resolves outside the model directory"));
  }
  const std::string target = *parent + joined.substr(slash);
  struct stat st;
  if (lstat(target.c_str(), &st) == 0) return absl::AlreadyExistsError(absl::StrCat("'", relative, "' already exists"));
  return target;
}

}  // namespace quantd::model
