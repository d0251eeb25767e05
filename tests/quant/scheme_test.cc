#include "server/quant/scheme.h"

#include <gtest/gtest.h>

#include <cfenv>
#include <cmath>

#include "server/quant/int_codec.h"
#include "test_util.h"

namespace quantd::quant {
namespace {

TEST(Scheme, NamesBitsAndKinds) {
  EXPECT_EQ(scheme_name(Scheme::kQ4_0), "q4_0");
  EXPECT_EQ(scheme_name(Scheme::kQ5_1), "q5_1");
  EXPECT_EQ(scheme_name(Scheme::kInt8Symmetric), "int8_sym");
  EXPECT_EQ(scheme_name(Scheme::kInt4Asymmetric), "int4_asym");
  EXPECT_EQ(scheme_name(static_cast<Scheme>(99)), "unknown");
  EXPECT_EQ(bits_of(Scheme::kQ5_0), 5);
  EXPECT_EQ(bits_of(Scheme::kQ8_0), 8);
  EXPECT_EQ(bits_of(Scheme::kInt4Symmetric), 4);
  for (Scheme s : testing::block_schemes()) {
    EXPECT_TRUE(is_block_scheme(s)) << scheme_name(s);
    EXPECT_FALSE(is_symmetric(s)) << scheme_name(s);
  }
  for (Scheme s : testing::int_schemes()) EXPECT_FALSE(is_block_scheme(s)) << scheme_name(s);
  EXPECT_TRUE(is_symmetric(Scheme::kInt8Symmetric));
  EXPECT_FALSE(is_symmetric(Scheme::kInt4Asymmetric));
  EXPECT_EQ(granularity_name(Granularity::kPerGroup), "per_group");
  EXPECT_EQ(range_method_name(RangeMethod::kMse), "mse");
}

TEST(Rounding, MatchesNearbyintHalfToEven) {
  ASSERT_EQ(std::fegetround(), FE_TONEAREST);
  for (float v = -300.0f; v <= 300.0f; v += 0.125f) {
    EXPECT_EQ(internal::round_half_even(v), std::nearbyint(v)) << v;
  }
  EXPECT_EQ(internal::round_half_even(0.5f), 0.0f);
  EXPECT_EQ(internal::round_half_even(1.5f), 2.0f);
  EXPECT_EQ(internal::round_half_even(2.5f), 2.0f);
  EXPECT_EQ(internal::round_half_even(-2.5f), -2.0f);
  EXPECT_EQ(internal::round_half_even(254.49998f), 254.0f);
  const std::vector<float> r = testing::uniform_values(10000, 7, -256, 256);
  for (float v : r) EXPECT_EQ(internal::round_half_even(v), std::nearbyint(v)) << v;
}

}  // namespace
}  // namespace quantd::quant
