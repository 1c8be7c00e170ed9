"""Decode + encode time of the v2 tensor codec for a [8,4] FP32 request, JSON and binary.

The request is built with tritonclient's own encoder, as a real client sends it; the response
goes back in the same form (JSON data, or binary outputs).

Run: .venv/bin/python benchmarks/codec_overhead.py [--repeat 20000]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
from tritonclient.http import InferenceServerClient, InferInput, InferRequestedOutput

from backends.base import ModelMetadata, TensorSpec
from repository_server.kserve import (
    Signature,
    decode_infer_request,
    encode_infer_response,
    parse_header_length,
)


def model_signature() -> Signature:
    metadata = ModelMetadata(
        platform="onnxruntime_onnx",
        inputs=(TensorSpec("INPUT0", "FP32", (-1, 4)),),
        outputs=(TensorSpec("OUTPUT0", "FP32", (-1, 4)),),
    )
    return Signature.of("mlp", metadata, max_batch_size=8)


def request_body(binary: bool) -> tuple[bytes, int | None]:
    tensor = InferInput("INPUT0", [8, 4], "FP32")
    tensor.set_data_from_numpy(np.random.default_rng(0).random((8, 4), np.float32), binary)
    outputs = [InferRequestedOutput("OUTPUT0", binary_data=binary)]
    body, json_length = InferenceServerClient.generate_request_body([tensor], outputs)
    return body, json_length


def round_trip(signature: Signature, body: bytes, header: str | None) -> Callable[[], object]:
    def run() -> object:
        request = decode_infer_request(signature, body, parse_header_length(header, len(body)))
        # An identity model: the output is the input.
        return encode_infer_response("mlp", "1", request, {"OUTPUT0": request.inputs["INPUT0"]})

    return run


def measure(run: Callable[[], object], repeat: int) -> list[float]:
    for _ in range(min(repeat, 1000)):
        run()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter_ns()
        run()
        samples.append((time.perf_counter_ns() - start) / 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20000)
    args = parser.parse_args()
    signature = model_signature()
    print(f"{'form':8} {'bytes':>6} {'p50 us':>8} {'p99 us':>8} {'mean us':>8}")
    for form, binary in (("json", False), ("binary", True)):
        body, json_length = request_body(binary)
        header = None if json_length is None else str(json_length)
        samples = sorted(measure(round_trip(signature, body, header), args.repeat))
        p50 = samples[len(samples) // 2]
        p99 = samples[int(len(samples) * 0.99)]
        print(f"{form:8} {len(body):6d} {p50:8.1f} {p99:8.1f} {statistics.fmean(samples):8.1f}")


if __name__ == "__main__":
    main()
