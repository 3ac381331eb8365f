#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Quantize a base model and one LoRA adapter with peftq, in eleven steps.

Usage: flow.py [OUTPUT_DIR]

The input is peftq's embedded demo: a small Llama-style model, an adapter on q_proj and
v_proj (rank 4) and calibration token ids, written to OUTPUT_DIR/input. The bundle goes
to OUTPUT_DIR, or to a new temporary folder.
"""

import os
import sys
import tempfile

import gi

gi.require_version("Peftq", "1.0")
from gi.repository import GObject, Peftq  # noqa: E402


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="peftq-flow-")
    demo = os.path.join(out, "input")
    Peftq.demo_write_all(demo)
    calibration = os.path.join(demo, "calibration.safetensors")
    print("Demo input in", demo)

    # 1. Load the base model and put the LoRA adapter on it.
    model = Peftq.PeftModel.new(Peftq.CausalLM.load(os.path.join(demo, "model")))
    model.load_adapter(os.path.join(demo, "adapters", "attention_r4"), None)
    # 2. Make the LoRA layers quantizable.
    _, n_replaced = Peftq.replace_lora_layers_with_quantizable_layers(model)
    print("1-2. Loaded the model with", n_replaced, "LoRA layers")
    # 3. Save the adapter weights under the names of this model.
    weights = "lora_weights_after_adaptation_for_attention_r4"
    Peftq.save_lora_weights_after_adaptation(model, out, weights)
    # 4. Record the LoRA layers' metadata (meta_data.json).
    meta = Peftq.track_lora_meta_data(model, out, "meta_data", GObject.TYPE_NONE)
    # 5. The helper for the LoRA-specific steps, and the simulation with 8-bit activations
    #    and weights.
    utils = Peftq.PeftQuantUtils.new(meta, None)
    dummy_input = Peftq.SafetensorsFile.open(calibration)["input_ids"]
    sim = Peftq.QuantSim.new(model, dummy_input, None, Peftq.QuantScheme.TF, 8, 8)
    print("3-5. Saved the adapter weights and metadata; the simulation has",
          sim.get_n_quantizers(), "quantizers")

    # 6. Zero the adapters, 7. calibrate the base model alone and freeze its weights.
    utils.disable_lora_adapters(sim)
    sim.compute_encodings_from_file(calibration, 0, None)
    utils.freeze_base_model_param_quantizers(sim)
    # 8. Export the ONNX model and the base encodings.
    sim.export(out, "model", dummy_input, True, "base_encodings")
    print("6-8. Calibrated the base model; wrote model.onnx and base_encodings.encodings")

    # 9. Load the adapter weights back into the simulation.
    utils.enable_adapter_and_load_weights(sim, os.path.join(out, weights + ".safetensor"))
    # 10. Quantize the LoRA weights with 16 bits.
    _, names = utils.get_quantized_lora_layer(sim)
    for name in names:
        sim.get_quantizer(name + ".weight").set_bitwidth(16)
    # 11. Calibrate again, export the adapter's encodings and weights.
    sim.compute_encodings_from_file(calibration, 0, None)
    sim.export(out, "model", None, False, "attention_r4")
    utils.export_adapter_weights(sim, out, "attention_r4_weights", os.path.join(out, "model.onnx"))
    print("9-11. Wrote attention_r4.encodings and attention_r4_weights.safetensor")

    print("Bundle in", out + ":")
    for name in sorted(os.listdir(out)):
        if name == "input":
            continue
        print("  ", name)


if __name__ == "__main__":
    main()
