# SPDX-License-Identifier: MIT
"""The quantization layer through the typelib: quantizers, analyzers, encodings files."""

import glob
import json
import os
import struct

import gi
import pytest

gi.require_version("Peftq", "1.0")
from gi.repository import GLib, Peftq  # noqa: E402


def vector(values):
    return Peftq.Tensor.new_from_floats(values, [len(values)])


def values_of(tensor):
    data = bytes(tensor.get_bytes().get_data())
    return list(struct.unpack("<%df" % (len(data) // 4), data))


def data_path(*parts):
    root = os.environ.get("PEFTQ_TESTDATA")
    if not root:
        pytest.skip("PEFTQ_TESTDATA is not set, so the shared test data cannot be found")
    path = os.path.join(root, *parts)
    if not os.path.exists(path):
        pytest.skip("Test data %s is missing" % path)
    return path


def test_e1_calibration():
    quantizer = Peftq.AffineQuantizer.new(8, False)
    tensor = vector([-1.0, -0.31, 0.0, 0.26, 1.0, 2.0, 2.5])
    quantizer.begin_calibration()
    quantizer.observe(tensor)
    quantizer.end_calibration()
    encoding = quantizer.get_encoding()
    assert encoding.get_legacy_offset() == [-73]
    assert encoding.get_scale()[0] == pytest.approx(0.013725490, rel=1e-6)
    assert values_of(quantizer.quantize(tensor)) == [0, 50, 73, 92, 146, 219, 255]


def test_construct_with_properties():
    quantizer = Peftq.AffineQuantizer(bitwidth=4, symmetric=True,
                                      name="base_model.model.linear.lora_A.0.weight",
                                      shape=GLib.Variant("ax", [2, 1]))
    assert quantizer.props.bitwidth == 4
    assert quantizer.props.signed
    assert quantizer.get_n_encodings() == 2
    assert quantizer.get_shape() == [2, 1]
    assert quantizer.props.name == "base_model.model.linear.lora_A.0.weight"


def test_signals_from_python():
    quantizer = Peftq.AffineQuantizer.new(8, True)
    changes = []
    notifications = []
    quantizer.connect("encoding-changed", lambda q: changes.append(q.get_encoding()))
    quantizer.connect("notify::bitwidth", lambda q, pspec: notifications.append(pspec.name))

    quantizer.set_range([-1.0], [1.0])
    quantizer.set_range([-1.0], [1.0])
    assert len(changes) == 1

    quantizer.props.bitwidth = 8
    assert notifications == []
    quantizer.props.bitwidth = 16
    assert notifications == ["bitwidth"]
    assert len(changes) == 2
    assert changes[-1].get_bitwidth() == 16

    quantizer.clear_encoding()
    quantizer.clear_encoding()
    assert len(changes) == 3
    assert changes[-1] is None


def test_uninitialized_error_names_quantizer():
    quantizer = Peftq.AffineQuantizer.new(8, True)
    quantizer.props.name = "model.fc.weight"
    with pytest.raises(GLib.Error) as info:
        quantizer.forward(vector([1.0]))
    assert info.value.matches(Peftq.error_quark(), Peftq.Error.NOT_INITIALIZED)
    assert "model.fc.weight" in info.value.message


def test_frozen_quantizer_keeps_range():
    quantizer = Peftq.AffineQuantizer.new(8, True)
    quantizer.set_range([-1.28], [1.27])
    quantizer.props.allow_overwrite = False
    quantizer.begin_calibration()
    out = quantizer.forward(vector([5.0]))
    quantizer.end_calibration()
    assert values_of(out) == [pytest.approx(1.27, rel=1e-6)]
    assert quantizer.get_encoding().get_scale()[0] == pytest.approx(0.01, rel=1e-6)


@pytest.mark.parametrize("make", [
    lambda: Peftq.MinMaxAnalyzer.new(),
    lambda: Peftq.PercentileAnalyzer.new(2048),
    lambda: Peftq.SqnrAnalyzer.new(2048),
])
def test_analyzers_on_quantizer(make):
    quantizer = Peftq.AffineQuantizer.new(8, False)
    quantizer.set_encoding_analyzer(make())
    quantizer.begin_calibration()
    quantizer.observe(vector([-1.0, -0.5, 0.0, 0.7, 2.5]))
    quantizer.end_calibration()
    encoding = quantizer.get_encoding()
    assert encoding is not None
    assert 0.0 < encoding.get_scale()[0] < 1.0


def test_percentile_rejects_out_of_range():
    analyzer = Peftq.PercentileAnalyzer.new(128)
    with pytest.raises(GLib.Error):
        analyzer.set_percentile(101.0)
    analyzer.set_percentile(99.5)
    assert analyzer.props.percentile == 99.5


def test_encodings_file_round_trip(tmp_path):
    encoding = Peftq.Encoding.new([2], [], [-0.8, -1.6], [0.7, 1.4], 4, True, True)
    assert encoding.get_legacy_offset() == [-8, -8]
    for version in ("0.6.1", "1.0.0"):
        path = str(tmp_path / ("model-%s.encodings" % version))
        written = Peftq.EncodingsFile.new(version, False)
        written.set_param_encoding("fc.weight", encoding)
        written.save(path)
        with open(path) as handle:
            document = json.load(handle)
        assert document["version"] == version
        read = Peftq.EncodingsFile.new_from_file(path)
        assert read.get_param_names() == ["fc.weight"]
        assert read.get_param_encoding("fc.weight").get_scale() == pytest.approx([0.1, 0.2],
                                                                                 rel=1e-6)


def test_torch_layout_from_python(tmp_path):
    path = str(tmp_path / "model_torch.encodings")
    written = Peftq.EncodingsFile.new("0.6.1", True)
    encoding = Peftq.Encoding.new_per_tensor(-1.0, 3.0, 8, False)
    written.set_module_encoding("base_model.model.linear.base_layer", "output", 0, encoding)
    written.save(path)
    with open(path) as handle:
        document = json.load(handle)
    entry = document["activation_encodings"]["base_model.model.linear.base_layer"]["output"]["0"]
    assert entry["offset"] == -64
    assert entry["is_symmetric"] == "False"
    read = Peftq.EncodingsFile.new_from_file(path)
    assert read.get_torch_layout()
    assert read.get_module_indices("base_model.model.linear.base_layer", "output") == [0]


def test_load_file_into_quantizer():
    path = data_path("expected", "qv_r4", "per_channel", "qv_r4.encodings")
    encodings = Peftq.EncodingsFile.new_from_file(path)
    name = "base_model.model.model.layers.0.self_attn.q_proj.lora_A.0.weight"
    entry = encodings.get_param_encoding(name)
    assert entry is not None
    quantizer = Peftq.AffineQuantizer.new_per_channel(8, False, entry.get_n_values(), 0, 2)
    quantizer.props.name = name
    quantizer.set_encoding(entry)
    assert quantizer.props.symmetric
    assert quantizer.get_encoding().get_legacy_offset() == entry.get_legacy_offset()


def test_expected_files_match_python_json():
    paths = sorted(glob.glob(os.path.join(data_path("expected"), "**", "*.encodings"),
                             recursive=True))
    assert paths
    for path in paths:
        with open(path) as handle:
            document = json.load(handle)
        encodings = Peftq.EncodingsFile.new_from_file(path)
        for name, entries in document["param_encodings"].items():
            encoding = encodings.get_param_encoding(name)
            assert encoding.get_legacy_offset() == [e["offset"] for e in entries], name
            assert encoding.get_scale() == pytest.approx([e["scale"] for e in entries],
                                                         rel=1e-6), name
