// Quantize, Dequantize and QuantizeStream.
#include "server/service/quantd_service.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/common/status.h"
#include "server/service/convert.h"
#include "server/service/reactors.h"

namespace quantd::service {
namespace {

// A QuantizeRequest's tensor, already viewed as floats, through the engine into the reply
// (shared by Quantize and QuantizeStream).
absl::Status quantize_into(engine::Engine& engine, const engine::FloatTensor& x, const v1::QuantizeRequest& request,
                           v1::DType source_dtype, const engine::CancelToken& cancel, v1::QuantizeResponse* response) {
  QUANTD_ASSIGN_OR_RETURN(quant::QuantSpec spec, to_spec(request.config()));
  engine::QuantizeOptions options;
  options.error_stats = !request.skip_error_stats();
  options.restore = request.fake_quantize();
  options.return_quantized = !(request.fake_quantize() && request.omit_quantized());
  QUANTD_ASSIGN_OR_RETURN(engine::QuantizeResult result, engine.quantize(x, spec, options, cancel));

  if (result.error) to_proto(*result.error, response->mutable_error());
  if (options.restore) {
    const v1::DType out =
        request.fake_quantize_dtype() == v1::DTYPE_UNSPECIFIED ? source_dtype : request.fake_quantize_dtype();
    QUANTD_RETURN_IF_ERROR(write_tensor(result.restored.data(), x.shape, out, response->mutable_dequantized()));
    response->mutable_dequantized()->set_name(request.tensor().name());
  }
  v1::QuantizedTensor* out = response->mutable_quantized();
  if (options.return_quantized) {
    to_proto(std::move(result.quantized), out);
  } else {
    out->set_scheme(request.config().scheme());
    out->mutable_shape()->Assign(x.shape.begin(), x.shape.end());
  }
  out->set_source_dtype(source_dtype);
  out->set_name(request.tensor().name());
  response->set_compute_micros(result.compute_micros);
  return absl::OkStatus();
}

// Values a tensor message claims, for choosing where to run it (validated later).
int64_t claimed_values(const v1::Tensor& t) { return t.data().size() / std::max(1, dtype_size(t.dtype())); }

}  // namespace

QuantdService::QuantdService(engine::Engine& engine, const ServiceOptions& options)
    : engine_(engine), options_(options), workers_(options.max_workers) {}

grpc::ServerUnaryReactor* QuantdService::Quantize(grpc::CallbackServerContext* context,
                                                  const v1::QuantizeRequest* request, v1::QuantizeResponse* response) {
  engine::Workers* where = engine_.may_wait(claimed_values(request->tensor())) ? &workers_ : nullptr;
  return UnaryCall::start(context, where, [this, request, response](const engine::CancelToken& cancel) {
    std::vector<float> storage;
    QUANTD_ASSIGN_OR_RETURN(engine::FloatTensor x, float_view(request->tensor(), &storage));
    return quantize_into(engine_, x, *request, request->tensor().dtype(), cancel, response);
  });
}

grpc::ServerUnaryReactor* QuantdService::Dequantize(grpc::CallbackServerContext* context,
                                                    const v1::DequantizeRequest* request,
                                                    v1::DequantizeResponse* response) {
  const absl::StatusOr<int64_t> count = checked_element_count(request->quantized().shape(), "quantized.shape");
  engine::Workers* where = count.ok() && engine_.may_wait(*count) ? &workers_ : nullptr;
  return UnaryCall::start(context, where, [this, request, response](const engine::CancelToken& cancel) {
    QUANTD_ASSIGN_OR_RETURN(quant::QuantizedTensor q, from_proto(request->quantized()));
    v1::DType dtype = request->dtype();
    if (dtype == v1::DTYPE_UNSPECIFIED) dtype = request->quantized().source_dtype();
    if (dtype == v1::DTYPE_UNSPECIFIED) dtype = v1::DTYPE_F32;
    if (dtype != v1::DTYPE_F32 && dtype != v1::DTYPE_F16 && dtype != v1::DTYPE_BF16) {
      return absl::InvalidArgumentError(
          absl::StrCat("dtype is ", v1::DType_Name(dtype), "; Dequantize produces DTYPE_F32, DTYPE_F16 or DTYPE_BF16"));
    }
    v1::Tensor* out = response->mutable_tensor();
    out->set_name(request->quantized().name());
    std::vector<float> restored;
    // F32 is restored straight into the reply's bytes: no intermediate copy.
    QUANTD_RETURN_IF_ERROR(engine_.dequantize(
        q, dtype_size(dtype),
        [&](int64_t n) {
          if (dtype != v1::DTYPE_F32) {
            restored.resize(static_cast<size_t>(n));
            return restored.data();
          }
          std::string* data = out->mutable_data();
          data->resize(static_cast<size_t>(n) * sizeof(float));
          return reinterpret_cast<float*>(data->data());
        },
        cancel));
    if (dtype != v1::DTYPE_F32) return write_tensor(restored.data(), q.shape, dtype, out);
    out->set_dtype(dtype);
    out->mutable_shape()->Assign(q.shape.begin(), q.shape.end());
    return absl::OkStatus();
  });
}

namespace {

// QuantizeStream: a header (a QuantizeRequest without data), then the tensor's bytes in chunks;
// the reply is a header (the QuantizeResponse without packed data), then the data in chunks.
class QuantizeStreamCall final
    : public StreamCall<grpc::ServerBidiReactor<v1::QuantizeStreamRequest, v1::QuantizeStreamResponse>,
                        v1::QuantizeStreamResponse> {
 public:
  QuantizeStreamCall(grpc::CallbackServerContext* context, engine::Engine& engine, engine::Workers& workers,
                     int64_t chunk_bytes)
      : StreamCall(context), engine_(engine), workers_(workers), chunk_bytes_(chunk_bytes) {
    StartRead(&message_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the client has sent everything (or is gone)
      if (token().cancelled()) return outbox().close(to_grpc_status(absl::CancelledError("cancelled by the client")));
      if (!have_header_) {
        return outbox().close(to_grpc_status(absl::InvalidArgumentError(
            "the first QuantizeStream message must be a header (QuantizeRequest without data)")));
      }
      return workers_.run([this] { outbox().close(to_grpc_status(quantize_and_send())); });
    }
    if (absl::Status s = have_header_ ? accept_chunk() : accept_header(); !s.ok()) {
      return outbox().close(to_grpc_status(s));
    }
    StartRead(&message_);
  }

 private:
  absl::Status accept_header() {
    if (!message_.has_header()) {
      return absl::InvalidArgumentError(
          "the first QuantizeStream message must be a header (QuantizeRequest without data)");
    }
    header_ = std::move(*message_.mutable_header());
    have_header_ = true;
    if (header_.fake_quantize()) {
      return absl::InvalidArgumentError(
          "fake_quantize is not supported on QuantizeStream; call Dequantize on the result");
    }
    const v1::Tensor& t = header_.tensor();
    if (!t.data().empty()) {
      return absl::InvalidArgumentError("header.tensor.data must be empty; send the bytes as data_chunk messages");
    }
    QUANTD_ASSIGN_OR_RETURN(const int64_t count, checked_element_count(t.shape(), "header.tensor.shape"));
    const int size = dtype_size(t.dtype());
    if (size == 0) {
      return absl::InvalidArgumentError(absl::StrCat("header.tensor.dtype is ", v1::DType_Name(t.dtype()),
                                                     "; Quantize takes DTYPE_F32, DTYPE_F16 or DTYPE_BF16"));
    }
    QUANTD_RETURN_IF_ERROR(engine_.check_stream_tensor(count, size));
    expected_ = static_cast<size_t>(count) * size;
    data_.reserve(expected_);
    return absl::OkStatus();
  }

  absl::Status accept_chunk() {
    if (!message_.has_data_chunk() && message_.has_header()) {
      return absl::InvalidArgumentError("a second header arrived after the first");
    }
    if (data_.size() + message_.data_chunk().size() > expected_) {
      return absl::InvalidArgumentError(absl::StrCat("more data than the shape needs: ", expected_, " bytes expected"));
    }
    data_.append(message_.data_chunk());
    return absl::OkStatus();
  }

  // On a worker: quantize the assembled tensor and queue the reply; the status ends the call.
  absl::Status quantize_and_send() {
    const v1::Tensor& t = header_.tensor();
    std::vector<float> storage;
    QUANTD_ASSIGN_OR_RETURN(engine::FloatTensor x, float_view(t.dtype(), t.shape(), data_, &storage, "header.tensor"));
    v1::QuantizeStreamResponse reply;
    v1::QuantizeResponse* head = reply.mutable_header();
    QUANTD_RETURN_IF_ERROR(quantize_into(engine_, x, header_, t.dtype(), token(), head));
    std::string().swap(data_);
    auto packed = std::make_shared<std::string>(std::move(*head->mutable_quantized()->mutable_data()));
    head->mutable_quantized()->clear_data();
    const absl::Status gone = absl::CancelledError("the client went away");
    if (!outbox().push(std::move(reply))) return gone;
    size_t offset = 0;
    const bool open = outbox().stream([packed, offset, n = chunk_bytes_](v1::QuantizeStreamResponse* chunk) mutable {
      if (offset >= packed->size()) return false;
      chunk->Clear();
      chunk->set_data_chunk(packed->substr(offset, n));
      offset += n;
      return true;
    });
    return open ? absl::OkStatus() : gone;
  }

  engine::Engine& engine_;
  engine::Workers& workers_;
  const size_t chunk_bytes_;
  v1::QuantizeStreamRequest message_;
  v1::QuantizeRequest header_;
  bool have_header_ = false;
  size_t expected_ = 0;
  std::string data_;
};

}  // namespace

grpc::ServerBidiReactor<v1::QuantizeStreamRequest, v1::QuantizeStreamResponse>* QuantdService::QuantizeStream(
    grpc::CallbackServerContext* context) {
  return new QuantizeStreamCall(context, engine_, workers_, options_.stream_chunk_bytes);
}

}  // namespace quantd::service
