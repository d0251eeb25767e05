// Hand-built hostile files: counts and lengths far beyond the bytes present, deep nesting,
// too many values, bad alignment, bad bools. Each must fail fast and without a big allocation.
#include <cstring>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server/model/gguf.h"
#include "tests/model/test_util.h"

namespace quantd::model {
namespace {

// Little-endian GGUF bytes, field by field.
class Bytes {
 public:
  Bytes& u8(uint8_t v) { return raw(&v, 1); }
  Bytes& u32(uint32_t v) { return raw(&v, 4); }
  Bytes& u64(uint64_t v) { return raw(&v, 8); }
  Bytes& str(const std::string& s) {
    u64(s.size());
    return raw(s.data(), s.size());
  }
  Bytes& header(uint64_t n_tensors, uint64_t n_kv) { return u32(0x46554747).u32(3).u64(n_tensors).u64(n_kv); }
  Bytes& zeros(size_t n) {
    b_.resize(b_.size() + n, 0);
    return *this;
  }
  const std::vector<uint8_t>& bytes() const { return b_; }

 private:
  Bytes& raw(const void* p, size_t n) {
    const size_t at = b_.size();
    b_.resize(at + n);
    if (n > 0) std::memcpy(b_.data() + at, p, n);
    return *this;
  }
  std::vector<uint8_t> b_;
};

absl::Status parse(const Bytes& b) { return GgufFile::parse(b.bytes()).status(); }

void expect_error(const Bytes& b, const std::string& expected) {
  testing::reset_largest_allocation();
  const absl::Status s = parse(b);
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_NE(s.message().find(expected), std::string::npos) << s;
  EXPECT_LT(testing::largest_allocation(), size_t{16} << 20);
}

constexpr uint32_t kU8 = 0, kU32 = 4, kBool = 7, kString = 8, kArray = 9, kU64 = 10;

TEST(GgufLimits, HugeCountsAndLengths) {
  expect_error(Bytes().header(0, uint64_t{1} << 62), "metadata count at offset 16: 4611686018427387904 key/value");
  expect_error(Bytes().header(uint64_t{1} << 62, 0), "tensor count at offset 8");
  expect_error(Bytes().header(0, 1).u64(uint64_t{1} << 63).zeros(16), "string length 9223372036854775808 exceeds");
  expect_error(Bytes().header(0, 1).str("k").u32(kString).u64(~uint64_t{0}),
               "metadata key 'k' at offset 37: string length 18446744073709551615 exceeds the 0 bytes left");
  expect_error(Bytes().header(0, 1).str("k").u32(kArray).u32(kU64).u64(uint64_t{1} << 61).zeros(64),
               "array of 2305843009213693952 u64 values cannot fit in the 64 bytes left");
  // An array of arrays needs 12 bytes per element at least: 10 elements in 100 bytes is too many.
  expect_error(Bytes().header(0, 1).str("k").u32(kArray).u32(kArray).u64(10).zeros(100), "cannot fit");
  // An array of strings of huge length, inside an array.
  expect_error(Bytes().header(0, 1).str("k").u32(kArray).u32(kString).u64(1).u64(uint64_t{1} << 40),
               "metadata key 'k' [0] at offset");
}

TEST(GgufLimits, NestingDepth) {
  auto nested = [](int depth) {
    Bytes b;
    b.header(0, 1).str("k").u32(kArray);
    for (int d = 1; d < depth; ++d) b.u32(kArray).u64(1);
    b.u32(kU8).u64(1).u8(7);
    return b;
  };
  EXPECT_TRUE(parse(nested(kGgufMaxArrayDepth)).ok()) << parse(nested(kGgufMaxArrayDepth));
  expect_error(nested(kGgufMaxArrayDepth + 1), "arrays nested deeper than 8");
  // A million levels: refused at level 9, no deep recursion.
  Bytes deep;
  deep.header(0, 1).str("k").u32(kArray);
  for (int d = 0; d < 1000000; ++d) deep.u32(kArray).u64(1);
  expect_error(deep, "arrays nested deeper than 8");
}

TEST(GgufLimits, TooManyValues) {
  Bytes b;
  b.header(0, 1).str("k").u32(kArray).u32(kU8).u64(kGgufMaxMetadataValues + 1).zeros(kGgufMaxMetadataValues + 1);
  expect_error(b, "more than 4194304 metadata values");
}

TEST(GgufLimits, ValuesAndKeys) {
  expect_error(Bytes().header(0, 1).str("k").u32(kBool).u8(2), "bool value 2 is neither 0 nor 1");
  expect_error(Bytes().header(0, 1).str("").u32(kU8).u8(0), "metadata key #0 at offset 24: empty key");
  expect_error(Bytes().header(0, 2).str("k").u32(kU8).u8(0).str("k").u32(kU8).u8(0),
               "metadata key 'k' at offset 38: duplicate key");
  expect_error(Bytes().header(0, 1).str("general.alignment").u32(kU64).u64(32),
               "'general.alignment' has type u64, expected u32");
  expect_error(Bytes().header(0, 1).str("general.alignment").u32(kU32).u32(0), "= 0 is not a nonzero power of two");
  expect_error(Bytes().header(0, 1).str("general.alignment").u32(kU32).u32(48), "= 48 is not a nonzero power");
  // Names from the file are escaped in messages.
  expect_error(Bytes().header(0, 1).str(std::string("a\nb\x01", 4)).u32(77), "metadata key 'a\\nb\\x01'");
}

TEST(GgufLimits, TensorInfos) {
  auto file = [](const std::string& name, std::vector<uint64_t> ne, uint32_t type, uint64_t offset, size_t data) {
    Bytes b;
    b.header(1, 0).str(name).u32(static_cast<uint32_t>(ne.size()));
    for (uint64_t n : ne) b.u64(n);
    b.u32(type).u64(offset);
    b.zeros((32 - b.bytes().size() % 32) % 32 + data);
    return b;
  };
  EXPECT_TRUE(parse(file("t", {8}, 0, 0, 32)).ok());
  expect_error(file("t", {8}, 0, 0, 31), "tensor 't' at offset");
  expect_error(file("t", {8}, 0, 0, 31), "ends past the end of the file");
  expect_error(file("t", {uint64_t{1} << 62, 4}, 0, 0, 0), "ne[1] = 4: element count overflows");
  expect_error(file("t", {uint64_t{1} << 63}, 0, 0, 0), "ne[0] = 9223372036854775808 is outside [1, 2^63)");
  // 2^62 f32 elements: the count fits, the byte size would not fit the file.
  expect_error(file("t", {uint64_t{1} << 61}, 0, 0, 64), "ends past the end of the file");
  expect_error(file("t", {8}, 0, ~uint64_t{0} - 31, 64), "ends past the end of the file");
  expect_error(file("t", {8}, 40, 0, 64), "type id 40 (unknown) is not supported");
  expect_error(file("t", {8}, 2, 0, 64), "ne[0] = 8 is not a multiple of the q4_0 block size 32");
  expect_error(file("", {8}, 0, 0, 64), "tensor #0 at offset 24: empty name");
  expect_error(file("t", {}, 0, 0, 64), "n_dims 0 is outside [1, 4]");
  // Two tensors with the same name.
  Bytes dup;
  dup.header(2, 0).str("t").u32(1).u64(8).u32(0).u64(0).str("t").u32(1).u64(8).u32(0).u64(32).zeros(128);
  expect_error(dup, "duplicate tensor name");
}

}  // namespace
}  // namespace quantd::model
