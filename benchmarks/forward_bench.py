# SPDX-License-Identifier: MIT
"""Forward throughput of peftq against eager PyTorch on the same Llama models.

Measures tokens per second for one forward pass over a batch of sequences. The models
are stories260K and a generated Llama of about 30M parameters (hidden 512, 8 layers,
8 heads, intermediate 1376, vocabulary 4096), whose deterministic random weights are
written to a temporary folder. Both run with 2 threads in the same process, and the script prints
the ratio peftq / PyTorch (above 1 means peftq is faster) and the largest logit
difference between the two.

Run from a build folder:
    GI_TYPELIB_PATH=_build/peftq LD_LIBRARY_PATH=_build/peftq \
    PEFTQ_TESTDATA=../shared/testdata /usr/bin/python3 benchmarks/forward_bench.py
"""

import argparse
import json
import math
import os
import struct
import sys
import tempfile
import time

import gi

gi.require_version("Peftq", "1.0")
from gi.repository import GLib, Peftq  # noqa: E402
import numpy  # noqa: E402
import torch  # noqa: E402

THREADS = 2


def write_safetensors(path, tensors):
    header = {}
    blobs = []
    offset = 0
    for name, value in tensors.items():
        blob = value.contiguous().numpy().astype("<f4").tobytes()
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


def write_llama_30m(folder):
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "hidden_size": 512, "intermediate_size": 1376, "num_hidden_layers": 8,
        "num_attention_heads": 8, "num_key_value_heads": 8, "vocab_size": 4096,
        "max_position_embeddings": 1024, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
        "tie_word_embeddings": False, "hidden_act": "silu",
    }
    e, inner, vocab = 512, 1376, 4096
    generator = torch.Generator().manual_seed(2024)
    shapes = {"model.embed_tokens.weight": (vocab, e), "model.norm.weight": (e,), "lm_head.weight": (vocab, e)}
    for i in range(8):
        p = "model.layers.%d." % i
        for name in ("q_proj", "k_proj", "v_proj", "o_proj"):
            shapes[p + "self_attn.%s.weight" % name] = (e, e)
        shapes[p + "mlp.gate_proj.weight"] = (inner, e)
        shapes[p + "mlp.up_proj.weight"] = (inner, e)
        shapes[p + "mlp.down_proj.weight"] = (e, inner)
        shapes[p + "input_layernorm.weight"] = (e,)
        shapes[p + "post_attention_layernorm.weight"] = (e,)
    tensors = {}
    for name, shape in shapes.items():
        if len(shape) == 1:
            tensors[name] = 1.0 + 0.05 * torch.randn(shape, generator=generator)
        else:
            tensors[name] = torch.randn(shape, generator=generator) / math.sqrt(shape[-1])
    write_safetensors(os.path.join(folder, "model.safetensors"), tensors)
    with open(os.path.join(folder, "config.json"), "w") as handle:
        json.dump(config, handle)
    return sum(t.numel() for t in tensors.values())


def load_torch_weights(folder):
    with open(os.path.join(folder, "config.json")) as handle:
        config = json.load(handle)
    with open(os.path.join(folder, "model.safetensors"), "rb") as handle:
        length = struct.unpack("<Q", handle.read(8))[0]
        header = json.loads(handle.read(length))
        data = handle.read()
    weights = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        array = numpy.frombuffer(data[begin:end], dtype="<f4").reshape(entry["shape"])
        weights[name] = torch.from_numpy(array.copy())
    if "lm_head.weight" not in weights:
        weights["lm_head.weight"] = weights["model.embed_tokens.weight"]
    return config, weights


class TorchLlama:
    """LlamaForCausalLM's forward pass in eager PyTorch, as Hugging Face's eager
    attention computes it (matmul, mask, softmax, matmul)."""

    def __init__(self, config, weights):
        self.c = config
        self.w = weights
        e = config["hidden_size"]
        self.heads = config["num_attention_heads"]
        self.kv_heads = config.get("num_key_value_heads", self.heads)
        self.d = config.get("head_dim", e // self.heads)
        self.inv_freq = 1.0 / (config.get("rope_theta", 10000.0) ** (torch.arange(0, self.d, 2).float() / self.d))

    def rms(self, x, w):
        eps = self.c["rms_norm_eps"]
        return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))

    @staticmethod
    def rotate_half(x):
        half = x.shape[-1] // 2
        return torch.cat((-x[..., half:], x[..., :half]), dim=-1)

    def __call__(self, ids):
        w = self.w
        b, t = ids.shape
        f = torch.nn.functional
        angles = torch.arange(t).float()[:, None] * self.inv_freq[None, :]
        emb = torch.cat((angles, angles), -1)
        cos, sin = emb.cos(), emb.sin()
        mask = torch.full((t, t), float("-inf")).triu(1)
        x = f.embedding(ids, w["model.embed_tokens.weight"])
        for i in range(self.c["num_hidden_layers"]):
            p = "model.layers.%d." % i
            h = self.rms(x, w[p + "input_layernorm.weight"])
            q = f.linear(h, w[p + "self_attn.q_proj.weight"]).view(b, t, self.heads, self.d).transpose(1, 2)
            k = f.linear(h, w[p + "self_attn.k_proj.weight"]).view(b, t, self.kv_heads, self.d).transpose(1, 2)
            v = f.linear(h, w[p + "self_attn.v_proj.weight"]).view(b, t, self.kv_heads, self.d).transpose(1, 2)
            q = q * cos + self.rotate_half(q) * sin
            k = k * cos + self.rotate_half(k) * sin
            if self.kv_heads != self.heads:
                k = k.repeat_interleave(self.heads // self.kv_heads, dim=1)
                v = v.repeat_interleave(self.heads // self.kv_heads, dim=1)
            scores = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.d) + mask
            a = torch.matmul(torch.softmax(scores, dim=-1), v).transpose(1, 2).reshape(b, t, -1)
            x = x + f.linear(a, w[p + "self_attn.o_proj.weight"])
            h = self.rms(x, w[p + "post_attention_layernorm.weight"])
            gate = f.linear(h, w[p + "mlp.gate_proj.weight"])
            up = f.linear(h, w[p + "mlp.up_proj.weight"])
            x = x + f.linear(f.silu(gate) * up, w[p + "mlp.down_proj.weight"])
        x = self.rms(x, w["model.norm.weight"])
        return f.linear(x, w["lm_head.weight"])


def block_medians(first, second, repeats, rounds=3):
    """Times the two functions in alternating blocks of runs, so that load from other
    processes on a shared machine hits both alike, and returns the median seconds of
    each. A pause before each block lets the other library's worker threads, which
    spin for a while after their last task (OpenMP, OpenBLAS), go to sleep first."""
    times = ([], [])
    for _ in range(rounds):
        for func, spent in ((first, times[0]), (second, times[1])):
            time.sleep(0.5)
            func()  # warm-up: page in weights, size buffers
            for _ in range(repeats):
                start = time.perf_counter()
                func()
                spent.append(time.perf_counter() - start)
    return tuple(sorted(t)[len(t) // 2] for t in times)


def bench_model(label, folder, batch, tokens, repeats):
    generator = torch.Generator().manual_seed(7)
    config, weights = load_torch_weights(folder)
    ids = torch.randint(0, config["vocab_size"], (batch, tokens), generator=generator)
    ids_bytes = GLib.Bytes.new(ids.numpy().astype("<i8").tobytes())
    peftq_ids = Peftq.Tensor.new_from_bytes(Peftq.DType.I64, [batch, tokens], ids_bytes)

    model = Peftq.CausalLM.load(folder)
    reference = TorchLlama(config, weights)

    def run_peftq():
        return model.forward_ids(None, peftq_ids)

    def run_torch():
        with torch.no_grad():
            return reference(ids)

    peftq_logits = numpy.frombuffer(run_peftq().get_bytes().get_data(), dtype=numpy.float32)
    torch_logits = run_torch().numpy().reshape(-1)
    difference = float(numpy.abs(peftq_logits - torch_logits).max())

    peftq_time, torch_time = block_medians(run_peftq, run_torch, repeats)
    n = batch * tokens
    print("%-14s batch %d x %d tokens: peftq %8.0f tokens/s, PyTorch %8.0f tokens/s, "
          "ratio %.2f, max logit difference %.1e"
          % (label, batch, tokens, n / peftq_time, n / torch_time, torch_time / peftq_time, difference))
    return torch_time / peftq_time


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per block; 3 blocks per implementation (median reported)")
    parser.add_argument("--batch", type=int, default=4, help="sequences per forward pass")
    parser.add_argument("--tokens", type=int, default=128, help="tokens per sequence")
    args = parser.parse_args()

    torch.set_num_threads(THREADS)
    Peftq.set_num_threads(THREADS)
    print("threads: peftq %d, PyTorch %d (torch %s)" % (Peftq.get_num_threads(), torch.get_num_threads(),
                                                         torch.__version__))

    testdata = os.environ.get("PEFTQ_TESTDATA")
    stories = os.path.join(testdata, "stories260K") if testdata else None
    if stories and os.path.isdir(stories):
        bench_model("stories260K", stories, args.batch, args.tokens, args.repeats)
    else:
        print("stories260K skipped: set PEFTQ_TESTDATA to the shared test data folder", file=sys.stderr)

    with tempfile.TemporaryDirectory(prefix="peftq-bench-") as folder:
        n_params = write_llama_30m(folder)
        bench_model("llama-%.0fM" % (n_params / 1e6), folder, args.batch, args.tokens, args.repeats)


if __name__ == "__main__":
    main()
