# SPDX-License-Identifier: MIT
"""Tests of the PyGObject override: NumPy interop, iteration and reprs."""

import gc
import os

import gi
import pytest

gi.require_version("Peftq", "1.0")
from gi.repository import GLib, Peftq  # noqa: E402

numpy = pytest.importorskip("numpy", reason="python3-numpy is not installed")

NUMPY_DTYPES = [
    (numpy.float64, Peftq.DType.F64),
    (numpy.float32, Peftq.DType.F32),
    (numpy.float16, Peftq.DType.F16),
    (numpy.int64, Peftq.DType.I64),
    (numpy.int32, Peftq.DType.I32),
    (numpy.int16, Peftq.DType.I16),
    (numpy.int8, Peftq.DType.I8),
    (numpy.uint8, Peftq.DType.U8),
    (numpy.bool_, Peftq.DType.BOOL),
]


@pytest.mark.parametrize("numpy_dtype,peftq_dtype", NUMPY_DTYPES)
def test_numpy_round_trip_keeps_dtype_and_shape(numpy_dtype, peftq_dtype):
    source = (numpy.arange(24) % 7 - 3).astype(numpy_dtype).reshape(2, 3, 4)

    tensor = Peftq.Tensor.from_numpy(source)
    result = tensor.to_numpy()

    assert tensor.get_dtype() == peftq_dtype
    assert tensor.shape == (2, 3, 4)
    assert result.dtype == source.dtype
    assert result.shape == source.shape
    assert numpy.array_equal(result, source)


def test_numpy_scalar_keeps_rank_zero():
    tensor = Peftq.Tensor.from_numpy(numpy.array(3.5, dtype=numpy.float32))

    assert tensor.get_rank() == 0
    assert tensor.to_numpy().shape == ()
    assert float(tensor.to_numpy()) == 3.5


def test_numpy_zero_size_tensor():
    tensor = Peftq.Tensor.from_numpy(numpy.zeros((0, 5), dtype=numpy.float32))

    assert tensor.get_n_elements() == 0
    assert tensor.to_numpy().shape == (0, 5)


def test_numpy_non_contiguous_input_is_copied_in_order():
    source = numpy.arange(12, dtype=numpy.float32).reshape(3, 4).T

    result = Peftq.Tensor.from_numpy(source).to_numpy()

    assert numpy.array_equal(result, source)


def test_numpy_unsupported_dtype_raises():
    with pytest.raises(TypeError, match="complex"):
        Peftq.Tensor.from_numpy(numpy.zeros(3, dtype=numpy.complex64))


def test_to_numpy_shares_memory_and_is_read_only():
    tensor = Peftq.Tensor.from_numpy(numpy.arange(6, dtype=numpy.float32))

    first = tensor.to_numpy()
    second = tensor.to_numpy()

    assert first.ctypes.data == tensor.get_data_address()
    assert numpy.shares_memory(first, second)
    assert not first.flags.writeable
    with pytest.raises(ValueError):
        first[0] = 1.0


def test_to_numpy_keeps_tensor_alive():
    array = Peftq.Tensor.from_numpy(numpy.arange(1000, dtype=numpy.float32)).to_numpy()
    gc.collect()

    assert array.sum() == sum(range(1000))


def test_bf16_converts_to_float32():
    values = numpy.array([1.0, -2.5, 0.15625], dtype=numpy.float32)
    bf16 = Peftq.Tensor.from_numpy(values).convert(Peftq.DType.BF16)

    result = bf16.to_numpy()

    assert result.dtype == numpy.float32
    assert numpy.array_equal(result, values)


def test_mapped_tensor_survives_closing_the_file(tmp_path):
    path = str(tmp_path / "one.safetensors")
    writer = Peftq.SafetensorsWriter.new()
    writer.add_tensor("w", Peftq.Tensor.from_numpy(numpy.full((4, 4), 2.0, numpy.float32)))
    writer.write(path)

    tensor = Peftq.SafetensorsFile.open(path).get_tensor("w")
    gc.collect()

    assert tensor.to_numpy().sum() == 32.0


def test_safetensors_file_is_iterable(tmp_path):
    path = str(tmp_path / "pairs.safetensors")
    writer = Peftq.SafetensorsWriter.new()
    writer.add_tensor("b", Peftq.Tensor.from_numpy(numpy.ones(2, numpy.float32)))
    writer.add_tensor("a", Peftq.Tensor.from_numpy(numpy.zeros(3, numpy.float32)))
    writer.write(path)

    file = Peftq.SafetensorsFile.open(path)
    pairs = dict(file)

    assert len(file) == 2
    assert "a" in file
    assert "missing" not in file
    assert sorted(pairs) == ["a", "b"]
    assert pairs["a"].shape == (3,)
    assert file["b"].to_numpy().tolist() == [1.0, 1.0]
    with pytest.raises(KeyError):
        file["missing"]


def test_reprs_name_the_contents(tmp_path):
    tensor = Peftq.Tensor.from_numpy(numpy.zeros((2, 3), numpy.float16))
    path = str(tmp_path / "repr.safetensors")
    writer = Peftq.SafetensorsWriter.new()
    writer.add_tensor("x", tensor)
    writer.write(path)

    assert repr(tensor) == "<Peftq.Tensor dtype=F16 shape=[2, 3]>"
    assert "tensors=1" in repr(Peftq.SafetensorsFile.open(path))


def test_errors_are_glib_errors_with_message(tmp_path):
    path = str(tmp_path / "missing.safetensors")

    with pytest.raises(GLib.Error) as raised:
        Peftq.SafetensorsFile.open(path)

    assert raised.value.matches(Peftq.error_quark(), Peftq.Error.NOT_FOUND)
    assert "missing.safetensors" in raised.value.message


def test_stories260k_weights_view_without_copy():
    root = os.environ.get("PEFTQ_TESTDATA", "")
    path = os.path.join(root, "stories260K", "model.safetensors")
    if not os.path.exists(path):
        pytest.skip("Test data {} is missing".format(path))

    file = Peftq.SafetensorsFile.open(path)
    tensor = file.get_tensor("model.embed_tokens.weight")
    array = tensor.to_numpy()

    assert array.shape == (512, 64)
    assert array.ctypes.data == tensor.get_data_address()
    assert numpy.isfinite(array).all()


def _toy_model():
    model = Peftq.Sequential.new()
    model.add_child("linear", Peftq.Linear.new(10, 10, True))
    return model


def test_module_named_modules_pairs():
    model = _toy_model()

    pairs = model.named_modules()

    assert [name for name, _ in pairs] == ["", "linear"]
    assert pairs[1][1] is model.get_child("linear")
    assert [name for name, _ in model] == ["", "linear"]


def test_module_named_parameters_pairs():
    model = _toy_model()

    pairs = dict(model.named_parameters())

    assert sorted(pairs) == ["linear.bias", "linear.weight"]
    assert pairs["linear.weight"].shape == (10, 10)


def test_module_lookup_by_path():
    model = _toy_model()

    assert model["linear"] is model.get_child("linear")
    with pytest.raises(KeyError):
        model["missing"]


def test_module_and_quantizer_reprs():
    model = _toy_model()
    quantizer = Peftq.AffineQuantizer.new(8, True)
    quantizer.set_name("linear.weight")

    assert repr(model["linear"]) == "<Peftq.Linear 'linear'>"
    assert repr(model) == "<Peftq.Sequential (root)>"
    assert repr(quantizer) == (
        "<Peftq.AffineQuantizer 'linear.weight' bitwidth=8 symmetric enabled uninitialized>"
    )


def test_encoding_repr_shows_scale_and_offset():
    encoding = Peftq.Encoding.new_per_tensor(-1.0, 2.5, 8, False)

    assert repr(encoding) == "<Peftq.Encoding bitwidth=8 asymmetric scale=0.01372549 offset=-73>"


def _toy_sim():
    """The toy Linear(10, 10) model with LoRA r=4, alpha=16 on linear, in a simulation."""
    model = Peftq.get_peft_model(_toy_model(), Peftq.LoraConfig.new(4, 16, ["linear"]), None)
    Peftq.replace_lora_layers_with_quantizable_layers(model)
    dummy = Peftq.Tensor.from_numpy(numpy.linspace(-1, 1, 100, dtype=numpy.float32).reshape(10, 10))
    return model, dummy, Peftq.QuantSim.new(model, dummy, None, Peftq.QuantScheme.TF, 8, 8)


def test_quant_sim_named_quantizers_pairs():
    _, _, sim = _toy_sim()

    pairs = sim.named_quantizers()

    assert [name for name, _ in pairs] == sim.get_quantizer_names()
    assert all(quantizer.get_name() == name for name, quantizer in pairs)
    assert [name for name, _ in sim] == sim.get_quantizer_names()
    assert len(sim) == sim.get_n_quantizers()


def test_quant_sim_lookup_by_name():
    _, _, sim = _toy_sim()
    name = "base_model.model.linear.lora_A.0.weight"

    assert name in sim
    assert sim[name] is sim.get_quantizer(name)
    assert "missing.weight" not in sim
    with pytest.raises(KeyError):
        sim["missing.weight"]


def test_flow_type_reprs(tmp_path):
    model, _, sim = _toy_sim()
    layer = model["base_model.model.linear"]
    sim.compute_encodings(lambda module, data: module.forward_one(None, data) is not None,
                          Peftq.Tensor.from_numpy(numpy.ones((2, 10), dtype=numpy.float32)))
    sim.export_encodings(str(tmp_path), "toy", None)
    encodings = Peftq.EncodingsFile.new_from_file(str(tmp_path / "toy.encodings"))

    assert repr(sim) == "<Peftq.QuantSim quantizers={} scheme=tf output_bw=8 param_bw=8>".format(len(sim))
    assert repr(layer) == "<Peftq.LoraLayer 'base_model.model.linear' adapters=[default r=4 alpha=16]>"
    assert repr(model) == "<Peftq.PeftModel (root) adapters=['default']>"
    assert repr(model.get_adapter("default")) == "<Peftq.Adapter 'default' r=4 alpha=16 layers=1 active>"
    assert repr(encodings) == "<Peftq.EncodingsFile version={} onnx params={} activations={}>".format(
        encodings.get_version(), len(encodings.get_param_names()), len(encodings.get_activation_names()))
    assert len(encodings.get_param_names()) > 0


def test_causal_lm_repr():
    path = os.path.join(os.environ.get("PEFTQ_TESTDATA", ""), "stories260K")
    if not os.path.exists(os.path.join(path, "config.json")):
        pytest.skip("test data missing: " + path)

    model = Peftq.CausalLM.load(path)

    assert repr(model) == "<Peftq.CausalLM (root) LlamaForCausalLM layers=5 hidden_size=64 vocab_size=512>"


def test_numpy_views_outlive_simulation_and_model():
    # Arrays over the logits of a simulation and over parameters must stay valid after the
    # simulation, the model and every Python reference to the tensors are gone.
    model, dummy, sim = _toy_sim()
    sim.compute_encodings(lambda module, data: module.forward_one(None, data) is not None, dummy)
    logits = sim.forward(dummy, None).to_numpy()
    expected_logits = logits.copy()
    weights = {name: tensor.to_numpy() for name, tensor in model.state_dict().items()}
    expected_weights = {name: array.copy() for name, array in weights.items()}

    del model, sim
    gc.collect()
    # New allocations of the same sizes would reuse freed storage.
    for _ in range(20):
        _toy_sim()
    gc.collect()

    assert numpy.array_equal(logits, expected_logits)
    for name, array in weights.items():
        assert numpy.array_equal(array, expected_weights[name]), name
