# SPDX-License-Identifier: MIT
"""The module tree through the typelib: names, parameters, state dicts, forward."""

import struct

import gi

gi.require_version("Peftq", "1.0")
from gi.repository import GLib, Peftq  # noqa: E402
import pytest  # noqa: E402


def floats(values, shape):
    return Peftq.Tensor.new_from_floats(values, shape)


def values_of(tensor):
    data = tensor.get_bytes().get_data()
    return list(struct.unpack("<%df" % (len(data) // 4), data))


def build_tree():
    root = Peftq.Module.new()
    model = Peftq.Module.new()
    embed = Peftq.Module.new()
    embed.register_parameter("weight", floats([0.0] * 8, [4, 2]))
    layers = Peftq.Module.new()
    linear = Peftq.Linear.new(2, 2, True)
    layers.add_child("0", linear)
    layers.add_child("1", linear)
    model.add_child("embed_tokens", embed)
    model.add_child("layers", layers)
    root.add_child("model", model)
    lm_head = Peftq.Linear.new(2, 4, False)
    root.add_child("lm_head", lm_head)
    lm_head.tie_parameter("weight", embed, "weight")
    return root


def test_module_names_and_order():
    root = build_tree()
    assert root.list_module_names() == [
        "", "model", "model.embed_tokens", "model.layers", "model.layers.0", "lm_head"
    ]
    modules = root.list_modules()
    assert len(modules) == 6
    assert modules[4].dup_qualified_name() == "model.layers.0"
    assert modules[4].get_type_name() == "Linear"
    assert modules[4].get_op_type() == "Gemm"
    children = root.get_children()
    assert [c.get_name() for c in children] == ["model", "lm_head"]
    assert root.find_module("model.layers.1") is modules[4]


def test_named_parameters_and_state_dict():
    root = build_tree()
    assert root.list_named_parameters() == [
        "model.embed_tokens.weight", "model.layers.0.weight", "model.layers.0.bias"
    ]
    keys = root.list_state_dict_keys()
    assert keys == [
        "model.embed_tokens.weight", "model.layers.0.weight", "model.layers.0.bias",
        "model.layers.1.weight", "model.layers.1.bias", "lm_head.weight",
    ]
    state = root.state_dict()
    assert sorted(state.keys()) == sorted(keys)
    assert state["lm_head.weight"] is state["model.embed_tokens.weight"]
    # The table can be read twice: PyGObject does not take over its elements.
    state_again = root.state_dict()
    assert state_again["model.layers.0.bias"].get_shape() == [2]


def test_load_state_dict_errors():
    root = build_tree()
    state = root.state_dict()
    state["model.extra"] = floats([1.0], [1])
    with pytest.raises(GLib.Error) as info:
        root.load_state_dict(state, True)
    assert info.value.matches(Peftq.error_quark(), Peftq.Error.NOT_FOUND)
    assert "model.extra" in info.value.message
    assert root.load_state_dict(state, False)

    state["model.layers.0.bias"] = floats([1.0, 2.0, 3.0], [3])
    with pytest.raises(GLib.Error) as info:
        root.load_state_dict(state, False)
    assert info.value.matches(Peftq.error_quark(), Peftq.Error.SHAPE_MISMATCH)
    assert "model.layers.0.bias" in info.value.message


def test_linear_forward_from_python():
    # y = x W^T + b with W = [[1, 2], [3, 4]], b = [1, -1], x = [1, 2] -> [6, 10]
    linear = Peftq.Linear.new_with_weights(floats([1, 2, 3, 4], [2, 2]), floats([1, -1], [2]))
    output = linear.forward_one(None, floats([1, 2], [1, 2]))
    assert output.get_shape() == [1, 2]
    assert values_of(output) == [6.0, 10.0]


def test_multiply_by_scalar_from_python():
    mul = Peftq.Multiply.new()
    output = mul.forward(Peftq.ForwardContext.new(), [floats([1, -2, 3], [3]), floats([2.0], [])])
    assert values_of(output) == [2.0, -4.0, 6.0]


def test_set_parameter_shape_error():
    linear = Peftq.Linear.new(3, 2, True)
    with pytest.raises(GLib.Error) as info:
        linear.set_parameter("weight", floats([0.0] * 6, [3, 2]))
    assert info.value.matches(Peftq.error_quark(), Peftq.Error.SHAPE_MISMATCH)
    assert "[2, 3]" in info.value.message
    assert "[3, 2]" in info.value.message


def test_conv2d_geometry_getters():
    conv = Peftq.Conv2d.new_full(3, 4, 3, 5, 2, 1, 1, 0, 1, True)

    assert conv.get_stride() == (2, 1)
    assert conv.get_padding() == (1, 0)
    assert conv.get_groups() == 1
