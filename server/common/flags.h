// The one command-line dialect of quantd, quantctl and the tools.
//
//   --name=value or --name value     a one-letter name is spelled -o value
//   --switch, --switch=true|false    booleans (also 1|0, yes|no); never take the next argument
//   --model-dir == --model_dir       dashes and underscores in names are the same
//   --flagfile=FILE                  more flags from FILE: one a line, '#' comments, blank lines
//   --help, -h                       every flag with its type, default and help
//   --                               everything after it is positional
//
// A flag writes into a variable of the caller; the variable's value when the flag is added is
// its default. Byte sizes take units (256MiB, 16GiB; plain integers too) and print in them.
// Not thread-safe; parse once, in main.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace quantd::flags {

class FlagSet {
 public:
  // usage: what comes first in --help, e.g. "usage: quantd [flags]\n\nServes ...".
  FlagSet(std::string program, std::string usage);
  ~FlagSet();
  FlagSet(const FlagSet&) = delete;
  FlagSet& operator=(const FlagSet&) = delete;

  void add(std::string_view name, bool* value, std::string_view help);
  void add(std::string_view name, int* value, std::string_view help);
  void add(std::string_view name, int64_t* value, std::string_view help);
  void add(std::string_view name, uint64_t* value, std::string_view help);
  void add(std::string_view name, double* value, std::string_view help);
  // type is what --help shows, for strings that hold something more specific ("host:port").
  void add(std::string_view name, std::string* value, std::string_view help, std::string_view type = "string");
  // Accepts 268435456, 256MiB, "256 MiB", 1.5GiB; --help shows the default as "256 MiB".
  void add_bytes(std::string_view name, int64_t* value, std::string_view help);
  // Comma-separated; each use of the flag appends its items ("--model=a=x --model=b=y" gives both).
  void add_list(std::string_view name, std::vector<std::string>* value, std::string_view help);
  // One value per use, commas and all ("--stop=a,b --stop=c" gives "a,b" and "c").
  void add_repeated(std::string_view name, std::vector<std::string>* value, std::string_view help);
  // An environment variable the program reads, listed in --help after the flags.
  void add_environment(std::string_view name, std::string_view help);

  // Parses arguments (argv without argv[0]); returns the positional ones. Unknown flags, missing
  // or malformed values and unreadable flag files are INVALID_ARGUMENT naming the flag.
  absl::StatusOr<std::vector<std::string>> parse(const std::vector<std::string>& args);
  // What main calls: parses argv[1..]. On --help prints help() to stdout and exits 0; on an
  // error prints it and "see PROGRAM --help" to stderr and exits 2.
  std::vector<std::string> parse_or_exit(int argc, char** argv);
  std::vector<std::string> parse_or_exit(const std::vector<std::string>& args);

  bool help_requested() const { return help_requested_; }
  // Whether the flag was given (by any spelling), e.g. to tell "--axis=0" from no --axis.
  bool given(std::string_view name) const;
  std::string help() const;
  // Just the flag lines of help(), for programs that print several sets (quantctl's commands);
  // builtins adds --flagfile and --help.
  std::string flags_help(bool builtins = true) const;
  const std::string& program() const { return program_; }

 private:
  struct Flag;
  Flag& add_flag(std::string_view name, std::string type, std::string default_text, std::string_view help);
  Flag* find(std::string_view name) const;
  absl::Status parse_into(const std::vector<std::string>& args, int depth, std::vector<std::string>* positional);
  absl::Status read_flagfile(const std::string& path, int depth, std::vector<std::string>* positional);

  std::string program_, usage_;
  std::vector<std::unique_ptr<Flag>> flags_;
  std::vector<std::pair<std::string, std::string>> environment_;
  bool help_requested_ = false;
};

// The spelling flags are matched by: dashes for underscores ("model_dir" -> "model-dir").
std::string canonical_name(std::string_view name);

}  // namespace quantd::flags
