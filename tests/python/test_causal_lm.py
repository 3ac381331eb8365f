# SPDX-License-Identifier: MIT
"""Causal language models through the typelib, against references and PyTorch."""

import json
import math
import os
import struct

import gi

gi.require_version("Peftq", "1.0")
from gi.repository import GLib, Peftq  # noqa: E402
import pytest  # noqa: E402

try:
    import numpy
except ImportError:  # pragma: no cover - numpy is a test dependency
    numpy = None

try:
    import torch
except ImportError:
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch (Debian python3-torch) is not installed")
needs_numpy = pytest.mark.skipif(numpy is None, reason="NumPy (Debian python3-numpy) is not installed")


def data_path(*parts):
    root = os.environ.get("PEFTQ_TESTDATA")
    if not root:
        pytest.skip("PEFTQ_TESTDATA is not set, so the shared test data cannot be found")
    path = os.path.join(root, *parts)
    if not os.path.exists(path):
        pytest.skip("test data %s is missing" % path)
    return path


def to_numpy(tensor):
    data = tensor.get_bytes().get_data()
    return numpy.frombuffer(data, dtype=numpy.float32).reshape(tensor.get_shape())


def ids_tensor(rows):
    flat = [i for row in rows for i in row]
    data = GLib.Bytes.new(struct.pack("<%dq" % len(flat), *flat))
    return Peftq.Tensor.new_from_bytes(Peftq.DType.I64, [len(rows), len(rows[0])], data)


def write_safetensors(path, tensors):
    """Writes float32 torch tensors in the safetensors layout, without the library."""
    header = {}
    blobs = []
    offset = 0
    for name, value in tensors.items():
        blob = value.detach().contiguous().to(torch.float32).numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(value.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(text)))
        out.write(text)
        for blob in blobs:
            out.write(blob)


# stories260K through the typelib


@needs_numpy
def test_stories_logits_match_reference():
    model = Peftq.CausalLM.load(data_path("stories260K"))
    ids = Peftq.load_token_ids(data_path("expected", "eval_input_ids.safetensors"))
    logits = to_numpy(model.forward_ids(None, ids))
    reference_file = Peftq.SafetensorsFile.open(data_path("expected", "base", "float_logits.safetensors"))
    reference = to_numpy(reference_file.get_tensor("logits"))
    assert logits.shape == (1, 16, 512)
    assert float(numpy.abs(logits - reference).max()) < 1e-4


def test_stories_greedy_tokens():
    model = Peftq.CausalLM.load(data_path("stories260K"))
    with open(data_path("stories260K", "greedy_200.json")) as handle:
        expected = json.load(handle)["greedy_ids"]
    assert model.generate_greedy([1], 200) == expected


def test_stories_json_ids_equal_safetensors_ids():
    from_json = Peftq.load_token_ids(data_path("expected", "eval_input_ids.json"))
    from_safetensors = Peftq.load_token_ids(data_path("expected", "eval_input_ids.safetensors"))
    assert from_json.equal(from_safetensors)


def test_missing_folder_error():
    with pytest.raises(GLib.Error) as info:
        Peftq.CausalLM.load("/nonexistent/peftq-model")
    assert info.value.matches(Peftq.error_quark(), Peftq.Error.NOT_FOUND)
    assert "/nonexistent/peftq-model" in info.value.message


# Random GPT-2 and Llama-family folders against PyTorch implementations


def random_weights(shapes, seed):
    generator = torch.Generator().manual_seed(seed)
    weights = {}
    for name, shape in shapes.items():
        if name.endswith("ln_1.weight") or name.endswith("ln_2.weight") or name.endswith("ln_f.weight") \
                or name.endswith("norm.weight") or name.endswith("layernorm.weight"):
            weights[name] = 1.0 + 0.1 * torch.randn(shape, generator=generator)
        else:
            weights[name] = 0.2 * torch.randn(shape, generator=generator)
    return weights


GPT2_CONFIG = {
    "architectures": ["GPT2LMHeadModel"],
    "model_type": "gpt2",
    "n_embd": 32,
    "n_layer": 2,
    "n_head": 4,
    "n_positions": 64,
    "vocab_size": 50,
    "layer_norm_epsilon": 1e-5,
    "activation_function": "gelu_new",
}


@pytest.fixture
def gpt2_folder(tmp_path):
    if torch is None:
        pytest.skip("PyTorch (Debian python3-torch) is not installed")
    e, layers, vocab, positions = 32, 2, 50, 64
    shapes = {"wte.weight": (vocab, e), "wpe.weight": (positions, e), "ln_f.weight": (e,), "ln_f.bias": (e,)}
    for i in range(layers):
        prefix = "h.%d." % i
        shapes.update({
            prefix + "ln_1.weight": (e,), prefix + "ln_1.bias": (e,),
            prefix + "attn.c_attn.weight": (e, 3 * e), prefix + "attn.c_attn.bias": (3 * e,),
            prefix + "attn.c_proj.weight": (e, e), prefix + "attn.c_proj.bias": (e,),
            prefix + "ln_2.weight": (e,), prefix + "ln_2.bias": (e,),
            prefix + "mlp.c_fc.weight": (e, 4 * e), prefix + "mlp.c_fc.bias": (4 * e,),
            prefix + "mlp.c_proj.weight": (4 * e, e), prefix + "mlp.c_proj.bias": (e,),
        })
    weights = random_weights(shapes, seed=1)
    # The original GPT-2 checkpoints store names without "transformer." and no lm_head.
    write_safetensors(str(tmp_path / "model.safetensors"), weights)
    (tmp_path / "config.json").write_text(json.dumps(GPT2_CONFIG))
    return str(tmp_path), weights


def torch_gpt2(weights, ids, config):
    """GPT2LMHeadModel's equations, written out with Conv1D weights [in, out]."""
    e, heads = config["n_embd"], config["n_head"]
    d = e // heads
    t = ids.shape[1]
    x = weights["wte.weight"][ids] + weights["wpe.weight"][torch.arange(t)]
    mask = torch.full((t, t), float("-inf")).triu(1)
    for i in range(config["n_layer"]):
        p = "h.%d." % i
        h = torch.nn.functional.layer_norm(x, (e,), weights[p + "ln_1.weight"], weights[p + "ln_1.bias"], 1e-5)
        qkv = h @ weights[p + "attn.c_attn.weight"] + weights[p + "attn.c_attn.bias"]
        q, k, v = qkv.split(e, dim=2)
        q, k, v = (z.view(ids.shape[0], t, heads, d).transpose(1, 2) for z in (q, k, v))
        scores = q @ k.transpose(-1, -2) / math.sqrt(d) + mask
        a = torch.softmax(scores, dim=-1) @ v
        a = a.transpose(1, 2).reshape(ids.shape[0], t, e)
        x = x + a @ weights[p + "attn.c_proj.weight"] + weights[p + "attn.c_proj.bias"]
        h = torch.nn.functional.layer_norm(x, (e,), weights[p + "ln_2.weight"], weights[p + "ln_2.bias"], 1e-5)
        h = torch.nn.functional.gelu(h @ weights[p + "mlp.c_fc.weight"] + weights[p + "mlp.c_fc.bias"],
                                     approximate="tanh")
        x = x + h @ weights[p + "mlp.c_proj.weight"] + weights[p + "mlp.c_proj.bias"]
    x = torch.nn.functional.layer_norm(x, (e,), weights["ln_f.weight"], weights["ln_f.bias"], 1e-5)
    return x @ weights["wte.weight"].T


@needs_torch
def test_gpt2_matches_torch(gpt2_folder):
    folder, weights = gpt2_folder
    model = Peftq.CausalLM.load(folder)
    assert model.get_architecture() == "GPT2LMHeadModel"
    rows = [[3, 17, 42, 8, 0, 49, 21], [1, 2, 3, 4, 5, 6, 7]]
    logits = to_numpy(model.forward_ids(None, ids_tensor(rows)))
    with torch.no_grad():
        expected = torch_gpt2(weights, torch.tensor(rows), GPT2_CONFIG).numpy()
    assert logits.shape == (2, 7, 50)
    assert float(numpy.abs(logits - expected).max()) < 1e-4


@needs_torch
def test_gpt2_module_names(gpt2_folder):
    folder, _ = gpt2_folder
    model = Peftq.CausalLM.load(folder)
    names = model.list_module_names()
    for name in ["transformer.wte", "transformer.wpe", "transformer.h.0.ln_1", "transformer.h.0.attn.c_attn",
                 "transformer.h.0.attn.c_proj", "transformer.h.0.ln_2", "transformer.h.0.mlp.c_fc",
                 "transformer.h.0.mlp.c_proj", "transformer.h.1.mlp.act", "transformer.ln_f", "lm_head"]:
        assert name in names
    c_attn = model.find_module("transformer.h.0.attn.c_attn")
    assert c_attn.get_type_name() == "Conv1D"
    assert c_attn.get_parameter("weight").get_shape() == [32, 96]


LLAMA_CONFIG = {
    "architectures": ["Qwen2ForCausalLM"],
    "model_type": "qwen2",
    "hidden_size": 32,
    "intermediate_size": 48,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "vocab_size": 40,
    "rms_norm_eps": 1e-6,
    "rope_theta": 500.0,
    "tie_word_embeddings": False,
    "hidden_act": "silu",
}


@pytest.fixture
def qwen2_folder(tmp_path):
    if torch is None:
        pytest.skip("PyTorch (Debian python3-torch) is not installed")
    c = LLAMA_CONFIG
    e, inner, vocab = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    d = e // c["num_attention_heads"]
    kv = c["num_key_value_heads"] * d
    shapes = {"model.embed_tokens.weight": (vocab, e), "model.norm.weight": (e,), "lm_head.weight": (vocab, e)}
    for i in range(c["num_hidden_layers"]):
        p = "model.layers.%d." % i
        shapes.update({
            p + "input_layernorm.weight": (e,), p + "post_attention_layernorm.weight": (e,),
            p + "self_attn.q_proj.weight": (e, e), p + "self_attn.q_proj.bias": (e,),
            p + "self_attn.k_proj.weight": (kv, e), p + "self_attn.k_proj.bias": (kv,),
            p + "self_attn.v_proj.weight": (kv, e), p + "self_attn.v_proj.bias": (kv,),
            p + "self_attn.o_proj.weight": (e, e),
            p + "mlp.gate_proj.weight": (inner, e), p + "mlp.up_proj.weight": (inner, e),
            p + "mlp.down_proj.weight": (e, inner),
        })
    weights = random_weights(shapes, seed=2)
    write_safetensors(str(tmp_path / "model.safetensors"), weights)
    (tmp_path / "config.json").write_text(json.dumps(c))
    return str(tmp_path), weights


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def torch_llama(weights, ids, config):
    """LlamaForCausalLM's equations (Qwen2 adds the q, k, v biases)."""
    e, heads, kv_heads = config["hidden_size"], config["num_attention_heads"], config["num_key_value_heads"]
    d = e // heads
    b, t = ids.shape
    eps = config["rms_norm_eps"]

    def rms(x, w):
        return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))

    inv_freq = 1.0 / (config["rope_theta"] ** (torch.arange(0, d, 2).float() / d))
    angles = torch.arange(t).float()[:, None] * inv_freq[None, :]
    cos, sin = torch.cat((angles, angles), -1).cos(), torch.cat((angles, angles), -1).sin()
    mask = torch.full((t, t), float("-inf")).triu(1)
    x = weights["model.embed_tokens.weight"][ids]
    for i in range(config["num_hidden_layers"]):
        p = "model.layers.%d." % i
        h = rms(x, weights[p + "input_layernorm.weight"])
        q = h @ weights[p + "self_attn.q_proj.weight"].T + weights[p + "self_attn.q_proj.bias"]
        k = h @ weights[p + "self_attn.k_proj.weight"].T + weights[p + "self_attn.k_proj.bias"]
        v = h @ weights[p + "self_attn.v_proj.weight"].T + weights[p + "self_attn.v_proj.bias"]
        q = q.view(b, t, heads, d).transpose(1, 2)
        k = k.view(b, t, kv_heads, d).transpose(1, 2)
        v = v.view(b, t, kv_heads, d).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(heads // kv_heads, dim=1)
        v = v.repeat_interleave(heads // kv_heads, dim=1)
        scores = q @ k.transpose(-1, -2) / math.sqrt(d) + mask
        a = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(b, t, e)
        x = x + a @ weights[p + "self_attn.o_proj.weight"].T
        h = rms(x, weights[p + "post_attention_layernorm.weight"])
        gate = h @ weights[p + "mlp.gate_proj.weight"].T
        up = h @ weights[p + "mlp.up_proj.weight"].T
        x = x + (torch.nn.functional.silu(gate) * up) @ weights[p + "mlp.down_proj.weight"].T
    x = rms(x, weights["model.norm.weight"])
    return x @ weights["lm_head.weight"].T


@needs_torch
def test_qwen2_matches_torch(qwen2_folder):
    folder, weights = qwen2_folder
    model = Peftq.CausalLM.load(folder)
    assert model.get_model_type() == "qwen2"
    rows = [[5, 9, 33, 2, 17, 39], [0, 1, 2, 3, 4, 5]]
    logits = to_numpy(model.forward_ids(None, ids_tensor(rows)))
    with torch.no_grad():
        expected = torch_llama(weights, torch.tensor(rows), LLAMA_CONFIG).numpy()
    assert float(numpy.abs(logits - expected).max()) < 1e-4
    # Untied: the head keeps its own weight.
    assert "lm_head.weight" in model.list_named_parameters()


@needs_torch
def test_qwen2_greedy_matches_torch(qwen2_folder):
    folder, weights = qwen2_folder
    model = Peftq.CausalLM.load(folder)
    tokens = model.generate_greedy([3, 4], 6)
    sequence = [3, 4]
    with torch.no_grad():
        for _ in range(6):
            logits = torch_llama(weights, torch.tensor([sequence]), LLAMA_CONFIG)
            sequence.append(int(logits[0, -1].argmax()))
    assert tokens == sequence[2:]


# Leaf modules against torch.nn


def tensor_from_torch(value):
    return Peftq.Tensor.new_from_floats(value.detach().flatten().tolist(), list(value.shape))


@needs_torch
def test_conv2d_matches_torch():
    generator = torch.Generator().manual_seed(3)
    reference = torch.nn.Conv2d(4, 6, kernel_size=(3, 2), stride=(2, 1), padding=(1, 0), groups=2)
    with torch.no_grad():
        reference.weight.copy_(torch.randn(reference.weight.shape, generator=generator))
        reference.bias.copy_(torch.randn(reference.bias.shape, generator=generator))
    x = torch.randn(2, 4, 7, 5, generator=generator)
    conv = Peftq.Conv2d.new_full(4, 6, 3, 2, 2, 1, 1, 0, 2, True)
    conv.set_parameter("weight", tensor_from_torch(reference.weight))
    conv.set_parameter("bias", tensor_from_torch(reference.bias))
    output = to_numpy(conv.forward_one(None, tensor_from_torch(x)))
    with torch.no_grad():
        expected = reference(x).numpy()
    assert output.shape == expected.shape
    assert float(numpy.abs(output - expected).max()) < 1e-5


@needs_torch
def test_elementwise_modules_match_torch():
    generator = torch.Generator().manual_seed(4)
    x = torch.randn(3, 5, 16, generator=generator) * 3
    cases = [
        (Peftq.Activation.new(Peftq.ActivationKind.SILU), torch.nn.functional.silu(x)),
        (Peftq.Activation.new(Peftq.ActivationKind.GELU), torch.nn.functional.gelu(x)),
        (Peftq.Activation.new(Peftq.ActivationKind.GELU_TANH), torch.nn.functional.gelu(x, approximate="tanh")),
        (Peftq.Activation.new(Peftq.ActivationKind.RELU), torch.relu(x)),
        (Peftq.Softmax.new(), torch.softmax(x, dim=-1)),
        (Peftq.LayerNorm.new(16, 1e-5, True), torch.nn.functional.layer_norm(x, (16,), eps=1e-5)),
    ]
    for module, expected in cases:
        output = to_numpy(module.forward_one(None, tensor_from_torch(x)))
        assert float(numpy.abs(output - expected.numpy()).max()) < 1e-5, module.get_type_name()


def test_unused_checkpoint_tensors_warn(tmp_path):
    """A config.json with fewer layers than the checkpoint loads, with a warning."""
    import subprocess
    import sys

    model_dir = tmp_path / "model"
    Peftq.demo_write_model(str(model_dir))
    config_path = model_dir / "config.json"
    config = json.loads(config_path.read_text())
    config["num_hidden_layers"] = 1
    config_path.write_text(json.dumps(config))

    script = (
        "import gi, sys\n"
        "gi.require_version('Peftq', '1.0')\n"
        "from gi.repository import Peftq\n"
        "model = Peftq.CausalLM.load(sys.argv[1])\n"
        "print(model.get_num_layers())\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(model_dir)],
                            capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1"
    assert "checkpoint tensors are not used" in result.stderr
    assert "model.layers.1." in result.stderr


def test_complete_checkpoint_does_not_warn(tmp_path):
    """A tied model whose file also stores lm_head.weight loads without a warning."""
    import subprocess
    import sys

    model_dir = tmp_path / "model"
    Peftq.demo_write_model(str(model_dir))
    config_path = model_dir / "config.json"
    config = json.loads(config_path.read_text())
    config["tie_word_embeddings"] = True
    config_path.write_text(json.dumps(config))
    script = (
        "import gi, sys\n"
        "gi.require_version('Peftq', '1.0')\n"
        "from gi.repository import Peftq\n"
        "Peftq.CausalLM.load(sys.argv[1])\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(model_dir)],
                            capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stderr
    assert "WARNING" not in result.stderr
