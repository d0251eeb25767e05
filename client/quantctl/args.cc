#include "client/quantctl/args.h"

namespace quantd::client {

// Options that take no value.
static bool is_switch(const std::string& key) {
  return key == "no-stats" || key == "stream" || key == "raw" || key == "omit-quantized" || key == "help" ||
         key == "no-bos";
}

Args::Args(int argc, char** argv, int first) {
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-o" && i + 1 < argc) {  // the one short option: output path
      options_["o"] = argv[++i];
      all_.emplace_back("o", options_["o"]);
      continue;
    }
    if (a.rfind("--", 0) != 0 || a.size() == 2) {
      positional_.push_back(a);
      continue;
    }
    a = a.substr(2);
    const size_t eq = a.find('=');
    std::string key = a, value;
    if (eq != std::string::npos) {
      key = a.substr(0, eq);
      value = a.substr(eq + 1);
    } else if (is_switch(a) || i + 1 >= argc) {
      value = "true";
    } else {
      value = argv[++i];
    }
    options_[key] = value;
    all_.emplace_back(key, value);
  }
}

std::string Args::get(const std::string& key, const std::string& fallback) const {
  read_[key] = true;
  auto it = options_.find(key);
  return it == options_.end() ? fallback : it->second;
}

std::vector<std::string> Args::get_all(const std::string& key) const {
  read_[key] = true;
  std::vector<std::string> out;
  for (const auto& [k, v] : all_) {
    if (k == key) out.push_back(v);
  }
  return out;
}

std::vector<std::string> Args::unused() const {
  std::vector<std::string> out;
  for (const auto& [key, value] : options_) {
    if (!read_.count(key)) out.push_back("--" + key);
  }
  return out;
}

}  // namespace quantd::client
