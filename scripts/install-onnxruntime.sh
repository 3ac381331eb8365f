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

# Without a registry npm can wait for a long time, so give up after five minutes: the
# tests that need ONNX Runtime then skip, and everything else still runs.
if ! timeout 300 npm install --ignore-scripts --no-audit --no-fund --no-save; then
  echo "install-onnxruntime.sh: npm install failed or timed out; the ONNX Runtime tests will be skipped" >&2
fi
