// What this CPU and OS can run (internal). Built with baseline flags only, so the probe
// itself cannot fault on an older CPU.
#pragma once

namespace quantd::kernels {

struct CpuFeatures {
  bool avx2 = false;         // AVX2 + FMA + F16C, with the OS saving YMM state
  bool avx512 = false;       // AVX-512 F/BW/VL/DQ, with the OS saving ZMM state
  bool avx512_vnni = false;
  bool neon = false;         // Advanced SIMD (always on AArch64)
  bool neon_dotprod = false; // SDOT/UDOT (Armv8.2 dotprod)
};

const CpuFeatures& cpu_features();

}  // namespace quantd::kernels
