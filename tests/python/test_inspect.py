# SPDX-License-Identifier: MIT
"""The `peftq inspect` command, run as a program on files written here or shipped as test data."""

import json
import os
import subprocess

import gi
import pytest

gi.require_version("Peftq", "1.0")
from gi.repository import Peftq  # noqa: E402

from conftest import build_safetensors, parse_safetensors  # noqa: E402


@pytest.fixture
def tool():
    path = os.environ.get("PEFTQ_TOOL", "")
    if not path or not os.access(path, os.X_OK):
        pytest.skip("PEFTQ_TOOL does not name the built peftq program; run the test through meson")
    return path


def run(tool, *args):
    return subprocess.run([tool, *args], capture_output=True, text=True, timeout=60)


@pytest.fixture
def sample(tmp_path):
    """A file with tensors of three dtypes, one scalar and one empty tensor, and metadata."""
    writer = Peftq.SafetensorsWriter.new()
    writer.add_tensor("model.layers.0.lora_A.weight", Peftq.Tensor.new_from_floats([0.0] * 32, [4, 8]))
    writer.add_tensor("model.layers.0.lora_B.weight", Peftq.Tensor.new(Peftq.DType.F16, [16, 4]))
    writer.add_tensor("step", Peftq.Tensor.new(Peftq.DType.I64, []))
    writer.add_tensor("empty", Peftq.Tensor.new(Peftq.DType.U8, [0, 3]))
    writer.set_metadata("format", "pt")
    writer.set_metadata("note", "two\nlines")
    path = tmp_path / "sample.safetensors"
    writer.write(str(path))
    return path


def test_table_lists_tensors_and_metadata(tool, sample):
    result = run(tool, "inspect", str(sample))

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "DTYPE", "SHAPE", "SIZE"]
    rows = {line.split()[0]: line for line in lines[1:5]}
    assert rows["model.layers.0.lora_A.weight"].split()[1:4] == ["F32", "[4,", "8]"]
    assert "128 B" in rows["model.layers.0.lora_A.weight"]
    assert rows["model.layers.0.lora_B.weight"].split()[1:4] == ["F16", "[16,", "4]"]
    assert rows["step"].split()[1:3] == ["I64", "[]"]
    assert rows["empty"].split()[1:4] == ["U8", "[0,", "3]"]
    assert "4 tensors, 264 B of data" in result.stdout
    assert "  format: pt" in lines
    # A newline inside a metadata value is escaped, so the value stays on its line.
    assert "  note: two\\nlines" in lines


def test_json_matches_header(tool, sample):
    result = run(tool, "inspect", "--json", str(sample))

    assert result.returncode == 0, result.stderr
    listing = json.loads(result.stdout)
    header, _ = parse_safetensors(sample)
    assert listing["path"] == str(sample)
    assert listing["metadata"] == header["__metadata__"]
    expected = sorted(
        (entry["data_offsets"][0], name, entry["dtype"], entry["shape"], entry["data_offsets"][1] - entry["data_offsets"][0])
        for name, entry in header.items()
        if name != "__metadata__"
    )
    # Tensors appear in the order of their data in the file.
    assert [(t["name"], t["dtype"], t["shape"], t["bytes"]) for t in listing["tensors"]] == [e[1:] for e in expected]


def test_json_of_every_testdata_file(tool, testdata):
    paths = sorted(testdata.rglob("*.safetensors"))
    if not paths:
        pytest.skip(f"no .safetensors files under {testdata}")

    for path in paths:
        result = run(tool, "inspect", "--json", str(path))
        assert result.returncode == 0, (path, result.stderr)
        listing = json.loads(result.stdout)
        header, _ = parse_safetensors(path)
        names = {t["name"]: t for t in listing["tensors"]}
        assert len(names) == len(header) - ("__metadata__" in header), path
        assert listing["metadata"] == header.get("__metadata__", {}), path
        for name, tensor in names.items():
            entry = header[name]
            assert tensor["dtype"] == entry["dtype"], (path, name)
            assert tensor["shape"] == entry["shape"], (path, name)
            assert tensor["bytes"] == entry["data_offsets"][1] - entry["data_offsets"][0], (path, name)


@pytest.mark.parametrize(
    "contents, word",
    [
        (build_safetensors('{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', bytes(8)), "bytes of data"),
        (build_safetensors("[1, 2]"), "JSON object"),
        (b"version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 9\n", "Git LFS"),
        (b"\x01\x02", "truncated"),
    ],
    ids=["size-mismatch", "json-array", "git-lfs-pointer", "truncated"],
)
def test_bad_file_gives_one_line_error(tool, tmp_path, contents, word):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(contents)

    result = run(tool, "inspect", str(path))

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("peftq: ")
    assert str(path) in result.stderr
    assert word in result.stderr


def test_missing_file_gives_one_line_error(tool, tmp_path):
    path = tmp_path / "absent.safetensors"

    result = run(tool, "inspect", "--json", str(path))

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "absent.safetensors" in result.stderr


@pytest.mark.parametrize(
    "args",
    [["inspect"], ["inspect", "a", "b"], ["inspect", "--no-such-option", "x"], ["no-such-command"], []],
    ids=["no-file", "two-files", "unknown-option", "unknown-command", "no-command"],
)
def test_usage_errors_exit_2(tool, args):
    result = run(tool, *args)

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr != ""


def test_help_lists_inspect(tool):
    result = run(tool, "--help")

    assert result.returncode == 0
    assert "inspect" in result.stdout
