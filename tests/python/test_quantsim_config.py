# SPDX-License-Identifier: MIT
"""The quantsim configuration reader through the typelib."""

import json

import gi
import pytest

gi.require_version("Peftq", "1.0")
from gi.repository import GLib, Peftq  # noqa: E402


def test_default_settings():
    config = Peftq.QuantsimConfig.new_default()

    assert config.is_output_quantized("Gemm")
    assert not config.is_output_quantized("Dropout")
    assert config.is_param_quantized("Gemm", "weight")
    assert not config.is_param_quantized("Gemm", "bias")
    assert config.is_model_input_quantized()
    assert config.get_n_supergroups() == 5
    assert config.get_supergroup(4) == ["Gemm", "Relu"]


def test_per_channel_default():
    config = Peftq.QuantsimConfig.new_default_per_channel()

    assert config.is_per_channel("Conv")
    assert not config.is_per_channel("Gemm")
    assert config.get_quantizer_args_per_channel()


def test_round_trip_keeps_document():
    config = Peftq.QuantsimConfig.new_default()
    text = config.to_data()[0]
    document = json.loads(text)

    assert sorted(document) == sorted(
        ["defaults", "params", "op_type", "supergroups", "model_input", "model_output"]
    )
    reloaded = Peftq.QuantsimConfig.new_from_data(text, -1)
    assert reloaded.get_op_types() == config.get_op_types()


def test_encoding_constraints():
    document = json.loads(Peftq.QuantsimConfig.new_default().to_data()[0])
    document["op_type"]["Softmax"] = {"encoding_constraints": {"min": 0.0, "max": 1.0}}
    config = Peftq.QuantsimConfig.new_from_data(json.dumps(document), -1)

    found, low, high = config.get_encoding_constraints("Softmax")
    assert found
    assert (low, high) == (0.0, 1.0)


def test_invalid_key_names_path():
    document = json.loads(Peftq.QuantsimConfig.new_default().to_data()[0])
    document["op_type"]["Gemm"] = {"is_input_quantized": "False"}

    with pytest.raises(GLib.Error) as info:
        Peftq.QuantsimConfig.new_from_data(json.dumps(document), -1)
    assert info.value.matches(Peftq.error_quark(), Peftq.Error.UNSUPPORTED)
    assert "op_type.Gemm.is_input_quantized" in info.value.message
