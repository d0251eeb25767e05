// quantctl quantize / dequantize: tensors from .npy or raw files, over Quantize,
// QuantizeStream and Dequantize.
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "client/quantctl/commands.h"
#include "client/quantctl/npy.h"
#include "quantd/v1/quantd.grpc.pb.h"

namespace quantd::client {
namespace {

constexpr int64_t kMaxMessageBytes = 1ll << 30;  // the server's own limit applies on its side
constexpr size_t kChunkBytes = 4 << 20;

int fail(const std::string& message) {
  std::fprintf(stderr, "quantctl: %s\n", message.c_str());
  return 1;
}

grpc::ClientContext* with_deadline(grpc::ClientContext* context, const Args& args) {
  double seconds = 600;
  if (args.has("timeout") && !absl::SimpleAtod(args.get("timeout"), &seconds)) seconds = 600;
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000)));
  return context;
}

bool read_file(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream buffer;
  buffer << in.rdbuf();
  *out = buffer.str();
  return true;
}

// The tensor to send, from a .npy file or (with --raw) a raw file plus --dtype and --shape.
absl::StatusOr<v1::Tensor> load_tensor(const Args& args, const std::string& path) {
  v1::Tensor t;
  t.set_name(path);
  if (args.has("raw")) {
    const std::string dtype = args.get("dtype");
    const std::map<std::string, v1::DType> dtypes = {
        {"f32", v1::DTYPE_F32}, {"f16", v1::DTYPE_F16}, {"bf16", v1::DTYPE_BF16}};
    if (!dtypes.count(dtype)) return absl::InvalidArgumentError("--dtype must be f32, f16 or bf16");
    t.set_dtype(dtypes.at(dtype));
    if (!args.has("shape")) return absl::InvalidArgumentError("--raw needs --shape=D0,D1,...");
    for (absl::string_view d : absl::StrSplit(args.get("shape"), ',')) {
      int64_t v;
      if (!absl::SimpleAtoi(d, &v)) return absl::InvalidArgumentError(absl::StrCat("bad --shape entry '", d, "'"));
      t.add_shape(v);
    }
    if (!read_file(path, t.mutable_data())) return absl::NotFoundError(absl::StrCat("cannot read ", path));
    return t;
  }
  absl::StatusOr<NpyArray> a = read_npy(path);
  if (!a.ok()) return a.status();
  t.set_dtype(a->dtype == "<f4" ? v1::DTYPE_F32 : v1::DTYPE_F16);
  for (int64_t d : a->shape) t.add_shape(d);
  *t.mutable_data() = std::move(a->data);
  return t;
}

// --scheme names come from the API's enum, so a scheme added there needs nothing here:
// SCHEME_Q4_0 -> q4_0, SCHEME_INT8_SYMMETRIC -> int8_sym, SCHEME_INT4_ASYMMETRIC -> int4_asym.
std::string short_scheme_name(const std::string& enum_name) {
  const std::string lower = absl::AsciiStrToLower(absl::StripPrefix(enum_name, "SCHEME_"));
  absl::string_view s = lower;
  for (auto [from, to] : {std::pair{"_asymmetric", "_asym"}, std::pair{"_symmetric", "_sym"}}) {
    if (absl::ConsumeSuffix(&s, from)) return absl::StrCat(s, to);
  }
  return lower;
}

// Every scheme's short name, in enum order (SCHEME_UNSPECIFIED left out).
std::vector<std::string> scheme_short_names() {
  std::vector<std::string> names;
  const google::protobuf::EnumDescriptor* d = v1::Scheme_descriptor();
  for (int i = 0; i < d->value_count(); ++i) {
    if (d->value(i)->number() != v1::SCHEME_UNSPECIFIED) names.push_back(short_scheme_name(d->value(i)->name()));
  }
  return names;
}

std::optional<v1::Scheme> parse_scheme(const std::string& name) {
  const google::protobuf::EnumDescriptor* d = v1::Scheme_descriptor();
  for (int i = 0; i < d->value_count(); ++i) {
    const google::protobuf::EnumValueDescriptor* v = d->value(i);
    if (v->number() != v1::SCHEME_UNSPECIFIED && short_scheme_name(v->name()) == name) {
      return static_cast<v1::Scheme>(v->number());
    }
  }
  return std::nullopt;
}

absl::StatusOr<v1::QuantizationConfig> load_config(const Args& args) {
  v1::QuantizationConfig c;
  const std::string scheme = args.get("scheme");
  const std::optional<v1::Scheme> parsed = parse_scheme(scheme);
  if (!parsed) {
    return absl::InvalidArgumentError(
        absl::StrCat("--scheme '", scheme, "' is not one of ", absl::StrJoin(scheme_short_names(), ", ")));
  }
  c.set_scheme(*parsed);
  const std::map<std::string, v1::Granularity> granularities = {
      {"", v1::GRANULARITY_UNSPECIFIED},      {"tensor", v1::GRANULARITY_PER_TENSOR},
      {"channel", v1::GRANULARITY_PER_CHANNEL}, {"group", v1::GRANULARITY_PER_GROUP},
      {"block", v1::GRANULARITY_PER_BLOCK}};
  const std::string g = args.get("granularity");
  if (!granularities.count(g)) return absl::InvalidArgumentError("--granularity must be tensor, channel, group or block");
  c.set_granularity(granularities.at(g));
  const std::map<std::string, v1::RangeMethod> ranges = {{"", v1::RANGE_METHOD_UNSPECIFIED},
                                                         {"minmax", v1::RANGE_METHOD_MIN_MAX},
                                                         {"percentile", v1::RANGE_METHOD_PERCENTILE},
                                                         {"mse", v1::RANGE_METHOD_MSE}};
  const std::string r = args.get("range");
  if (!ranges.count(r)) return absl::InvalidArgumentError("--range must be minmax, percentile or mse");
  c.set_range_method(ranges.at(r));
  int64_t i;
  double d;
  if (args.has("axis")) {
    if (!absl::SimpleAtoi(args.get("axis"), &i)) return absl::InvalidArgumentError("--axis must be an integer");
    c.set_axis(static_cast<int32_t>(i));
  }
  if (args.has("group-size")) {
    if (!absl::SimpleAtoi(args.get("group-size"), &i)) return absl::InvalidArgumentError("--group-size must be an integer");
    c.set_group_size(i);
  }
  if (args.has("percentile")) {
    if (!absl::SimpleAtod(args.get("percentile"), &d)) return absl::InvalidArgumentError("--percentile must be a number");
    c.set_percentile(d);
  }
  if (args.has("mse-grid")) {
    if (!absl::SimpleAtoi(args.get("mse-grid"), &i)) return absl::InvalidArgumentError("--mse-grid must be an integer");
    c.set_mse_grid_points(static_cast<int32_t>(i));
  }
  return c;
}

grpc::Status quantize_unary(v1::Quantd::Stub& stub, const Args& args, const v1::QuantizeRequest& request,
                            v1::QuantizeResponse* response) {
  grpc::ClientContext context;
  return stub.Quantize(with_deadline(&context, args), request, response);
}

// Sends the header, then the data in chunks; reassembles the reply's chunks.
grpc::Status quantize_stream(v1::Quantd::Stub& stub, const Args& args, v1::QuantizeRequest request,
                             v1::QuantizeResponse* response) {
  grpc::ClientContext context;
  auto stream = stub.QuantizeStream(with_deadline(&context, args));
  std::string data = std::move(*request.mutable_tensor()->mutable_data());
  request.mutable_tensor()->clear_data();
  v1::QuantizeStreamRequest message;
  *message.mutable_header() = std::move(request);
  bool ok = stream->Write(message);
  for (size_t off = 0; ok && off < data.size(); off += kChunkBytes) {
    message.set_data_chunk(data.substr(off, kChunkBytes));
    ok = stream->Write(message);
  }
  stream->WritesDone();
  v1::QuantizeStreamResponse reply;
  std::string packed;
  while (stream->Read(&reply)) {
    if (reply.has_header()) {
      *response = std::move(*reply.mutable_header());
    } else {
      packed += reply.data_chunk();
    }
  }
  grpc::Status status = stream->Finish();
  if (status.ok()) response->mutable_quantized()->set_data(std::move(packed));
  return status;
}

void print_report(const v1::QuantizeRequest& request, const v1::QuantizeResponse& r, double round_trip_ms) {
  const v1::QuantizedTensor& q = r.quantized();
  std::string shape;
  for (int i = 0; i < q.shape_size(); ++i) absl::StrAppend(&shape, i ? "x" : "", q.shape(i));
  std::printf("scheme            %s (%s)\n", v1::Scheme_Name(q.scheme()).c_str(),
              v1::Granularity_Name(q.granularity()).c_str());
  std::printf("shape             %s\n", shape.c_str());
  const double in_bytes = static_cast<double>(request.tensor().data().size());
  const size_t out_bytes = q.data().size() + q.scales_size() * 4 + q.zero_points_size() * 4;
  std::printf("bytes             %.0f -> %zu (%.2fx smaller)\n", in_bytes, out_bytes,
              out_bytes ? in_bytes / static_cast<double>(out_bytes) : 0.0);
  if (r.has_error()) {
    const v1::ErrorStats& e = r.error();
    std::printf("mse               %.6g\n", e.mse());
    std::printf("rmse              %.6g\n", e.rmse());
    std::printf("max_abs_error     %.6g\n", e.max_abs_error());
    std::printf("snr_db            %.3f\n", e.snr_db());
    std::printf("cosine_similarity %.9f\n", e.cosine_similarity());
  }
  std::printf("server_ms         %.3f\n", static_cast<double>(r.compute_micros()) / 1000.0);
  std::printf("round_trip_ms     %.3f\n", round_trip_ms);
}

}  // namespace

std::shared_ptr<grpc::Channel> connect(const Args& args) {
  grpc::ChannelArguments channel_args;
  channel_args.SetMaxReceiveMessageSize(static_cast<int>(kMaxMessageBytes));
  channel_args.SetMaxSendMessageSize(static_cast<int>(kMaxMessageBytes));
  return grpc::CreateCustomChannel(args.get("server"), grpc::InsecureChannelCredentials(),
                                   channel_args);
}

int report(const std::string& what, const grpc::Status& status) {
  std::fprintf(stderr, "quantctl: %s failed: %s: %s\n", what.c_str(),
               absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code())).c_str(),
               status.error_message().c_str());
  return 1;
}

int cmd_quantize(const Args& args) {
  if (args.positional().size() != 2) return fail("quantize takes one input file");
  absl::StatusOr<v1::Tensor> tensor = load_tensor(args, args.positional()[1]);
  if (!tensor.ok()) return fail(std::string(tensor.status().message()));
  absl::StatusOr<v1::QuantizationConfig> config = load_config(args);
  if (!config.ok()) return fail(std::string(config.status().message()));
  v1::QuantizeRequest request;
  *request.mutable_tensor() = std::move(*tensor);
  *request.mutable_config() = *config;
  request.set_skip_error_stats(args.has("no-stats"));
  const std::string fake_out = args.get("fake-quant");
  if (!fake_out.empty()) {
    request.set_fake_quantize(true);
    if (request.tensor().dtype() == v1::DTYPE_BF16) request.set_fake_quantize_dtype(v1::DTYPE_F32);
  }

  auto stub = v1::Quantd::NewStub(connect(args));
  v1::QuantizeResponse response;
  const auto start = std::chrono::steady_clock::now();
  grpc::Status status = args.has("stream") ? quantize_stream(*stub, args, request, &response)
                                           : quantize_unary(*stub, args, request, &response);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (!status.ok()) return report("quantize", status);
  print_report(request, response, ms);

  if (const std::string out = args.get("o"); !out.empty()) {
    std::ofstream f(out, std::ios::binary);
    if (!f || !response.quantized().SerializeToOstream(&f)) return fail("cannot write " + out);
  }
  if (!fake_out.empty()) {
    NpyArray a;
    a.dtype = response.dequantized().dtype() == v1::DTYPE_F16 ? "<f2" : "<f4";
    a.shape.assign(response.dequantized().shape().begin(), response.dequantized().shape().end());
    a.data = response.dequantized().data();
    if (absl::Status s = write_npy(fake_out, a); !s.ok()) return fail(std::string(s.message()));
  }
  return 0;
}

int cmd_dequantize(const Args& args) {
  if (args.positional().size() != 2) return fail("dequantize takes one input file (written by quantize -o)");
  const std::string out = args.get("o");
  if (out.empty()) return fail("dequantize needs -o OUT.npy");
  v1::DequantizeRequest request;
  {
    std::ifstream f(args.positional()[1], std::ios::binary);
    if (!f) return fail("cannot open " + args.positional()[1]);
    if (!request.mutable_quantized()->ParseFromIstream(&f)) return fail(args.positional()[1] + " is not a quantized tensor");
  }
  const std::string dtype = args.get("dtype");
  if (dtype != "f32" && dtype != "f16") return fail("--dtype must be f32 or f16");
  request.set_dtype(dtype == "f32" ? v1::DTYPE_F32 : v1::DTYPE_F16);
  auto stub = v1::Quantd::NewStub(connect(args));
  v1::DequantizeResponse response;
  grpc::ClientContext context;
  grpc::Status status = stub->Dequantize(with_deadline(&context, args), request, &response);
  if (!status.ok()) return report("dequantize", status);
  NpyArray a;
  a.dtype = dtype == "f32" ? "<f4" : "<f2";
  a.shape.assign(response.tensor().shape().begin(), response.tensor().shape().end());
  a.data = std::move(*response.mutable_tensor()->mutable_data());
  if (absl::Status s = write_npy(out, a); !s.ok()) return fail(std::string(s.message()));
  std::printf("wrote %s (%zu bytes of %s)\n", out.c_str(), a.data.size(), dtype.c_str());
  return 0;
}

}  // namespace quantd::client
