#include "client/quantctl/npy.h"

#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace quantd::client {
namespace {

constexpr char kMagic[] = "\x93NUMPY";

// Extracts the value of 'key' from the header dict, e.g. "'descr': '<f4', ..." -> "'<f4'".
absl::StatusOr<std::string> dict_value(const std::string& header, const std::string& key) {
  const std::string quoted = "'" + key + "'";
  size_t pos = header.find(quoted);
  if (pos == std::string::npos) return absl::InvalidArgumentError(absl::StrCat("npy header has no ", quoted));
  pos = header.find(':', pos);
  if (pos == std::string::npos) return absl::InvalidArgumentError("npy header is malformed");
  ++pos;
  while (pos < header.size() && header[pos] == ' ') ++pos;
  size_t end = pos;
  if (header[pos] == '(') {
    end = header.find(')', pos);
    if (end == std::string::npos) return absl::InvalidArgumentError("npy shape is malformed");
    return header.substr(pos, end - pos + 1);
  }
  end = header.find_first_of(",}", pos);
  return std::string(absl::StripAsciiWhitespace(header.substr(pos, end - pos)));
}

}  // namespace

absl::StatusOr<NpyArray> read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string file = buffer.str();
  if (file.size() < 10 || file.compare(0, 6, kMagic, 6) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(path, " is not a .npy file (bad magic)"));
  }
  const int major = static_cast<uint8_t>(file[6]);
  size_t header_len, header_start;
  if (major == 1) {
    header_len = static_cast<uint8_t>(file[8]) | (static_cast<uint8_t>(file[9]) << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (file.size() < 12) return absl::InvalidArgumentError(absl::StrCat(path, ": truncated header"));
    header_len = 0;
    for (int i = 0; i < 4; ++i) header_len |= static_cast<size_t>(static_cast<uint8_t>(file[8 + i])) << (8 * i);
    header_start = 12;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(path, ": unsupported .npy version ", major));
  }
  if (header_start + header_len > file.size()) return absl::InvalidArgumentError(absl::StrCat(path, ": truncated header"));
  const std::string header = file.substr(header_start, header_len);

  NpyArray a;
  absl::StatusOr<std::string> descr = dict_value(header, "descr");
  absl::StatusOr<std::string> fortran = dict_value(header, "fortran_order");
  absl::StatusOr<std::string> shape = dict_value(header, "shape");
  if (!descr.ok()) return descr.status();
  if (!fortran.ok()) return fortran.status();
  if (!shape.ok()) return shape.status();
  a.dtype = std::string(absl::StripSuffix(absl::StripPrefix(*descr, "'"), "'"));
  if (a.dtype == "|f4" || a.dtype == "=f4") a.dtype = "<f4";
  if (a.dtype != "<f4" && a.dtype != "<f2") {
    return absl::InvalidArgumentError(absl::StrCat(path, ": dtype ", a.dtype, " is not supported (use float32 or float16)"));
  }
  if (*fortran != "False") return absl::InvalidArgumentError(absl::StrCat(path, ": Fortran-order arrays are not supported"));
  std::string dims(absl::StripSuffix(absl::StripPrefix(*shape, "("), ")"));
  int64_t count = 1;
  for (absl::string_view d : absl::StrSplit(dims, ',', absl::SkipWhitespace())) {
    int64_t v;
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(d), &v) || v < 0) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": bad shape ", *shape));
    }
    a.shape.push_back(v);
    count *= v;
  }
  const size_t elem = a.dtype == "<f4" ? 4 : 2;
  const size_t data_start = header_start + header_len;
  if (file.size() - data_start != static_cast<size_t>(count) * elem) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": data has ", file.size() - data_start, " bytes, shape needs ",
                                                   count * elem));
  }
  a.data = file.substr(data_start);
  return a;
}

absl::Status write_npy(const std::string& path, const NpyArray& a) {
  std::string shape = "(";
  for (size_t i = 0; i < a.shape.size(); ++i) absl::StrAppend(&shape, a.shape[i], ",", i + 1 < a.shape.size() ? " " : "");
  shape += ")";
  std::string header = absl::StrCat("{'descr': '", a.dtype, "', 'fortran_order': False, 'shape': ", shape, ", }");
  // Pad with spaces so the data starts on a 64-byte boundary, ending the header with '\n'.
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  if (!out) return absl::PermissionDeniedError(absl::StrCat("cannot write ", path));
  out.write(kMagic, 6);
  const char version[2] = {1, 0};
  out.write(version, 2);
  const char len[2] = {static_cast<char>(header.size() & 0xff), static_cast<char>(header.size() >> 8)};
  out.write(len, 2);
  out << header;
  out.write(a.data.data(), static_cast<std::streamsize>(a.data.size()));
  if (!out) return absl::InternalError(absl::StrCat("write to ", path, " failed"));
  return absl::OkStatus();
}

}  // namespace quantd::client
