// Bad input over a real socket: each case gets the right status code and a message naming
// what is wrong, and the server keeps serving. Prints the table (input, code, message).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "tests/service/test_server.h"

namespace quantd {
namespace {

v1::QuantizeRequest valid_request() {
  v1::QuantizeRequest r;
  r.mutable_tensor()->set_dtype(v1::DTYPE_F32);
  r.mutable_tensor()->add_shape(4);
  r.mutable_tensor()->add_shape(64);
  std::vector<float> x(256);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(static_cast<float>(i));
  r.mutable_tensor()->set_data(std::string(reinterpret_cast<const char*>(x.data()), x.size() * 4));
  r.mutable_config()->set_scheme(v1::SCHEME_Q8_0);
  return r;
}

void set_float(v1::QuantizeRequest* r, size_t index, float v) {
  std::memcpy(&(*r->mutable_tensor()->mutable_data())[index * 4], &v, 4);
}

struct BadCase {
  std::string input;
  grpc::StatusCode code;
  std::string message_has;  // a fragment the message must contain
  std::function<grpc::Status(v1::Quantd::Stub&)> call;
};

grpc::Status quantize(v1::Quantd::Stub& stub, const v1::QuantizeRequest& r) {
  grpc::ClientContext ctx;
  v1::QuantizeResponse reply;
  return stub.Quantize(&ctx, r, &reply);
}

grpc::Status dequantize(v1::Quantd::Stub& stub, const v1::QuantizedTensor& q) {
  grpc::ClientContext ctx;
  v1::DequantizeRequest r;
  *r.mutable_quantized() = q;
  v1::DequantizeResponse reply;
  return stub.Dequantize(&ctx, r, &reply);
}

v1::QuantizedTensor quantized_of(v1::Quantd::Stub& stub, v1::Scheme scheme,
                                 v1::Granularity g = v1::GRANULARITY_UNSPECIFIED) {
  v1::QuantizeRequest r = valid_request();
  r.mutable_config()->set_scheme(scheme);
  r.mutable_config()->set_granularity(g);
  grpc::ClientContext ctx;
  v1::QuantizeResponse reply;
  EXPECT_TRUE(stub.Quantize(&ctx, r, &reply).ok());
  return reply.quantized();
}

// A QuantizeStream call with the given header and data chunks.
grpc::Status stream(v1::Quantd::Stub& stub, const v1::QuantizeRequest* header, const std::vector<std::string>& chunks) {
  grpc::ClientContext ctx;
  auto s = stub.QuantizeStream(&ctx);
  v1::QuantizeStreamRequest m;
  if (header != nullptr) {
    *m.mutable_header() = *header;
    s->Write(m);
  }
  for (const std::string& c : chunks) {
    m.set_data_chunk(c);
    s->Write(m);
  }
  s->WritesDone();
  v1::QuantizeStreamResponse reply;
  while (s->Read(&reply)) {
  }
  return s->Finish();
}

std::vector<BadCase> cases() {
  using C = grpc::StatusCode;
  std::vector<BadCase> c;
  auto q = [](std::function<void(v1::QuantizeRequest*)> edit) {
    return [edit](v1::Quantd::Stub& stub) {
      v1::QuantizeRequest r = valid_request();
      edit(&r);
      return quantize(stub, r);
    };
  };
  c.push_back({"data length != shape x dtype size", C::INVALID_ARGUMENT, "tensor.data has 1020 bytes",
               q([](auto* r) { r->mutable_tensor()->mutable_data()->resize(1020); })});
  c.push_back({"zero dimension", C::INVALID_ARGUMENT, "tensor.shape[1] is 0",
               q([](auto* r) { r->mutable_tensor()->set_shape(1, 0); })});
  c.push_back({"negative dimension", C::INVALID_ARGUMENT, "tensor.shape[0] is -4",
               q([](auto* r) { r->mutable_tensor()->set_shape(0, -4); })});
  c.push_back({"element count overflow", C::INVALID_ARGUMENT, "overflows",
               q([](auto* r) {
                 r->mutable_tensor()->set_shape(0, int64_t{1} << 40);
                 r->mutable_tensor()->set_shape(1, int64_t{1} << 40);
               })});
  c.push_back({"dtype not a float type", C::INVALID_ARGUMENT, "DTYPE_I8",
               q([](auto* r) { r->mutable_tensor()->set_dtype(v1::DTYPE_I8); })});
  c.push_back({"unset scheme", C::INVALID_ARGUMENT, "config.scheme is unset",
               q([](auto* r) { r->mutable_config()->set_scheme(v1::SCHEME_UNSPECIFIED); })});
  c.push_back({"unknown scheme number", C::INVALID_ARGUMENT, "config.scheme 99",
               q([](auto* r) { r->mutable_config()->set_scheme(static_cast<v1::Scheme>(99)); })});
  c.push_back({"last axis not a multiple of 32 (block scheme)", C::INVALID_ARGUMENT, "multiple of 32",
               q([](auto* r) {
                 r->mutable_tensor()->set_shape(0, 16);
                 r->mutable_tensor()->set_shape(1, 16);
               })});
  c.push_back({"group size that does not divide the last axis", C::INVALID_ARGUMENT, "group_size",
               q([](auto* r) {
                 r->mutable_config()->set_scheme(v1::SCHEME_INT8_SYMMETRIC);
                 r->mutable_config()->set_granularity(v1::GRANULARITY_PER_GROUP);
                 r->mutable_config()->set_group_size(48);
               })});
  c.push_back({"axis out of range", C::INVALID_ARGUMENT, "axis",
               q([](auto* r) {
                 r->mutable_config()->set_scheme(v1::SCHEME_INT4_ASYMMETRIC);
                 r->mutable_config()->set_granularity(v1::GRANULARITY_PER_CHANNEL);
                 r->mutable_config()->set_axis(2);
               })});
  for (double p : {0.0, 100.5, -3.0}) {
    c.push_back({"percentile " + std::to_string(p), C::INVALID_ARGUMENT, "percentile",
                 q([p](auto* r) {
                   r->mutable_config()->set_scheme(v1::SCHEME_INT8_ASYMMETRIC);
                   r->mutable_config()->set_range_method(v1::RANGE_METHOD_PERCENTILE);
                   r->mutable_config()->set_percentile(p);
                 })});
  }
  c.push_back({"NaN in the input", C::INVALID_ARGUMENT, "index 77",
               q([](auto* r) { set_float(r, 77, std::numeric_limits<float>::quiet_NaN()); })});
  c.push_back({"Inf in the input", C::INVALID_ARGUMENT, "index 3",
               q([](auto* r) { set_float(r, 3, -std::numeric_limits<float>::infinity()); })});
  c.push_back({"message over the server's limit", C::RESOURCE_EXHAUSTED, "",
               q([](auto* r) {
                 r->mutable_tensor()->set_shape(0, (80 << 20) / 256);
                 r->mutable_tensor()->mutable_data()->resize(80 << 20);  // 80 MiB > 64 MiB limit
               })});
  c.push_back({"dequantize: truncated block data", C::INVALID_ARGUMENT, "data",
               [](v1::Quantd::Stub& stub) {
                 v1::QuantizedTensor t = quantized_of(stub, v1::SCHEME_Q4_0);
                 t.mutable_data()->resize(t.data().size() - 5);
                 return dequantize(stub, t);
               }});
  c.push_back({"dequantize: missing scales", C::INVALID_ARGUMENT, "scales",
               [](v1::Quantd::Stub& stub) {
                 v1::QuantizedTensor t = quantized_of(stub, v1::SCHEME_INT8_SYMMETRIC, v1::GRANULARITY_PER_CHANNEL);
                 t.mutable_scales()->RemoveLast();
                 return dequantize(stub, t);
               }});
  c.push_back({"dequantize: zero point out of range", C::INVALID_ARGUMENT, "zero",
               [](v1::Quantd::Stub& stub) {
                 v1::QuantizedTensor t = quantized_of(stub, v1::SCHEME_INT4_ASYMMETRIC);
                 t.set_zero_points(0, 300);
                 return dequantize(stub, t);
               }});
  c.push_back({"dequantize: NaN scale", C::INVALID_ARGUMENT, "scale",
               [](v1::Quantd::Stub& stub) {
                 v1::QuantizedTensor t = quantized_of(stub, v1::SCHEME_INT8_ASYMMETRIC);
                 t.set_scales(0, std::numeric_limits<float>::quiet_NaN());
                 return dequantize(stub, t);
               }});
  c.push_back({"dequantize: unset scheme", C::INVALID_ARGUMENT, "scheme",
               [](v1::Quantd::Stub& stub) {
                 v1::QuantizedTensor t = quantized_of(stub, v1::SCHEME_Q8_0);
                 t.clear_scheme();
                 return dequantize(stub, t);
               }});
  c.push_back({"dequantize: reply over the message limit", C::RESOURCE_EXHAUSTED, "--max_message_bytes",
               [](v1::Quantd::Stub& stub) {
                 v1::QuantizedTensor t = quantized_of(stub, v1::SCHEME_INT8_SYMMETRIC);
                 t.set_shape(0, 1 << 20);  // claims 256 Mi values: the F32 reply would be 1 GiB
                 return dequantize(stub, t);
               }});
  c.push_back({"stream: no header", C::INVALID_ARGUMENT, "header",
               [](v1::Quantd::Stub& stub) { return stream(stub, nullptr, {"abcd"}); }});
  c.push_back({"stream: more data than the shape", C::INVALID_ARGUMENT, "more data",
               [](v1::Quantd::Stub& stub) {
                 v1::QuantizeRequest h = valid_request();
                 std::string data = h.tensor().data();
                 h.mutable_tensor()->clear_data();
                 return stream(stub, &h, {data, "xxxx"});
               }});
  c.push_back({"stream: less data than the shape", C::INVALID_ARGUMENT, "tensor.data has 1000 bytes",
               [](v1::Quantd::Stub& stub) {
                 v1::QuantizeRequest h = valid_request();
                 std::string data = h.tensor().data().substr(0, 1000);
                 h.mutable_tensor()->clear_data();
                 return stream(stub, &h, {data});
               }});
  c.push_back({"stream: tensor over --max_tensor_bytes", C::RESOURCE_EXHAUSTED, "--max_tensor_bytes",
               [](v1::Quantd::Stub& stub) {
                 v1::QuantizeRequest h = valid_request();
                 h.mutable_tensor()->clear_data();
                 h.mutable_tensor()->set_shape(0, int64_t{1} << 30);
                 return stream(stub, &h, {});
               }});
  return c;
}

TEST(BadInput, ClearStatusAndServerKeepsServing) {
  engine::EngineOptions options = testing::TestServer::default_options();
  options.max_tensor_bytes = 1 << 30;
  testing::TestServer server(options);
  auto stub = server.stub();
  std::printf("| input | code | message |\n|---|---|---|\n");
  for (const BadCase& c : cases()) {
    grpc::Status st = c.call(*stub);
    std::printf("| %s | %s | %s |\n", c.input.c_str(),
                absl::StatusCodeToString(static_cast<absl::StatusCode>(st.error_code())).c_str(),
                st.error_message().c_str());
    EXPECT_EQ(st.error_code(), c.code) << c.input << ": " << st.error_message();
    EXPECT_NE(st.error_message().find(c.message_has), std::string::npos) << c.input << ": " << st.error_message();
    // After every bad call, a good one still works.
    ASSERT_TRUE(quantize(*stub, valid_request()).ok()) << "after " << c.input;
  }
}

}  // namespace
}  // namespace quantd
