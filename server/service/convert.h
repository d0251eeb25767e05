// Conversions between the API's messages and the core's types. Only service/ sees protobuf.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "quantd/v1/quantd.pb.h"
#include "server/engine/types.h"
#include "server/quant/error_stats.h"
#include "server/quant/scheme.h"

namespace quantd::service {

// Bytes per element of a dtype, 0 for DTYPE_UNSPECIFIED or unknown values.
int dtype_size(v1::DType dtype);

// Checks a shape: every dim >= 1 and the element count fits int64 (and max_elements).
// field names the message field for the error ("tensor.shape").
absl::StatusOr<int64_t> checked_element_count(const google::protobuf::RepeatedField<int64_t>& shape,
                                              const char* field);

// The tensor's values as floats. F32 data is used in place when it is 4-byte aligned (no copy);
// F16 and BF16 are widened into *storage. INVALID_ARGUMENT when the dtype is not a float type,
// the shape is bad, or data has not exactly count * sizeof(dtype) bytes.
absl::StatusOr<engine::FloatTensor> float_view(const v1::Tensor& t, std::vector<float>* storage);

// Same for a dtype, shape and bytes given separately (QuantizeStream's assembled tensor).
absl::StatusOr<engine::FloatTensor> float_view(v1::DType dtype, const google::protobuf::RepeatedField<int64_t>& shape,
                                     const std::string& data, std::vector<float>* storage,
                                     const char* field);

// Writes floats into out (dtype F32, F16 or BF16), converting with the active kernels.
absl::Status write_tensor(const float* x, const std::vector<int64_t>& shape, v1::DType dtype,
                          v1::Tensor* out);

// API scheme <-> core scheme, by the enum value's name ("SCHEME_" + quant::SchemeInfo::api_name).
// to_scheme: INVALID_ARGUMENT for SCHEME_UNSPECIFIED or a value the core does not know.
// from_scheme: aborts, naming it, on a core scheme without an API value (a build mismatch).
absl::StatusOr<quant::Scheme> to_scheme(v1::Scheme s);
v1::Scheme from_scheme(quant::Scheme s);

absl::StatusOr<quant::QuantSpec> to_spec(const v1::QuantizationConfig& config);

// The reply's form of a quantized tensor; data is moved, not copied, when it can be.
void to_proto(quant::QuantizedTensor&& q, v1::QuantizedTensor* out);
absl::StatusOr<quant::QuantizedTensor> from_proto(const v1::QuantizedTensor& q);

void to_proto(const quant::ErrorStats& s, v1::ErrorStats* out);

}  // namespace quantd::service
