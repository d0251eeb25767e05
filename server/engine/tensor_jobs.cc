// Quantize and Dequantize: the compute lease for large tensors, threads, error statistics,
// reply limits and the quantization metrics.
#include <chrono>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "quantd/kernels/kernels.h"
#include "server/common/status.h"
#include "server/engine/engine.h"

namespace quantd::engine {

absl::StatusOr<QuantizeResult> Engine::quantize(const FloatTensor& x, const quant::QuantSpec& spec,
                                                const QuantizeOptions& options, const CancelToken& cancel) {
  const auto start = std::chrono::steady_clock::now();
  // Large jobs take the lease and every thread; small ones run single-threaded beside them.
  Admission::Ticket lease;
  if (may_wait(x.count)) {
    QUANTD_ASSIGN_OR_RETURN(lease, compute_.acquire(cancel));
  }
  const int threads = lease.held() ? options_.threads : 1;
  const kernels::KernelTable& k = kernels::kernels();

  QuantizeResult result;
  QUANTD_ASSIGN_OR_RETURN(result.quantized, quant::quantize(k, x.data, x.shape, spec, threads));
  if (options.error_stats || options.restore) {
    result.restored.resize(static_cast<size_t>(x.count));
    QUANTD_RETURN_IF_ERROR(quant::dequantize(k, result.quantized, result.restored.data(), threads));
    if (options.error_stats) {
      result.error = quant::compute_error_stats(x.data, result.restored.data(), x.count, threads);
    }
    if (!options.restore) std::vector<float>().swap(result.restored);
  }
  lease.reset();

  if (options_.metrics != nullptr) {
    const quant::QuantizedTensor& q = result.quantized;
    const double bytes_out = options.return_quantized
                                 ? static_cast<double>(q.data.size() + 4 * q.scales.size() + 4 * q.zero_points.size())
                                 : 0.0;
    options_.metrics->record_quantize(
        std::string(quant::scheme_name(spec.scheme)), static_cast<double>(x.count) * x.source_bytes_per_value,
        bytes_out, result.error ? result.error->rmse : -1.0, result.error ? result.error->snr_db : NAN);
  }
  result.compute_micros =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
  return result;
}

absl::Status Engine::dequantize(const quant::QuantizedTensor& q, int reply_bytes_per_value,
                                const std::function<float*(int64_t count)>& out, const CancelToken& cancel) {
  int64_t count = 1;
  for (int64_t d : q.shape) count *= d;  // the shape was checked when q was built
  const int64_t reply_bytes = count * reply_bytes_per_value;
  if (reply_bytes > options_.max_message_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat("the restored tensor would be ", reply_bytes,
                                                     " bytes, over the server's message limit of ",
                                                     options_.max_message_bytes, " bytes (--max_message_bytes)"));
  }
  Admission::Ticket lease;
  if (may_wait(count)) {
    QUANTD_ASSIGN_OR_RETURN(lease, compute_.acquire(cancel));
  }
  return quant::dequantize(kernels::kernels(), q, out(count), lease.held() ? options_.threads : 1);
}

absl::Status Engine::check_stream_tensor(int64_t values, int bytes_per_value) const {
  if (values > options_.max_tensor_bytes / bytes_per_value) {
    return absl::ResourceExhaustedError(absl::StrCat("the tensor has ", values, " values of ", bytes_per_value,
                                                     " bytes, over the server's limit of ", options_.max_tensor_bytes,
                                                     " bytes (--max_tensor_bytes)"));
  }
  return absl::OkStatus();
}

}  // namespace quantd::engine
