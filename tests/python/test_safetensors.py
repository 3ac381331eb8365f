# SPDX-License-Identifier: MIT
"""The safetensors reader and writer through the typelib.

Files are checked against a header parsed here with the json module, independently of
peftq's reader.
"""

import os

import gi
import pytest

gi.require_version("Peftq", "1.0")
from gi.repository import GLib, Peftq  # noqa: E402

from conftest import build_safetensors, error_code, parse_safetensors  # noqa: E402

np = pytest.importorskip("numpy")

NUMPY_DTYPES = {
    "F64": np.float64,
    "F32": np.float32,
    "F16": np.float16,
    "BF16": np.uint16,
    "I64": np.int64,
    "I32": np.int32,
    "I16": np.int16,
    "I8": np.int8,
    "U8": np.uint8,
    "BOOL": np.bool_,
}


def dtype_of(name):
    found, dtype = Peftq.dtype_from_string(name)
    assert found, name
    return dtype


def random_tensor(rng, name, shape):
    """Create a tensor of random bytes; BOOL elements are 0 or 1."""
    n_bytes = int(np.prod(shape, dtype=np.int64)) * np.dtype(NUMPY_DTYPES[name]).itemsize
    data = rng.integers(0, 256, size=n_bytes, dtype=np.uint8)
    if name == "BOOL":
        data &= 1
    return Peftq.Tensor.new_from_bytes(dtype_of(name), list(shape), GLib.Bytes.new(data.tobytes()))


def write_tensors(path, tensors, metadata=None):
    writer = Peftq.SafetensorsWriter.new()
    for name, tensor in tensors.items():
        writer.add_tensor(name, tensor)
    for key, value in (metadata or {}).items():
        writer.set_metadata(key, value)
    writer.write(str(path))


def assert_file_holds(path, tensors, metadata=None):
    """Check a file through peftq and through the independent parse."""
    opened = Peftq.SafetensorsFile.open(str(path))
    assert sorted(opened.get_tensor_names()) == sorted(tensors)
    assert opened.get_n_tensors() == len(tensors)
    assert opened.get_metadata() == (metadata or {})

    header, data = parse_safetensors(path)
    assert header.get("__metadata__", {}) == (metadata or {})
    assert sorted(k for k in header if k != "__metadata__") == sorted(tensors)

    for name, expected in tensors.items():
        actual = opened.get_tensor(name)
        entry = header[name]
        begin, end = entry["data_offsets"]
        expected_bytes = expected.get_bytes().get_data()
        assert actual.get_dtype() == expected.get_dtype(), name
        assert actual.get_shape() == expected.get_shape(), name
        assert actual.get_bytes().get_data() == expected_bytes, name
        assert entry["dtype"] == Peftq.dtype_to_string(expected.get_dtype()), name
        assert entry["shape"] == expected.get_shape(), name
        assert data[begin:end] == expected_bytes, name


@pytest.mark.parametrize("name", sorted(NUMPY_DTYPES))
def test_round_trip_each_dtype(tmp_path, name):
    rng = np.random.default_rng(1)
    tensors = {
        "matrix": random_tensor(rng, name, (5, 3)),
        "scalar": random_tensor(rng, name, ()),
        "empty": random_tensor(rng, name, (0, 4)),
    }
    path = tmp_path / "one-dtype.safetensors"
    write_tensors(path, tensors)
    assert_file_holds(path, tensors)


def test_round_trip_mixed_dtypes_aligned(tmp_path):
    rng = np.random.default_rng(2)
    tensors = {f"t.{name}": random_tensor(rng, name, (7, 3)) for name in NUMPY_DTYPES}
    path = tmp_path / "mixed.safetensors"
    write_tensors(path, tensors, {"format": "pt"})
    assert_file_holds(path, tensors, {"format": "pt"})

    header, _ = parse_safetensors(path)
    header_size = int.from_bytes(path.read_bytes()[:8], "little")
    assert (8 + header_size) % 8 == 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        size = np.dtype(NUMPY_DTYPES[entry["dtype"]]).itemsize
        assert (8 + header_size + entry["data_offsets"][0]) % size == 0, name


def test_round_trip_metadata(tmp_path):
    metadata = {
        "format": "pt",
        "empty": "",
        'quote " and \\ backslash': "line\nbreak\ttab",
        "ключ": "значение ✓ 🙂",
    }
    tensors = {"w": Peftq.Tensor.new_from_floats([1.0, 2.0], [2])}
    path = tmp_path / "metadata.safetensors"
    write_tensors(path, tensors, metadata)
    assert_file_holds(path, tensors, metadata)
    opened = Peftq.SafetensorsFile.open(str(path))
    assert opened.get_metadata_value("ключ") == "значение ✓ 🙂"
    assert opened.get_metadata_value("missing") is None


def test_round_trip_many_tensors(tmp_path):
    rng = np.random.default_rng(3)
    names = sorted(NUMPY_DTYPES)
    tensors = {}
    for i in range(1000):
        shape = tuple(int(d) for d in rng.integers(0, 4, size=i % 4))
        tensors[f"model.layers.{i}.weight"] = random_tensor(rng, names[i % len(names)], shape)
    path = tmp_path / "many.safetensors"
    write_tensors(path, tensors, {"count": "1000"})
    assert_file_holds(path, tensors, {"count": "1000"})


def test_writer_is_deterministic(tmp_path):
    rng = np.random.default_rng(4)
    tensors = {f"t{i:02d}": random_tensor(rng, sorted(NUMPY_DTYPES)[i % 10], (3, 2)) for i in range(30)}
    forward = tmp_path / "forward.safetensors"
    backward = tmp_path / "backward.safetensors"
    write_tensors(forward, tensors, {"a": "1", "b": "2"})
    write_tensors(backward, dict(reversed(list(tensors.items()))), {"b": "2", "a": "1"})
    assert forward.read_bytes() == backward.read_bytes()


def test_writer_rejects_duplicate_name():
    writer = Peftq.SafetensorsWriter.new()
    tensor = Peftq.Tensor.new_from_floats([1.0], [1])
    writer.add_tensor("w", tensor)
    with pytest.raises(GLib.Error) as caught:
        writer.add_tensor("w", tensor)
    assert error_code(caught.value) == Peftq.Error.INVALID_ARGUMENT


def test_writer_missing_folder_leaves_nothing(tmp_path):
    writer = Peftq.SafetensorsWriter.new()
    writer.add_tensor("w", Peftq.Tensor.new_from_floats([1.0], [1]))
    with pytest.raises(GLib.Error) as caught:
        writer.write(str(tmp_path / "missing" / "out.safetensors"))
    assert error_code(caught.value) == Peftq.Error.IO
    assert "out.safetensors" in caught.value.message
    assert os.listdir(tmp_path) == []


def test_writer_over_folder_keeps_folder(tmp_path):
    target = tmp_path / "target"
    target.mkdir()
    (target / "keep").write_text("keep")
    writer = Peftq.SafetensorsWriter.new()
    writer.add_tensor("w", Peftq.Tensor.new_from_floats([1.0], [1]))
    with pytest.raises(GLib.Error) as caught:
        writer.write(str(target))
    assert error_code(caught.value) == Peftq.Error.IO
    assert target.is_dir()
    assert (target / "keep").read_text() == "keep"
    assert sorted(os.listdir(tmp_path)) == ["target"]


def test_reader_missing_file(tmp_path):
    with pytest.raises(GLib.Error) as caught:
        Peftq.SafetensorsFile.open(str(tmp_path / "absent.safetensors"))
    assert error_code(caught.value) == Peftq.Error.NOT_FOUND
    assert "absent.safetensors" in caught.value.message


def test_reader_unknown_tensor(tmp_path):
    path = tmp_path / "one.safetensors"
    write_tensors(path, {"w": Peftq.Tensor.new_from_floats([1.0], [1])})
    opened = Peftq.SafetensorsFile.open(str(path))
    assert not opened.has_tensor("lora_A.weight")
    with pytest.raises(GLib.Error) as caught:
        opened.get_tensor("lora_A.weight")
    assert error_code(caught.value) == Peftq.Error.NOT_FOUND
    assert "lora_A.weight" in caught.value.message


def entry(dtype, shape, offsets):
    return {"dtype": dtype, "shape": shape, "data_offsets": offsets}


INVALID = Peftq.Error.INVALID_DATA
UNSUPPORTED = Peftq.Error.UNSUPPORTED

INVALID_FILES = [
    ("empty-file", b"", INVALID, "truncated"),
    ("truncated-length", b"\x10\0\0", INVALID, "truncated"),
    ("header-past-end", b"\x64" + bytes(7) + b"{}", INVALID, "past the end of the file"),
    ("huge-header-length", (2**40).to_bytes(8, "little") + b"{}", INVALID, "exceeds the limit"),
    ("git-lfs-pointer", b"version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 9\n", INVALID, "Git LFS"),
    ("invalid-utf8", build_safetensors(b'{"\xff":{}}'), INVALID, "UTF-8"),
    ("invalid-json", build_safetensors('{"a": {'), INVALID, "invalid JSON"),
    ("json-array", build_safetensors("[]"), INVALID, "JSON object"),
    ("second-value", build_safetensors("{}{}"), INVALID, "after the JSON value"),
    ("huge-integer", build_safetensors('{"a":{"dtype":"U8","shape":[18446744073709551624],"data_offsets":[0,8]}}', bytes(8)),
     INVALID, "64-bit range"),
    ("missing-field", build_safetensors({"a": {"dtype": "U8", "shape": [1]}}, b"x"), INVALID, "missing field"),
    ("unknown-dtype", build_safetensors({"a": entry("F8_E5M2", [1], [0, 1])}, b"x"), UNSUPPORTED, "unsupported dtype"),
    ("negative-dimension", build_safetensors({"a": entry("U8", [-1], [0, 0])}), INVALID, "non-negative integer"),
    ("fractional-dimension", build_safetensors({"a": entry("U8", [1.5], [0, 1])}, b"x"), INVALID, "non-negative integer"),
    ("reversed-offsets", build_safetensors({"a": entry("U8", [1], [1, 0])}, b"x"), INVALID, "reversed"),
    ("offsets-past-data", build_safetensors({"a": entry("U8", [4], [0, 4])}, b"xy"), INVALID, "past the data area"),
    ("size-mismatch", build_safetensors({"a": entry("F32", [2], [0, 4])}, bytes(4)), INVALID, "bytes of data, but"),
    ("overlap", build_safetensors({"a": entry("U8", [2], [0, 2]), "b": entry("U8", [2], [1, 3])}, bytes(3)),
     INVALID, "overlaps"),
    ("gap", build_safetensors({"a": entry("U8", [1], [0, 1]), "b": entry("U8", [1], [2, 3])}, bytes(3)), INVALID, "gap"),
    ("trailing-bytes", build_safetensors({"a": entry("U8", [1], [0, 1])}, bytes(2)), INVALID, "trailing bytes"),
    ("duplicate-names", build_safetensors('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},'
                                          '"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', bytes(2)),
     INVALID, "more than once"),
    ("non-string-metadata", build_safetensors({"__metadata__": {"epoch": 3}}), INVALID, "must map to a string"),
    ("element-count-overflow", build_safetensors({"a": entry("U8", [2**32, 2**32, 2], [0, 0])}), INVALID, "overflows"),
    ("deep-nesting", build_safetensors('{"a":' + "[" * 100000 + "]" * 100000 + "}"), INVALID, "nest deeper"),
]


@pytest.mark.parametrize("contents, code, word", [case[1:] for case in INVALID_FILES],
                         ids=[case[0] for case in INVALID_FILES])
def test_reader_rejects_invalid_file(tmp_path, contents, code, word):
    path = tmp_path / "invalid.safetensors"
    path.write_bytes(contents)
    with pytest.raises(GLib.Error) as caught:
        Peftq.SafetensorsFile.open(str(path))
    assert error_code(caught.value) == code
    assert word in caught.value.message
    assert str(path) in caught.value.message


def find_testdata_files(root):
    return sorted(root.rglob("*.safetensors"))


def test_testdata_files_match_headers(testdata):
    paths = find_testdata_files(testdata)
    if not (testdata / "stories260K" / "model.safetensors").exists():
        pytest.skip(f"{testdata}/stories260K/model.safetensors is missing")
    assert len(paths) >= 9, paths

    n_f16 = 0
    for path in paths:
        header, data = parse_safetensors(path)
        opened = Peftq.SafetensorsFile.open(str(path))
        tensor_names = [k for k in header if k != "__metadata__"]

        assert opened.get_metadata() == header.get("__metadata__", {}), path
        assert sorted(opened.get_tensor_names()) == sorted(tensor_names), path
        for name in tensor_names:
            entry = header[name]
            tensor = opened.get_tensor(name)
            begin, end = entry["data_offsets"]
            assert Peftq.dtype_to_string(tensor.get_dtype()) == entry["dtype"], (path, name)
            assert tensor.get_shape() == entry["shape"], (path, name)
            assert tensor.get_bytes().get_data() == data[begin:end], (path, name)

            if entry["dtype"] == "F16":
                n_f16 += 1
                halves = np.frombuffer(data[begin:end], dtype="<f2")
                widened = tensor.to_float32()
                values = np.frombuffer(widened.get_bytes().get_data(), dtype=np.float32)
                assert np.array_equal(values.view(np.uint32), halves.astype(np.float32).view(np.uint32)), name
                narrowed = widened.convert(Peftq.DType.F16)
                assert narrowed.get_bytes().get_data() == data[begin:end], (path, name)

    # opencalm-1b-r1-fp16 stores its 48 adapter tensors as F16.
    assert n_f16 > 0
