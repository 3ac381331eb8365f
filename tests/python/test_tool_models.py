# SPDX-License-Identifier: MIT
"""The `peftq generate` and `peftq forward` commands, run as programs."""

import json
import os
import struct
import subprocess

import pytest


def data_path(*parts):
    root = os.environ.get("PEFTQ_TESTDATA")
    if not root:
        pytest.skip("PEFTQ_TESTDATA is not set, so the shared test data cannot be found")
    path = os.path.join(root, *parts)
    if not os.path.exists(path):
        pytest.skip("test data %s is missing" % path)
    return path


def peftq_program():
    build_root = os.environ.get("PEFTQ_BUILD_ROOT")
    if not build_root:
        pytest.skip("PEFTQ_BUILD_ROOT is not set, so the peftq program cannot be found")
    return os.path.join(build_root, "tools", "peftq")


def run(*args):
    return subprocess.run([peftq_program(), *args], capture_output=True, text=True, timeout=120)


def read_logits(path):
    """Reads the one F32 tensor `logits` of a safetensors file, without the library."""
    with open(path, "rb") as handle:
        length = struct.unpack("<Q", handle.read(8))[0]
        header = json.loads(handle.read(length))
        data = handle.read()
    entry = header["logits"]
    begin, end = entry["data_offsets"]
    values = struct.unpack("<%df" % ((end - begin) // 4), data[begin:end])
    return entry["dtype"], entry["shape"], values


def test_generate_prints_greedy_ids():
    model = data_path("stories260K")
    with open(data_path("stories260K", "greedy_200.json")) as handle:
        expected = json.load(handle)["greedy_ids"]
    result = run("generate", "--model", model, "--prompt-ids", "1", "--steps", "30")
    assert result.returncode == 0, result.stderr
    assert [int(x) for x in result.stdout.split()] == expected[:30]


def test_generate_usage_errors():
    result = run("generate", "--prompt-ids", "1")
    assert result.returncode == 2
    assert "--model" in result.stderr
    result = run("generate", "--model", data_path("stories260K"), "--prompt-ids", "one")
    assert result.returncode == 2
    assert "“one”" in result.stderr


def test_forward_writes_logits(tmp_path):
    model = data_path("stories260K")
    reference_dtype, reference_shape, reference = read_logits(data_path("expected", "base", "float_logits.safetensors"))
    for ids in (data_path("expected", "eval_input_ids.json"), data_path("expected", "eval_input_ids.safetensors")):
        output = str(tmp_path / "logits.safetensors")
        result = run("forward", "--model", model, "--input-ids", ids, "--output", output, "--threads", "2")
        assert result.returncode == 0, result.stderr
        dtype, shape, values = read_logits(output)
        assert dtype == "F32"
        assert shape == reference_shape == [1, 16, 512]
        assert max(abs(a - b) for a, b in zip(values, reference)) < 1e-4


def test_forward_bad_model_fails(tmp_path):
    ids = data_path("expected", "eval_input_ids.json")
    output = str(tmp_path / "logits.safetensors")
    result = run("forward", "--model", str(tmp_path), "--input-ids", ids, "--output", output)
    assert result.returncode == 1
    assert result.stderr.startswith("peftq: ")
    assert "config.json" in result.stderr
    assert not os.path.exists(output)


@pytest.mark.parametrize("command, extra, message", [
    ("generate", ["--adapter", "qv_r4"], "NAME=DIR"),
    ("generate", ["--active", "qv"], "--active qv"),
    ("generate", ["extra"], "unexpected argument “extra”"),
    ("forward", ["--adapter", "=dir"], "NAME=DIR"),
    ("forward", ["--active", "qv"], "--active qv"),
    ("forward", ["extra"], "unexpected argument “extra”"),
    ("quantize", ["--adapter", "qv="], "NAME=DIR"),
    ("quantize", ["extra"], "unexpected argument “extra”"),
])
def test_usage_errors_exit_2(tmp_path, command, extra, message):
    model = data_path("stories260K")
    ids = data_path("expected", "eval_input_ids.json")
    required = {
        "generate": ["--model", model, "--prompt-ids", "1", "--steps", "2"],
        "forward": ["--model", model, "--input-ids", ids, "--output", str(tmp_path / "logits.safetensors")],
        "quantize": ["--model", model, "--adapter", "qv=" + str(tmp_path), "--calibration", ids,
                     "--output", str(tmp_path / "bundle")],
    }[command]
    result = run(command, *required, *extra)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "needs --model" not in result.stderr
    assert os.listdir(tmp_path) == []


def test_generate_model_file_is_not_folder():
    result = run("generate", "--model", data_path("stories260K", "config.json"), "--prompt-ids", "1")
    assert result.returncode == 1
    assert "is not a folder" in result.stderr
