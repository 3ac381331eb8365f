# SPDX-License-Identifier: MIT
"""Generate random quantize-dequantize cases and PyTorch's results for them.

Each case is a float32 tensor with a per-tensor or per-channel encoding range, a bitwidth
of 4, 8 or 16, and a symmetric or asymmetric grid. PyTorch evaluates AIMET's formula in
float32:

    scale  = (max - min) / (qmax - qmin)
    offset = 0 if symmetric else round(min / scale) - qmin
    q      = clamp(round(x / scale) - offset, qmin, qmax)
    out    = (q + offset) * scale

with round half to even (torch.round). It also records torch.fake_quantize_per_tensor_affine
or torch.fake_quantize_per_channel_affine, which multiply by a reciprocal scale instead of
dividing. A "tie" case uses a power-of-two scale and inputs at exact half steps.

Usage: quant_reference.py OUTPUT_DIR [N_CASES [SEED]]
It writes OUTPUT_DIR/manifest.json and OUTPUT_DIR/data.bin (little-endian float32 arrays
at the offsets that the manifest gives).
"""

import json
import os
import random
import sys

import torch

BITWIDTHS = (4, 8, 16)


def grid(bitwidth, symmetric):
    if symmetric:
        return -(2 ** (bitwidth - 1)), 2 ** (bitwidth - 1) - 1
    return 0, 2 ** bitwidth - 1


def encoding(min_values, max_values, bitwidth, symmetric):
    qmin, qmax = grid(bitwidth, symmetric)
    num_steps = torch.tensor(float(qmax - qmin), dtype=torch.float32)
    scale = (max_values - min_values) / num_steps
    if symmetric:
        offset = torch.zeros_like(scale)
    else:
        offset = torch.round(min_values / scale) - float(qmin)
    return scale, offset


def spec_qdq(x, scale, offset, qmin, qmax):
    q = torch.clamp(torch.round(x / scale) - offset, qmin, qmax)
    return q, (q + offset) * scale


def random_range(rng, symmetric, bitwidth, tie):
    """Returns (min, max) in float32 that include zero."""
    qmin, qmax = grid(bitwidth, symmetric)
    if tie:
        # scale = 2^-e exactly: (qmax - qmin) * 2^-e / (qmax - qmin).
        step = 2.0 ** -rng.randint(0, 12)
        low = qmin if symmetric else rng.randint(-(qmax - qmin), 0)
        return float(low * step), float((low + (qmax - qmin)) * step)
    magnitude = 10.0 ** rng.uniform(-4, 3)
    if symmetric:
        return -magnitude * rng.uniform(0.5, 1.0), magnitude * rng.uniform(0.5, 1.0)
    low = -magnitude * rng.uniform(0.0, 1.0)
    high = magnitude * rng.uniform(0.05, 1.0)
    return low, high


def make_case(rng, generator, index):
    bitwidth = BITWIDTHS[index % 3]
    symmetric = (index // 3) % 2 == 0
    per_channel = (index // 6) % 2 == 1
    tie = index % 5 == 0
    rank = rng.randint(1, 3)
    shape = [rng.randint(1, 9) for _ in range(rank)]
    axis = rng.randrange(rank) if per_channel else None
    n_channels = shape[axis] if per_channel else 1
    qmin, qmax = grid(bitwidth, symmetric)

    ranges = [random_range(rng, symmetric, bitwidth, tie) for _ in range(n_channels)]
    min_values = torch.tensor([r[0] for r in ranges], dtype=torch.float32)
    max_values = torch.tensor([r[1] for r in ranges], dtype=torch.float32)
    scale, offset = encoding(min_values, max_values, bitwidth, symmetric)

    enc_shape = [1] * rank
    if per_channel:
        enc_shape[axis] = n_channels
    scale_b = scale.reshape(enc_shape)
    offset_b = offset.reshape(enc_shape)

    if tie:
        # Exact half steps around the grid, some beyond it.
        k = torch.randint(qmin - 3, qmax + 3, shape, generator=generator).to(torch.float32)
        x = ((k + 0.5 + offset_b) * scale_b).to(torch.float32)
    else:
        spread = (max_values - min_values).reshape(enc_shape) * 0.7
        x = (torch.randn(shape, generator=generator) * spread).to(torch.float32)

    q, out = spec_qdq(x, scale_b, offset_b, float(qmin), float(qmax))

    zero_point = (-offset).to(torch.int32)
    if per_channel:
        fake = torch.fake_quantize_per_channel_affine(x, scale, zero_point, axis, qmin, qmax)
    else:
        fake = torch.fake_quantize_per_tensor_affine(x, float(scale[0]), int(zero_point[0]),
                                                     qmin, qmax)

    return {
        "shape": shape,
        "enc_shape": enc_shape,
        "axis": axis,
        "bitwidth": bitwidth,
        "symmetric": symmetric,
        "tie": tie,
        "qmin": qmin,
        "qmax": qmax,
    }, {
        "min": min_values,
        "max": max_values,
        "scale": scale,
        "offset": offset,
        "input": x,
        "quantized": q,
        "expected": out,
        "fake_quantized": fake.to(torch.float32),
    }


def generate(directory, n_cases=1200, seed=20241024):
    """Writes n_cases cases into directory and returns the manifest path."""
    rng = random.Random(seed)
    generator = torch.Generator().manual_seed(seed)
    cases = []
    with open(os.path.join(directory, "data.bin"), "wb") as data:
        for index in range(n_cases):
            meta, arrays = make_case(rng, generator, index)
            meta["arrays"] = {}
            for name, tensor in arrays.items():
                raw = tensor.contiguous().numpy().astype("<f4").tobytes()
                meta["arrays"][name] = [data.tell(), len(raw)]
                data.write(raw)
            cases.append(meta)
    manifest = os.path.join(directory, "manifest.json")
    with open(manifest, "w") as out:
        json.dump({"torch_version": torch.__version__, "seed": seed, "cases": cases}, out)
    return manifest


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 1200
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 20241024
    print(generate(sys.argv[1], count, seed))
