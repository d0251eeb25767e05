#include "client/quantctl/args.h"

namespace quantd::client {

// Options that take no value.
static bool is_switch(const std::string& key) {
  return key == "no-stats" || key == "stream" || key == "raw" || key == "omit-quantized" || key == "help";
}

Args::Args(int argc, char** argv, int first) {
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-o" && i + 1 < argc) {  // the one short option: output path
      options_["o"] = argv[++i];
      continue;
    }
    if (a.rfind("--", 0) != 0 || a.size() == 2) {
      positional_.push_back(a);
      continue;
    }
    a = a.substr(2);
    const size_t eq = a.find('=');
    if (eq != std::string::npos) {
      options_[a.substr(0, eq)] = a.substr(eq + 1);
    } else if (is_switch(a) || i + 1 >= argc) {
      options_[a] = "true";
    } else {
      options_[a] = argv[++i];
    }
  }
}

std::string Args::get(const std::string& key, const std::string& fallback) const {
  read_[key] = true;
  auto it = options_.find(key);
  return it == options_.end() ? fallback : it->second;
}

std::vector<std::string> Args::unused() const {
  std::vector<std::string> out;
  for (const auto& [key, value] : options_) {
    if (!read_.count(key)) out.push_back("--" + key);
  }
  return out;
}

}  // namespace quantd::client
