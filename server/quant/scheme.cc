#include "server/quant/scheme.h"

#include <array>

namespace quantd::quant {
namespace {

using kernels::Format;

constexpr SchemeInfo block(Scheme s, std::string_view name, std::string_view api, Format f, int bits,
                           bool symmetric) {
  return {s, name, api, SchemeKind::kBlock, f, bits, symmetric, 0, 0};
}
constexpr SchemeInfo integer(Scheme s, std::string_view name, std::string_view api, int bits, bool symmetric) {
  // Symmetric codes are +-(2^(bits-1) - 1), leaving -2^(bits-1) unused so the range is even
  // about 0; asymmetric ones use all 2^bits.
  const int32_t half = (1 << (bits - 1)) - 1;
  return {s, name, api, SchemeKind::kInt, Format::kF32, bits, symmetric, symmetric ? -half : 0,
          symmetric ? half : (1 << bits) - 1};
}

// In enum order: kSchemes[static_cast<int>(s)] is s's row (checked below).
constexpr std::array<SchemeInfo, 9> kSchemes = {{
    block(Scheme::kQ4_0, "q4_0", "Q4_0", Format::kQ4_0, 4, true),
    block(Scheme::kQ4_1, "q4_1", "Q4_1", Format::kQ4_1, 4, false),
    block(Scheme::kQ5_0, "q5_0", "Q5_0", Format::kQ5_0, 5, true),
    block(Scheme::kQ5_1, "q5_1", "Q5_1", Format::kQ5_1, 5, false),
    block(Scheme::kQ8_0, "q8_0", "Q8_0", Format::kQ8_0, 8, true),
    integer(Scheme::kInt8Symmetric, "int8_sym", "INT8_SYMMETRIC", 8, true),
    integer(Scheme::kInt8Asymmetric, "int8_asym", "INT8_ASYMMETRIC", 8, false),
    integer(Scheme::kInt4Symmetric, "int4_sym", "INT4_SYMMETRIC", 4, true),
    integer(Scheme::kInt4Asymmetric, "int4_asym", "INT4_ASYMMETRIC", 4, false),
}};

constexpr bool rows_in_enum_order() {
  for (size_t i = 0; i < kSchemes.size(); ++i) {
    if (static_cast<size_t>(kSchemes[i].scheme) != i) return false;
  }
  return true;
}
static_assert(rows_in_enum_order(), "kSchemes rows must follow the Scheme enum");

std::string join(std::string_view SchemeInfo::*field, std::string_view last_separator) {
  std::string out;
  for (size_t i = 0; i < kSchemes.size(); ++i) {
    if (i > 0) out += i + 1 == kSchemes.size() ? last_separator : std::string_view(", ");
    out += kSchemes[i].*field;
  }
  return out;
}

}  // namespace

std::span<const SchemeInfo> all_schemes() { return kSchemes; }

const SchemeInfo* find_scheme(Scheme s) {
  const auto i = static_cast<size_t>(s);
  return i < kSchemes.size() ? &kSchemes[i] : nullptr;
}

const SchemeInfo* find_scheme(std::string_view name) {
  for (const SchemeInfo& r : kSchemes) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

const SchemeInfo* find_scheme_by_api_name(std::string_view api_name) {
  for (const SchemeInfo& r : kSchemes) {
    if (r.api_name == api_name) return &r;
  }
  return nullptr;
}

const kernels::FormatInfo* block_format_info(Scheme s) {
  const SchemeInfo* r = find_scheme(s);
  return r != nullptr && r->kind == SchemeKind::kBlock ? kernels::find_format(r->format) : nullptr;
}

std::string scheme_names(std::string_view last_separator) { return join(&SchemeInfo::name, last_separator); }
std::string scheme_api_names(std::string_view last_separator) {
  return join(&SchemeInfo::api_name, last_separator);
}

bool is_block_scheme(Scheme s) {
  const SchemeInfo* r = find_scheme(s);
  return r != nullptr && r->kind == SchemeKind::kBlock;
}

bool is_symmetric(Scheme s) {
  const SchemeInfo* r = find_scheme(s);
  return r != nullptr && r->kind == SchemeKind::kInt && r->symmetric;
}

int bits_of(Scheme s) {
  const SchemeInfo* r = find_scheme(s);
  return r != nullptr ? r->bits : 0;
}

std::string_view scheme_name(Scheme s) {
  const SchemeInfo* r = find_scheme(s);
  return r != nullptr ? r->name : "unknown";
}

std::string_view granularity_name(Granularity g) {
  switch (g) {
    case Granularity::kPerTensor:
      return "per_tensor";
    case Granularity::kPerChannel:
      return "per_channel";
    case Granularity::kPerGroup:
      return "per_group";
    case Granularity::kPerBlock:
      return "per_block";
  }
  return "unknown";
}

std::string_view range_method_name(RangeMethod r) {
  switch (r) {
    case RangeMethod::kMinMax:
      return "min_max";
    case RangeMethod::kPercentile:
      return "percentile";
    case RangeMethod::kMse:
      return "mse";
  }
  return "unknown";
}

}  // namespace quantd::quant
