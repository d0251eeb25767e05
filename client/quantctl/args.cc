#include "client/quantctl/args.h"

#include <cstdio>
#include <cstdlib>

namespace quantd::client {

Args::Args(std::string program, std::string usage, const std::vector<FlagSpec>& flags)
    : set_(std::move(program), std::move(usage)) {
  for (const FlagSpec& f : flags) {
    const std::string key = flags::canonical_name(f.name);
    const std::string type = f.type;
    if (type == "bool") {
      set_.add(f.name, &(switches_[key] = false), f.help);
    } else if (type == "repeated") {
      set_.add_repeated(f.name, &repeated_[key], f.help);
    } else {
      set_.add(f.name, &(text_[key] = f.default_value), f.help, type);
    }
  }
}

void Args::parse_or_exit(const std::string& command, const std::vector<std::string>& args) {
  positional_ = set_.parse_or_exit(args);
  positional_.insert(positional_.begin(), command);
}

bool Args::has(const std::string& key) const {
  const std::string k = flags::canonical_name(key);
  if (auto it = switches_.find(k); it != switches_.end()) return it->second;
  return set_.given(k);
}

std::string Args::get(const std::string& key) const {
  const auto it = text_.find(flags::canonical_name(key));
  if (it == text_.end()) {
    std::fprintf(stderr, "quantctl: internal error: flag --%s is not declared for this command\n", key.c_str());
    std::abort();
  }
  return it->second;
}

std::vector<std::string> Args::get_all(const std::string& key) const {
  const auto it = repeated_.find(flags::canonical_name(key));
  return it == repeated_.end() ? std::vector<std::string>{} : it->second;
}

}  // namespace quantd::client
