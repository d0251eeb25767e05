#include "server/quant/scheme.h"

namespace quantd::quant {

bool is_block_scheme(Scheme s) {
  switch (s) {
    case Scheme::kQ4_0:
    case Scheme::kQ4_1:
    case Scheme::kQ5_0:
    case Scheme::kQ5_1:
    case Scheme::kQ8_0:
      return true;
    default:
      return false;
  }
}

bool is_symmetric(Scheme s) { return s == Scheme::kInt8Symmetric || s == Scheme::kInt4Symmetric; }

int bits_of(Scheme s) {
  switch (s) {
    case Scheme::kQ4_0:
    case Scheme::kQ4_1:
    case Scheme::kInt4Symmetric:
    case Scheme::kInt4Asymmetric:
      return 4;
    case Scheme::kQ5_0:
    case Scheme::kQ5_1:
      return 5;
    case Scheme::kQ8_0:
    case Scheme::kInt8Symmetric:
    case Scheme::kInt8Asymmetric:
      return 8;
  }
  return 0;
}

std::string_view scheme_name(Scheme s) {
  switch (s) {
    case Scheme::kQ4_0:
      return "q4_0";
    case Scheme::kQ4_1:
      return "q4_1";
    case Scheme::kQ5_0:
      return "q5_0";
    case Scheme::kQ5_1:
      return "q5_1";
    case Scheme::kQ8_0:
      return "q8_0";
    case Scheme::kInt8Symmetric:
      return "int8_sym";
    case Scheme::kInt8Asymmetric:
      return "int8_asym";
    case Scheme::kInt4Symmetric:
      return "int4_sym";
    case Scheme::kInt4Asymmetric:
      return "int4_asym";
  }
  return "unknown";
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
