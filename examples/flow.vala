// SPDX-License-Identifier: MIT
// Quantize a base model and one LoRA adapter with peftq, in eleven steps.
//
// Usage: flow-vala [OUTPUT_DIR]
// Build: valac --pkg peftq-1.0 flow.vala
//
// The input is peftq's embedded demo: a small Llama-style model, an adapter on q_proj and
// v_proj (rank 4) and calibration token ids, written to OUTPUT_DIR/input. The bundle goes
// to OUTPUT_DIR, or to a new temporary folder.

void run_flow (string output_dir) throws Error {
    var demo = Path.build_filename (output_dir, "input");
    var calibration = Path.build_filename (demo, "calibration.safetensors");
    Peftq.demo_write_all (demo);
    print ("Demo input in %s\n", demo);

    // 1. Load the base model and put the LoRA adapter on it.
    var model = new Peftq.PeftModel (Peftq.CausalLM.load (Path.build_filename (demo, "model")));
    model.load_adapter (Path.build_filename (demo, "adapters", "attention_r4"), null);
    // 2. Make the LoRA layers quantizable.
    uint n_replaced;
    Peftq.replace_lora_layers_with_quantizable_layers (model, out n_replaced);
    print ("1-2. Loaded the model with %u LoRA layers\n", n_replaced);
    // 3. Save the adapter weights under the names of this model.
    var weights = "lora_weights_after_adaptation_for_attention_r4";
    Peftq.save_lora_weights_after_adaptation (model, output_dir, weights);
    // 4. Record the LoRA layers' metadata (meta_data.json).
    var meta = Peftq.track_lora_meta_data (model, output_dir, "meta_data", Type.NONE);
    // 5. The helper for the LoRA-specific steps, and the simulation with 8-bit activations
    //    and weights.
    var utils = new Peftq.PeftQuantUtils (meta, null);
    var dummy_input = Peftq.SafetensorsFile.open (calibration).get_tensor ("input_ids");
    var sim = new Peftq.QuantSim (model, dummy_input, null, Peftq.QuantScheme.TF, 8, 8);
    print ("3-5. Saved the adapter weights and metadata; the simulation has %u quantizers\n",
           sim.get_n_quantizers ());

    // 6. Zero the adapters, 7. calibrate the base model alone and freeze its weights.
    utils.disable_lora_adapters (sim);
    sim.compute_encodings_from_file (calibration, 0);
    utils.freeze_base_model_param_quantizers (sim);
    // 8. Export the ONNX model and the base encodings.
    sim.export (output_dir, "model", dummy_input, true, "base_encodings");
    print ("6-8. Calibrated the base model; wrote model.onnx and base_encodings.encodings\n");

    // 9. Load the adapter weights back into the simulation.
    var weights_path = Path.build_filename (output_dir, weights + ".safetensor");
    utils.enable_adapter_and_load_weights (sim, weights_path);
    // 10. Quantize the LoRA weights with 16 bits.
    string[] names;
    utils.get_quantized_lora_layer (sim, out names);
    foreach (var name in names) {
        ((Peftq.AffineQuantizer) sim.get_quantizer (name + ".weight")).set_bitwidth (16);
    }
    // 11. Calibrate again, export the adapter's encodings and weights.
    sim.compute_encodings_from_file (calibration, 0);
    sim.export (output_dir, "model", null, false, "attention_r4");
    var onnx_path = Path.build_filename (output_dir, "model.onnx");
    utils.export_adapter_weights (sim, output_dir, "attention_r4_weights", onnx_path);
    print ("9-11. Wrote attention_r4.encodings and attention_r4_weights.safetensor\n");
}

int main (string[] args) {
    try {
        var output_dir = args.length > 1 ? args[1] : DirUtils.make_tmp ("peftq-flow-XXXXXX");
        run_flow (output_dir);
        print ("Bundle in %s\n", output_dir);
        return 0;
    } catch (Error e) {
        printerr ("flow-vala: %s\n", e.message);
        return 1;
    }
}
