#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Writes the weight names and shapes of the base models of the public test adapters.

Each file in shapes/ is a JSON object, weight name -> shape, in the order the
HuggingFace model registers its modules. The dimensions come from the models' published
config.json values (listed below); no weights are downloaded. peftq builds a module tree
from these files (PeftqShapeModel) and loads the adapters onto it.

Run from this folder: /usr/bin/python3 make-shape-fixtures.py
"""

import json
import os
from collections import OrderedDict


def linear(out, name, n_out, n_in, bias=True):
    out[name + ".weight"] = [n_out, n_in]
    if bias:
        out[name + ".bias"] = [n_out]


def norm(out, name, dim, bias=True):
    out[name + ".weight"] = [dim]
    if bias:
        out[name + ".bias"] = [dim]


def bert_tiny():
    # prajjwal1/bert-tiny: hidden 128, 2 layers, intermediate 512, vocab 30522.
    s = OrderedDict()
    h, inter = 128, 512
    s["bert.embeddings.word_embeddings.weight"] = [30522, h]
    s["bert.embeddings.position_embeddings.weight"] = [512, h]
    s["bert.embeddings.token_type_embeddings.weight"] = [2, h]
    norm(s, "bert.embeddings.LayerNorm", h)
    for i in range(2):
        p = "bert.encoder.layer.%d." % i
        for name in ("query", "key", "value"):
            linear(s, p + "attention.self." + name, h, h)
        linear(s, p + "attention.output.dense", h, h)
        norm(s, p + "attention.output.LayerNorm", h)
        linear(s, p + "intermediate.dense", inter, h)
        linear(s, p + "output.dense", h, inter)
        norm(s, p + "output.LayerNorm", h)
    linear(s, "bert.pooler.dense", h, h)
    return s


def distilbert():
    # distilbert-base-uncased: dim 768, 6 layers, hidden 3072; 6 emotion labels.
    s = OrderedDict()
    d, hidden = 768, 3072
    s["distilbert.embeddings.word_embeddings.weight"] = [30522, d]
    s["distilbert.embeddings.position_embeddings.weight"] = [512, d]
    norm(s, "distilbert.embeddings.LayerNorm", d)
    for i in range(6):
        p = "distilbert.transformer.layer.%d." % i
        for name in ("q_lin", "k_lin", "v_lin", "out_lin"):
            linear(s, p + "attention." + name, d, d)
        norm(s, p + "sa_layer_norm", d)
        linear(s, p + "ffn.lin1", hidden, d)
        linear(s, p + "ffn.lin2", d, hidden)
        norm(s, p + "output_layer_norm", d)
    linear(s, "pre_classifier", d, d)
    linear(s, "classifier", 6, d)
    return s


def flan_t5_base():
    # google/flan-t5-base: d_model 768, 12 + 12 layers, d_ff 2048 (gated), 12 heads,
    # 32 relative attention buckets, vocab 32128, untied lm_head.
    s = OrderedDict()
    d, ff = 768, 2048
    s["shared.weight"] = [32128, d]
    for stack, n_sub in (("encoder", 2), ("decoder", 3)):
        for i in range(12):
            p = "%s.block.%d.layer." % (stack, i)
            for name in ("q", "k", "v", "o"):
                linear(s, p + "0.SelfAttention." + name, d, d, bias=False)
            if i == 0:
                s[p + "0.SelfAttention.relative_attention_bias.weight"] = [32, 12]
            norm(s, p + "0.layer_norm", d, bias=False)
            if stack == "decoder":
                for name in ("q", "k", "v", "o"):
                    linear(s, p + "1.EncDecAttention." + name, d, d, bias=False)
                norm(s, p + "1.layer_norm", d, bias=False)
            f = p + "%d." % (n_sub - 1)
            linear(s, f + "DenseReluDense.wi_0", ff, d, bias=False)
            linear(s, f + "DenseReluDense.wi_1", ff, d, bias=False)
            linear(s, f + "DenseReluDense.wo", d, ff, bias=False)
            norm(s, f + "layer_norm", d, bias=False)
        norm(s, stack + ".final_layer_norm", d, bias=False)
    linear(s, "lm_head", 32128, d, bias=False)
    return s


def gpt2():
    # gpt2: n_embd 768, 12 layers, GPT-2 Conv1D weights stored (in, out).
    s = OrderedDict()
    d = 768
    s["transformer.wte.weight"] = [50257, d]
    s["transformer.wpe.weight"] = [1024, d]
    for i in range(12):
        p = "transformer.h.%d." % i
        norm(s, p + "ln_1", d)
        s[p + "attn.c_attn.weight"] = [d, 3 * d]
        s[p + "attn.c_attn.bias"] = [3 * d]
        s[p + "attn.c_proj.weight"] = [d, d]
        s[p + "attn.c_proj.bias"] = [d]
        norm(s, p + "ln_2", d)
        s[p + "mlp.c_fc.weight"] = [d, 4 * d]
        s[p + "mlp.c_fc.bias"] = [4 * d]
        s[p + "mlp.c_proj.weight"] = [4 * d, d]
        s[p + "mlp.c_proj.bias"] = [d]
    norm(s, "transformer.ln_f", d)
    return s


def open_calm_1b():
    # cyberagent/open-calm-1b (GPT-NeoX): hidden 2048, 24 layers, intermediate 8192,
    # vocab 52096, fused query_key_value.
    s = OrderedDict()
    h = 2048
    s["gpt_neox.embed_in.weight"] = [52096, h]
    for i in range(24):
        p = "gpt_neox.layers.%d." % i
        norm(s, p + "input_layernorm", h)
        norm(s, p + "post_attention_layernorm", h)
        linear(s, p + "attention.query_key_value", 3 * h, h)
        linear(s, p + "attention.dense", h, h)
        linear(s, p + "mlp.dense_h_to_4h", 4 * h, h)
        linear(s, p + "mlp.dense_4h_to_h", h, 4 * h)
    norm(s, "gpt_neox.final_layer_norm", h)
    linear(s, "embed_out", 52096, h, bias=False)
    return s


def qwen25_05b():
    # Qwen/Qwen2.5-0.5B-Instruct: hidden 896, 24 layers, 14 heads, 2 KV heads of 64,
    # intermediate 4864, vocab 151936, tied embeddings (no lm_head weight).
    s = OrderedDict()
    h, kv, inter = 896, 128, 4864
    s["model.embed_tokens.weight"] = [151936, h]
    for i in range(24):
        p = "model.layers.%d." % i
        linear(s, p + "self_attn.q_proj", h, h)
        linear(s, p + "self_attn.k_proj", kv, h)
        linear(s, p + "self_attn.v_proj", kv, h)
        linear(s, p + "self_attn.o_proj", h, h, bias=False)
        linear(s, p + "mlp.gate_proj", inter, h, bias=False)
        linear(s, p + "mlp.up_proj", inter, h, bias=False)
        linear(s, p + "mlp.down_proj", h, inter, bias=False)
        norm(s, p + "input_layernorm", h, bias=False)
        norm(s, p + "post_attention_layernorm", h, bias=False)
    norm(s, "model.norm", h, bias=False)
    return s


def sd_unet():
    # Stable Diffusion 1.x UNet2DConditionModel: block_out_channels (320, 640, 1280,
    # 1280), cross-attention dim 768, one transformer block per attention, 2 attentions
    # per down block and 3 per up block. Resnets are left out except the outer convs.
    s = OrderedDict()
    s["conv_in.weight"] = [320, 4, 3, 3]
    s["conv_in.bias"] = [320]
    linear(s, "time_embedding.linear_1", 1280, 320)
    linear(s, "time_embedding.linear_2", 1280, 1280)

    def attention(prefix, c):
        norm(s, prefix + "norm", c)
        s[prefix + "proj_in.weight"] = [c, c, 1, 1]
        s[prefix + "proj_in.bias"] = [c]
        t = prefix + "transformer_blocks.0."
        norm(s, t + "norm1", c)
        for attn, kv_dim in (("attn1", c), ("attn2", 768)):
            linear(s, t + attn + ".to_q", c, c, bias=False)
            linear(s, t + attn + ".to_k", c, kv_dim, bias=False)
            linear(s, t + attn + ".to_v", c, kv_dim, bias=False)
            linear(s, t + attn + ".to_out.0", c, c)
            norm(s, t + ("norm2" if attn == "attn1" else "norm3"), c)
        linear(s, t + "ff.net.0.proj", 8 * c, c)
        linear(s, t + "ff.net.2", c, 4 * c)
        s[prefix + "proj_out.weight"] = [c, c, 1, 1]
        s[prefix + "proj_out.bias"] = [c]

    for block, c in enumerate((320, 640, 1280)):
        for a in range(2):
            attention("down_blocks.%d.attentions.%d." % (block, a), c)
    attention("mid_block.attentions.0.", 1280)
    for block, c in ((1, 1280), (2, 640), (3, 320)):
        for a in range(3):
            attention("up_blocks.%d.attentions.%d." % (block, a), c)
    norm(s, "conv_norm_out", 320)
    s["conv_out.weight"] = [4, 320, 3, 3]
    s["conv_out.bias"] = [4]
    return s


def vit_age():
    # nateraw/vit-age-classifier (ViT base, patch 16, 224 px): hidden 768, 12 layers,
    # intermediate 3072, 197 positions, 10 age classes.
    s = OrderedDict()
    h, inter = 768, 3072
    s["vit.embeddings.cls_token"] = [1, 1, h]
    s["vit.embeddings.position_embeddings"] = [1, 197, h]
    s["vit.embeddings.patch_embeddings.projection.weight"] = [h, 3, 16, 16]
    s["vit.embeddings.patch_embeddings.projection.bias"] = [h]
    for i in range(12):
        p = "vit.encoder.layer.%d." % i
        for name in ("query", "key", "value"):
            linear(s, p + "attention.attention." + name, h, h)
        linear(s, p + "attention.output.dense", h, h)
        linear(s, p + "intermediate.dense", inter, h)
        linear(s, p + "output.dense", h, inter)
        norm(s, p + "layernorm_before", h)
        norm(s, p + "layernorm_after", h)
    norm(s, "vit.layernorm", h)
    linear(s, "classifier", 10, h)
    return s


FIXTURES = {
    "bert-tiny-qv": ("bert", bert_tiny),
    "distilbert-emotion-seqcls": ("distilbert", distilbert),
    "flan-t5-base-qv": ("t5", flan_t5_base),
    "gpt2-cattn-cproj-causal": ("gpt2", gpt2),
    "opencalm-1b-r1-fp16": ("gpt_neox", open_calm_1b),
    "qwen2.5-0.5b-qv": ("qwen2", qwen25_05b),
    "sd-unet-toq-tov": ("unet_2d_condition", sd_unet),
    "vit-age-imgcls": ("vit", vit_age),
}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    os.makedirs(os.path.join(here, "shapes"), exist_ok=True)
    for name, (architecture, build) in FIXTURES.items():
        shapes = build()
        document = OrderedDict([("__metadata__", {"architecture": architecture})])
        document.update(shapes)
        with open(os.path.join(here, "shapes", name + ".json"), "w") as f:
            json.dump(document, f, indent=0, separators=(",", ":"))
            f.write("\n")


if __name__ == "__main__":
    main()
