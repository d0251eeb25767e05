// The parsed command line of one quantctl command: its positionals (the command's name first)
// and each of its flags as text. Parsing is server/common/flags (the dialect of every binary);
// commands convert and check the values they read.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "server/common/flags.h"

namespace quantd::client {

// One flag of a command.
struct FlagSpec {
  const char* name;
  const char* type;           // "bool": a switch; "repeated": may be given several times; else shown in --help
  const char* default_value;  // what get() returns when the flag is not given
  const char* help;
};

class Args {
 public:
  Args(std::string program, std::string usage, const std::vector<FlagSpec>& flags);
  Args(const Args&) = delete;
  Args& operator=(const Args&) = delete;

  // Parses args (without the program and command names); on --help or an error, exits as
  // flags::FlagSet::parse_or_exit does.
  void parse_or_exit(const std::string& command, const std::vector<std::string>& args);

  const std::vector<std::string>& positional() const { return positional_; }
  // Whether the flag was given; for a switch, whether it is on.
  bool has(const std::string& key) const;
  // The value given, or the flag's default.
  std::string get(const std::string& key) const;
  // Every value of a repeated flag (--stop=a --stop=b), in order.
  std::vector<std::string> get_all(const std::string& key) const;
  const flags::FlagSet& flag_set() const { return set_; }

 private:
  flags::FlagSet set_;
  std::vector<std::string> positional_;
  // Keyed by flags::canonical_name; std::map so the pointers FlagSet holds stay valid.
  std::map<std::string, std::string> text_;
  std::map<std::string, bool> switches_;
  std::map<std::string, std::vector<std::string>> repeated_;
};

}  // namespace quantd::client
