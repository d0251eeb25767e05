// Quantize / Dequantize / QuantizeStream over a real loopback socket: every scheme x
// granularity round trip, checked against the statistics the server reports.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "quantd/kernels/fp16.h"
#include "tests/service/test_server.h"

namespace quantd {
namespace {

v1::Tensor make_tensor(const std::vector<int64_t>& shape, uint32_t seed, float scale = 1.0f) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::vector<float> x(n);
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  for (float& v : x) v = normal(rng);
  v1::Tensor t;
  t.set_dtype(v1::DTYPE_F32);
  for (int64_t d : shape) t.add_shape(d);
  t.set_data(std::string(reinterpret_cast<const char*>(x.data()), x.size() * 4));
  return t;
}

std::vector<float> floats(const v1::Tensor& t) {
  std::vector<float> x(t.data().size() / 4);
  std::memcpy(x.data(), t.data().data(), t.data().size());
  return x;
}

struct Case {
  v1::Scheme scheme;
  v1::Granularity granularity;
  int axis;
  int64_t group_size;
  v1::RangeMethod range;
};

class RoundTrip : public ::testing::TestWithParam<Case> {};

TEST_P(RoundTrip, RestoredTensorMatchesReportedError) {
  static testing::TestServer server;
  auto stub = server.stub();
  const Case c = GetParam();
  for (std::vector<int64_t> shape : {std::vector<int64_t>{64, 128}, std::vector<int64_t>{3, 8, 64}}) {
    v1::QuantizeRequest request;
    *request.mutable_tensor() = make_tensor(shape, 17);
    request.mutable_config()->set_scheme(c.scheme);
    request.mutable_config()->set_granularity(c.granularity);
    request.mutable_config()->set_axis(c.axis);
    request.mutable_config()->set_group_size(c.group_size);
    request.mutable_config()->set_range_method(c.range);
    if (c.range == v1::RANGE_METHOD_PERCENTILE) request.mutable_config()->set_percentile(99.0);
    v1::QuantizeResponse reply;
    grpc::ClientContext ctx;
    grpc::Status st = stub->Quantize(&ctx, request, &reply);
    ASSERT_TRUE(st.ok()) << st.error_message();
    ASSERT_TRUE(reply.has_error());
    EXPECT_NE(reply.quantized().granularity(), v1::GRANULARITY_UNSPECIFIED);

    v1::DequantizeRequest dq;
    *dq.mutable_quantized() = reply.quantized();
    v1::DequantizeResponse restored;
    grpc::ClientContext ctx2;
    st = stub->Dequantize(&ctx2, dq, &restored);
    ASSERT_TRUE(st.ok()) << st.error_message();
    ASSERT_EQ(restored.tensor().dtype(), v1::DTYPE_F32);
    ASSERT_EQ(std::vector<int64_t>(restored.tensor().shape().begin(), restored.tensor().shape().end()), shape);

    // Recompute the error from what came back and compare with what the server reported.
    const std::vector<float> x = floats(request.tensor()), y = floats(restored.tensor());
    ASSERT_EQ(x.size(), y.size());
    double se = 0, sx = 0, sy = 0, sxy = 0, max_abs = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      const double d = static_cast<double>(x[i]) - y[i];
      se += d * d;
      sx += static_cast<double>(x[i]) * x[i];
      sy += static_cast<double>(y[i]) * y[i];
      sxy += static_cast<double>(x[i]) * y[i];
      max_abs = std::max(max_abs, std::fabs(d));
    }
    const double mse = se / x.size();
    const v1::ErrorStats& e = reply.error();
    EXPECT_EQ(e.count(), static_cast<int64_t>(x.size()));
    EXPECT_NEAR(e.mse(), mse, 1e-9 * std::max(1.0, mse));
    EXPECT_NEAR(e.rmse(), std::sqrt(mse), 1e-9);
    EXPECT_DOUBLE_EQ(e.max_abs_error(), max_abs);
    EXPECT_NEAR(e.snr_db(), 10 * std::log10(sx / se), 1e-6);
    EXPECT_NEAR(e.cosine_similarity(), sxy / std::sqrt(sx * sy), 1e-9);
    // Unit-normal data: every scheme here keeps at least ~10 dB (int4 per tensor is the worst).
    EXPECT_GT(e.snr_db(), 10.0) << v1::Scheme_Name(c.scheme);
    EXPECT_GT(e.cosine_similarity(), 0.95);
  }
}

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (v1::Scheme s : {v1::SCHEME_Q4_0, v1::SCHEME_Q4_1, v1::SCHEME_Q5_0, v1::SCHEME_Q5_1, v1::SCHEME_Q8_0}) {
    cases.push_back({s, v1::GRANULARITY_UNSPECIFIED, 0, 0, v1::RANGE_METHOD_UNSPECIFIED});
  }
  for (v1::Scheme s : {v1::SCHEME_INT8_SYMMETRIC, v1::SCHEME_INT8_ASYMMETRIC, v1::SCHEME_INT4_SYMMETRIC,
                       v1::SCHEME_INT4_ASYMMETRIC}) {
    for (v1::RangeMethod r : {v1::RANGE_METHOD_MIN_MAX, v1::RANGE_METHOD_PERCENTILE, v1::RANGE_METHOD_MSE}) {
      cases.push_back({s, v1::GRANULARITY_PER_TENSOR, 0, 0, r});
      cases.push_back({s, v1::GRANULARITY_PER_CHANNEL, 0, 0, r});
      cases.push_back({s, v1::GRANULARITY_PER_CHANNEL, -1, 0, r});
      cases.push_back({s, v1::GRANULARITY_PER_GROUP, 0, 32, r});
    }
  }
  return cases;
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  const Case& c = info.param;
  std::string axis = c.axis < 0 ? "m" + std::to_string(-c.axis) : std::to_string(c.axis);
  return v1::Scheme_Name(c.scheme).substr(7) + "_" + v1::Granularity_Name(c.granularity).substr(12) + "_axis" +
         axis + "_" + v1::RangeMethod_Name(c.range).substr(13);
}

INSTANTIATE_TEST_SUITE_P(AllSchemes, RoundTrip, ::testing::ValuesIn(all_cases()), case_name);

TEST(QuantizeRpc, FakeQuantizeEqualsDequantizeAndKeepsF16) {
  testing::TestServer server;
  auto stub = server.stub();
  v1::QuantizeRequest request;
  v1::Tensor f32 = make_tensor({16, 64}, 3);
  std::vector<float> x = floats(f32);
  v1::Tensor& t = *request.mutable_tensor();
  t.set_dtype(v1::DTYPE_F16);
  t.add_shape(16);
  t.add_shape(64);
  std::string half(x.size() * 2, '\0');
  for (size_t i = 0; i < x.size(); ++i) {
    const kernels::fp16_t h = kernels::float_to_fp16(x[i]);
    std::memcpy(&half[i * 2], &h, 2);
  }
  t.set_data(half);
  request.mutable_config()->set_scheme(v1::SCHEME_Q8_0);
  request.set_fake_quantize(true);
  v1::QuantizeResponse reply;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub->Quantize(&ctx, request, &reply).ok());
  EXPECT_EQ(reply.dequantized().dtype(), v1::DTYPE_F16);
  EXPECT_EQ(reply.quantized().source_dtype(), v1::DTYPE_F16);

  v1::DequantizeRequest dq;
  *dq.mutable_quantized() = reply.quantized();  // dtype unset: defaults to the source's (F16)
  v1::DequantizeResponse restored;
  grpc::ClientContext ctx2;
  ASSERT_TRUE(stub->Dequantize(&ctx2, dq, &restored).ok());
  EXPECT_EQ(restored.tensor().dtype(), v1::DTYPE_F16);
  EXPECT_EQ(restored.tensor().data(), reply.dequantized().data());
}

TEST(QuantizeRpc, StreamEqualsUnaryForLargeTensor) {
  service::ServiceOptions options;
  options.stream_chunk_bytes = 100000;  // odd chunking on the way back
  testing::TestServer server(testing::TestServer::default_options(), options);
  auto stub = server.stub();
  v1::QuantizeRequest request;
  *request.mutable_tensor() = make_tensor({1024, 1024}, 9);  // 4 MiB
  request.mutable_config()->set_scheme(v1::SCHEME_Q4_1);
  v1::QuantizeResponse unary;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub->Quantize(&ctx, request, &unary).ok());

  grpc::ClientContext sctx;
  auto stream = stub->QuantizeStream(&sctx);
  v1::QuantizeStreamRequest m;
  *m.mutable_header() = request;
  m.mutable_header()->mutable_tensor()->clear_data();
  ASSERT_TRUE(stream->Write(m));
  const std::string& data = request.tensor().data();
  for (size_t off = 0; off < data.size(); off += 333333) {  // chunks that split floats
    m.set_data_chunk(data.substr(off, 333333));
    ASSERT_TRUE(stream->Write(m));
  }
  stream->WritesDone();
  v1::QuantizeStreamResponse r;
  v1::QuantizeResponse head;
  std::string packed;
  int chunks = 0;
  while (stream->Read(&r)) {
    if (r.has_header()) {
      head = r.header();
    } else {
      packed += r.data_chunk();
      ++chunks;
    }
  }
  grpc::Status st = stream->Finish();
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_GT(chunks, 1);
  EXPECT_EQ(packed, unary.quantized().data());
  EXPECT_EQ(head.error().mse(), unary.error().mse());
  EXPECT_EQ(head.error().snr_db(), unary.error().snr_db());
}

}  // namespace
}  // namespace quantd
