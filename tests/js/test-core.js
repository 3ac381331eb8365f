// SPDX-License-Identifier: MIT
// Tensors and safetensors files through gjs and the Peftq typelib.

import GLib from 'gi://GLib';
import Peftq from 'gi://Peftq?version=1.0';

import {test, run, assert, assertEqual, assertArrayEqual, assertThrows} from './tap.js';

function makeTempDir() {
    return GLib.dir_make_tmp('peftq-gjs-XXXXXX');
}

test('tensor from floats keeps shape and values', () => {
    const tensor = Peftq.Tensor.new_from_floats([1, 2, 3, 4, 5, 6], [2, 3]);

    assertEqual(tensor.get_dtype(), Peftq.DType.F32, 'dtype');
    assertArrayEqual(tensor.get_shape(), [2, 3], 'shape');
    assertEqual(tensor.get_n_elements(), 6, 'element count');
    assertArrayEqual(tensor.to_floats(), [1, 2, 3, 4, 5, 6], 'values');
});

test('tensor from bytes shares Float32Array data', () => {
    const values = new Float32Array([0.5, -1.25, 3]);
    const bytes = new GLib.Bytes(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));

    const tensor = Peftq.Tensor.new_from_bytes(Peftq.DType.F32, [3], bytes);
    const raw = tensor.get_bytes().toArray();
    const view = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);

    assertArrayEqual(view, values, 'values through GBytes');
});

test('f16 conversion round trips exactly', () => {
    const tensor = Peftq.Tensor.new_from_floats([1, 0.333251953125, -65504, 5.960464477539063e-8], [4]);

    const half = tensor.convert(Peftq.DType.F16);
    const back = half.to_float32();

    assertEqual(half.get_n_bytes(), 8, 'f16 byte size');
    assertArrayEqual(back.to_floats(), tensor.to_floats(), 'values after f16');
});

test('size mismatch raises a Peftq error', () => {
    const error = assertThrows(() => Peftq.Tensor.new_from_floats([1, 2, 3], [2, 2]),
        e => e instanceof GLib.Error, 'new_from_floats');

    assert(error.matches(Peftq.Error, Peftq.Error.SHAPE_MISMATCH), `wrong error: ${error}`);
});

test('safetensors write and read back', () => {
    const dir = makeTempDir();
    const path = GLib.build_filenamev([dir, 'pair.safetensors']);
    const writer = Peftq.SafetensorsWriter.new();
    writer.add_tensor('weight', Peftq.Tensor.new_from_floats([1, 2, 3, 4], [2, 2]));
    writer.set_metadata('format', 'pt');
    writer.write(path);

    const file = Peftq.SafetensorsFile.open(path);
    const tensor = file.get_tensor('weight');

    assertArrayEqual(file.get_tensor_names(), ['weight'], 'names');
    assertEqual(file.get_metadata_value('format'), 'pt', 'metadata');
    assertArrayEqual(tensor.to_floats(), [1, 2, 3, 4], 'values');
    GLib.unlink(path);
    GLib.rmdir(dir);
});

test('missing safetensors file raises not found naming it', () => {
    const error = assertThrows(() => Peftq.SafetensorsFile.open('/nonexistent/peftq.safetensors'),
        e => e instanceof GLib.Error, 'open');

    assert(error.matches(Peftq.Error, Peftq.Error.NOT_FOUND), `wrong error: ${error}`);
    assert(error.message.includes('peftq.safetensors'), `message lacks the path: ${error.message}`);
});

run();
