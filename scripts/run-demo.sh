#!/bin/sh
# Runs the main job of peftq on its embedded default input, from a build folder
# (default: _build). Output goes to a fresh folder under /tmp, whose path is printed.
set -eu
cd "$(dirname "$0")/.."
build_dir=${1:-_build}
tool="$build_dir/tools/peftq"

output_dir=$(mktemp -d "${TMPDIR:-/tmp}/peftq-demo-XXXXXX")

# The tool writes its own input (a small Llama-style model, two LoRA adapters and
# calibration ids) to DIR/input, quantizes it as "peftq quantize" does and writes the
# bundle to DIR/output, then prints the files and the SQNR of each adapter.
"$tool" demo "$output_dir"
echo "Demo output is in $output_dir"
