#!/usr/bin/python3
"""The command lines of the built binaries: --help lists every flag with its default, both
spellings of a name work, byte sizes take units, unknown flags exit 2 naming the flag, and the
deployment's flag file parses. Paths come from the environment (set by ctest)."""

import os
import pathlib
import signal
import socket
import subprocess
import tempfile
import time
import unittest

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[2]
BUILD = REPO / "build"
QUANTD = os.environ.get("QUANTD_BIN", str(BUILD / "server" / "quantd"))
QUANTCTL = os.environ.get("QUANTCTL_BIN", str(BUILD / "client" / "quantctl"))
MAKE_SYNTHETIC = os.environ.get("QUANTD_MAKE_SYNTHETIC", str(BUILD / "client" / "tools" / "quantd-make-synthetic"))
# Every other binary with flags: each --help must work.
OTHERS = [p for p in os.environ.get("QUANTD_OTHER_BINS", "").split(";") if p]

QUANTD_FLAGS = ["--listen", "--metrics_listen", "--model_dir", "--model", "--max_generations", "--generate_queue",
                "--threads", "--max_message_bytes", "--max_tensor_bytes", "--grpc_max_threads",
                "--shutdown_grace_seconds", "--flagfile", "--help"]


def run(*args):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=60)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class QuantdCommandLine(unittest.TestCase):
    def test_help_lists_every_flag_with_human_defaults_and_the_environment(self):
        for spelling in ("--help", "-h"):
            p = run(QUANTD, spelling)
            self.assertEqual(p.returncode, 0, p.stderr)
            for text in QUANTD_FLAGS + ["default 256 MiB", "default 16 GiB", "default 127.0.0.1:50051",
                                        "=bytes", "=int", "QUANTD_ISA", "avx512_vnni", "neon_dotprod",
                                        "OMP_WAIT_POLICY"]:
                self.assertIn(text, p.stdout, f"quantd {spelling}")

    def test_deployment_flag_file_parses(self):
        flagfile = REPO / "deploy" / "k8s" / "base" / "quantd.flags"
        p = run(QUANTD, f"--flagfile={flagfile}", "--help")
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_unknown_and_malformed_flags_exit_2_naming_the_flag(self):
        for args, expect in [(["--no-such-flag"], "unknown flag --no-such-flag"),
                             (["--modeldir=x"], "did you mean --model_dir?"),
                             (["--max_message_bytes=256MB"], "--max_message_bytes=256MB"),
                             (["--threads=many"], "--threads=many"),
                             (["--threads"], "--threads needs a value"),
                             (["stray"], "'stray'")]:
            p = run(QUANTD, *args)
            self.assertEqual(p.returncode, 2, args)
            self.assertIn(expect, p.stderr, args)
            self.assertIn("--help", p.stderr, args)

    def test_dashed_names_and_units_reach_the_server(self):
        """--max-message-bytes=64KiB (dashes, a unit) must really bound the messages quantd takes."""
        address = f"127.0.0.1:{free_port()}"
        proc = subprocess.Popen([QUANTD, f"--listen={address}", "--metrics-listen=", "--threads=1",
                                 "--max-message-bytes=64KiB", "--shutdown-grace-seconds", "1"],
                                stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.time() + 20
            while run(QUANTCTL, "health", f"--server={address}").returncode != 0:
                self.assertIsNone(proc.poll(), "quantd exited")
                self.assertLess(time.time(), deadline, "quantd did not become healthy")
                time.sleep(0.1)
            with tempfile.TemporaryDirectory() as tmp:
                small, big = pathlib.Path(tmp, "small.npy"), pathlib.Path(tmp, "big.npy")
                np.save(small, np.ones((16, 256), np.float32))    # 16 KiB
                np.save(big, np.ones((128, 256), np.float32))     # 128 KiB
                ok = run(QUANTCTL, "quantize", small, "--scheme=q8_0", f"--server={address}", "--no_stats")
                self.assertEqual(ok.returncode, 0, ok.stderr)
                self.assertNotIn("mse", ok.stdout, "--no_stats is --no-stats")
                too_big = run(QUANTCTL, "quantize", big, "--scheme=q8_0", f"--server={address}")
                self.assertEqual(too_big.returncode, 1)
                self.assertIn("RESOURCE_EXHAUSTED", too_big.stderr)
        finally:
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(timeout=20), 0)


class QuantctlCommandLine(unittest.TestCase):
    def test_help_lists_the_commands_and_their_flags(self):
        p = run(QUANTCTL, "--help")
        self.assertEqual(p.returncode, 0, p.stderr)
        for text in ["health", "quantize IN", "dequantize", "load-model", "unload-model", "models", "model-info",
                     "quantize-model", "generate MODEL PROMPT", "server-info", "--server=host:port",
                     "default 127.0.0.1:50051", "--timeout", "--scheme", "--granularity", "--group-size", "-o path",
                     "--stream", "--fake-quant", "--max-tokens=int", "default 128", "--stop", "--no-bos", "--keep",
                     "--fallback", "--type"]:
            self.assertIn(text, p.stdout)

    def test_command_help_lists_that_commands_flags(self):
        p = run(QUANTCTL, "quantize", "--help")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("usage: quantctl quantize IN", p.stdout)
        for text in ["--scheme", "--group-size", "--server", "--timeout"]:
            self.assertIn(text, p.stdout)
        self.assertNotIn("--max-tokens", p.stdout)

    def test_unknown_flags_and_commands_exit_2(self):
        p = run(QUANTCTL, "models", "--type=q8_0")
        self.assertEqual(p.returncode, 2)
        self.assertIn("unknown flag --type", p.stderr)
        self.assertIn("quantctl models --help", p.stderr)
        p = run(QUANTCTL, "frobnicate")
        self.assertEqual(p.returncode, 2)
        self.assertIn("unknown command 'frobnicate'", p.stderr)
        self.assertEqual(run(QUANTCTL).returncode, 2)


class ToolCommandLines(unittest.TestCase):
    def test_make_synthetic_help(self):
        p = run(MAKE_SYNTHETIC, "--help")
        self.assertEqual(p.returncode, 0, p.stderr)
        for text in ["--dim=int", "default 2048", "--kv-heads=int", "default 4", "--type=string", "default f32",
                     "--seed=uint", "--out=path", "--flagfile"]:
            self.assertIn(text, p.stdout)

    def test_both_spellings_write_the_same_file(self):
        with tempfile.TemporaryDirectory() as tmp:
            common = ["--dim=64", "--layers=1", "--heads=4", "--ffn=128", "--vocab=300", "--type=q8_0"]
            a, b = pathlib.Path(tmp, "a.gguf"), pathlib.Path(tmp, "b.gguf")
            pa = run(MAKE_SYNTHETIC, *common, "--kv_heads=2", "--ctx=64", f"--out={a}")
            pb = run(MAKE_SYNTHETIC, *common, "--kv-heads", "2", "--ctx", "64", "--out", b)
            self.assertEqual((pa.returncode, pb.returncode), (0, 0), pa.stderr + pb.stderr)
            self.assertEqual(a.read_bytes(), b.read_bytes())
        p = run(MAKE_SYNTHETIC, "--kv_head=2")
        self.assertEqual(p.returncode, 2)
        self.assertIn("unknown flag --kv_head (did you mean --kv-heads?)", p.stderr)

    def test_every_other_binary_has_help(self):
        self.assertTrue(OTHERS, "QUANTD_OTHER_BINS is set by ctest")
        for binary in OTHERS:
            p = run(binary, "--help")
            self.assertEqual(p.returncode, 0, f"{binary}: {p.stderr}")
            self.assertIn("--help, -h", p.stdout, binary)
            self.assertIn("default", p.stdout, binary)


if __name__ == "__main__":
    unittest.main(verbosity=2)
