// SPDX-License-Identifier: MIT
// The eleven steps of the LoRA quantization flow through gjs: on a Linear(10, 10) model
// with LoRA r=4, alpha=16 on `linear`, and on stories260K with its qv_r4 adapter.

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import GObject from 'gi://GObject';
import Peftq from 'gi://Peftq?version=1.0';

import {test, run, skip, assert, assertEqual, assertArrayEqual, assertThrows} from './tap.js';

const LINEAR = 'base_model.model.linear';

// A deterministic generator (a linear congruential one), so that runs are repeatable.
function makeRandom(seed) {
    let state = seed >>> 0;
    return () => {
        state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
        return state / 2 ** 32 * 2 - 1;
    };
}

function randomTensor(random, shape) {
    const n = shape.reduce((a, b) => a * b, 1);
    return Peftq.Tensor.new_from_floats(Array.from({length: n}, random), shape);
}

function fileExists(dir, name) {
    return GLib.file_test(GLib.build_filenamev([dir, name]), GLib.FileTest.EXISTS);
}

function removeTree(dir) {
    const folder = Gio.File.new_for_path(dir);
    const children = folder.enumerate_children('standard::name', Gio.FileQueryInfoFlags.NONE, null);
    for (let info = children.next_file(null); info !== null; info = children.next_file(null))
        folder.get_child(info.get_name()).delete(null);
    children.close(null);
    folder.delete(null);
}

// Steps 1 to 5 on the toy model, and the simulation.
function makeToy(dir) {
    const random = makeRandom(7);
    const root = Peftq.Sequential.new();
    root.append('linear', Peftq.Linear.new_with_weights(randomTensor(random, [10, 10]),
        randomTensor(random, [10])));
    const model = Peftq.get_peft_model(root, Peftq.LoraConfig.new(4, 16, ['linear']), null);
    const [, replaced] = Peftq.replace_lora_layers_with_quantizable_layers(model);
    assertEqual(replaced, 1, 'replaced LoRA layers');
    const layer = model.find_module(LINEAR);
    layer.set_adapter_weights(0, randomTensor(random, [4, 10]), randomTensor(random, [10, 4]));
    Peftq.save_lora_weights_after_adaptation(model, dir, 'lora_weights_after_adaptation_for_adapter1');
    const meta = Peftq.track_lora_meta_data(model, dir, 'meta_data', GObject.TYPE_NONE);
    const utils = Peftq.PeftQuantUtils.new(meta, null);
    const dummy = randomTensor(random, [10, 10]);
    const sim = Peftq.QuantSim.new(model, dummy, null, Peftq.QuantScheme.TF, 8, 8);
    return {model, layer, utils, dummy, sim};
}

test('toy model runs the eleven steps', () => {
    const dir = GLib.dir_make_tmp('peftq-gjs-flow-XXXXXX');
    const {layer, utils, dummy, sim} = makeToy(dir);
    const forward = model => {
        model.forward_one(null, dummy);
        return true;
    };
    assert(fileExists(dir, 'lora_weights_after_adaptation_for_adapter1.safetensor'), 'step 3 file');
    assert(fileExists(dir, 'meta_data.json'), 'step 4 file');

    // Step 6
    utils.disable_lora_adapters(sim);
    assert(layer.get_lora_b(0).get_parameter('weight').to_floats().every(v => v === 0), 'lora_B zeroed');
    // Step 7
    sim.compute_encodings(forward);
    utils.freeze_base_model_param_quantizers(sim);
    assertEqual(sim.get_quantizer(`${LINEAR}.base_layer.weight`).allow_overwrite, false, 'base weight frozen');
    assertEqual(sim.get_quantizer(`${LINEAR}.lora_A.0.weight`).allow_overwrite, true, 'lora_A not frozen');
    // Step 8
    sim.export(dir, 'model', dummy, true, 'base_encodings');
    for (const name of ['model.onnx', 'base_encodings.encodings', 'base_encodings_torch.encodings'])
        assert(fileExists(dir, name), `step 8 wrote ${name}`);
    // Step 9
    const saved = Peftq.SafetensorsFile.open(
        GLib.build_filenamev([dir, 'lora_weights_after_adaptation_for_adapter1.safetensor']));
    utils.enable_adapter_and_load_weights(sim, saved.get_path());
    assertArrayEqual(layer.get_lora_b(0).get_parameter('weight').to_floats(),
        saved.get_tensor(`${LINEAR}.lora_B.0.weight`).to_floats(), 'loaded lora_B');
    // Step 10
    const [modules, names] = utils.get_quantized_lora_layer(sim);
    assertArrayEqual(names, [`${LINEAR}.lora_A.0`, `${LINEAR}.lora_B.0`], 'LoRA module names');
    assertEqual(modules.length, 2, 'LoRA module count');
    sim.set_quantizer(`${LINEAR}.lora_A.0.weight`, Peftq.AffineQuantizer.new(16, true));
    // Step 11
    sim.compute_encodings(forward);
    sim.export(dir, 'model', null, false, 'adapter1');
    utils.export_adapter_weights(sim, dir, 'adapter1_weights', GLib.build_filenamev([dir, 'model.onnx']));
    for (const name of ['adapter1.encodings', 'adapter1_torch.encodings', 'adapter1_weights.safetensor'])
        assert(fileExists(dir, name), `step 11 wrote ${name}`);
    const encodings = Peftq.EncodingsFile.new_from_file(GLib.build_filenamev([dir, 'adapter1.encodings']));
    assertEqual(encodings.get_param_encoding(`${LINEAR}.lora_A.0.weight`).get_bitwidth(), 16,
        'lora_A bitwidth in adapter1.encodings');
    removeTree(dir);
});

test('encoding-changed fires on a quantizer and on the simulation', () => {
    const dir = GLib.dir_make_tmp('peftq-gjs-flow-XXXXXX');
    const {dummy, sim} = makeToy(dir);
    const quantizer = sim.get_quantizer(`${LINEAR}.lora_A.0.weight`);
    let quantizerChanges = 0;
    const detailed = [];
    const every = [];
    quantizer.connect('encoding-changed', () => quantizerChanges++);
    sim.connect(`encoding-changed::${LINEAR}.lora_A.0.weight`, (_sim, name) => detailed.push(name));
    sim.connect('encoding-changed', (_sim, name, changed) => every.push([name, changed]));

    sim.compute_encodings(model => {
        model.forward_one(null, dummy);
        return true;
    });

    assertEqual(quantizerChanges, 1, 'quantizer signal count');
    assertArrayEqual(detailed, [`${LINEAR}.lora_A.0.weight`], 'detailed signal names');
    assertEqual(every.length, sim.get_n_quantizers(), 'one signal per quantizer');
    assert(every.some(([name, changed]) => name === `${LINEAR}.lora_A.0.weight` && changed === quantizer),
        'the signal carries the quantizer');
    removeTree(dir);
});

test('missing ONNX file raises not found naming it', () => {
    const dir = GLib.dir_make_tmp('peftq-gjs-flow-XXXXXX');
    const {sim} = makeToy(dir);
    const error = assertThrows(() => sim.export(dir, 'model', null, false, 'adapter1'),
        e => e instanceof GLib.Error, 'export');
    assert(error.matches(Peftq.Error, Peftq.Error.NOT_FOUND), `wrong error: ${error}`);
    assert(error.message.includes('model.onnx'), `message lacks the file: ${error.message}`);
    removeTree(dir);
});

function testData(...parts) {
    const root = GLib.getenv('PEFTQ_TESTDATA') ?? '';
    const path = GLib.build_filenamev([root, ...parts]);
    return root !== '' && GLib.file_test(path, GLib.FileTest.EXISTS) ? path : null;
}

test('stories260K with qv_r4 runs the eleven steps', () => {
    const modelDir = testData('stories260K');
    const adapterDir = testData('stories260K-adapters', 'qv_r4');
    const calibration = testData('calibration', 'calibration_ids.safetensors');
    const evalIds = testData('expected', 'eval_input_ids.json');
    if (!modelDir || !adapterDir || !calibration || !evalIds) {
        skip('stories260K, its qv_r4 adapter, the calibration ids or the evaluation ids are missing; ' +
            'set PEFTQ_TESTDATA');
    }
    const dir = GLib.dir_make_tmp('peftq-gjs-stories-XXXXXX');
    const prefix = 'lora_weights_after_adaptation_for_qv_r4';

    // Steps 1 to 5
    const model = Peftq.PeftModel.new(Peftq.CausalLM.load(modelDir));
    model.load_adapter(adapterDir, null);
    Peftq.replace_lora_layers_with_quantizable_layers(model);
    Peftq.save_lora_weights_after_adaptation(model, dir, prefix);
    const utils = Peftq.PeftQuantUtils.new(
        Peftq.track_lora_meta_data(model, dir, 'meta_data', GObject.TYPE_NONE), null);
    const ids = Peftq.load_token_ids(evalIds);
    const sim = Peftq.QuantSim.new(model, ids, null, Peftq.QuantScheme.TF, 16, 8);
    const query = 'base_model.model.model.layers.0.self_attn.q_proj.lora_A.0.weight';
    const changed = [];
    sim.connect(`encoding-changed::${query}`, (_sim, name) => changed.push(name));

    // Steps 6 to 8
    utils.disable_lora_adapters(sim);
    sim.compute_encodings_from_file(calibration, 0, null);
    utils.freeze_base_model_param_quantizers(sim);
    sim.export(dir, 'model', ids, true, 'base_encodings');
    const zeroLogits = sim.forward(ids, null).to_floats();
    // Steps 9 to 11
    utils.enable_adapter_and_load_weights(sim, GLib.build_filenamev([dir, `${prefix}.safetensor`]));
    const [modules] = utils.get_quantized_lora_layer(sim);
    sim.compute_encodings_from_file(calibration, 0, null);
    sim.export(dir, 'model', null, false, 'qv_r4');
    utils.export_adapter_weights(sim, dir, 'qv_r4_weights', GLib.build_filenamev([dir, 'model.onnx']));
    const adapterLogits = sim.forward(ids, null).to_floats();

    for (const name of ['model.onnx', 'base_encodings.encodings', 'qv_r4.encodings', 'qv_r4_torch.encodings',
        'qv_r4_weights.safetensor'])
        assert(fileExists(dir, name), `flow wrote ${name}`);
    // Five layers with q_proj and v_proj, each with lora_A and lora_B.
    assertEqual(modules.length, 20, 'quantized LoRA modules');
    assert(changed.length >= 2, `q_proj lora_A encoding changed ${changed.length} times`);
    assert(adapterLogits.some((v, i) => v !== zeroLogits[i]), 'the adapter changes the logits');
    removeTree(dir);
});

run();
