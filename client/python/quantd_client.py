"""Python client for quantd: quantize and dequantize numpy arrays over gRPC.

Uses Debian's python3-grpcio, python3-protobuf and python3-numpy (run it with /usr/bin/python3).
The gRPC stubs are generated from proto/ on first use with protoc and grpc_python_plugin
(Debian's protobuf-compiler and protobuf-compiler-grpc) into a cache directory.
"""

import hashlib
import importlib
import os
import pathlib
import subprocess
import sys
import tempfile

import grpc
import numpy as np

_REPO = pathlib.Path(__file__).resolve().parents[2]
_PROTO_DIR = _REPO / "proto"
_PROTOS = ["quantd/v1/tensor.proto", "quantd/v1/models.proto", "quantd/v1/generate.proto",
           "quantd/v1/server_info.proto", "quantd/v1/quantd.proto"]
_HEALTH_PROTO_DIR = pathlib.Path("/usr/share/grpc-proto/grpc/health/v1")


def _load_stubs():
    """Generates (once per proto content) and imports the Python modules of the API."""
    digest = hashlib.sha256()
    for p in _PROTOS:
        digest.update((_PROTO_DIR / p).read_bytes())
    out = pathlib.Path(os.environ.get("QUANTD_PY_STUBS", tempfile.gettempdir())) / (
        "quantd-py-" + digest.hexdigest()[:16])
    if not (out / "done").exists():
        out.mkdir(parents=True, exist_ok=True)
        plugin = "--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin"
        subprocess.run(["protoc", f"-I{_PROTO_DIR}", f"--python_out={out}", plugin, f"--grpc_python_out={out}"]
                       + [str(_PROTO_DIR / p) for p in _PROTOS], check=True)
        # health.proto from its own directory, so no grpc/ package shadows the grpc module.
        subprocess.run(["protoc", f"-I{_HEALTH_PROTO_DIR}", f"--python_out={out}", plugin,
                        f"--grpc_python_out={out}", str(_HEALTH_PROTO_DIR / "health.proto")], check=True)
        (out / "done").write_text("ok")
    if str(out) not in sys.path:
        sys.path.insert(0, str(out))
    return (importlib.import_module("quantd.v1.quantd_pb2"), importlib.import_module("quantd.v1.quantd_pb2_grpc"),
            importlib.import_module("quantd.v1.tensor_pb2"), importlib.import_module("quantd.v1.generate_pb2"),
            importlib.import_module("health_pb2"), importlib.import_module("health_pb2_grpc"))


quantd_pb2, quantd_pb2_grpc, tensor_pb2, generate_pb2, health_pb2, health_pb2_grpc = _load_stubs()

_DTYPES = {np.dtype("float32"): tensor_pb2.DTYPE_F32, np.dtype("float16"): tensor_pb2.DTYPE_F16}
_NUMPY = {tensor_pb2.DTYPE_F32: np.float32, tensor_pb2.DTYPE_F16: np.float16}


def _short_scheme_name(enum_name):
    """SCHEME_Q4_0 -> q4_0, SCHEME_INT8_SYMMETRIC -> int8_sym, SCHEME_INT4_ASYMMETRIC -> int4_asym."""
    name = enum_name.removeprefix("SCHEME_").lower()
    for full, short in (("_asymmetric", "_asym"), ("_symmetric", "_sym")):
        if name.endswith(full):
            return name[:-len(full)] + short
    return name


# From the API's enum, so a scheme added to tensor.proto needs nothing here.
SCHEMES = {_short_scheme_name(name): value for name, value in tensor_pb2.Scheme.items()
           if value != tensor_pb2.SCHEME_UNSPECIFIED}
GRANULARITIES = {
    None: tensor_pb2.GRANULARITY_UNSPECIFIED, "tensor": tensor_pb2.GRANULARITY_PER_TENSOR,
    "channel": tensor_pb2.GRANULARITY_PER_CHANNEL, "group": tensor_pb2.GRANULARITY_PER_GROUP,
    "block": tensor_pb2.GRANULARITY_PER_BLOCK,
}
RANGES = {
    None: tensor_pb2.RANGE_METHOD_UNSPECIFIED, "minmax": tensor_pb2.RANGE_METHOD_MIN_MAX,
    "percentile": tensor_pb2.RANGE_METHOD_PERCENTILE, "mse": tensor_pb2.RANGE_METHOD_MSE,
}


def to_tensor(array, name=""):
    """A numpy float32/float16 array as a quantd.v1.Tensor (little-endian, C order)."""
    array = np.asarray(array)
    if array.dtype not in _DTYPES:
        raise TypeError(f"quantd takes float32 or float16 arrays, not {array.dtype}")
    data = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
    return tensor_pb2.Tensor(dtype=_DTYPES[array.dtype], shape=list(array.shape), data=data, name=name)


def from_tensor(tensor):
    """A quantd.v1.Tensor (F32 or F16) as a numpy array."""
    if tensor.dtype not in _NUMPY:
        raise TypeError(f"cannot convert {tensor_pb2.DType.Name(tensor.dtype)} to numpy")
    return np.frombuffer(tensor.data, dtype=np.dtype(_NUMPY[tensor.dtype]).newbyteorder("<")).reshape(
        tuple(tensor.shape))


class QuantdClient:
    """A connection to one quantd server."""

    def __init__(self, target="127.0.0.1:50051", max_message_bytes=1 << 30, timeout=600.0):
        options = [("grpc.max_send_message_length", max_message_bytes),
                   ("grpc.max_receive_message_length", max_message_bytes)]
        self._channel = grpc.insecure_channel(target, options=options)
        self._stub = quantd_pb2_grpc.QuantdStub(self._channel)
        self._health = health_pb2_grpc.HealthStub(self._channel)
        self._timeout = timeout

    def close(self):
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def health(self):
        """'SERVING' when the server is up."""
        reply = self._health.Check(health_pb2.HealthCheckRequest(), timeout=self._timeout)
        return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)

    def quantize(self, array, scheme="q8_0", granularity=None, axis=0, group_size=0, range_method=None,
                 percentile=0.0, mse_grid_points=0, error_stats=True, fake_quantize=False):
        """Quantizes an array. Returns the QuantizeResponse: .quantized (a QuantizedTensor to keep or
        send to dequantize), .error (mse, rmse, max_abs_error, snr_db, cosine_similarity) and, with
        fake_quantize, .dequantized (use from_tensor)."""
        config = tensor_pb2.QuantizationConfig(
            scheme=SCHEMES[scheme], granularity=GRANULARITIES[granularity], axis=axis, group_size=group_size,
            range_method=RANGES[range_method], percentile=percentile, mse_grid_points=mse_grid_points)
        request = quantd_pb2.QuantizeRequest(tensor=to_tensor(array), config=config,
                                             skip_error_stats=not error_stats, fake_quantize=fake_quantize)
        return self._stub.Quantize(request, timeout=self._timeout)

    def generate_stream(self, model, prompt, max_tokens=128, temperature=0.0, top_k=0, top_p=0.0, min_p=0.0,
                        repetition_penalty=0.0, repetition_window=0, seed=0, stop=(), add_bos=None):
        """The raw Generate stream (iterate for GenerateResponse messages; .cancel() stops it)."""
        sampling = generate_pb2.SamplingParams(
            temperature=temperature, top_k=top_k, top_p=top_p, min_p=min_p, repetition_penalty=repetition_penalty,
            repetition_window=repetition_window, seed=seed)
        request = generate_pb2.GenerateRequest(model=model, prompt=prompt, sampling=sampling, max_tokens=max_tokens,
                                             stop=list(stop))
        if add_bos is not None:
            request.add_bos = add_bos
        return self._stub.Generate(request, timeout=self._timeout)

    def generate(self, model, prompt, **kwargs):
        """Generates text; returns (text, finish reason name, usage)."""
        text, finish, usage = [], None, None
        for reply in self.generate_stream(model, prompt, **kwargs):
            text.append(reply.text)
            if reply.finish_reason:
                finish, usage = generate_pb2.FinishReason.Name(reply.finish_reason), reply.usage
        return "".join(text), finish, usage

    def dequantize(self, quantized, dtype=np.float32):
        """Restores a QuantizedTensor to a numpy array of dtype float32 or float16."""
        request = quantd_pb2.DequantizeRequest(quantized=quantized, dtype=_DTYPES[np.dtype(dtype)])
        return from_tensor(self._stub.Dequantize(request, timeout=self._timeout).tensor)
