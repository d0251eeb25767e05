#!/usr/bin/python3
"""Quantize a random matrix to Q4_0 and INT8 per channel, print the error, restore it."""
import sys

import numpy as np

from quantd_client import QuantdClient

target = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:50051"
weights = np.random.default_rng(0).standard_normal((256, 512)).astype(np.float32)

with QuantdClient(target) as client:
    print("health:", client.health())
    for scheme, granularity in (("q4_0", None), ("int8_sym", "channel")):
        reply = client.quantize(weights, scheme=scheme, granularity=granularity)
        restored = client.dequantize(reply.quantized)
        e = reply.error
        print(f"{scheme:9s} {len(reply.quantized.data):7d} bytes  rmse {e.rmse:.5f}  snr {e.snr_db:.2f} dB  "
              f"cosine {e.cosine_similarity:.6f}  max|x - restored| {np.abs(weights - restored).max():.5f}")
