#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs one example program with a new output folder and checks that it exits with 0 and
# writes the whole bundle. Usage: check-bundle.sh PROGRAM [ARGUMENT...]
set -u

out=$(mktemp -d "${TMPDIR:-/tmp}/peftq-example-XXXXXX") || exit 1
trap 'rm -rf "$out"' EXIT

"$@" "$out" || { echo "the example failed with exit status $?" >&2; exit 1; }

status=0
for name in \
    lora_weights_after_adaptation_for_attention_r4.safetensor \
    meta_data.json \
    model.onnx \
    base_encodings.encodings \
    base_encodings_torch.encodings \
    attention_r4.encodings \
    attention_r4_torch.encodings \
    attention_r4_weights.safetensor
do
    if [ ! -s "$out/$name" ]; then
        echo "the example did not write $name" >&2
        status=1
    fi
done
exit $status
