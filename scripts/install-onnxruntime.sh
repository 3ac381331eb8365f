#!/bin/sh
# Installs ONNX Runtime for Node.js into tests/onnxruntime/node_modules, for the tests that
# run exported models. The package's install script would download more binaries, so it
# is skipped: the npm package already contains the Linux x64 runtime.
set -eu
cd "$(dirname "$0")/../tests/onnxruntime"

if [ -d node_modules/onnxruntime-node ]; then
  exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "install-onnxruntime.sh: npm is not installed; the ONNX Runtime tests will be skipped" >&2
  exit 0
fi

npm install --ignore-scripts --no-audit --no-fund --no-save
