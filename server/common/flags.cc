#include "server/common/flags.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/common/byte_size.h"
#include "server/common/status.h"

namespace quantd::flags {

struct FlagSet::Flag {
  std::string name;       // as registered: what --help shows
  std::string canonical;  // what lookups compare
  std::string type;       // "int", "bytes", "list", ...
  std::string default_text;
  std::string help;
  bool is_bool = false;
  bool given = false;
  // Stores one use's value; first_use lets a list replace its default instead of appending to it.
  std::function<absl::Status(std::string_view value, bool first_use)> set;
};

namespace {

constexpr int kMaxFlagfileDepth = 8;

std::string spelled(const std::string& name) { return (name.size() == 1 ? "-" : "--") + name; }

absl::StatusOr<bool> parse_bool(std::string_view value) {
  const std::string v = absl::AsciiStrToLower(sv(value));
  if (v == "true" || v == "1" || v == "yes") return true;
  if (v == "false" || v == "0" || v == "no") return false;
  return absl::InvalidArgumentError("expected true or false");
}

template <typename T>
absl::Status parse_int(std::string_view value, T* out) {
  if (!absl::SimpleAtoi(sv(value), out)) return absl::InvalidArgumentError("expected an integer in range");
  return absl::OkStatus();
}

std::string list_text(const std::vector<std::string>& items) {
  if (items.empty()) return "none";
  std::string out;
  for (const std::string& s : items) absl::StrAppend(&out, out.empty() ? "" : ",", s);
  return out;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

// Word-wraps text to width columns, each line indented.
void append_wrapped(std::string* out, std::string_view text, size_t indent, size_t width) {
  for (absl::string_view paragraph : absl::StrSplit(sv(text), '\n')) {
    size_t column = 0;
    for (absl::string_view word : absl::StrSplit(paragraph, ' ', absl::SkipEmpty())) {
      if (column > 0 && column + 1 + word.size() > width) {
        out->push_back('\n');
        column = 0;
      }
      if (column == 0) {
        out->append(indent, ' ');
        column = indent;
      } else {
        out->push_back(' ');
        ++column;
      }
      absl::StrAppend(out, word);
      column += word.size();
    }
    out->push_back('\n');
  }
}

void append_entry(std::string* out, const std::string& head, const std::string& default_text,
                  const std::string& help) {
  std::string line = absl::StrCat("  ", head);
  if (!default_text.empty()) {
    line.resize(std::max<size_t>(line.size() + 2, 36), ' ');
    absl::StrAppend(&line, "default ", default_text);
  }
  absl::StrAppend(out, line, "\n");
  append_wrapped(out, help, 6, 100);
}

}  // namespace

std::string canonical_name(std::string_view name) {
  std::string out(name);
  std::replace(out.begin(), out.end(), '_', '-');
  return out;
}

FlagSet::FlagSet(std::string program, std::string usage) : program_(std::move(program)), usage_(std::move(usage)) {}
FlagSet::~FlagSet() = default;

FlagSet::Flag& FlagSet::add_flag(std::string_view name, std::string type, std::string default_text,
                                 std::string_view help) {
  auto flag = std::make_unique<Flag>();
  flag->name = std::string(name);
  flag->canonical = canonical_name(name);
  flag->type = std::move(type);
  flag->default_text = std::move(default_text);
  flag->help = std::string(help);
  if (find(name) != nullptr || flag->canonical == "help" || flag->canonical == "h" || flag->canonical == "flagfile") {
    std::fprintf(stderr, "%s: flag --%s defined twice (or reserved: help, h, flagfile)\n", program_.c_str(), flag->name.c_str());
    std::abort();  // a programming error, caught by the first run of any test
  }
  flags_.push_back(std::move(flag));
  return *flags_.back();
}

void FlagSet::add(std::string_view name, bool* value, std::string_view help) {
  Flag& f = add_flag(name, "bool", *value ? "true" : "false", help);
  f.is_bool = true;
  f.set = [value](std::string_view v, bool) -> absl::Status {
    QUANTD_ASSIGN_OR_RETURN(*value, parse_bool(v));
    return absl::OkStatus();
  };
}

void FlagSet::add(std::string_view name, int* value, std::string_view help) {
  Flag& f = add_flag(name, "int", absl::StrCat(*value), help);
  f.set = [value](std::string_view v, bool) { return parse_int(v, value); };
}

void FlagSet::add(std::string_view name, int64_t* value, std::string_view help) {
  Flag& f = add_flag(name, "int", absl::StrCat(*value), help);
  f.set = [value](std::string_view v, bool) { return parse_int(v, value); };
}

void FlagSet::add(std::string_view name, uint64_t* value, std::string_view help) {
  Flag& f = add_flag(name, "uint", absl::StrCat(*value), help);
  f.set = [value](std::string_view v, bool) { return parse_int(v, value); };
}

void FlagSet::add(std::string_view name, double* value, std::string_view help) {
  Flag& f = add_flag(name, "number", absl::StrCat(*value), help);
  f.set = [value](std::string_view v, bool) {
    return absl::SimpleAtod(sv(v), value) ? absl::OkStatus() : absl::InvalidArgumentError("expected a number");
  };
}

void FlagSet::add(std::string_view name, std::string* value, std::string_view help, std::string_view type) {
  Flag& f = add_flag(name, std::string(type), value->empty() ? "none" : *value, help);
  f.set = [value](std::string_view v, bool) {
    *value = std::string(v);
    return absl::OkStatus();
  };
}

void FlagSet::add_bytes(std::string_view name, int64_t* value, std::string_view help) {
  Flag& f = add_flag(name, "bytes", format_byte_size(*value), help);
  f.set = [value](std::string_view v, bool) -> absl::Status {
    QUANTD_ASSIGN_OR_RETURN(*value, parse_byte_size(v));
    return absl::OkStatus();
  };
}

void FlagSet::add_list(std::string_view name, std::vector<std::string>* value, std::string_view help) {
  Flag& f = add_flag(name, "list", list_text(*value), help);
  f.set = [value](std::string_view v, bool first_use) {
    if (first_use) value->clear();
    for (absl::string_view item : absl::StrSplit(sv(v), ',', absl::SkipEmpty())) value->emplace_back(item);
    return absl::OkStatus();
  };
}

void FlagSet::add_repeated(std::string_view name, std::vector<std::string>* value, std::string_view help) {
  Flag& f = add_flag(name, "string, repeatable", list_text(*value), help);
  f.set = [value](std::string_view v, bool first_use) {
    if (first_use) value->clear();
    value->emplace_back(v);
    return absl::OkStatus();
  };
}

void FlagSet::add_environment(std::string_view name, std::string_view help) {
  environment_.emplace_back(name, help);
}

FlagSet::Flag* FlagSet::find(std::string_view name) const {
  const std::string c = canonical_name(name);
  for (const auto& f : flags_) {
    if (f->canonical == c) return f.get();
  }
  return nullptr;
}

bool FlagSet::given(std::string_view name) const {
  const Flag* f = find(name);
  return f != nullptr && f->given;
}

absl::StatusOr<std::vector<std::string>> FlagSet::parse(const std::vector<std::string>& args) {
  std::vector<std::string> positional;
  QUANTD_RETURN_IF_ERROR(parse_into(args, 0, &positional));
  return positional;
}

absl::Status FlagSet::parse_into(const std::vector<std::string>& args, int depth,
                                 std::vector<std::string>* positional) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      positional->insert(positional->end(), args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
      break;
    }
    std::string body;
    if (arg.size() > 2 && arg.compare(0, 2, "--") == 0) {
      body = arg.substr(2);
    } else if (arg.size() == 2 && arg[0] == '-' && std::isalpha(static_cast<unsigned char>(arg[1]))) {
      body = arg.substr(1);  // -o, -h
    } else {
      positional->push_back(arg);  // including "-" and negative numbers
      continue;
    }
    const size_t eq = body.find('=');
    const std::string name = body.substr(0, eq);
    const std::string shown = spelled(name);
    const bool has_value = eq != std::string::npos;
    auto next_value = [&]() -> absl::StatusOr<std::string> {
      if (has_value) return body.substr(eq + 1);
      if (i + 1 >= args.size()) return absl::InvalidArgumentError(absl::StrCat(shown, " needs a value"));
      return args[++i];
    };

    const std::string canonical = canonical_name(name);
    if (canonical == "help" || canonical == "h") {
      help_requested_ = true;
      continue;
    }
    if (canonical == "flagfile") {
      QUANTD_ASSIGN_OR_RETURN(const std::string path, next_value());
      if (depth >= kMaxFlagfileDepth) {
        return absl::InvalidArgumentError(absl::StrCat("--flagfile=", path, ": flag files nested too deep"));
      }
      QUANTD_RETURN_IF_ERROR(read_flagfile(path, depth + 1, positional));
      continue;
    }
    Flag* flag = find(name);
    if (flag == nullptr) {
      std::string message = absl::StrCat("unknown flag ", shown);
      const Flag* nearest = nullptr;
      size_t best = canonical.size() >= 4 ? 3 : 0;  // a typo, not a different short name
      for (const auto& f : flags_) {
        if (const size_t d = edit_distance(canonical, f->canonical); d < best) {
          best = d;
          nearest = f.get();
        }
      }
      if (nearest != nullptr) absl::StrAppend(&message, " (did you mean ", spelled(nearest->name), "?)");
      return absl::InvalidArgumentError(message);
    }
    std::string value = "true";  // a bare boolean switch
    if (!flag->is_bool || has_value) {
      QUANTD_ASSIGN_OR_RETURN(value, next_value());
    }
    if (absl::Status s = flag->set(value, !flag->given); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(shown, "=", value, ": ", s.message()));
    }
    flag->given = true;
  }
  return absl::OkStatus();
}

absl::Status FlagSet::read_flagfile(const std::string& path, int depth, std::vector<std::string>* positional) {
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("--flagfile=", path, ": cannot read the file"));
  std::vector<std::string> args;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    const absl::string_view l = absl::StripAsciiWhitespace(line);
    if (l.empty() || l[0] == '#') continue;
    if (l[0] != '-') {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", number, ": '", l, "' is not a flag (one --name=value a line)"));
    }
    // "--name value" reads as "--name=value"; a value may contain spaces either way.
    std::string arg(l);
    if (const size_t space = arg.find_first_of(" \t"); space != std::string::npos && arg.find('=') > space) {
      arg = absl::StrCat(arg.substr(0, space), "=", absl::StripLeadingAsciiWhitespace(arg.substr(space)));
    }
    args.push_back(std::move(arg));
  }
  std::vector<std::string> file_positional;
  if (absl::Status s = parse_into(args, depth, &file_positional); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", s.message()));
  }
  positional->insert(positional->end(), file_positional.begin(), file_positional.end());
  return absl::OkStatus();
}

std::vector<std::string> FlagSet::parse_or_exit(int argc, char** argv) {
  return parse_or_exit(std::vector<std::string>(argv + 1, argv + argc));
}

std::vector<std::string> FlagSet::parse_or_exit(const std::vector<std::string>& args) {
  absl::StatusOr<std::vector<std::string>> positional = parse(args);
  if (help_requested_) {
    std::fputs(help().c_str(), stdout);
    std::exit(0);
  }
  if (!positional.ok()) {
    std::fprintf(stderr, "%s: %s (see %s --help)\n", program_.c_str(), std::string(positional.status().message()).c_str(),
                 program_.c_str());
    std::exit(2);
  }
  return *std::move(positional);
}

std::string FlagSet::flags_help(bool builtins) const {
  std::string out;
  for (const auto& f : flags_) {
    const std::string head = f->is_bool ? absl::StrCat(spelled(f->name), "[=bool]")
                                        : absl::StrCat(spelled(f->name), f->name.size() == 1 ? " " : "=", f->type);
    append_entry(&out, head, f->default_text, f->help);
  }
  if (builtins) {
    append_entry(&out, "--flagfile=path", "", "Read more flags from a file: one --name=value a line, '#' comments.");
    append_entry(&out, "--help, -h", "", "Print this help and exit.");
  }
  return out;
}

std::string FlagSet::help() const {
  std::string out = usage_;
  if (!out.empty() && out.back() != '\n') out.push_back('\n');
  absl::StrAppend(&out,
                  "\nFlags (--name=value or --name value; '-' and '_' in names are the same):\n", flags_help());
  if (!environment_.empty()) {
    absl::StrAppend(&out, "\nEnvironment:\n");
    for (const auto& [name, text] : environment_) append_entry(&out, name, "", text);
  }
  return out;
}

}  // namespace quantd::flags
