#!/usr/bin/python3
"""End to end: the built quantd binary on a free loopback port, driven by the built quantctl
and by the Python client. Paths come from QUANTD_BIN and QUANTCTL_BIN (set by ctest)."""

import os
import pathlib
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import grpc
import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "client" / "python"))
from quantd_client import QuantdClient  # noqa: E402

QUANTD = os.environ.get("QUANTD_BIN", str(REPO / "build" / "server" / "quantd"))
QUANTCTL = os.environ.get("QUANTCTL_BIN", str(REPO / "build" / "client" / "quantctl"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def save_npy(path, array):
    np.save(path, array)
    return str(path)


class Server:
    """A quantd process on a free port; stopped with SIGTERM."""

    def __init__(self, *flags):
        self.address = f"127.0.0.1:{free_port()}"
        self.proc = subprocess.Popen([QUANTD, f"--listen={self.address}", "--threads=2", *flags],
                                     stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("quantd exited: " + self.proc.stderr.read())
            if subprocess.run([QUANTCTL, "health", f"--server={self.address}"], capture_output=True).returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError("quantd did not become healthy")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=20)


def quantctl(server, *args, check=True):
    p = subprocess.run([QUANTCTL, *args, f"--server={server.address}"], capture_output=True, text=True)
    if check and p.returncode != 0:
        raise AssertionError(f"quantctl {' '.join(args)} failed: {p.stderr}")
    return p


def stat(output, name):
    return float(re.search(rf"^{name}\s+(\S+)", output, re.M).group(1))


class EndToEnd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server()
        cls.tmp = tempfile.TemporaryDirectory()
        cls.dir = pathlib.Path(cls.tmp.name)
        cls.x = np.random.default_rng(1).standard_normal((128, 256)).astype(np.float32)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.tmp.cleanup()

    def test_quantctl_health(self):
        self.assertEqual(quantctl(self.server, "health").stdout.strip(), "SERVING")

    def test_quantctl_round_trip_every_scheme(self):
        src = save_npy(self.dir / "x.npy", self.x)
        for scheme in ["q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "int8_sym", "int8_asym", "int4_sym", "int4_asym"]:
            qt, out = self.dir / f"{scheme}.qt", self.dir / f"{scheme}.npy"
            p = quantctl(self.server, "quantize", src, f"--scheme={scheme}", "-o", str(qt))
            quantctl(self.server, "dequantize", str(qt), "-o", str(out))
            y = np.load(out)
            self.assertEqual(y.shape, self.x.shape)
            rmse = float(np.sqrt(np.mean((self.x.astype(np.float64) - y) ** 2)))
            self.assertAlmostEqual(stat(p.stdout, "rmse"), rmse, delta=1e-5 * max(rmse, 1e-3), msg=scheme)
            self.assertAlmostEqual(stat(p.stdout, "max_abs_error"), float(np.abs(self.x - y).max()), places=5)

    def test_quantctl_stream_equals_unary_and_fake_quant(self):
        big = np.random.default_rng(2).standard_normal((2048, 1024)).astype(np.float32)  # 8 MiB
        src = save_npy(self.dir / "big.npy", big)
        a, b, fq = self.dir / "a.qt", self.dir / "b.qt", self.dir / "fq.npy"
        quantctl(self.server, "quantize", src, "--scheme=q5_1", "-o", str(a))
        p = quantctl(self.server, "quantize", src, "--scheme=q5_1", "--stream", f"--fake-quant={fq}", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("fake_quantize is not supported on QuantizeStream", p.stderr)
        quantctl(self.server, "quantize", src, "--scheme=q5_1", "--stream", "-o", str(b))
        self.assertEqual(a.read_bytes(), b.read_bytes())
        quantctl(self.server, "quantize", src, "--scheme=q5_1", f"--fake-quant={fq}")
        out = self.dir / "restored.npy"
        quantctl(self.server, "dequantize", str(a), "-o", str(out))
        np.testing.assert_array_equal(np.load(fq), np.load(out))

    def test_quantctl_raw_file_and_f16_npy(self):
        raw = self.dir / "x.f32"
        raw.write_bytes(self.x.astype("<f4").tobytes())
        p = quantctl(self.server, "quantize", str(raw), "--raw", "--dtype=f32", "--shape=128,256", "--scheme=q8_0")
        self.assertGreater(stat(p.stdout, "snr_db"), 35)
        src = save_npy(self.dir / "x16.npy", self.x.astype(np.float16))
        p = quantctl(self.server, "quantize", src, "--scheme=int8_sym", "--granularity=channel", "--axis=0")
        self.assertGreater(stat(p.stdout, "cosine_similarity"), 0.999)

    def test_quantctl_clear_errors(self):
        src = save_npy(self.dir / "odd.npy", np.ones((3, 33), np.float32))
        p = quantctl(self.server, "quantize", src, "--scheme=q4_0", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("INVALID_ARGUMENT", p.stderr)
        self.assertIn("multiple of 32", p.stderr)
        p = quantctl(self.server, "quantize", src, "--scheme=q9_9", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("--scheme 'q9_9'", p.stderr)
        p = subprocess.run([QUANTCTL, "health", f"--server=127.0.0.1:{free_port()}", "--timeout=2"],
                           capture_output=True, text=True)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("UNAVAILABLE", p.stderr)

    def test_python_client(self):
        with QuantdClient(self.server.address) as client:
            self.assertEqual(client.health(), "SERVING")
            for scheme, granularity, extra in [("q4_0", None, {}), ("int4_asym", "group", {"group_size": 64}),
                                               ("int8_sym", "channel", {"axis": -1}),
                                               ("int8_asym", "tensor", {"range_method": "mse"})]:
                reply = client.quantize(self.x, scheme=scheme, granularity=granularity, **extra)
                y = client.dequantize(reply.quantized)
                mse = float(np.mean((self.x.astype(np.float64) - y) ** 2))
                self.assertAlmostEqual(reply.error.mse, mse, delta=1e-6 * mse, msg=scheme)
                self.assertGreater(reply.error.cosine_similarity, 0.98)
            with self.assertRaises(grpc.RpcError) as err:
                client.quantize(np.ones((2, 3), np.float32), scheme="q8_0")
            self.assertEqual(err.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
            bad = self.x.copy()
            bad[5, 7] = np.nan
            with self.assertRaises(grpc.RpcError) as err:
                client.quantize(bad, scheme="int8_sym")
            self.assertIn(str(5 * 256 + 7), err.exception.details())


class Shutdown(unittest.TestCase):
    def test_sigterm_exits_cleanly(self):
        server = Server()
        self.assertEqual(server.stop(), 0)
        self.assertIn("stopped", server.proc.stderr.read())


if __name__ == "__main__":
    unittest.main(verbosity=2)
