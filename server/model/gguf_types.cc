// Names of GGUF metadata types and ggml tensor types, for messages and the dump tool.
#include <array>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "server/model/gguf.h"

namespace quantd::model {

std::string gguf_type_name(GgufType type) {
  static constexpr std::array<std::string_view, 13> kNames = {
      "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64"};
  const auto id = static_cast<uint32_t>(type);
  if (id < kNames.size()) return std::string(kNames[id]);
  return absl::StrCat("type ", id);
}

// Every id ggml has assigned, including the retired ones, so an error can say "q4_K" rather
// than "12". Only the ids in kernels::find_format() can be loaded.
std::string_view ggml_type_name(uint32_t type_id) {
  static constexpr std::array<std::string_view, 40> kNames = {
      "f32",     "f16",      "q4_0",       "q4_1",       "q4_2 (retired)", "q4_3 (retired)",
      "q5_0",    "q5_1",     "q8_0",       "q8_1",       "q2_K",           "q3_K",
      "q4_K",    "q5_K",     "q6_K",       "q8_K",       "iq2_xxs",        "iq2_xs",
      "iq3_xxs", "iq1_s",    "iq4_nl",     "iq3_s",      "iq2_s",          "iq4_xs",
      "i8",      "i16",      "i32",        "i64",        "f64",            "iq1_m",
      "bf16",    "q4_0_4_4 (retired)",     "q4_0_4_8 (retired)",   "q4_0_8_8 (retired)",
      "tq1_0",   "tq2_0",    "iq4_nl_4_4 (retired)",   "iq4_nl_4_8 (retired)",
      "iq4_nl_8_8 (retired)", "mxfp4"};
  if (type_id < kNames.size()) return kNames[type_id];
  return "unknown";
}

int64_t GgufTensor::elements() const {
  int64_t n = 1;
  for (int64_t d : ne) n *= d;
  return n;
}

}  // namespace quantd::model
