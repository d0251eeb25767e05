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
MODELS = pathlib.Path(os.environ.get("QUANTD_MODELS_DIR", str(REPO.parent / "shared" / "models")))
# llama2.c's run.c, greedy, on stories260K (see tests/llm): the first words of the known answer.
GREEDY_STORY = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park."


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


class Generation(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(f"--model_dir={MODELS}", f"--model=tiny={MODELS / 'stories260K.gguf'}",
                            "--max_generations=2", "--generate_queue=1")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_quantctl_generate_greedy_known_answer(self):
        p = quantctl(self.server, "generate", "tiny", "Once upon a time", "--max-tokens=40")
        self.assertTrue(("Once upon a time" + p.stdout).startswith(GREEDY_STORY) or
                        p.stdout.startswith(GREEDY_STORY[len("Once upon a time"):]), p.stdout)
        self.assertIn("FINISH_REASON_LENGTH", p.stderr)

    def test_stop_string_is_never_streamed(self):
        p = quantctl(self.server, "generate", "tiny", "Once upon a time", "--max-tokens=60", "--stop=Lily")
        self.assertNotIn("Lily", p.stdout)
        self.assertTrue(p.stdout.rstrip().endswith("named"), p.stdout)
        self.assertIn("FINISH_REASON_STOP", p.stderr)

    def test_model_admin_and_quantize_model(self):
        p = quantctl(self.server, "load-model", "q4", "stories260K-llamacpp-q4_0-fallback.gguf")
        self.assertIn("q4", p.stdout)
        p = quantctl(self.server, "quantize-model", "tiny", "tiny-q8", "--type=q8_0")
        self.assertIn("blk.0.ffn_down.weight", p.stdout)
        self.assertRegex(p.stdout, r"blk\.0\.attn_q\.weight\s+f32\s+q8_0")
        greedy = quantctl(self.server, "generate", "tiny-q8", "Once upon a time", "--max-tokens=12").stdout
        self.assertTrue(greedy.startswith(", there was a little girl"), greedy)
        info = quantctl(self.server, "server-info").stdout
        self.assertRegex(info, r"isa\s+(avx2|avx512|scalar|neon)")
        for name in ("q4", "tiny-q8"):
            self.assertIn(name, info)
        quantctl(self.server, "unload-model", "q4")
        p = quantctl(self.server, "model-info", "q4", check=False)
        self.assertIn("NOT_FOUND", p.stderr)

    def test_python_generate_seeded_and_bad_input(self):
        with QuantdClient(self.server.address) as client:
            runs = [client.generate("tiny", "Once upon a time", max_tokens=30, temperature=0.8, top_p=0.9, seed=7)
                    for _ in range(2)]
            self.assertEqual(runs[0][0], runs[1][0], "same seed, same text")
            self.assertEqual(runs[0][1], "FINISH_REASON_LENGTH")
            for kwargs, code in [({"model": "nope"}, grpc.StatusCode.NOT_FOUND),
                                 ({"max_tokens": 0}, grpc.StatusCode.INVALID_ARGUMENT),
                                 ({"max_tokens": 5000}, grpc.StatusCode.OUT_OF_RANGE),
                                 ({"temperature": -1.0}, grpc.StatusCode.INVALID_ARGUMENT),
                                 ({"temperature": float("nan")}, grpc.StatusCode.INVALID_ARGUMENT),
                                 ({"top_p": 1.5}, grpc.StatusCode.INVALID_ARGUMENT),
                                 ({"prompt": "", "add_bos": False}, grpc.StatusCode.INVALID_ARGUMENT),
                                 ({"prompt": "x" * 3000}, grpc.StatusCode.INVALID_ARGUMENT),
                                 ({"stop": ["s"] * 17}, grpc.StatusCode.INVALID_ARGUMENT)]:
                args = {"model": "tiny", "prompt": "Once", "max_tokens": 5, **kwargs}
                with self.assertRaises(grpc.RpcError, msg=str(kwargs)) as err:
                    client.generate(**args)
                self.assertEqual(err.exception.code(), code, str(kwargs))
                self.assertTrue(err.exception.details())

    def test_cancel_and_admission_limit(self):
        with QuantdClient(self.server.address) as client:
            # Cancel a long stream after its first chunk; the server stays healthy.
            stream = client.generate_stream("tiny", "Once upon a time", max_tokens=1900)
            next(stream)
            stream.cancel()
            # Two running + one queued fit; more get RESOURCE_EXHAUSTED at once.
            streams = [client.generate_stream("tiny", "Once upon a time", max_tokens=1900) for _ in range(6)]
            codes = []
            for st in streams:
                try:
                    for _ in st:
                        pass
                    codes.append(grpc.StatusCode.OK)
                except grpc.RpcError as e:
                    codes.append(e.code())
            self.assertIn(grpc.StatusCode.RESOURCE_EXHAUSTED, codes)
            self.assertGreaterEqual(codes.count(grpc.StatusCode.OK), 2)
            self.assertEqual(client.health(), "SERVING")
            # Quantize keeps working while generations run.
            long_run = client.generate_stream("tiny", "Once upon a time", max_tokens=1900)
            next(long_run)
            reply = client.quantize(np.ones((4, 64), np.float32), scheme="q8_0")
            self.assertLess(reply.error.mse, 1e-6)
            long_run.cancel()


    def test_unload_during_stream(self):
        quantctl(self.server, "load-model", "victim", "stories260K.gguf")
        with QuantdClient(self.server.address) as client:
            stream = client.generate_stream("victim", "Once upon a time", max_tokens=1900)
            first = next(stream)
            quantctl(self.server, "unload-model", "victim")
            self.assertIn("NOT_FOUND", quantctl(self.server, "model-info", "victim", check=False).stderr)
            # The running stream holds its own reference: it finishes normally.
            replies = [first] + list(stream)
            self.assertEqual(replies[-1].finish_reason, 1)  # FINISH_REASON_LENGTH
            self.assertEqual(replies[-1].usage.generated_tokens, 1900)
            self.assertEqual(client.health(), "SERVING")


class Shutdown(unittest.TestCase):
    def test_sigterm_exits_cleanly(self):
        server = Server()
        self.assertEqual(server.stop(), 0)
        self.assertIn("stopped", server.proc.stderr.read())


if __name__ == "__main__":
    unittest.main(verbosity=2)
