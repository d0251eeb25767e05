// Confining paths that arrive over the network to the server's model directory.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace quantd::model {

// The real path of `relative` inside `model_dir`. PERMISSION_DENIED for an empty or absolute
// path, any ".." component, or a symlink that resolves outside the directory; NOT_FOUND when
// must_exist and the file is missing. For a file to be created (must_exist false), its parent
// directory must exist inside model_dir and the file itself must not exist (ALREADY_EXISTS).
absl::StatusOr<std::string> resolve_model_path(const std::string& model_dir, const std::string& relative,
                                               bool must_exist);

}  // namespace quantd::model
