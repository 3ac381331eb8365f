# SPDX-License-Identifier: MIT
"""Cross-check of peftq's affine quantizer with PyTorch on random tensors.

quant_reference.py generates the cases and PyTorch's results into a temporary folder at
test time. peftq must equal PyTorch's float32 evaluation of AIMET's formula bit for bit.
torch.fake_quantize_* multiplies by a reciprocal scale and adds the zero point before
rounding, so it may differ by one step, but only where x / scale is at or near a tie.
"""

import json
import math
import os
import struct

import pytest

torch = pytest.importorskip(
    "torch", reason="PyTorch is missing: install Debian's python3-torch to run the cross-check")

import gi  # noqa: E402

gi.require_version("Peftq", "1.0")
from gi.repository import GLib, Peftq  # noqa: E402

import quant_reference  # noqa: E402

MIN_CASES = 1000


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    directory = tmp_path_factory.mktemp("quant-reference")
    manifest_path = quant_reference.generate(str(directory), n_cases=1200)
    with open(manifest_path) as manifest_file:
        manifest = json.load(manifest_file)
    with open(os.path.join(str(directory), "data.bin"), "rb") as data_file:
        data = data_file.read()
    return manifest["cases"], data


def raw(data, case, name):
    start, length = case["arrays"][name]
    return data[start:start + length]


def floats(blob):
    return struct.unpack("<%df" % (len(blob) // 4), blob)


def make_quantizer(case, data):
    if case["axis"] is None:
        quantizer = Peftq.AffineQuantizer.new(case["bitwidth"], case["symmetric"])
    else:
        quantizer = Peftq.AffineQuantizer.new_per_channel(
            case["bitwidth"], case["symmetric"], case["shape"][case["axis"]], case["axis"],
            len(case["shape"]))
    quantizer.set_range(list(floats(raw(data, case, "min"))),
                        list(floats(raw(data, case, "max"))))
    return quantizer


def make_input(case, data):
    return Peftq.Tensor.new_from_bytes(Peftq.DType.F32, case["shape"],
                                       GLib.Bytes.new(raw(data, case, "input")))


def output_bytes(tensor):
    return bytes(tensor.get_bytes().get_data())


def test_suite_size(suite):
    cases, _ = suite
    assert len(cases) >= MIN_CASES
    kinds = {(c["bitwidth"], c["symmetric"], c["axis"] is not None) for c in cases}
    assert len(kinds) == 12
    assert any(c["tie"] for c in cases)


def test_encoding_matches_torch(suite):
    cases, data = suite
    for index, case in enumerate(cases):
        encoding = make_quantizer(case, data).get_encoding()
        scale = struct.pack("<%df" % len(encoding.get_scale()), *encoding.get_scale())
        offset = struct.pack("<%df" % len(encoding.get_offset()), *encoding.get_offset())
        assert scale == raw(data, case, "scale"), "case %d: scale differs" % index
        assert offset == raw(data, case, "offset"), "case %d: offset differs" % index


def test_quantize_dequantize_bit_exact(suite):
    cases, data = suite
    for index, case in enumerate(cases):
        quantizer = make_quantizer(case, data)
        tensor = make_input(case, data)
        result = quantizer.quantize_dequantize(tensor)
        assert output_bytes(result) == raw(data, case, "expected"), \
            "case %d (%r): quantize-dequantize differs from PyTorch" % (index, case)
        quantized = quantizer.quantize(tensor)
        assert output_bytes(quantized) == raw(data, case, "quantized"), \
            "case %d (%r): quantize differs from PyTorch" % (index, case)


def test_forward_matches_quantize_dequantize(suite):
    cases, data = suite
    for case in cases[:50]:
        quantizer = make_quantizer(case, data)
        result = quantizer.forward(make_input(case, data))
        assert output_bytes(result) == raw(data, case, "expected")


def f32_ulp(value):
    """The spacing of float32 values near value (normal range)."""
    return math.ulp(abs(value)) * 2.0 ** 29


def is_near_tie(x, scale, offset):
    """Whether x / scale is within a few float32 rounding errors of a half step."""
    t = x / scale
    distance = abs(t - math.floor(t) - 0.5)
    return distance <= 4.0 * (f32_ulp(t) + f32_ulp(abs(t) + abs(offset)))


def test_fake_quantize_differs_only_at_ties(suite):
    cases, data = suite
    total = 0
    differences = 0
    for index, case in enumerate(cases):
        expected = floats(raw(data, case, "expected"))
        fake = floats(raw(data, case, "fake_quantized"))
        x = floats(raw(data, case, "input"))
        scales = floats(raw(data, case, "scale"))
        offsets = floats(raw(data, case, "offset"))
        shape = case["shape"]
        axis = case["axis"]
        inner = 1
        if axis is not None:
            for size in shape[axis + 1:]:
                inner *= size
        for i, (a, b) in enumerate(zip(expected, fake)):
            total += 1
            if a == b:
                continue
            channel = 0 if axis is None else (i // inner) % shape[axis]
            scale = scales[channel]
            offset = offsets[channel]
            differences += 1
            # One step, plus the rounding of the two dequantizing products.
            assert abs(a - b) <= scale * (1 + 1e-6) + f32_ulp(a) + f32_ulp(b), \
                "case %d element %d: fake quantization is off by more than one step" % (index, i)
            assert is_near_tie(x[i], scale, offset), \
                "case %d element %d: x / scale = %r is not near a tie" % (index, i, x[i] / scale)
    print("torch.fake_quantize differs from the formula in %d of %d elements"
          % (differences, total))


def test_reciprocal_differs_at_near_ties():
    """Near half steps of scale 0.3, x * (1 / scale) lands on the other side of some ties
    (6010 of 60000 with PyTorch 1.13), and peftq follows the division of the formula there,
    not fake_quantize."""
    scale = torch.tensor(0.3, dtype=torch.float32)
    x = ((torch.arange(-30000, 30000, dtype=torch.float32) + 0.5) * scale).to(torch.float32)
    divided = torch.round(x / scale)
    multiplied = torch.round(x * (1.0 / scale))
    fake = torch.fake_quantize_per_tensor_affine(x, float(scale), 0, -32768, 32767)
    assert bool((divided != multiplied).any())

    quantizer = Peftq.AffineQuantizer.new(16, True)
    quantizer.set_range([-32768 * float(scale)], [32767 * float(scale)])
    assert quantizer.get_encoding().get_scale()[0] == float(scale)
    tensor = Peftq.Tensor.new_from_bytes(Peftq.DType.F32, [x.numel()],
                                         GLib.Bytes.new(x.numpy().astype("<f4").tobytes()))
    peftq_q = torch.tensor(floats(output_bytes(quantizer.quantize(tensor))))
    assert torch.equal(peftq_q, divided)
    assert not torch.equal(peftq_q * scale, fake)
