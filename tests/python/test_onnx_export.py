# SPDX-License-Identifier: MIT
"""ONNX export of module trees: onnx.checker, ONNX Runtime against peftq's float
forward, and the names that Peftq.OnnxModel maps back to modules."""

import json
import os
import shutil
import subprocess

import gi
import pytest

gi.require_version("Peftq", "1.0")
from gi.repository import GLib, Peftq  # noqa: E402

np = pytest.importorskip("numpy", reason="NumPy is not installed")
onnx = pytest.importorskip(
    "onnx", reason="the onnx package is missing: install Debian's python3-onnx"
)
from onnx import numpy_helper  # noqa: E402

TOLERANCE = 1e-4
WRITER = os.path.join(os.environ.get("PEFTQ_BUILD_ROOT", ""), "tests", "c", "onnx-export-writer")
RUNNER = os.path.join(os.environ.get("PEFTQ_SOURCE_ROOT", ""), "tests", "onnxruntime", "run-model.mjs")


def onnx_support_missing():
    try:
        Peftq.OnnxModel.load(os.path.join(os.sep, "nonexistent", "model.onnx"))
    except GLib.Error as error:
        return error.matches(Peftq.error_quark(), Peftq.Error.UNSUPPORTED)
    return False


pytestmark = pytest.mark.skipif(
    onnx_support_missing(), reason="peftq was built without ONNX support (-Donnx=disabled)"
)


def data_path(*parts):
    root = os.environ.get("PEFTQ_TESTDATA")
    if not root:
        pytest.skip("PEFTQ_TESTDATA is not set")
    path = os.path.join(root, *parts)
    if not os.path.exists(path):
        pytest.skip("test data %s is missing" % path)
    return path


def ids_tensor(array):
    array = np.ascontiguousarray(array, dtype=np.int64)
    return Peftq.Tensor.new_from_bytes(Peftq.DType.I64, list(array.shape), GLib.Bytes.new(array.tobytes()))


def float_tensor(array):
    array = np.ascontiguousarray(array, dtype=np.float32)
    return Peftq.Tensor.new_from_floats(array.ravel().tolist(), list(array.shape))


def to_numpy(tensor):
    data = tensor.to_float32().get_bytes().get_data()
    return np.frombuffer(data, dtype=np.float32).reshape(tensor.get_shape())


def run_onnxruntime(path, name, array, folder):
    runtime = os.path.join(os.path.dirname(RUNNER), "node_modules", "onnxruntime-node")
    if shutil.which("node") is None or not os.path.isdir(runtime):
        pytest.skip(
            "ONNX Runtime for node is missing: run scripts/install-onnxruntime.sh "
            "(npm install --ignore-scripts in tests/onnxruntime)"
        )
    kind = "int64" if array.dtype == np.int64 else "float32"
    raw = folder / ("%s.bin" % name)
    array.tofile(str(raw))
    inputs = folder / "inputs.json"
    outputs = folder / "outputs.json"
    inputs.write_text(json.dumps({name: {"type": kind, "dims": list(array.shape), "file": raw.name}}))
    subprocess.run(["node", RUNNER, str(path), str(inputs), str(outputs)], check=True)
    results = json.loads(outputs.read_text())
    assert len(results) == 1
    (result,) = results.values()
    return np.array(result["data"], dtype=np.float32).reshape(result["dims"])


@pytest.fixture(scope="module")
def demo_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo-model")
    Peftq.demo_write_model(str(folder))
    return Peftq.CausalLM.load(str(folder))


@pytest.fixture(scope="module")
def stories_model():
    return Peftq.CausalLM.load(data_path("stories260K"))


def dummy_ids(vocab):
    return (np.arange(6, dtype=np.int64).reshape(1, 6) * 7 + 1) % vocab


def export(model, path):
    dummy = ids_tensor(dummy_ids(model.get_vocab_size()))
    model.export_onnx(dummy, str(path))
    return str(path)


def check_against_forward(model, path, ids, folder):
    expected = to_numpy(model.forward_ids(None, ids_tensor(ids)))
    actual = run_onnxruntime(path, "input_ids", ids, folder)
    assert actual.shape == expected.shape
    difference = float(np.abs(actual - expected).max())
    print("max abs difference %s %s: %g" % (os.path.basename(path), ids.shape, difference))
    assert difference <= TOLERANCE
    return difference


def test_demo_passes_checker(demo_model, tmp_path):
    path = export(demo_model, tmp_path / "demo.onnx")
    onnx.checker.check_model(path, full_check=True)
    model = onnx.load(path)

    assert [(o.domain, o.version) for o in model.opset_import] == [("", 17)]
    assert [i.name for i in model.graph.input] == ["input_ids"]
    assert [o.name for o in model.graph.output] == ["logits"]
    input_type = model.graph.input[0].type.tensor_type
    assert input_type.elem_type == onnx.TensorProto.INT64
    assert [d.dim_param for d in input_type.shape.dim] == ["batch", "sequence"]
    output_dims = model.graph.output[0].type.tensor_type.shape.dim
    assert [d.dim_param for d in output_dims[:2]] == ["batch", "sequence"]
    assert output_dims[2].dim_value == demo_model.get_vocab_size()


def test_demo_runs_in_onnxruntime_for_other_lengths(demo_model, tmp_path):
    path = export(demo_model, tmp_path / "demo.onnx")
    vocab = demo_model.get_vocab_size()
    rng = np.random.default_rng(3)

    check_against_forward(demo_model, path, rng.integers(0, vocab, (2, 11)), tmp_path)
    check_against_forward(demo_model, path, rng.integers(0, vocab, (1, 1)), tmp_path)


def test_demo_names_map_back_to_modules(demo_model, tmp_path):
    path = export(demo_model, tmp_path / "demo.onnx")
    loaded = Peftq.OnnxModel.load(path)
    modules = set(loaded.get_module_names())
    initializers = set(loaded.get_initializer_names())
    node_names = [loaded.get_node_name(i) for i in range(loaded.get_n_nodes())]

    assert len(node_names) == len(set(node_names))
    for name in demo_model.list_named_parameters():
        assert name in initializers or name == "lm_head.weight"
    for module in ("model.embed_tokens", "model.layers.0.self_attn.q_proj", "model.layers.0.mlp.act_fn",
                   "model.layers.0.self_attn.q_rope", "model.norm", "lm_head"):
        assert module in modules
    for name in node_names:
        assert demo_model.find_module(Peftq.onnx_node_name_to_module_name(name)) is not None, name
    for index in range(loaded.get_n_nodes()):
        if loaded.get_node_name(index) in modules:
            assert loaded.get_node_op_type(index) != "Constant", loaded.get_node_name(index)
    norm_outputs = loaded.get_module_output_names("model.layers.0.input_layernorm")
    assert len(norm_outputs) == 1
    assert loaded.get_module_input_names("model.layers.0.self_attn.q_proj") == norm_outputs
    assert loaded.get_module_input_names("model.embed_tokens") == ["input_ids"]
    assert loaded.get_module_output_names("lm_head") == ["logits"]
    assert loaded.get_module_node_names("model.layers.0.self_attn.q_proj") == [
        "model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.q_proj#1.end"]


def test_tied_head_uses_the_embedding_initializer(tmp_path):
    root = Peftq.Sequential.new()
    embed = Peftq.Embedding.new(6, 4)
    rng = np.random.default_rng(1)
    embed.set_parameter("weight", float_tensor(rng.standard_normal((6, 4))))
    head = Peftq.Linear.new(4, 6, False)
    head.tie_parameter("weight", embed, "weight")
    root.add_child("embed_tokens", embed)
    root.add_child("lm_head", head)
    path = str(tmp_path / "tied.onnx")
    root.export_onnx(ids_tensor(np.array([[0, 5, 2]])), path)
    onnx.checker.check_model(path, full_check=True)
    model = onnx.load(path)
    names = [t.name for t in model.graph.initializer]
    head_nodes = [n for n in model.graph.node if n.name.startswith("lm_head")]

    assert names == ["embed_tokens.weight"]
    assert any("embed_tokens.weight" in n.input for n in head_nodes)
    ids = np.array([[1, 2, 3, 4, 5], [5, 4, 3, 2, 0]], dtype=np.int64)
    expected = to_numpy(root.forward_one(None, ids_tensor(ids)))
    actual = run_onnxruntime(path, "input_ids", ids, tmp_path)
    assert float(np.abs(actual - expected).max()) <= TOLERANCE


def test_stories_runs_in_onnxruntime(stories_model, tmp_path):
    path = export(stories_model, tmp_path / "stories.onnx")
    onnx.checker.check_model(path, full_check=True)
    source = Peftq.SafetensorsFile.open(data_path("expected", "eval_input_ids.safetensors"))
    eval_ids = np.frombuffer(source.get_tensor("input_ids").get_bytes().get_data(), dtype=np.int64)
    eval_ids = eval_ids.reshape(1, -1)

    assert eval_ids.shape[1] != dummy_ids(512).shape[1]
    check_against_forward(stories_model, path, eval_ids, tmp_path)
    check_against_forward(stories_model, path, np.concatenate([eval_ids, eval_ids[:, ::-1]])[:, :9], tmp_path)


def test_stories_initializers_follow_parameter_names(stories_model, tmp_path):
    path = export(stories_model, tmp_path / "stories.onnx")
    loaded = Peftq.OnnxModel.load(path)
    initializers = set(loaded.get_initializer_names())

    for layer in range(stories_model.get_num_layers()):
        for projection in ("q_proj", "k_proj", "v_proj", "o_proj"):
            module = "model.layers.%d.self_attn.%s" % (layer, projection)
            assert module + ".weight" in initializers
            assert loaded.find_parameter(module, "weight") == module + ".weight"
        assert "model.layers.%d.mlp.down_proj" % layer in set(loaded.get_module_names())


def test_external_data_passes_checker_and_runs(demo_model, tmp_path):
    if not os.path.exists(WRITER):
        pytest.skip("onnx-export-writer is not built (peftq was built without ONNX support)")
    folder = tmp_path / "model"
    Peftq.demo_write_model(str(folder))
    path = tmp_path / "external.onnx"
    subprocess.run([WRITER, str(folder), str(path), "1"], check=True)
    onnx.checker.check_model(str(path), full_check=True)
    model = onnx.load(str(path), load_external_data=False)
    locations = {
        t.name: {e.key: e.value for e in t.external_data}.get("location") for t in model.graph.initializer
    }

    assert (tmp_path / "external.onnx.data").exists()
    assert locations["model.embed_tokens.weight"] == "external.onnx.data"
    rng = np.random.default_rng(5)
    check_against_forward(demo_model, str(path), rng.integers(0, demo_model.get_vocab_size(), (1, 9)), tmp_path)


def test_toy_linear_names(tmp_path):
    root = Peftq.Module.new()
    linear = Peftq.Linear.new(10, 10, True)
    rng = np.random.default_rng(0)
    linear.set_parameter("weight", float_tensor(rng.standard_normal((10, 10))))
    linear.set_parameter("bias", float_tensor(rng.standard_normal(10)))
    sequential = Peftq.Sequential.new()
    sequential.add_child("linear", linear)
    path = str(tmp_path / "toy.onnx")
    sequential.export_onnx(float_tensor(rng.standard_normal((3, 10))), path)
    onnx.checker.check_model(path, full_check=True)
    model = onnx.load(path)
    values = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}

    assert sorted(values) == ["linear.bias", "linear.weight"]
    assert all(n.name.startswith("linear") for n in model.graph.node)
    assert [n.name for n in model.graph.node][-1].endswith(".end")
    x = rng.standard_normal((5, 10)).astype(np.float32)
    expected = to_numpy(sequential.forward_one(None, float_tensor(x)))
    actual = run_onnxruntime(path, "input", x, tmp_path)
    assert float(np.abs(actual - expected).max()) <= TOLERANCE


def test_quantized_weight_is_written_quantize_dequantized(tmp_path):
    root = Peftq.Sequential.new()
    linear = Peftq.Linear.new(4, 3, False)
    weight = np.linspace(-1.0, 1.0, 12, dtype=np.float32).reshape(3, 4)
    linear.set_parameter("weight", float_tensor(weight))
    root.add_child("linear", linear)
    quantizer = Peftq.AffineQuantizer.new(4, True)
    quantizer.set_range([-1.0], [1.0])
    linear.set_param_quantizer("weight", quantizer)
    output_quantizer = Peftq.AffineQuantizer.new(4, False)
    output_quantizer.set_range([0.0], [0.1])
    linear.set_output_quantizer(0, output_quantizer)
    path = str(tmp_path / "qdq.onnx")
    root.export_onnx(float_tensor(np.ones((1, 4))), path)
    model = onnx.load(path)
    values = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    effective = to_numpy(linear.get_effective_parameter("weight"))

    assert not np.array_equal(effective, weight)
    np.testing.assert_array_equal(values["linear.weight"], effective)
    assert {n.op_type for n in model.graph.node} <= {"Transpose", "MatMul"}


def test_unsupported_module_is_named(tmp_path):
    root = Peftq.Sequential.new()
    root.add_child("conv", Peftq.Conv2d.new(1, 1, 1, 1, 0, 1, False))
    path = tmp_path / "conv.onnx"
    with pytest.raises(GLib.Error) as info:
        root.export_onnx(float_tensor(np.ones((1, 1, 2, 2))), str(path))

    assert info.value.matches(Peftq.error_quark(), Peftq.Error.UNSUPPORTED)
    assert "conv" in info.value.message
    assert "Conv2d" in info.value.message
    assert not path.exists()


def test_unwritable_path_keeps_nothing(demo_model, tmp_path):
    path = tmp_path / "missing" / "model.onnx"
    with pytest.raises(GLib.Error) as info:
        export(demo_model, path)

    assert info.value.matches(Peftq.error_quark(), Peftq.Error.IO)
    assert not path.exists()


def test_failed_export_leaves_existing_file(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"earlier export")
    root = Peftq.Sequential.new()
    root.add_child("conv", Peftq.Conv2d.new(1, 1, 1, 1, 0, 1, False))
    with pytest.raises(GLib.Error):
        root.export_onnx(float_tensor(np.ones((1, 1, 2, 2))), str(path))

    assert path.read_bytes() == b"earlier export"


def load_stories_lora(replace):
    model = Peftq.PeftModel.new(Peftq.CausalLM.load(data_path("stories260K")))
    model.load_adapter(data_path("stories260K-adapters", "qv_r4"), None)
    if replace:
        replaced, count = Peftq.replace_lora_layers_with_quantizable_layers(model)
        assert replaced
        assert count == 10
    return model


def lora_eval_ids():
    source = Peftq.SafetensorsFile.open(data_path("expected", "eval_input_ids.safetensors"))
    data = source.get_tensor("input_ids").get_bytes().get_data()
    return np.frombuffer(data, dtype=np.int64).reshape(1, -1)


@pytest.mark.parametrize("replace", [False, True], ids=["peft-layers", "aimet-layers"])
def test_stories_lora_runs_in_onnxruntime(replace, tmp_path):
    model = load_stories_lora(replace)
    path = str(tmp_path / "lora.onnx")
    model.export_onnx(ids_tensor(dummy_ids(512)), path)
    onnx.checker.check_model(path, full_check=True)
    expected = to_numpy(model.forward_one(None, ids_tensor(lora_eval_ids())))
    actual = run_onnxruntime(path, "input_ids", lora_eval_ids(), tmp_path)
    difference = float(np.abs(actual - expected).max())
    print("max abs difference LoRA %s: %g" % ("aimet" if replace else "peft", difference))

    assert actual.shape == expected.shape
    assert difference <= TOLERANCE


def test_stories_lora_initializer_names(tmp_path):
    model = load_stories_lora(True)
    path = str(tmp_path / "lora.onnx")
    model.export_onnx(ids_tensor(dummy_ids(512)), path)
    loaded = Peftq.OnnxModel.load(path)
    initializers = set(loaded.get_initializer_names())
    layer = "base_model.model.model.layers.0.self_attn.q_proj"

    assert layer + ".base_layer.weight" in initializers
    assert layer + ".lora_A.0.weight" in initializers
    assert layer + ".lora_B.0.weight" in initializers
    assert layer + ".mul_scale.scaling" in initializers
    assert layer + ".lora_A.0" in set(loaded.get_module_names())
    scaling = to_numpy(loaded.get_initializer(layer + ".mul_scale.scaling"))
    assert scaling.shape == ()


def write_safetensors(path, arrays):
    """Writes float32 arrays in the safetensors layout, without the library."""
    header = {}
    blobs = []
    offset = 0
    for name, value in arrays.items():
        blob = np.ascontiguousarray(value, dtype=np.float32).tobytes()
        header[name] = {"dtype": "F32", "shape": list(value.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as out:
        out.write(len(text).to_bytes(8, "little"))
        out.write(text)
        for blob in blobs:
            out.write(blob)


def write_gpt2_folder(folder, activation):
    embed, layers, vocab, positions = 32, 2, 50, 64
    rng = np.random.default_rng(7)
    shapes = {"wte.weight": (vocab, embed), "wpe.weight": (positions, embed),
              "ln_f.weight": (embed,), "ln_f.bias": (embed,)}
    for i in range(layers):
        prefix = "h.%d." % i
        shapes.update({
            prefix + "ln_1.weight": (embed,), prefix + "ln_1.bias": (embed,),
            prefix + "attn.c_attn.weight": (embed, 3 * embed), prefix + "attn.c_attn.bias": (3 * embed,),
            prefix + "attn.c_proj.weight": (embed, embed), prefix + "attn.c_proj.bias": (embed,),
            prefix + "ln_2.weight": (embed,), prefix + "ln_2.bias": (embed,),
            prefix + "mlp.c_fc.weight": (embed, 4 * embed), prefix + "mlp.c_fc.bias": (4 * embed,),
            prefix + "mlp.c_proj.weight": (4 * embed, embed), prefix + "mlp.c_proj.bias": (embed,),
        })
    arrays = {name: 0.2 * rng.standard_normal(shape) for name, shape in shapes.items()}
    for name in arrays:
        if ".ln_" in name and name.endswith("weight") or name == "ln_f.weight":
            arrays[name] += 1.0
    os.makedirs(folder, exist_ok=True)
    write_safetensors(os.path.join(folder, "model.safetensors"), arrays)
    config = {
        "architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "n_embd": embed,
        "n_layer": layers, "n_head": 4, "n_positions": positions, "vocab_size": vocab,
        "layer_norm_epsilon": 1e-5, "activation_function": activation,
    }
    with open(os.path.join(folder, "config.json"), "w") as out:
        json.dump(config, out)


@pytest.mark.parametrize("activation", ["gelu_new", "gelu", "relu"])
def test_gpt2_runs_in_onnxruntime(activation, tmp_path):
    folder = str(tmp_path / "gpt2")
    write_gpt2_folder(folder, activation)
    model = Peftq.CausalLM.load(folder)
    path = str(tmp_path / "gpt2.onnx")
    model.export_onnx(ids_tensor(dummy_ids(50)), path)
    onnx.checker.check_model(path, full_check=True)
    loaded = Peftq.OnnxModel.load(path)

    assert "transformer.h.0.attn.c_attn.weight" in set(loaded.get_initializer_names())
    assert "transformer.wpe" in set(loaded.get_module_names())
    rng = np.random.default_rng(11)
    check_against_forward(model, path, rng.integers(0, 50, (2, 13)), tmp_path)
