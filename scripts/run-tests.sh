#!/bin/sh
# Builds peftq with warnings as errors and runs the whole test suite, then runs the C
# tests again under AddressSanitizer and UndefinedBehaviorSanitizer. Build folders:
# _build-ci and _build-asan (reused when they exist).
set -eu
cd "$(dirname "$0")/.."

status=0

# ONNX Runtime for the tests that run exported models; without npm those tests skip.
./scripts/install-onnxruntime.sh

if [ ! -f _build-ci/build.ninja ]; then
  meson setup _build-ci -Dwerror=true -Ddocs=auto
fi
ninja -C _build-ci ${NINJA_JOBS:+-j "$NINJA_JOBS"}
meson test -C _build-ci --print-errorlogs --num-processes 2 || status=1

if [ ! -f _build-asan/build.ninja ]; then
  meson setup _build-asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false \
    -Dintrospection=disabled -Dvapi=disabled
fi
ninja -C _build-asan ${NINJA_JOBS:+-j "$NINJA_JOBS"}
meson test -C _build-asan --setup sanitize --suite c --print-errorlogs --num-processes 2 || status=1

# One plain summary line over both passes, from meson's machine-readable logs.
/usr/bin/python3 scripts/summarize-tests.py \
  _build-ci/meson-logs/testlog.json \
  _build-asan/meson-logs/testlog-sanitize.json

exit $status
