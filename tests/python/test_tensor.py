# SPDX-License-Identifier: MIT
"""PeftqTensor through the typelib: construction, shapes, errors and dtype conversion.

Conversions are compared with NumPy, whose float32 and float64 to float16 casts round
to nearest even, and with PyTorch for bfloat16.
"""

import struct

import gi
import pytest

gi.require_version("Peftq", "1.0")
from gi.repository import GLib, Peftq  # noqa: E402

from conftest import error_code  # noqa: E402

np = pytest.importorskip("numpy")

DTYPES = {
    "F64": (Peftq.DType.F64, np.float64),
    "F32": (Peftq.DType.F32, np.float32),
    "F16": (Peftq.DType.F16, np.float16),
    "BF16": (Peftq.DType.BF16, np.uint16),
    "I64": (Peftq.DType.I64, np.int64),
    "I32": (Peftq.DType.I32, np.int32),
    "I16": (Peftq.DType.I16, np.int16),
    "I8": (Peftq.DType.I8, np.int8),
    "U8": (Peftq.DType.U8, np.uint8),
    "BOOL": (Peftq.DType.BOOL, np.bool_),
}


def tensor_from_array(dtype, array):
    """Create a tensor that shares a copy of a NumPy array's little-endian bytes."""
    array = np.ascontiguousarray(array)
    return Peftq.Tensor.new_from_bytes(dtype, list(array.shape), GLib.Bytes.new(array.tobytes()))


def tensor_to_array(tensor, numpy_dtype):
    """View a tensor's bytes as a NumPy array of its shape."""
    data = tensor.get_bytes().get_data()
    return np.frombuffer(data, dtype=numpy_dtype).reshape(tensor.get_shape())


def bits_to_f32(bits):
    return np.asarray(bits, dtype=np.uint32).view(np.float32)


def f32_to_f16_bits(values):
    tensor = tensor_from_array(Peftq.DType.F32, np.asarray(values, dtype=np.float32))
    return tensor_to_array(tensor.convert(Peftq.DType.F16), np.uint16)


@pytest.mark.parametrize("name", sorted(DTYPES))
def test_dtype_names_and_sizes(name):
    dtype, numpy_dtype = DTYPES[name]
    assert Peftq.dtype_to_string(dtype) == name
    assert Peftq.dtype_get_size(dtype) == np.dtype(numpy_dtype).itemsize
    found, parsed = Peftq.dtype_from_string(name)
    assert found
    assert parsed == dtype
    assert Peftq.dtype_is_float(dtype) == (name in ("F64", "F32", "F16", "BF16"))


def test_dtype_unknown_name():
    found, _ = Peftq.dtype_from_string("float32")
    assert not found


def test_new_from_floats_shape_and_values():
    tensor = Peftq.Tensor.new_from_floats([1.5, -2.0, 3.0, 0.25, 5.0, 6.0], [2, 3])
    assert tensor.get_dtype() == Peftq.DType.F32
    assert tensor.get_shape() == [2, 3]
    assert tensor.get_rank() == 2
    assert tensor.get_dim(-1) == 3
    assert tensor.get_n_elements() == 6
    assert tensor.get_n_bytes() == 24
    assert tensor.format_shape() == "[2, 3]"
    assert tensor.to_floats() == [1.5, -2.0, 3.0, 0.25, 5.0, 6.0]
    assert np.array_equal(tensor_to_array(tensor, np.float32), [[1.5, -2.0, 3.0], [0.25, 5.0, 6.0]])


def test_new_from_floats_accepts_numpy():
    values = np.linspace(-1, 1, 12, dtype=np.float32)
    tensor = Peftq.Tensor.new_from_floats(values, [3, 4])
    assert np.array_equal(tensor_to_array(tensor, np.float32).ravel(), values)


def test_new_zero_filled_scalar_and_empty():
    scalar = Peftq.Tensor.new(Peftq.DType.I16, [])
    assert scalar.get_rank() == 0
    assert scalar.get_shape() == []
    assert scalar.get_n_elements() == 1
    assert scalar.get_bytes().get_data() == b"\0\0"

    empty = Peftq.Tensor.new(Peftq.DType.F64, [3, 0, 2])
    assert empty.get_n_elements() == 0
    assert empty.get_n_bytes() == 0
    assert empty.get_shape() == [3, 0, 2]


def test_new_rejects_negative_dimension():
    with pytest.raises(GLib.Error) as caught:
        Peftq.Tensor.new(Peftq.DType.F32, [2, -3])
    assert error_code(caught.value) == Peftq.Error.INVALID_ARGUMENT
    assert "negative" in caught.value.message


def test_new_rejects_overflowing_shape():
    with pytest.raises(GLib.Error) as caught:
        Peftq.Tensor.new(Peftq.DType.U8, [2**32, 2**32, 2])
    assert error_code(caught.value) == Peftq.Error.INVALID_ARGUMENT
    assert "overflows" in caught.value.message


def test_new_from_bytes_size_mismatch():
    with pytest.raises(GLib.Error) as caught:
        Peftq.Tensor.new_from_bytes(Peftq.DType.F32, [3], GLib.Bytes.new(bytes(8)))
    assert error_code(caught.value) == Peftq.Error.SHAPE_MISMATCH
    assert "Expected 12 bytes" in caught.value.message


def test_new_from_floats_count_mismatch():
    with pytest.raises(GLib.Error) as caught:
        Peftq.Tensor.new_from_floats([1.0, 2.0, 3.0], [2, 2])
    assert error_code(caught.value) == Peftq.Error.SHAPE_MISMATCH


def test_reshape_keeps_data():
    tensor = Peftq.Tensor.new_from_floats(list(range(6)), [2, 3])
    reshaped = tensor.reshape([3, 1, 2])
    assert reshaped.get_shape() == [3, 1, 2]
    assert reshaped.to_floats() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert tensor.get_shape() == [2, 3]
    with pytest.raises(GLib.Error) as caught:
        tensor.reshape([4])
    assert error_code(caught.value) == Peftq.Error.SHAPE_MISMATCH


def test_convert_rejects_integer_target():
    tensor = Peftq.Tensor.new_from_floats([1.0], [1])
    with pytest.raises(GLib.Error) as caught:
        tensor.convert(Peftq.DType.I8)
    assert error_code(caught.value) == Peftq.Error.UNSUPPORTED


@pytest.mark.parametrize("name", ["I64", "I32", "I16", "I8", "U8", "BOOL"])
def test_convert_integers_by_value(name):
    dtype, numpy_dtype = DTYPES[name]
    rng = np.random.default_rng(7)
    info = np.iinfo(numpy_dtype) if numpy_dtype is not np.bool_ else None
    if info is None:
        values = rng.integers(0, 2, size=64).astype(np.bool_)
    else:
        values = rng.integers(info.min, info.max, size=64, dtype=numpy_dtype, endpoint=True)
    tensor = tensor_from_array(dtype, values)

    as_f32 = tensor_to_array(tensor.convert(Peftq.DType.F32), np.float32)
    as_f64 = tensor_to_array(tensor.convert(Peftq.DType.F64), np.float64)

    assert np.array_equal(as_f32, values.astype(np.float32))
    assert np.array_equal(as_f64, values.astype(np.float64))


def test_f16_all_bit_patterns_round_trip():
    patterns = np.arange(65536, dtype=np.uint16)
    tensor = tensor_from_array(Peftq.DType.F16, patterns)

    widened = tensor.to_float32()
    widened_bits = tensor_to_array(widened, np.uint32)
    # NumPy's float16 to float32 cast is exact and keeps NaN payloads.
    expected_bits = patterns.view(np.float16).astype(np.float32).view(np.uint32)
    assert np.array_equal(widened_bits, expected_bits)

    narrowed = tensor_to_array(widened.convert(Peftq.DType.F16), np.uint16)
    assert np.array_equal(narrowed, patterns)


def test_bf16_all_bit_patterns_round_trip():
    patterns = np.arange(65536, dtype=np.uint16)
    tensor = tensor_from_array(Peftq.DType.BF16, patterns)

    widened = tensor.to_float32()
    assert np.array_equal(tensor_to_array(widened, np.uint32), patterns.astype(np.uint32) << 16)

    narrowed = tensor_to_array(widened.convert(Peftq.DType.BF16), np.uint16)
    assert np.array_equal(narrowed, patterns)


def f16_boundary_values():
    """Every finite float16, the midpoints between neighbours and one float32 ulp around them."""
    finite = np.arange(0x7C00, dtype=np.uint16).view(np.float16).astype(np.float64)
    upper = np.append(finite[1:], 65536.0)
    midpoints = ((finite + upper) / 2).astype(np.float32)
    values = np.concatenate(
        [
            finite.astype(np.float32),
            midpoints,
            np.nextafter(midpoints, np.float32(0)),
            np.nextafter(midpoints, np.float32(np.inf)),
        ]
    )
    return np.concatenate([values, -values])


def test_f32_to_f16_matches_numpy():
    rng = np.random.default_rng(2024)
    random_values = rng.integers(0, 2**32, size=1_000_000, dtype=np.uint64).astype(np.uint32).view(np.float32)
    special = np.array([0.0, -0.0, np.inf, -np.inf, 65504, 65519.99, 65520, 1e-8, 2**-25, 3 * 2**-25], np.float32)
    values = np.concatenate([f16_boundary_values(), random_values, special])
    values = values[~np.isnan(values)]

    actual = f32_to_f16_bits(values)
    with np.errstate(over="ignore"):
        expected = values.astype(np.float16).view(np.uint16)

    mismatches = np.flatnonzero(actual != expected)
    assert mismatches.size == 0, [
        (float(values[i]), hex(int(actual[i])), hex(int(expected[i]))) for i in mismatches[:10]
    ]


def test_f64_to_f16_matches_numpy():
    rng = np.random.default_rng(5)
    # Values near float16 ties, where rounding through float32 first would go wrong.
    ties = f16_boundary_values().astype(np.float64)
    nudged = np.concatenate([ties + np.abs(ties) * 2.0**-40, ties - np.abs(ties) * 2.0**-40])
    random_values = np.ldexp(rng.uniform(-2, 2, size=200_000), rng.integers(-30, 17, size=200_000))
    values = np.concatenate([ties, nudged, random_values])

    tensor = tensor_from_array(Peftq.DType.F64, values)
    actual = tensor_to_array(tensor.convert(Peftq.DType.F16), np.uint16)
    # NumPy casts float64 to float16 directly, with a single rounding.
    with np.errstate(over="ignore"):
        expected = values.astype(np.float16).view(np.uint16)

    mismatches = np.flatnonzero(actual != expected)
    assert mismatches.size == 0, [
        (float(values[i]), hex(int(actual[i])), hex(int(expected[i]))) for i in mismatches[:10]
    ]


def test_f32_to_f16_rounding_examples():
    # 1 + 2^-11 is the tie between 1.0 (even mantissa) and 1 + 2^-10: rounds to 1.0.
    # 1 + 3 * 2^-11 is the tie between mantissas 1 and 2: rounds to the even 2.
    # 2^-25 is half the smallest subnormal: rounds to 0. 65520 rounds up and overflows.
    values = [1 + 2**-11, 1 + 3 * 2**-11, 2**-25, 3 * 2**-25, 65520.0, -65520.0, 2**-24]
    assert [hex(b) for b in f32_to_f16_bits(values)] == [
        "0x3c00", "0x3c02", "0x0", "0x2", "0x7c00", "0xfc00", "0x1"
    ]


def test_f32_to_f16_nan_stays_nan():
    bits = np.array([0x7FC00000, 0xFFC00000, 0x7F800001, 0x7FBFFFFF, 0xFF800001], dtype=np.uint32)
    converted = f32_to_f16_bits(bits_to_f32(bits))
    assert np.all((converted & 0x7C00) == 0x7C00)
    assert np.all((converted & 0x03FF) != 0)
    assert np.array_equal(converted >> 15, (bits >> 31).astype(np.uint16))


def test_f32_to_bf16_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    random_values = rng.integers(0, 2**32, size=1_000_000, dtype=np.uint64).astype(np.uint32)
    tops = np.arange(0x7F80, dtype=np.uint32) << 16
    boundary = np.concatenate([tops | low for low in (0x0000, 0x7FFF, 0x8000, 0x8001, 0xFFFF)])
    bits = np.concatenate([boundary, boundary | 0x80000000, random_values])
    values = bits_to_f32(bits)
    values = values[~np.isnan(values)]

    tensor = tensor_from_array(Peftq.DType.F32, values)
    actual = tensor_to_array(tensor.convert(Peftq.DType.BF16), np.uint16)
    expected = torch.from_numpy(values.copy()).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)

    mismatches = np.flatnonzero(actual != expected)
    assert mismatches.size == 0, [
        (float(values[i]), hex(int(actual[i])), hex(int(expected[i]))) for i in mismatches[:10]
    ]


def test_f32_to_bf16_rounding_examples():
    # 1 + 2^-8 is the tie between 1.0 (even) and 1 + 2^-7: rounds to 1.0.
    # 1 + 3 * 2^-8 is the tie between mantissas 1 and 2: rounds to 2.
    # 0x7f7f8000 is the tie between the largest BF16 (odd mantissa) and 2^128: overflows.
    bits = [0x3F808000, 0x3F818000, 0x7F7F8000, 0x7F7F7FFF, 0x00008000, 0x00018000]
    tensor = tensor_from_array(Peftq.DType.F32, bits_to_f32(bits))
    converted = tensor_to_array(tensor.convert(Peftq.DType.BF16), np.uint16)
    assert [hex(b) for b in converted] == ["0x3f80", "0x3f82", "0x7f80", "0x7f7f", "0x0", "0x2"]


def test_to_float32_of_unaligned_storage():
    payload = struct.pack("<3f", 1.0, -2.0, 0.5)
    whole = GLib.Bytes.new(b"x" + payload)
    unaligned = Peftq.Tensor.new_from_bytes(Peftq.DType.F32, [3], GLib.Bytes.new_from_bytes(whole, 1, 12))
    assert unaligned.to_float32().to_floats() == [1.0, -2.0, 0.5]


def test_equal_compares_bits():
    a = Peftq.Tensor.new_from_floats([0.0, float("nan")], [2])
    b = Peftq.Tensor.new_from_floats([0.0, float("nan")], [2])
    c = Peftq.Tensor.new_from_floats([-0.0, float("nan")], [2])
    assert a.equal(b)
    assert not a.equal(c)
    assert not a.equal(a.reshape([1, 2]))
