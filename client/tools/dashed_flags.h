// Lets the tools take --kv-heads as well as Abseil's --kv_heads: flag names are rewritten
// with underscores before absl::ParseCommandLine sees them (values are left alone).
#pragma once

#include <string>
#include <vector>

namespace quantd::tools {

class DashedFlags {
 public:
  DashedFlags(int argc, char** argv) {
    for (int i = 0; i < argc; ++i) {
      std::string a = argv[i];
      if (i > 0 && a.size() > 2 && a.compare(0, 2, "--") == 0) {
        const size_t end = a.find('=');
        for (size_t k = 2; k < a.size() && k < end; ++k) {
          if (a[k] == '-') a[k] = '_';
        }
      }
      storage_.push_back(std::move(a));
    }
    for (std::string& s : storage_) pointers_.push_back(s.data());
  }
  int argc() const { return static_cast<int>(pointers_.size()); }
  char** argv() { return pointers_.data(); }

 private:
  std::vector<std::string> storage_;
  std::vector<char*> pointers_;
};

}  // namespace quantd::tools
