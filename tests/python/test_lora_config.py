# SPDX-License-Identifier: MIT
"""LoRA config parsing and adapter key classification through the typelib."""

import math
import os

import gi
import pytest

gi.require_version("Peftq", "1.0")
from gi.repository import GLib, Peftq  # noqa: E402

TESTDATA = os.environ.get("PEFTQ_TESTDATA", "")


def data_path(*parts):
    path = os.path.join(TESTDATA, *parts)
    if not TESTDATA or not os.path.exists(path):
        pytest.skip("test data {} is missing; set PEFTQ_TESTDATA".format(path))
    return path


def parse(text):
    return Peftq.LoraConfig.new_from_data(text, -1)


def test_qv_r4_config():
    config = Peftq.LoraConfig.new_from_file(
        data_path("stories260K-adapters", "qv_r4", "adapter_config.json"))
    assert config.get_r() == 4
    assert config.props.lora_alpha == 8
    assert config.get_target_modules() == ["q_proj", "v_proj"]
    assert config.get_scaling("model.layers.0.self_attn.q_proj") == 2.0


def test_rslora_scaling():
    config = Peftq.LoraConfig.new_from_file(
        data_path("stories260K-adapters", "rslora_r16", "adapter_config.json"))
    assert config.props.use_rslora
    assert config.get_scaling("model.layers.0.self_attn.k_proj") == pytest.approx(4.0)
    assert Peftq.lora_compute_scaling(8, 2, True) == pytest.approx(8 / math.sqrt(2))


def test_list_and_regex_targets():
    listed = parse('{"target_modules": ["c_proj"]}')
    assert listed.is_target("transformer.h.0.attn.c_proj")
    assert not listed.is_target("transformer.h.0.attn.xc_proj")
    regex = parse('{"target_modules": ".*\\\\.q_proj"}')
    assert regex.get_target_modules_regex() == ".*\\.q_proj"
    assert regex.is_target("model.layers.0.self_attn.q_proj")
    assert not regex.is_target("model.layers.0.self_attn.q_proj.base_layer")


def test_rank_pattern_precedence():
    config = parse('{"r": 8, "lora_alpha": 16, "target_modules": ["q_proj"],'
                   ' "rank_pattern": {"layers.0.q_proj": 2}, "alpha_pattern": {"q_proj": 4}}')
    rank, alpha = config.get_rank_and_alpha("model.layers.0.q_proj")
    assert rank == 2
    # The first matching key comes from rank_pattern and alpha_pattern lacks it, so
    # alpha falls back to lora_alpha although the alpha key "q_proj" also matches.
    assert alpha == 16
    rank, alpha = config.get_rank_and_alpha("model.layers.1.q_proj")
    assert rank == 8
    assert alpha == 4


@pytest.mark.parametrize("field,text", [
    ("use_dora", '{"target_modules": ["q"], "use_dora": true}'),
    ("lora_bias", '{"target_modules": ["q"], "lora_bias": true}'),
    ("layer_replication", '{"target_modules": ["q"], "layer_replication": [[0, 1]]}'),
    ("bias", '{"target_modules": ["q"], "bias": "all"}'),
])
def test_unsupported_field_rejected(field, text):
    with pytest.raises(GLib.Error) as info:
        parse(text)
    assert info.value.matches(Peftq.error_quark(), Peftq.Error.UNSUPPORTED)
    assert field in info.value.message


def test_parse_key():
    kind, path, parameter = Peftq.Adapter.parse_key(
        "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight")
    assert kind == Peftq.AdapterKeyKind.LORA_A
    assert path == "model.layers.0.self_attn.q_proj"
    assert parameter == "lora_A.weight"
    kind, path, _ = Peftq.Adapter.parse_key("model.q_proj.lora_A.weight")
    assert kind == Peftq.AdapterKeyKind.NO_PREFIX
    assert path is None
    kind, _, _ = Peftq.Adapter.parse_key("base_model.model.emb.lora_embedding_A")
    assert kind == Peftq.AdapterKeyKind.LORA_EMBEDDING
