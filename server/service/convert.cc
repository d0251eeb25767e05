#include "server/service/convert.h"

#include <bit>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string_view>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "quantd/kernels/kernels.h"
#include "server/common/status.h"

namespace quantd::service {
namespace {

using kernels::Format;

// Floats are little-endian on the wire and in memory on every target we build (x86-64, AArch64).
static_assert(std::endian::native == std::endian::little);

absl::StatusOr<quant::Granularity> to_granularity(v1::Granularity g, quant::Scheme scheme) {
  switch (g) {
    case v1::GRANULARITY_UNSPECIFIED:
      return quant::is_block_scheme(scheme) ? quant::Granularity::kPerBlock : quant::Granularity::kPerTensor;
    case v1::GRANULARITY_PER_TENSOR: return quant::Granularity::kPerTensor;
    case v1::GRANULARITY_PER_CHANNEL: return quant::Granularity::kPerChannel;
    case v1::GRANULARITY_PER_GROUP: return quant::Granularity::kPerGroup;
    case v1::GRANULARITY_PER_BLOCK: return quant::Granularity::kPerBlock;
    default:
      return absl::InvalidArgumentError(absl::StrCat("config.granularity ", static_cast<int>(g), " is not known"));
  }
}

v1::Granularity from_granularity(quant::Granularity g) {
  switch (g) {
    case quant::Granularity::kPerTensor: return v1::GRANULARITY_PER_TENSOR;
    case quant::Granularity::kPerChannel: return v1::GRANULARITY_PER_CHANNEL;
    case quant::Granularity::kPerGroup: return v1::GRANULARITY_PER_GROUP;
    case quant::Granularity::kPerBlock: return v1::GRANULARITY_PER_BLOCK;
  }
  return v1::GRANULARITY_UNSPECIFIED;
}

absl::StatusOr<quant::RangeMethod> to_range(v1::RangeMethod r) {
  switch (r) {
    case v1::RANGE_METHOD_UNSPECIFIED:
    case v1::RANGE_METHOD_MIN_MAX: return quant::RangeMethod::kMinMax;
    case v1::RANGE_METHOD_PERCENTILE: return quant::RangeMethod::kPercentile;
    case v1::RANGE_METHOD_MSE: return quant::RangeMethod::kMse;
    default:
      return absl::InvalidArgumentError(absl::StrCat("config.range_method ", static_cast<int>(r), " is not known"));
  }
}

}  // namespace

// Both directions go by the enum value's name, "SCHEME_" + SchemeInfo::api_name, so a scheme
// added to the proto and to server/quant's table needs no line here.
constexpr std::string_view kSchemePrefix = "SCHEME_";

absl::StatusOr<quant::Scheme> to_scheme(v1::Scheme s) {
  if (s == v1::SCHEME_UNSPECIFIED) {
    return absl::InvalidArgumentError(
        absl::StrCat("config.scheme is unset; choose one of ", quant::scheme_api_names()));
  }
  const std::string& name = v1::Scheme_Name(s);  // "" for a number the proto does not define
  const quant::SchemeInfo* info =
      absl::StartsWith(name, sv(kSchemePrefix))
          ? quant::find_scheme_by_api_name(std::string_view(name).substr(kSchemePrefix.size()))
          : nullptr;
  if (info == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("config.scheme ", static_cast<int>(s), " is not a known scheme"));
  }
  return info->scheme;
}

v1::Scheme from_scheme(quant::Scheme s) {
  // Built once; a server/quant scheme without an API value is a bug, stopped at the first
  // conversion (every service test converts) rather than sent as SCHEME_UNSPECIFIED.
  static const std::vector<v1::Scheme> by_scheme = [] {
    std::vector<v1::Scheme> t;
    for (const quant::SchemeInfo& r : quant::all_schemes()) {
      v1::Scheme v;
      if (!v1::Scheme_Parse(absl::StrCat(sv(kSchemePrefix), sv(r.api_name)), &v)) {
        std::fprintf(stderr, "quantd: scheme %s has no API value SCHEME_%s\n", std::string(r.name).c_str(),
                     std::string(r.api_name).c_str());
        std::abort();
      }
      t.push_back(v);
    }
    return t;
  }();
  const auto i = static_cast<size_t>(s);
  if (i >= by_scheme.size()) {
    std::fprintf(stderr, "quantd: quant::Scheme %zu is not in the scheme table\n", i);
    std::abort();
  }
  return by_scheme[i];
}

int dtype_size(v1::DType dtype) {
  switch (dtype) {
    case v1::DTYPE_F32: return 4;
    case v1::DTYPE_F16: return 2;
    case v1::DTYPE_BF16: return 2;
    case v1::DTYPE_I8: return 1;
    case v1::DTYPE_U8: return 1;
    case v1::DTYPE_I32: return 4;
    case v1::DTYPE_I64: return 8;
    default: return 0;
  }
}

absl::StatusOr<int64_t> checked_element_count(const google::protobuf::RepeatedField<int64_t>& shape,
                                              const char* field) {
  int64_t count = 1;
  for (int i = 0; i < shape.size(); ++i) {
    const int64_t d = shape.Get(i);
    if (d <= 0) {
      return absl::InvalidArgumentError(absl::StrCat(field, "[", i, "] is ", d, "; every dimension must be >= 1"));
    }
    if (count > std::numeric_limits<int64_t>::max() / d) {
      return absl::InvalidArgumentError(absl::StrCat(field, " overflows: the element count exceeds 2^63 at dimension ", i));
    }
    count *= d;
  }
  return count;
}

absl::StatusOr<engine::FloatTensor> float_view(v1::DType dtype, const google::protobuf::RepeatedField<int64_t>& shape,
                                     const std::string& data, std::vector<float>* storage,
                                     const char* field) {
  if (dtype != v1::DTYPE_F32 && dtype != v1::DTYPE_F16 && dtype != v1::DTYPE_BF16) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".dtype is ", v1::DType_Name(dtype),
                                                   "; Quantize takes DTYPE_F32, DTYPE_F16 or DTYPE_BF16"));
  }
  const std::string shape_field = absl::StrCat(field, ".shape");
  QUANTD_ASSIGN_OR_RETURN(const int64_t count, checked_element_count(shape, shape_field.c_str()));
  const int size = dtype_size(dtype);
  if (count > std::numeric_limits<int64_t>::max() / size || static_cast<uint64_t>(count) * size != data.size()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".data has ", data.size(), " bytes; shape and dtype need ",
                                                   count, " x ", size, " bytes"));
  }
  engine::FloatTensor v;
  v.count = count;
  v.source_bytes_per_value = size;
  v.shape.assign(shape.begin(), shape.end());
  const kernels::KernelTable& k = kernels::kernels();
  if (dtype == v1::DTYPE_F32 && reinterpret_cast<uintptr_t>(data.data()) % alignof(float) == 0) {
    v.data = reinterpret_cast<const float*>(data.data());
    return v;
  }
  storage->resize(static_cast<size_t>(v.count));
  const Format from = dtype == v1::DTYPE_F32 ? Format::kF32 : dtype == v1::DTYPE_F16 ? Format::kF16 : Format::kBF16;
  k[from].dequantize_row(data.data(), storage->data(), v.count);
  v.data = storage->data();
  return v;
}

absl::StatusOr<engine::FloatTensor> float_view(const v1::Tensor& t, std::vector<float>* storage) {
  return float_view(t.dtype(), t.shape(), t.data(), storage, "tensor");
}

absl::Status write_tensor(const float* x, const std::vector<int64_t>& shape, v1::DType dtype, v1::Tensor* out) {
  Format to;
  switch (dtype) {
    case v1::DTYPE_F32: to = Format::kF32; break;
    case v1::DTYPE_F16: to = Format::kF16; break;
    case v1::DTYPE_BF16: to = Format::kBF16; break;
    default:
      return absl::InvalidArgumentError(absl::StrCat("output dtype ", v1::DType_Name(dtype),
                                                     " is not one of DTYPE_F32, DTYPE_F16, DTYPE_BF16"));
  }
  int64_t count = 1;
  for (int64_t d : shape) count *= d;
  out->set_dtype(dtype);
  out->mutable_shape()->Assign(shape.begin(), shape.end());
  std::string* data = out->mutable_data();
  data->resize(static_cast<size_t>(count) * dtype_size(dtype));
  kernels::kernels()[to].quantize_row(x, data->data(), count);
  return absl::OkStatus();
}

absl::StatusOr<quant::QuantSpec> to_spec(const v1::QuantizationConfig& c) {
  quant::QuantSpec spec;
  QUANTD_ASSIGN_OR_RETURN(spec.scheme, to_scheme(c.scheme()));
  QUANTD_ASSIGN_OR_RETURN(spec.granularity, to_granularity(c.granularity(), spec.scheme));
  QUANTD_ASSIGN_OR_RETURN(spec.range, to_range(c.range_method()));
  spec.axis = c.axis();
  spec.group_size = c.group_size();
  if (spec.range == quant::RangeMethod::kPercentile) spec.percentile = c.percentile();
  if (c.mse_grid_points() != 0) spec.mse_grid_points = c.mse_grid_points();
  return spec;
}

void to_proto(quant::QuantizedTensor&& q, v1::QuantizedTensor* out) {
  out->set_scheme(from_scheme(q.scheme));
  out->mutable_shape()->Assign(q.shape.begin(), q.shape.end());
  out->set_granularity(from_granularity(q.granularity));
  out->set_axis(q.axis);
  out->set_group_size(q.group_size);
  out->set_data(q.data.data(), q.data.size());
  out->mutable_scales()->Assign(q.scales.begin(), q.scales.end());
  out->mutable_zero_points()->Assign(q.zero_points.begin(), q.zero_points.end());
}

absl::StatusOr<quant::QuantizedTensor> from_proto(const v1::QuantizedTensor& p) {
  quant::QuantizedTensor q;
  absl::StatusOr<quant::Scheme> scheme = to_scheme(p.scheme());
  if (!scheme.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("quantized.scheme is ", v1::Scheme_Name(p.scheme()).empty()
                                                                              ? std::to_string(p.scheme())
                                                                              : v1::Scheme_Name(p.scheme()),
                                                   ": not a scheme this server can restore"));
  }
  q.scheme = *scheme;
  QUANTD_RETURN_IF_ERROR(checked_element_count(p.shape(), "quantized.shape").status());
  absl::StatusOr<quant::Granularity> g = to_granularity(p.granularity(), q.scheme);
  if (!g.ok()) return absl::InvalidArgumentError(absl::StrCat("quantized.granularity ", p.granularity(), " is not known"));
  q.granularity = *g;
  q.shape.assign(p.shape().begin(), p.shape().end());
  q.axis = p.axis();
  q.group_size = p.group_size();
  q.data.assign(p.data().begin(), p.data().end());
  q.scales.assign(p.scales().begin(), p.scales().end());
  q.zero_points.assign(p.zero_points().begin(), p.zero_points().end());
  return q;
}

void to_proto(const quant::ErrorStats& s, v1::ErrorStats* out) {
  out->set_mse(s.mse);
  out->set_rmse(s.rmse);
  out->set_max_abs_error(s.max_abs);
  out->set_snr_db(s.snr_db);
  out->set_cosine_similarity(s.cosine);
  out->set_count(s.count);
}

}  // namespace quantd::service
