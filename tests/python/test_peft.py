# SPDX-License-Identifier: MIT
"""PEFT adapter loading, LoRA layer replacement and metadata through the typelib."""

import json
import os
import tempfile

import gi
import numpy
import pytest

gi.require_version("Peftq", "1.0")
from gi.repository import GLib, GObject, Peftq  # noqa: E402

TESTDATA = os.environ.get("PEFTQ_TESTDATA", "")
SHAPES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "shapes")


def data_path(*parts):
    path = os.path.join(TESTDATA, *parts)
    if not TESTDATA or not os.path.exists(path):
        pytest.skip("test data {} is missing; set PEFTQ_TESTDATA".format(path))
    return path


def to_numpy(tensor):
    tensor = tensor.to_float32()
    values = numpy.frombuffer(tensor.get_bytes().get_data(), dtype=numpy.float32)
    return values.reshape(tensor.get_shape())


def from_numpy(array):
    array = numpy.ascontiguousarray(array, dtype=numpy.float32)
    return Peftq.Tensor.new_from_bytes(Peftq.DType.F32, list(array.shape),
                                       GLib.Bytes(array.tobytes()))


def read_tensor(path, name):
    return Peftq.SafetensorsFile.open(path).get_tensor(name)


def load_stories(adapter="qv_r4"):
    lm = Peftq.CausalLM.load(data_path("stories260K"))
    model = Peftq.PeftModel.new(lm)
    loaded = model.load_adapter(data_path("stories260K-adapters", adapter), None)
    return model, loaded


def run_stories(model):
    input_ids = read_tensor(data_path("expected", "eval_input_ids.safetensors"), "input_ids")
    return to_numpy(model.forward_one(None, input_ids))


def test_stories_qv_r4_logits_before_and_after_replacement():
    model, adapter = load_stories()
    expected = to_numpy(read_tensor(data_path("expected", "qv_r4", "float_logits.safetensors"),
                                    "logits"))
    assert adapter.get_name() == "default"
    assert adapter.props.active
    assert adapter.get_n_layers() == 10

    before = run_stories(model)
    assert numpy.max(numpy.abs(before - expected)) <= 1e-4

    replaced, n_replaced = Peftq.replace_lora_layers_with_quantizable_layers(model)
    assert replaced
    assert n_replaced == 10
    assert len(Peftq.list_peft_lora_layers(model)) == 0
    layers = Peftq.list_lora_layers(model)
    assert len(layers) == 10
    after = run_stories(model)
    assert numpy.max(numpy.abs(after - expected)) <= 1e-4
    assert numpy.max(numpy.abs(after - before)) <= 1e-6


def test_stories_inactive_adapter_gives_base_logits():
    model, adapter = load_stories()
    base = to_numpy(read_tensor(data_path("expected", "base", "float_logits.safetensors"), "logits"))
    adapter.set_active(False)
    assert numpy.max(numpy.abs(run_stories(model) - base)) <= 1e-4


def test_lora_layer_accessors_and_signals():
    model, _ = load_stories()
    Peftq.replace_lora_layers_with_quantizable_layers(model)
    layer = Peftq.list_lora_layers(model)[0]
    assert layer.get_n_adapters() == 1
    assert layer.get_adapter_name(0) == "default"
    assert layer.get_scaling(0) == 2.0
    assert layer.get_rank(0) == 4
    assert layer.get_mul_scale(0).get_name() == "mul_scale"
    assert layer.get_add_lora_to_res(0).get_name() == "add_lora_to_res"
    assert to_numpy(layer.get_scaling_tensor(0)).shape == ()

    events = []
    layer.connect("adapter-weights-changed", lambda _layer, index: events.append(("weights", index)))
    layer.connect("active-adapters-changed", lambda _layer: events.append(("active",)))
    layer.zero_adapter_weights(0)
    assert not to_numpy(layer.get_lora_b(0).get_parameter("weight")).any()
    layer.get_adapter(0).set_active(False)
    assert events == [("weights", 0), ("active",)]


def test_stories_meta_data_and_saved_weights():
    model, _ = load_stories()
    Peftq.replace_lora_layers_with_quantizable_layers(model)
    with tempfile.TemporaryDirectory() as tmp:
        meta = Peftq.track_lora_meta_data(model, tmp, "meta_data", GObject.TYPE_NONE)
        assert sorted(meta) == ["default"]
        entry = meta["default"]
        assert entry.get_alpha() == 8
        assert entry.get_lora_a()[0] == "base_model.model.model.layers.0.self_attn.q_proj.lora_A.0"
        assert entry.get_mul_scale()[-1] == "base_model.model.model.layers.4.self_attn.v_proj.mul_scale"

        with open(os.path.join(tmp, "meta_data.json")) as f:
            written = json.load(f)
        with open(data_path("expected", "qv_r4", "meta_data.json")) as f:
            expected = json.load(f)
        assert written == expected

        loaded = Peftq.AdapterMetaData.load_file(os.path.join(tmp, "meta_data.json"))
        assert list(loaded["default"].get_lora_b()) == expected["default"]["lora_B"]

        assert Peftq.save_lora_weights_after_adaptation(model, tmp, "lora_weights_after_adaptation")
        saved = Peftq.SafetensorsFile.open(os.path.join(tmp, "lora_weights_after_adaptation.safetensor"))
        reference = Peftq.SafetensorsFile.open(
            data_path("expected", "qv_r4", "lora_weights_after_adaptation.safetensor"))
        assert sorted(saved.get_tensor_names()) == sorted(reference.get_tensor_names())
        for name in reference.get_tensor_names():
            assert numpy.array_equal(to_numpy(saved.get_tensor(name)),
                                     to_numpy(reference.get_tensor(name)))


def test_invalid_adapter_error_names_field():
    model, _ = load_stories()
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "adapter_config.json"), "w") as f:
            json.dump({"r": 4, "target_modules": ["q_proj"], "use_dora": True}, f)
        with pytest.raises(GLib.Error) as info:
            model.load_adapter(tmp, "dora")
        assert info.value.matches(Peftq.error_quark(), Peftq.Error.UNSUPPORTED)
        assert "use_dora" in info.value.message
    assert model.get_n_adapters() == 1


PUBLIC = [
    ("bert-tiny-qv", False), ("distilbert-emotion-seqcls", False), ("flan-t5-base-qv", False),
    ("gpt2-cattn-cproj-causal", True), ("opencalm-1b-r1-fp16", False),
    ("qwen2.5-0.5b-qv", False), ("sd-unet-toq-tov", False), ("vit-age-imgcls", False),
]


def load_public(folder):
    adapter_dir = data_path("adapters", folder)
    with open(os.path.join(SHAPES, folder + ".json")) as f:
        text = f.read()
    architecture = json.loads(text)["__metadata__"]["architecture"]
    base = Peftq.ShapeModel.new_from_shapes(text, -1, architecture)
    model = Peftq.PeftModel.new(base)
    adapter = model.load_adapter(adapter_dir, None)
    return model, adapter, os.path.join(adapter_dir, "adapter_model.safetensors")


@pytest.mark.parametrize("folder,transposed", PUBLIC)
def test_public_adapter_delta_matches_numpy(folder, transposed):
    model, adapter, weights = load_public(folder)
    file = Peftq.SafetensorsFile.open(weights)
    config = adapter.get_config()
    scaling = config.get_lora_alpha() / config.get_r()
    layers = Peftq.list_peft_lora_layers(model)
    assert len(layers) == adapter.get_n_layers()
    assert adapter.get_n_tensors() == file.get_n_tensors()

    # Every layer's rank and scaling; the delta on the first, last and first square
    # layer, where a missing transpose would pass the shape check.
    for layer in layers:
        assert layer.get_rank(0) == config.get_r()
        assert layer.get_scaling(0) == scaling
    square = [layer for layer in layers
              if layer.get_lora_a(0).get_parameter("weight").get_dim(1)
              == layer.get_lora_b(0).get_parameter("weight").get_dim(0)]
    for layer in [layers[0], layers[-1]] + square[:1]:
        name = layer.dup_qualified_name()
        a = to_numpy(file.get_tensor(name + ".lora_A.weight")).astype(numpy.float64)
        b = to_numpy(file.get_tensor(name + ".lora_B.weight")).astype(numpy.float64)
        expected = (b @ a) * scaling
        if transposed:
            expected = expected.T
        delta = to_numpy(layer.compute_delta_weight(0))
        assert delta.shape == expected.shape
        # float32 sums of r products against float64.
        numpy.testing.assert_allclose(delta, expected, rtol=1e-5, atol=1e-7)
        assert layer.get_rank(0) == a.shape[0]
        assert layer.get_scaling(0) == scaling


def test_gpt2_conv1d_square_forward_matches_numpy():
    model, adapter, _ = load_public("gpt2-cattn-cproj-causal")
    layer = model.find_module("base_model.model.transformer.h.3.attn.c_proj")
    assert isinstance(layer, Peftq.PeftLoraLayer)
    base = layer.get_base_layer()
    assert base.get_type_name() == "Conv1D"

    rng = numpy.random.default_rng(0)
    weight = rng.standard_normal((768, 768)).astype(numpy.float32) * 0.05  # stored (in, out)
    bias = rng.standard_normal(768).astype(numpy.float32)
    assert base.set_parameter("weight", from_numpy(weight))
    assert base.set_parameter("bias", from_numpy(bias))
    x = rng.standard_normal((2, 5, 768)).astype(numpy.float32)

    a = to_numpy(layer.get_lora_a(0).get_parameter("weight")).astype(numpy.float64)
    b = to_numpy(layer.get_lora_b(0).get_parameter("weight")).astype(numpy.float64)
    scaling = layer.get_scaling(0)
    x64 = x.astype(numpy.float64)
    expected = x64 @ weight.astype(numpy.float64) + bias + scaling * ((x64 @ a.T) @ b.T)
    # Transposing the square base weight by mistake would change the result by about 1.
    wrong = x64 @ weight.T.astype(numpy.float64) + bias + scaling * ((x64 @ a.T) @ b.T)
    assert numpy.max(numpy.abs(wrong - expected)) > 0.5

    output = to_numpy(layer.forward_one(None, from_numpy(x)))
    numpy.testing.assert_allclose(output, expected, rtol=1e-4, atol=1e-4)

    # Merged weight: W + delta, in Conv1D layout, gives the same output.
    merged = weight.astype(numpy.float64) + to_numpy(layer.compute_delta_weight(0))
    numpy.testing.assert_allclose(x64 @ merged + bias, expected, rtol=1e-4, atol=1e-4)


def test_shape_model_forward_names_architecture():
    model, _, _ = load_public("flan-t5-base-qv")
    with pytest.raises(GLib.Error) as info:
        model.forward_one(None, from_numpy(numpy.zeros((1, 4))))
    assert info.value.matches(Peftq.error_quark(), Peftq.Error.UNSUPPORTED)
    assert "t5" in info.value.message


def test_distilbert_modules_to_save_loaded():
    model, adapter, weights = load_public("distilbert-emotion-seqcls")
    file = Peftq.SafetensorsFile.open(weights)
    assert sorted(adapter.list_saved_modules()) == ["base_model.model.classifier",
                                                    "base_model.model.pre_classifier"]
    classifier = model.find_module("base_model.model.classifier")
    numpy.testing.assert_array_equal(to_numpy(classifier.get_parameter("weight")),
                                     to_numpy(file.get_tensor("base_model.model.classifier.weight")))


def test_aimet_style_weights_round_trip():
    model, _ = load_stories()
    Peftq.replace_lora_layers_with_quantizable_layers(model)
    layer = Peftq.list_lora_layers(model)[0]
    original = to_numpy(layer.get_lora_b(0).get_parameter("weight")).copy()
    with tempfile.TemporaryDirectory() as tmp:
        assert Peftq.save_lora_weights_after_adaptation(model, tmp, "adapter1")
        for each in Peftq.list_lora_layers(model):
            each.zero_adapter_weights(0)
        assert not to_numpy(layer.get_lora_b(0).get_parameter("weight")).any()
        assert Peftq.load_lora_weights(model, os.path.join(tmp, "adapter1.safetensor"))
    numpy.testing.assert_array_equal(to_numpy(layer.get_lora_b(0).get_parameter("weight")), original)
