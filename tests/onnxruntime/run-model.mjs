// SPDX-License-Identifier: MIT
//
// Runs an ONNX model in ONNX Runtime (the npm package onnxruntime-node) and writes its
// outputs, so that tests can compare them with peftq's own forward pass.
//
//   node run-model.mjs MODEL.onnx INPUTS.json OUTPUTS.json
//
// INPUTS.json maps each graph input name to {"type": "float32" | "int64" | "int32",
// "dims": [...], "data": [...]}; instead of "data", "file" names a raw little-endian
// file, relative to the JSON file. OUTPUTS.json gets the same form with "data" for
// every graph output.
//
// onnxruntime-node is installed beside this script, without running its install script
// (which downloads from the internet):
//   npm install --ignore-scripts --no-save onnxruntime-node
// The script exits with status 77, the skip status of meson and automake, when the
// package is missing.

import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

const TYPED_ARRAYS = {
  float32: Float32Array,
  int64: BigInt64Array,
  int32: Int32Array,
};

function readInput(name, spec, folder) {
  const ArrayType = TYPED_ARRAYS[spec.type];
  if (ArrayType === undefined)
    throw new Error(`input “${name}” has unsupported type “${spec.type}”`);

  let data;
  if (spec.file !== undefined) {
    const bytes = readFileSync(resolve(folder, spec.file));
    data = new ArrayType(bytes.buffer, bytes.byteOffset, bytes.byteLength / ArrayType.BYTES_PER_ELEMENT);
  } else if (spec.type === 'int64') {
    data = BigInt64Array.from(spec.data, (value) => BigInt(value));
  } else {
    data = ArrayType.from(spec.data);
  }
  return { type: spec.type, data, dims: spec.dims };
}

function toJson(tensor) {
  const data = Array.from(tensor.data, (value) => (typeof value === 'bigint' ? Number(value) : value));
  return { type: tensor.type, dims: Array.from(tensor.dims), data };
}

async function main() {
  const [modelPath, inputsPath, outputsPath] = process.argv.slice(2);
  if (outputsPath === undefined) {
    console.error('Usage: node run-model.mjs MODEL.onnx INPUTS.json OUTPUTS.json');
    process.exit(2);
  }

  let ort;
  try {
    ort = await import('onnxruntime-node');
  } catch (error) {
    console.error(`onnxruntime-node is not installed beside this script (${error.message}); ` +
                  'run “npm install --ignore-scripts --no-save onnxruntime-node” in its folder');
    process.exit(77);
  }

  const specs = JSON.parse(readFileSync(inputsPath, 'utf8'));
  const feeds = {};
  for (const [name, spec] of Object.entries(specs)) {
    const input = readInput(name, spec, dirname(inputsPath));
    feeds[name] = new ort.Tensor(input.type, input.data, input.dims);
  }

  const session = await ort.InferenceSession.create(modelPath);
  const results = await session.run(feeds);

  const outputs = {};
  for (const name of session.outputNames)
    outputs[name] = toJson(results[name]);
  writeFileSync(outputsPath, JSON.stringify(outputs));
}

main().catch((error) => {
  console.error(error.message);
  process.exit(1);
});
