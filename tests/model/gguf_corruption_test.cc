// In the spirit of LevelDB's corruption_test: take stories260K.gguf, damage it at every
// structural field and at every byte before the data, truncate it at every length up to the
// data and at a spread of lengths after, and require that the reader (and the model loader
// behind it) either refuses with INVALID_ARGUMENT or accepts a file that is still consistent:
// never a crash, a hang (ctest's TIMEOUT bounds the run) or a large allocation.
#include <chrono>
#include <random>
#include <set>
#include <span>

#include "gtest/gtest.h"
#include "quantd/kernels/formats.h"
#include "server/model/gguf.h"
#include "server/model/model.h"
#include "tests/model/gguf_layout.h"
#include "tests/model/test_util.h"

namespace quantd::model {
namespace {

// No allocation while parsing a 1.2 MB file should come near this: the biggest legitimate
// ones are the token array (512 values) and the re-quantized tensors (< 300 KB).
constexpr size_t kMaxAllocation = size_t{32} << 20;

class Corruption : public ::testing::Test {
 protected:
  void SetUp() override {
    original_ = testing::read_bytes(testing::model_path("stories260K.gguf"));
    ASSERT_EQ(original_.size(), 1185376u);
    bytes_ = original_;
    testing::reset_largest_allocation();
  }
  void TearDown() override {
    EXPECT_LT(testing::largest_allocation(), kMaxAllocation);
    std::printf("[ corruption ] %zu mutated files: %zu rejected, %zu accepted\n", files_, rejected_, accepted_);
  }

  // Parses `bytes`; on success checks the result is self-consistent and feeds it to the model
  // loader (which must also either refuse or succeed). Returns whether the parse succeeded.
  // Returns whether the parse succeeded and, when asked, whether the model loaded.
  bool check(std::span<const uint8_t> bytes, const std::string& what, bool load_model, bool* loaded = nullptr) {
    ++files_;
    auto parsed = GgufFile::parse(bytes);
    if (!parsed.ok()) {
      ++rejected_;
      EXPECT_TRUE(absl::IsInvalidArgument(parsed.status())) << what << ": " << parsed.status();
      EXPECT_FALSE(parsed.status().message().empty()) << what;
      return false;
    }
    ++accepted_;
    std::shared_ptr<const GgufFile> f = std::move(*parsed);
    const uint8_t* begin = bytes.data();
    const uint8_t* end = begin + bytes.size();
    std::set<std::string> names;
    for (const GgufTensor& t : f->tensors()) {
      EXPECT_TRUE(names.insert(t.name).second) << what;
      const kernels::FormatInfo* info = kernels::find_format(t.ggml_type);
      EXPECT_NE(info, nullptr) << what;
      if (info == nullptr) continue;
      EXPECT_EQ(t.bytes, kernels::row_bytes(*info, t.ne[0]) * static_cast<uint64_t>(t.elements() / t.ne[0]))
          << what;
      EXPECT_TRUE(t.data >= begin && t.data <= end && t.bytes <= static_cast<uint64_t>(end - t.data))
          << what << " " << t.name;
      EXPECT_EQ(t.offset % f->alignment(), 0u) << what;
    }
    if (load_model) {
      for (const bool requantize : {false, true}) {
        LoadOptions options;
        if (requantize) options.target = kernels::Format::kQ8_0;
        auto model = Model::from_gguf("m", "mutated", f, options);
        if (loaded != nullptr) *loaded = model.ok();
        if (model.ok()) {
          uint64_t total = 0;
          for (const ModelTensor& t : (*model)->tensors()) total += t.bytes;
          EXPECT_EQ(total, (*model)->bytes_mapped() + (*model)->bytes_allocated()) << what;
        } else {
          EXPECT_FALSE(model.status().message().empty()) << what;
        }
      }
    }
    return true;
  }

  std::vector<uint8_t> original_;
  std::vector<uint8_t> bytes_;  // damaged in place, restored after each case
  size_t files_ = 0, rejected_ = 0, accepted_ = 0;
};

// Values to try in a field of `size` bytes holding `v`: the edges of the type, off-by-ones,
// and the large values that trip unchecked arithmetic.
std::vector<uint64_t> field_values(uint64_t v, int size) {
  const uint64_t max = size == 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * size)) - 1;
  std::vector<uint64_t> out = {0, 1, 2, max, max - 1, max / 2, max / 2 + 1, v + 1, v - 1, v * 2, v ^ (max / 2 + 1),
                               v + 32, v + 4096};
  if (size >= 4) out.insert(out.end(), {0xffffffffull, 0x80000000ull, 1ull << 20, 14176, 1185376, 1185377});
  if (size == 8) out.insert(out.end(), {1ull << 32, 1ull << 62, 1ull << 63});
  for (uint64_t& x : out) x &= max;
  return out;
}

TEST_F(Corruption, EveryStructuralField) {
  const testing::GgufLayout layout(original_);
  ASSERT_EQ(layout.end_of_infos(), 14152u);
  size_t fields = 0;
  for (const testing::Field& field : layout.fields()) {
    // Scalar values (token scores, ids) and array elements of strings: a sample suffices;
    // every length, type, count and tensor field is tried in full.
    const bool bulk = field.kind == testing::FieldKind::kScalar || field.kind == testing::FieldKind::kStringLength;
    if (bulk && (fields++ % 7) != 0) continue;
    uint64_t v = 0;
    std::memcpy(&v, original_.data() + field.offset, field.size);
    using K = testing::FieldKind;
    for (uint64_t nv : field_values(v, field.size)) {
      if (nv == v) continue;
      std::memcpy(bytes_.data() + field.offset, &nv, field.size);
      const std::string what = field.label + " = " + std::to_string(nv);
      if (field.kind == K::kTensorCount) {
        // Fewer tensors is a well-formed GGUF (the data section starts earlier); the model
        // loader must then miss a tensor.
        bool loaded = true;
        if (check(bytes_, what, true, &loaded)) {
          EXPECT_FALSE(loaded) << what;
        }
      } else if (check(bytes_, what, files_ % 5 == 0)) {
        // Changes that can never give a well-formed file.
        EXPECT_TRUE(field.kind != K::kMagic && field.kind != K::kKvCount && field.kind != K::kKeyLength &&
                    field.kind != K::kArrayCount && field.kind != K::kNameLength && field.kind != K::kNDims)
            << what << " was accepted";
      }
      std::memcpy(bytes_.data() + field.offset, &v, field.size);
    }
  }
  std::printf("[ corruption ] %zu structural fields\n", layout.fields().size());
}

TEST_F(Corruption, EveryByteBeforeTheData) {
  for (size_t i = 0; i < 14176; ++i) {
    for (const uint8_t mask : {0xff, 0x80, 0x01}) {
      bytes_[i] ^= mask;
      check(bytes_, "byte " + std::to_string(i) + " ^ " + std::to_string(mask), i % 64 == 0);
      bytes_[i] ^= mask;
    }
  }
}

TEST_F(Corruption, Truncation) {
  // Every length up to the data section, then a spread through the data: the last tensor ends
  // exactly at the end of the file, so every truncation must be refused.
  std::vector<size_t> lengths;
  for (size_t n = 0; n <= 14176; ++n) lengths.push_back(n);
  for (size_t n = 14177; n < original_.size(); n += 4099) lengths.push_back(n);
  lengths.push_back(original_.size() - 1);
  for (size_t n : lengths) {
    EXPECT_FALSE(check(std::span<const uint8_t>(original_.data(), n), "truncated to " + std::to_string(n), false))
        << n;
  }
  // Appending bytes is benign.
  std::vector<uint8_t> longer = original_;
  longer.resize(longer.size() + 100, 0xAB);
  EXPECT_TRUE(check(longer, "extended", true));
}

TEST_F(Corruption, RandomDamage) {
  std::mt19937_64 rng(20240601);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (int i = 0; i < 3000 && std::chrono::steady_clock::now() < deadline; ++i) {
    std::vector<uint8_t>& bytes = bytes_;
    std::memcpy(bytes.data(), original_.data(), 14176 + 4096);  // undo the last damage: cheaper than a copy
    const int n = 1 + static_cast<int>(rng() % 8);
    // Mostly the metadata and infos; sometimes anywhere (data changes are benign).
    for (int k = 0; k < n; ++k) {
      // Only the first 14176 bytes are restored: data damage goes there too, at the
      // first tensor (token_embd), so each round starts again from the original.
      const size_t at = (rng() % 4 == 0) ? 14176 + rng() % 4096 : rng() % 14176;
      bytes[at] = static_cast<uint8_t>(rng());
    }
    check(bytes, "random damage #" + std::to_string(i), i % 10 == 0);
  }
}

}  // namespace
}  // namespace quantd::model
