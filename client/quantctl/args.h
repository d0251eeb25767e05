// A small command-line parser: positionals plus --key=value / --key value / --flag options.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace quantd::client {

class Args {
 public:
  Args(int argc, char** argv, int first);

  const std::vector<std::string>& positional() const { return positional_; }
  bool has(const std::string& key) const {
    read_[key] = true;
    return options_.count(key) > 0;
  }
  std::string get(const std::string& key, const std::string& fallback = "") const;
  // Every value of an option given several times (--stop=a --stop=b), in order.
  std::vector<std::string> get_all(const std::string& key) const;
  // Options the command never asked about: reported as errors, so typos do not pass silently.
  std::vector<std::string> unused() const;

 private:
  std::vector<std::string> positional_;
  std::map<std::string, std::string> options_;  // the last value of each
  std::vector<std::pair<std::string, std::string>> all_;
  mutable std::map<std::string, bool> read_;
};

}  // namespace quantd::client
