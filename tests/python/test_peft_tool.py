# SPDX-License-Identifier: MIT
"""The --adapter and --active options of peftq forward and peftq generate."""

import os
import subprocess
import tempfile

import gi
import numpy
import pytest

gi.require_version("Peftq", "1.0")
from gi.repository import Peftq  # noqa: E402

TESTDATA = os.environ.get("PEFTQ_TESTDATA", "")
TOOL = os.path.join(os.environ.get("PEFTQ_BUILD_ROOT", ""), "tools", "peftq")


def data_path(*parts):
    path = os.path.join(TESTDATA, *parts)
    if not TESTDATA or not os.path.exists(path):
        pytest.skip("test data {} is missing; set PEFTQ_TESTDATA".format(path))
    return path


def logits(path):
    tensor = Peftq.SafetensorsFile.open(path).get_tensor("logits")
    return numpy.frombuffer(tensor.get_bytes().get_data(), dtype=numpy.float32)


def run_tool(*args):
    if not os.path.exists(TOOL):
        pytest.skip("the peftq program is not built at {}".format(TOOL))
    return subprocess.run([TOOL] + list(args), capture_output=True, text=True, check=False)


def forward(tmp, *extra):
    output = os.path.join(tmp, "logits.safetensors")
    result = run_tool("forward", "--model", data_path("stories260K"),
                      "--input-ids", data_path("expected", "eval_input_ids.safetensors"),
                      "--output", output, *extra)
    assert result.returncode == 0, result.stderr
    return logits(output)


def test_forward_with_adapter_matches_reference():
    qv = data_path("stories260K-adapters", "qv_r4")
    rs = data_path("stories260K-adapters", "rslora_r16")
    expected = logits(data_path("expected", "qv_r4", "float_logits.safetensors"))
    base = logits(data_path("expected", "base", "float_logits.safetensors"))
    with tempfile.TemporaryDirectory() as tmp:
        # The first adapter is active by default.
        first = forward(tmp, "--adapter", "qv=" + qv, "--adapter", "rs=" + rs)
        assert numpy.max(numpy.abs(first - expected)) <= 1e-4
        second = forward(tmp, "--adapter", "qv=" + qv, "--adapter", "rs=" + rs, "--active", "rs")
        assert numpy.max(numpy.abs(second - expected)) > 0.1
        plain = forward(tmp)
        assert numpy.max(numpy.abs(plain - base)) <= 1e-4


def test_generate_rejects_bad_adapter_options():
    qv = data_path("stories260K-adapters", "qv_r4")
    model = data_path("stories260K")
    result = run_tool("generate", "-m", model, "-p", "1", "-n", "2", "--adapter", "qv")
    assert result.returncode == 2
    assert "NAME=DIR" in result.stderr
    result = run_tool("generate", "-m", model, "-p", "1", "-n", "2", "--adapter", "qv=" + qv,
                      "--active", "other")
    assert result.returncode == 1
    assert "other" in result.stderr
    result = run_tool("generate", "-m", model, "-p", "1", "-n", "2", "--active", "qv")
    assert result.returncode == 2
    assert "--adapter" in result.stderr
