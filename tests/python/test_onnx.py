# SPDX-License-Identifier: MIT
"""ONNX files written by peftq's graph builder, checked with the onnx package and read
back with Peftq.OnnxModel."""

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
from onnx import helper, numpy_helper  # noqa: E402



def onnx_support_missing():
    try:
        Peftq.OnnxModel.load(os.path.join(os.sep, "nonexistent", "model.onnx"))
    except GLib.Error as error:
        return error.matches(Peftq.error_quark(), Peftq.Error.UNSUPPORTED)
    return False


pytestmark = pytest.mark.skipif(
    onnx_support_missing(), reason="peftq was built without ONNX support (-Donnx=disabled)"
)

WRITER = os.path.join(os.environ.get("PEFTQ_BUILD_ROOT", ""), "tests", "c", "onnx-sample-writer")
RUNNER = os.path.join(os.environ.get("PEFTQ_SOURCE_ROOT", ""), "tests", "onnxruntime", "run-model.mjs")


def sample_weight():
    rows, columns = 3, 4
    index = np.arange(rows * columns, dtype=np.float32).reshape(rows, columns)
    return np.float32(0.1) * index - np.float32(0.5)


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    if not os.path.exists(WRITER):
        pytest.skip("onnx-sample-writer is not built (peftq was built without ONNX support)")
    folder = tmp_path_factory.mktemp("onnx-samples")
    subprocess.run([WRITER, str(folder)], check=True)
    return folder


def test_gemm_passes_checker(samples):
    path = str(samples / "gemm.onnx")
    onnx.checker.check_model(path)
    model = onnx.load(path)

    assert model.ir_version == 8
    assert [(o.domain, o.version) for o in model.opset_import] == [("", 17)]
    assert model.producer_name == "peftq"
    assert [n.name for n in model.graph.node] == ["linear", "scale_add", "scale_add#1", "scale_add#2.end"]
    assert [n.op_type for n in model.graph.node] == ["Gemm", "Constant", "Mul", "Add"]
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch"
    assert dims[1].dim_value == 4
    assert {p.key: p.value for p in model.metadata_props} == {"peftq.sample": "gemm"}


def test_gemm_initializer_values(samples):
    model = onnx.load(str(samples / "gemm.onnx"))
    values = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}

    np.testing.assert_array_equal(values["linear.weight"], sample_weight())
    np.testing.assert_array_equal(values["linear.bias"], np.array([0.1, -0.2, 0.3], np.float32))
    assert values["scale_add.scale"].shape == ()
    assert values["scale_add.scale"] == np.float32(0.5)


def test_external_data_layout(samples):
    path = str(samples / "gemm-external.onnx")
    onnx.checker.check_model(path)
    model = onnx.load(path, load_external_data=False)

    for tensor in model.graph.initializer:
        entries = {e.key: e.value for e in tensor.external_data}
        assert tensor.data_location == onnx.TensorProto.EXTERNAL
        assert entries["location"] == "gemm-external.onnx.data"
        assert int(entries["offset"]) % 64 == 0
        assert not tensor.HasField("raw_data")

    loaded = onnx.load(path)
    embedded = onnx.load(str(samples / "gemm.onnx"))
    for a, b in zip(loaded.graph.initializer, embedded.graph.initializer):
        np.testing.assert_array_equal(numpy_helper.to_array(a), numpy_helper.to_array(b))


def test_attributes_pass_checker(samples):
    path = str(samples / "attributes.onnx")
    onnx.checker.check_model(path)
    model = onnx.load(path)
    attributes = {n.name: n.attribute[0] for n in model.graph.node}

    assert list(attributes["transpose"].ints) == [1, 0]
    assert attributes["leaky_relu"].f == pytest.approx(0.25)
    assert list(attributes["constants"].floats) == [1.5, 2.5]
    assert list(attributes["constants#1"].ints) == [7, 8, 9]
    assert attributes["constants#2"].f == 4.5
    assert attributes["constants#3"].i == 42
    assert attributes["constants#4.end"].s == b"peftq"


def tensor_to_numpy(tensor):
    dtypes = {Peftq.DType.F32: np.float32, Peftq.DType.I64: np.int64}
    data = np.frombuffer(tensor.get_bytes().get_data(), dtype=dtypes[tensor.get_dtype()])
    return data.reshape(tensor.get_shape())


@pytest.mark.parametrize("name", ["gemm.onnx", "gemm-external.onnx"])
def test_reader_through_typelib(samples, name):
    model = Peftq.OnnxModel.load(str(samples / name))

    assert model.get_opset_version() == 17
    assert model.get_input_names() == ["input"]
    assert model.get_initializer_names() == ["linear.weight", "linear.bias", "scale_add.scale"]
    assert model.get_module_names() == ["linear", "scale_add"]
    assert model.get_module_output_names("scale_add") == ["output"]
    assert model.find_parameter("linear", "weight") == "linear.weight"
    assert model.is_initializer_external("linear.weight") == (name == "gemm-external.onnx")
    np.testing.assert_array_equal(
        tensor_to_numpy(model.get_initializer("linear.weight")), sample_weight()
    )


def test_reader_on_foreign_model(tmp_path):
    """A model made by the onnx package, with typed value fields instead of raw_data."""
    weight = helper.make_tensor("block.proj.weight", onnx.TensorProto.FLOAT, [2, 2], [1.0, 2.0, 3.0, 4.0])
    shape = helper.make_tensor("block.shape", onnx.TensorProto.INT64, [2], [1, 4])
    nodes = [
        helper.make_node("MatMul", ["x", "block.proj.weight"], ["h"], name="block"),
        helper.make_node("Relu", ["h"], ["r"], name="block#1"),
        helper.make_node("Reshape", ["r", "block.shape"], ["y"], name="block#2.end"),
        helper.make_node("Neg", ["y"], ["z"], name="head"),
    ]
    graph = helper.make_graph(
        nodes,
        "foreign",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2, 2])],
        [helper.make_tensor_value_info("z", onnx.TensorProto.FLOAT, [1, 4])],
        [weight, shape],
    )
    path = str(tmp_path / "foreign.onnx")
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)

    model = Peftq.OnnxModel.load(path)

    assert model.get_opset_version() == 13
    assert model.get_module_node_names("block") == ["block", "block#1", "block#2.end"]
    assert model.get_module_input_names("block") == ["x"]
    assert model.get_module_output_names("block") == ["y"]
    assert model.get_module_input_names("head") == ["y"]
    np.testing.assert_array_equal(
        tensor_to_numpy(model.get_initializer("block.proj.weight")),
        np.array([[1, 2], [3, 4]], np.float32),
    )
    np.testing.assert_array_equal(tensor_to_numpy(model.get_initializer("block.shape")), [1, 4])


def test_reader_rejects_location_outside_folder(samples, tmp_path):
    model = onnx.load(str(samples / "gemm-external.onnx"), load_external_data=False)
    for tensor in model.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = "../gemm-external.onnx.data"
    path = str(tmp_path / "escape.onnx")
    onnx.save(model, path)

    with pytest.raises(GLib.Error) as info:
        Peftq.OnnxModel.load(path)
    assert "not a relative path inside the model's folder" in info.value.message
    assert path in info.value.message


def test_reader_missing_file(tmp_path):
    path = str(tmp_path / "missing.onnx")
    with pytest.raises(GLib.Error) as info:
        Peftq.OnnxModel.load(path)
    assert info.value.matches(Peftq.error_quark(), Peftq.Error.NOT_FOUND)
    assert path in info.value.message


def test_module_name_from_node_name():
    assert Peftq.onnx_node_name_to_module_name("lora_A.0") == "lora_A.0"
    assert Peftq.onnx_node_name_to_module_name("mlp#2.end") == "mlp"
    assert Peftq.onnx_node_name_to_module_name("mlp#0.0.end") == "mlp"


@pytest.mark.parametrize("name", ["gemm.onnx", "gemm-external.onnx"])
def test_onnxruntime_runs_gemm(samples, tmp_path, name):
    runtime = os.path.join(os.path.dirname(RUNNER), "node_modules", "onnxruntime-node")
    if shutil.which("node") is None or not os.path.isdir(runtime):
        pytest.skip(
            "ONNX Runtime for node is missing: run "
            "“npm install --ignore-scripts --no-save onnxruntime-node” in tests/onnxruntime"
        )
    x = np.array([[1, 2, 3, 4], [-1, 0.5, 0, 2], [0, 0, 0, 0]], np.float32)
    inputs = tmp_path / "inputs.json"
    outputs = tmp_path / "outputs.json"
    inputs.write_text(json.dumps({"input": {"type": "float32", "dims": list(x.shape), "data": x.ravel().tolist()}}))

    subprocess.run(["node", RUNNER, str(samples / name), str(inputs), str(outputs)], check=True)

    result = json.loads(outputs.read_text())["output"]
    expected = (x @ sample_weight().T + np.array([0.1, -0.2, 0.3], np.float32)) * np.float32(0.5)
    expected += np.array([1, 2, 3], np.float32)
    assert result["dims"] == [3, 3]
    # Float32 sums of four products, in a different order: 1e-6 covers the rounding.
    np.testing.assert_allclose(np.array(result["data"], np.float32).reshape(3, 3), expected, rtol=0, atol=1e-6)
