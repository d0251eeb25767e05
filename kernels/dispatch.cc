// Chooses the kernel table once: what is compiled in, intersected with what the CPU supports,
// optionally forced by QUANTD_ISA, then checked against the reference on a known input.
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <random>

#include "internal/cpu_features.h"
#include "internal/tables.h"
#include "quantd/kernels/kernels.h"

namespace quantd::kernels {
namespace {

constexpr std::array<std::pair<Isa, std::string_view>, 6> kIsaNames = {{
    {Isa::kScalar, "scalar"},
    {Isa::kAvx2, "avx2"},
    {Isa::kAvx512, "avx512"},
    {Isa::kAvx512Vnni, "avx512_vnni"},
    {Isa::kNeon, "neon"},
    {Isa::kNeonDotprod, "neon_dotprod"},
}};

#if defined(QUANTD_HAVE_AVX2)
constexpr bool kBuiltAvx2 = true;
#else
constexpr bool kBuiltAvx2 = false;
#endif
#if defined(QUANTD_HAVE_AVX512)
constexpr bool kBuiltAvx512 = true;
#else
constexpr bool kBuiltAvx512 = false;
#endif
#if defined(QUANTD_HAVE_NEON)
constexpr bool kBuiltNeon = true;
#else
constexpr bool kBuiltNeon = false;
#endif

// No default: -Wswitch names an Isa added without a rule here.
bool runnable(Isa isa) {
  const CpuFeatures& f = cpu_features();
  switch (isa) {
    case Isa::kScalar: return true;
    case Isa::kAvx2: return kBuiltAvx2 && f.avx2;
    case Isa::kAvx512: return kBuiltAvx512 && f.avx512;
    case Isa::kAvx512Vnni: return kBuiltAvx512 && f.avx512_vnni;
    case Isa::kNeon: return kBuiltNeon && f.neon;
    case Isa::kNeonDotprod: return kBuiltNeon && f.neon_dotprod;
  }
  return false;
}

// Each level starts from the one below it and replaces what it speeds up.
KernelTable build_table(Isa isa) {
  KernelTable t;
  fill_reference_table(&t);
#if defined(QUANTD_HAVE_AVX2)
  if (isa == Isa::kAvx2 || isa == Isa::kAvx512 || isa == Isa::kAvx512Vnni) fill_avx2_table(&t);
#endif
#if defined(QUANTD_HAVE_AVX512)
  if (isa == Isa::kAvx512 || isa == Isa::kAvx512Vnni) fill_avx512_table(&t);
  if (isa == Isa::kAvx512Vnni) fill_avx512_vnni_table(&t);
#endif
#if defined(QUANTD_HAVE_NEON)
  if (isa == Isa::kNeon || isa == Isa::kNeonDotprod) fill_neon_table(&t);
  if (isa == Isa::kNeonDotprod) fill_neon_dotprod_table(&t);
#endif
  t.isa = isa;
  return t;
}

struct Tables {
  std::array<KernelTable, kIsaNames.size()> table;
  std::array<bool, kIsaNames.size()> available{};
};

const Tables& tables() {
  static const Tables all = [] {
    Tables t;
    for (auto [isa, name] : kIsaNames) {
      const auto i = static_cast<size_t>(isa);
      t.available[i] = runnable(isa);
      if (t.available[i]) t.table[i] = build_table(isa);
    }
    return t;
  }();
  return all;
}

// A self-check before a table is trusted (LevelDB's crc32c does the same): every entry must
// give the reference's bytes and floats on a fixed pseudo-random input.
std::string self_check(const KernelTable& t) {
  const KernelTable& r = tables().table[static_cast<size_t>(Isa::kScalar)];
  constexpr int kN = 11 * kBlockSize;  // odd block count: exercises the tails
  std::mt19937 rng(1234);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::array<float, kN> x{}, act{};
  for (int i = 0; i < kN; ++i) {
    x[i] = dist(rng);
    act[i] = dist(rng);
  }
  for (const FormatInfo& f : all_formats()) {
    const size_t bytes = row_bytes(f, kN);
    std::vector<uint8_t> a(bytes), b(bytes);
    t[f.format].quantize_row(x.data(), a.data(), kN);
    r[f.format].quantize_row(x.data(), b.data(), kN);
    if (a != b) return std::string("quantize_row ") + std::string(f.name) + " differs from the reference";
    std::array<float, kN> da{}, db{};
    t[f.format].dequantize_row(a.data(), da.data(), kN);
    r[f.format].dequantize_row(a.data(), db.data(), kN);
    if (std::memcmp(da.data(), db.data(), sizeof da) != 0)
      return std::string("dequantize_row ") + std::string(f.name) + " differs from the reference";
    if (t[f.format].vec_dot == nullptr) continue;
    const FormatInfo& p = *find_format(f.vec_dot_partner);
    std::vector<uint8_t> y(row_bytes(p, kN));
    r[p.format].quantize_row(act.data(), y.data(), kN);
    const float dt = t[f.format].vec_dot(kN, a.data(), y.data());
    const float dr = r[f.format].vec_dot(kN, a.data(), y.data());
    if (std::memcmp(&dt, &dr, sizeof dt) != 0)
      return std::string("vec_dot ") + std::string(f.name) + " differs from the reference";
  }
  return "";
}

std::once_flag g_once;
const KernelTable* g_active = nullptr;
std::string g_error;

void select_once() {
  const Tables& t = tables();
  Isa chosen = Isa::kScalar;
  for (auto [isa, name] : kIsaNames) {
    if (t.available[static_cast<size_t>(isa)]) chosen = isa;  // later entries are faster
  }
  if (const char* env = std::getenv("QUANTD_ISA"); env != nullptr && *env != '\0') {
    const std::optional<Isa> forced = parse_isa(env);
    if (!forced) {
      g_error = std::string("QUANTD_ISA=") + env +
                ": unknown ISA; expected scalar, avx2, avx512, avx512_vnni, neon or neon_dotprod";
      return;
    }
    if (!t.available[static_cast<size_t>(*forced)]) {
      g_error = std::string("QUANTD_ISA=") + env + ": not supported by this build and CPU (supported:";
      for (Isa i : supported_isas()) g_error += std::string(" ") + std::string(isa_name(i));
      g_error += ")";
      return;
    }
    chosen = *forced;
  }
  const KernelTable& table = t.table[static_cast<size_t>(chosen)];
  if (std::string err = self_check(table); !err.empty()) {
    g_error = std::string("kernel self-check failed for ") + std::string(isa_name(chosen)) + ": " + err;
    return;
  }
  g_active = &table;
}

}  // namespace

std::string_view isa_name(Isa isa) { return kIsaNames[static_cast<size_t>(isa)].second; }

std::optional<Isa> parse_isa(std::string_view name) {
  for (auto [isa, n] : kIsaNames) {
    if (n == name) return isa;
  }
  return std::nullopt;
}

std::string select_kernels() {
  std::call_once(g_once, select_once);
  return g_error;
}

const KernelTable& kernels() {
  if (std::string err = select_kernels(); !err.empty()) {
    std::fprintf(stderr, "quantd: %s\n", err.c_str());
    std::abort();
  }
  return *g_active;
}

const KernelTable* kernels_for(Isa isa) {
  const Tables& t = tables();
  const auto i = static_cast<size_t>(isa);
  return t.available[i] ? &t.table[i] : nullptr;
}

std::vector<Isa> supported_isas() {
  std::vector<Isa> out;
  for (auto [isa, name] : kIsaNames) {
    if (tables().available[static_cast<size_t>(isa)]) out.push_back(isa);
  }
  return out;
}

int64_t first_non_finite(const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) return i;
  }
  return -1;
}

}  // namespace quantd::kernels
