// quantctl: the command-line client of quantd.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/quantctl/commands.h"

namespace {

using quantd::client::Args;
using quantd::client::Command;
using quantd::client::FlagSpec;

std::vector<FlagSpec> flags_of(const Command& c) {
  std::vector<FlagSpec> all = quantd::client::global_flags();
  all.insert(all.end(), c.flags.begin(), c.flags.end());
  return all;
}

std::string command_line(const Command& c) {
  return absl::StrCat("quantctl ", c.name, *c.synopsis ? " " : "", c.synopsis);
}

// The usage line and the list of commands.
std::string commands_help() {
  std::string out =
      "usage: quantctl COMMAND [flags]       (quantctl COMMAND --help: one command)\n\n"
      "The command-line client of quantd.\n\nCommands:\n";
  for (const Command& c : quantd::client::commands()) {
    std::string line = absl::StrCat("  ", c.name, *c.synopsis ? " " : "", c.synopsis);
    line.resize(std::max<size_t>(line.size() + 2, 36), ' ');
    absl::StrAppend(&out, line, c.summary, "\n");
  }
  return out;
}

// Every command with its flags.
std::string full_help() {
  std::string out = commands_help();
  const Args global("quantctl", "", quantd::client::global_flags());
  absl::StrAppend(&out, "\nFlags of every command (--name=value or --name value; '-' and '_' in names are the same):\n",
                  global.flag_set().flags_help());
  for (const Command& c : quantd::client::commands()) {
    if (c.flags.empty()) continue;
    const Args command("quantctl", "", c.flags);
    absl::StrAppend(&out, "\n", command_line(c), ":\n", command.flag_set().flags_help(false));
  }
  return out;
}

// The command is the first argument that is neither a flag nor the value of a global flag
// before it ("quantctl --server HOST health" works as "quantctl health --server HOST").
size_t command_index(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.empty() || a[0] != '-') return i;
    for (const FlagSpec& f : quantd::client::global_flags()) {
      if (a == absl::StrCat("--", f.name)) ++i;
    }
  }
  return args.size();
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  const size_t at = command_index(args);
  if (at == args.size()) {
    const bool help = std::find_if(args.begin(), args.end(), [](const std::string& a) {
                        return a == "--help" || a == "-h";
                      }) != args.end();
    if (help) {
      std::fputs(full_help().c_str(), stdout);
      return 0;
    }
    std::fprintf(stderr, "%s\nquantctl: no command (see quantctl --help for every flag)\n", commands_help().c_str());
    return 2;
  }
  const std::string name = args[at];
  args.erase(args.begin() + static_cast<std::ptrdiff_t>(at));
  for (const Command& c : quantd::client::commands()) {
    if (name != c.name) continue;
    Args parsed(absl::StrCat("quantctl ", c.name),
                absl::StrCat("usage: ", command_line(c), " [flags]\n\n", c.summary), flags_of(c));
    parsed.parse_or_exit(name, args);
    return c.run(parsed);
  }
  std::fprintf(stderr, "quantctl: unknown command '%s' (see quantctl --help)\n", name.c_str());
  return 2;
}
