// SPDX-License-Identifier: MIT
// Quantize a base model and one LoRA adapter with peftq, in eleven steps.
//
// Usage: gjs -m flow.js [OUTPUT_DIR]
//
// The input is peftq's embedded demo: a small Llama-style model, an adapter on q_proj and
// v_proj (rank 4) and calibration token ids, written to OUTPUT_DIR/input. The bundle goes
// to OUTPUT_DIR, or to a new temporary folder.

import GLib from 'gi://GLib';
import GObject from 'gi://GObject';
import Peftq from 'gi://Peftq?version=1.0';
import System from 'system';

const out = ARGV[0] ?? GLib.dir_make_tmp('peftq-flow-XXXXXX');
const path = (...parts) => GLib.build_filenamev([out, ...parts]);
const demo = path('input');
const calibration = GLib.build_filenamev([demo, 'calibration.safetensors']);

try {
    Peftq.demo_write_all(demo);
    print(`Demo input in ${demo}`);

    // 1. Load the base model and put the LoRA adapter on it.
    const model = Peftq.PeftModel.new(Peftq.CausalLM.load(GLib.build_filenamev([demo, 'model'])));
    model.load_adapter(GLib.build_filenamev([demo, 'adapters', 'attention_r4']), null);
    // 2. Make the LoRA layers quantizable.
    const [, nReplaced] = Peftq.replace_lora_layers_with_quantizable_layers(model);
    print(`1-2. Loaded the model with ${nReplaced} LoRA layers`);
    // 3. Save the adapter weights under the names of this model.
    const weights = 'lora_weights_after_adaptation_for_attention_r4';
    Peftq.save_lora_weights_after_adaptation(model, out, weights);
    // 4. Record the LoRA layers' metadata (meta_data.json).
    const meta = Peftq.track_lora_meta_data(model, out, 'meta_data', GObject.TYPE_NONE);
    // 5. The helper for the LoRA-specific steps, and the simulation with 8-bit activations
    //    and weights.
    const utils = Peftq.PeftQuantUtils.new(meta, null);
    const dummyInput = Peftq.SafetensorsFile.open(calibration).get_tensor('input_ids');
    const sim = Peftq.QuantSim.new(model, dummyInput, null, Peftq.QuantScheme.TF, 8, 8);
    print('3-5. Saved the adapter weights and metadata; ' +
        `the simulation has ${sim.get_n_quantizers()} quantizers`);

    // 6. Zero the adapters, 7. calibrate the base model alone and freeze its weights.
    utils.disable_lora_adapters(sim);
    sim.compute_encodings_from_file(calibration, 0, null);
    utils.freeze_base_model_param_quantizers(sim);
    // 8. Export the ONNX model and the base encodings.
    sim.export(out, 'model', dummyInput, true, 'base_encodings');
    print('6-8. Calibrated the base model; wrote model.onnx and base_encodings.encodings');

    // 9. Load the adapter weights back into the simulation.
    utils.enable_adapter_and_load_weights(sim, path(`${weights}.safetensor`));
    // 10. Quantize the LoRA weights with 16 bits.
    const [, names] = utils.get_quantized_lora_layer(sim);
    for (const name of names)
        sim.get_quantizer(`${name}.weight`).set_bitwidth(16);
    // 11. Calibrate again, export the adapter's encodings and weights.
    sim.compute_encodings_from_file(calibration, 0, null);
    sim.export(out, 'model', null, false, 'attention_r4');
    utils.export_adapter_weights(sim, out, 'attention_r4_weights', path('model.onnx'));
    print('9-11. Wrote attention_r4.encodings and attention_r4_weights.safetensor');
} catch (error) {
    printerr(`flow.js: ${error.message}`);
    System.exit(1);
}

print(`Bundle in ${out}`);
