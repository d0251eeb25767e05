#include "server/service/quantd_service.h"

#include <chrono>
#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "quantd/kernels/kernels.h"
#include "server/quant/quantize.h"
#include "server/service/convert.h"
#include "server/service/status.h"

namespace quantd::service {
namespace {

// Quantizes one float tensor under the gate policy and fills the reply (without data
// chunking). Shared by Quantize and QuantizeStream.
absl::Status quantize_into(const ServiceOptions& options, ComputeGate& gate, grpc::ServerContext* context,
                           const FloatView& x, const v1::QuantizeRequest& request, v1::DType source_dtype,
                           v1::QuantizeResponse* response) {
  absl::StatusOr<quant::QuantSpec> spec = to_spec(request.config());
  if (!spec.ok()) return spec.status();

  const auto start = std::chrono::steady_clock::now();
  const bool large = x.count >= options.parallel_min_values;
  ComputeGate::Lease lease(nullptr);
  if (large) {
    lease = gate.acquire(context);
    if (!lease.held()) return absl::CancelledError("cancelled while waiting for a compute slot");
  }
  const int threads = large ? options.threads : 1;
  const kernels::KernelTable& k = kernels::kernels();

  absl::StatusOr<quant::QuantizedTensor> q = quant::quantize(k, x.data, x.shape, *spec, threads);
  if (!q.ok()) return q.status();

  if (!request.skip_error_stats() || request.fake_quantize()) {
    std::vector<float> restored(static_cast<size_t>(x.count));
    if (absl::Status s = quant::dequantize(k, *q, restored.data(), threads); !s.ok()) return s;
    if (!request.skip_error_stats()) {
      to_proto(quant::compute_error_stats(x.data, restored.data(), x.count, threads), response->mutable_error());
    }
    if (request.fake_quantize()) {
      const v1::DType out = request.fake_quantize_dtype() == v1::DTYPE_UNSPECIFIED ? source_dtype
                                                                                   : request.fake_quantize_dtype();
      if (absl::Status s = write_tensor(restored.data(), x.shape, out, response->mutable_dequantized()); !s.ok())
        return s;
      response->mutable_dequantized()->set_name(request.tensor().name());
    }
  }
  lease = ComputeGate::Lease(nullptr);

  v1::QuantizedTensor* out = response->mutable_quantized();
  if (request.fake_quantize() && request.omit_quantized()) {
    out->set_scheme(request.config().scheme());
    out->mutable_shape()->Assign(x.shape.begin(), x.shape.end());
  } else {
    to_proto(std::move(*q), out);
  }
  out->set_source_dtype(source_dtype);
  out->set_name(request.tensor().name());
  if (options.metrics != nullptr) {
    const v1::ErrorStats* e = response->has_error() ? &response->error() : nullptr;
    options.metrics->record_quantize(std::string(quant::scheme_name(spec->scheme)),
                                     static_cast<double>(x.count) * dtype_size(source_dtype),
                                     static_cast<double>(out->data().size() + 4 * out->scales_size() +
                                                         4 * out->zero_points_size()),
                                     e ? e->rmse() : -1.0, e ? e->snr_db() : NAN);
  }
  response->set_compute_micros(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count());
  return absl::OkStatus();
}

}  // namespace

QuantdService::QuantdService(const ServiceOptions& options)
    : options_(options),
      gate_(1, [m = options.metrics](int waiting) {
        if (m != nullptr) m->compute_queue.Set(waiting);
      }),
      generations_(options.max_generations, options.generate_queue, [m = options.metrics](int active, int queued) {
        if (m == nullptr) return;
        m->active_streams.Set(active);
        m->generate_queue.Set(queued);
      }) {}

grpc::Status QuantdService::Quantize(grpc::ServerContext* context, const v1::QuantizeRequest* request,
                                     v1::QuantizeResponse* response) {
  std::vector<float> storage;
  absl::StatusOr<FloatView> x = float_view(request->tensor(), &storage);
  if (!x.ok()) return to_grpc_status(x.status());
  return to_grpc_status(
      quantize_into(options_, gate_, context, *x, *request, request->tensor().dtype(), response));
}

grpc::Status QuantdService::Dequantize(grpc::ServerContext* context, const v1::DequantizeRequest* request,
                                       v1::DequantizeResponse* response) {
  absl::StatusOr<quant::QuantizedTensor> q = from_proto(request->quantized());
  if (!q.ok()) return to_grpc_status(q.status());
  v1::DType dtype = request->dtype();
  if (dtype == v1::DTYPE_UNSPECIFIED) dtype = request->quantized().source_dtype();
  if (dtype == v1::DTYPE_UNSPECIFIED) dtype = v1::DTYPE_F32;
  if (dtype != v1::DTYPE_F32 && dtype != v1::DTYPE_F16 && dtype != v1::DTYPE_BF16) {
    return to_grpc_status(absl::InvalidArgumentError(
        absl::StrCat("dtype is ", v1::DType_Name(dtype), "; Dequantize produces DTYPE_F32, DTYPE_F16 or DTYPE_BF16")));
  }
  int64_t count = 1;
  for (int64_t d : q->shape) count *= d;  // checked by from_proto
  const int64_t reply_bytes = count * dtype_size(dtype);
  if (reply_bytes > options_.max_message_bytes) {
    return to_grpc_status(absl::ResourceExhaustedError(
        absl::StrCat("the restored tensor would be ", reply_bytes, " bytes, over the server's message limit of ",
                     options_.max_message_bytes, " bytes (--max_message_bytes)")));
  }
  const bool large = count >= options_.parallel_min_values;
  ComputeGate::Lease lease(nullptr);
  if (large) {
    lease = gate_.acquire(context);
    if (!lease.held()) return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled while waiting for a compute slot");
  }
  const int threads = large ? options_.threads : 1;
  const kernels::KernelTable& k = kernels::kernels();
  v1::Tensor* out = response->mutable_tensor();
  if (dtype == v1::DTYPE_F32) {
    // Restore straight into the reply's bytes: no intermediate copy.
    out->set_dtype(dtype);
    out->mutable_shape()->Assign(q->shape.begin(), q->shape.end());
    std::string* data = out->mutable_data();
    data->resize(static_cast<size_t>(reply_bytes));
    if (absl::Status s = quant::dequantize(k, *q, reinterpret_cast<float*>(data->data()), threads); !s.ok())
      return to_grpc_status(s);
  } else {
    std::vector<float> restored(static_cast<size_t>(count));
    if (absl::Status s = quant::dequantize(k, *q, restored.data(), threads); !s.ok()) return to_grpc_status(s);
    if (absl::Status s = write_tensor(restored.data(), q->shape, dtype, out); !s.ok()) return to_grpc_status(s);
  }
  out->set_name(request->quantized().name());
  return grpc::Status::OK;
}

grpc::Status QuantdService::QuantizeStream(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::QuantizeStreamResponse, v1::QuantizeStreamRequest>* stream) {
  v1::QuantizeStreamRequest message;
  if (!stream->Read(&message) || !message.has_header()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "the first QuantizeStream message must be a header (QuantizeRequest without data)");
  }
  v1::QuantizeRequest header = std::move(*message.mutable_header());
  if (header.fake_quantize()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "fake_quantize is not supported on QuantizeStream; call Dequantize on the result");
  }
  if (!header.tensor().data().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "header.tensor.data must be empty; send the bytes as data_chunk messages");
  }
  const v1::Tensor& t = header.tensor();
  const int size = dtype_size(t.dtype());
  absl::StatusOr<int64_t> count = checked_element_count(t.shape(), "header.tensor.shape");
  if (!count.ok()) return to_grpc_status(count.status());
  if (size == 0 || *count > options_.max_tensor_bytes / size) {
    if (size == 0) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          absl::StrCat("header.tensor.dtype is ", v1::DType_Name(t.dtype()),
                                       "; Quantize takes DTYPE_F32, DTYPE_F16 or DTYPE_BF16"));
    }
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                        absl::StrCat("the tensor has ", *count, " values of ", size,
                                     " bytes, over the server's limit of ", options_.max_tensor_bytes,
                                     " bytes (--max_tensor_bytes)"));
  }
  const size_t expected = static_cast<size_t>(*count) * size;
  std::string data;
  data.reserve(expected);
  while (stream->Read(&message)) {
    if (!message.has_data_chunk() && message.has_header()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "a second header arrived after the first");
    }
    if (data.size() + message.data_chunk().size() > expected) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          absl::StrCat("more data than the shape needs: ", expected, " bytes expected"));
    }
    data.append(message.data_chunk());
    if (context->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled by the client");
  }
  std::vector<float> storage;
  absl::StatusOr<FloatView> x = float_view(t.dtype(), t.shape(), data, &storage, "header.tensor");
  if (!x.ok()) return to_grpc_status(x.status());

  v1::QuantizeStreamResponse reply;
  v1::QuantizeResponse* head = reply.mutable_header();
  if (absl::Status s = quantize_into(options_, gate_, context, *x, header, t.dtype(), head); !s.ok())
    return to_grpc_status(s);
  std::string packed = std::move(*head->mutable_quantized()->mutable_data());
  head->mutable_quantized()->clear_data();
  if (!stream->Write(reply)) return grpc::Status(grpc::StatusCode::CANCELLED, "the client went away");
  for (size_t off = 0; off < packed.size(); off += options_.stream_chunk_bytes) {
    v1::QuantizeStreamResponse chunk;
    chunk.set_data_chunk(packed.substr(off, options_.stream_chunk_bytes));
    if (!stream->Write(chunk)) return grpc::Status(grpc::StatusCode::CANCELLED, "the client went away");
  }
  return grpc::Status::OK;
}

}  // namespace quantd::service
