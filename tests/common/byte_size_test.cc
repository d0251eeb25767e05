#include "server/common/byte_size.h"

#include <gtest/gtest.h>

namespace quantd::flags {
namespace {

TEST(ByteSize, PlainIntegersAndBinaryUnits) {
  EXPECT_EQ(*parse_byte_size("268435456"), 268435456);
  EXPECT_EQ(*parse_byte_size("0"), 0);
  EXPECT_EQ(*parse_byte_size("512B"), 512);
  EXPECT_EQ(*parse_byte_size("4KiB"), 4096);
  EXPECT_EQ(*parse_byte_size("256MiB"), 256ll << 20);
  EXPECT_EQ(*parse_byte_size("256 MiB"), 256ll << 20);  // as --help prints it
  EXPECT_EQ(*parse_byte_size("256mib"), 256ll << 20);
  EXPECT_EQ(*parse_byte_size("16G"), 16ll << 30);
  EXPECT_EQ(*parse_byte_size("16GiB"), 16ll << 30);
  EXPECT_EQ(*parse_byte_size("1.5GiB"), 3ll << 29);
  EXPECT_EQ(*parse_byte_size("2TiB"), 2ll << 40);
}

TEST(ByteSize, RefusesWhatItCannotReadExactly) {
  for (const char* bad : {"", "MiB", "-1", "1.5", "0.1KiB", "256MB", "256 GB", "12x", "1e9",
                          "9223372036854775808", "8388608TiB", "1.0000001GiB"}) {
    const auto r = parse_byte_size(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_NE(r.status().message().find("MiB"), absl::string_view::npos) << "says which units work";
    }
  }
  EXPECT_EQ(*parse_byte_size("9223372036854775807"), INT64_MAX);
}

TEST(ByteSize, FormatsInTheLargestExactUnit) {
  EXPECT_EQ(format_byte_size(268435456), "256 MiB");
  EXPECT_EQ(format_byte_size(16ll << 30), "16 GiB");
  EXPECT_EQ(format_byte_size(1536ll << 20), "1536 MiB");
  EXPECT_EQ(format_byte_size(4096), "4 KiB");
  EXPECT_EQ(format_byte_size(1000), "1000 bytes");
  EXPECT_EQ(format_byte_size(0), "0 bytes");
  for (int64_t v : {int64_t{1}, int64_t{1000}, int64_t{256} << 20, int64_t{3} << 29, int64_t{5} << 40}) {
    EXPECT_EQ(*parse_byte_size(format_byte_size(v)), v) << "round trip of " << v;
  }
}

}  // namespace
}  // namespace quantd::flags
