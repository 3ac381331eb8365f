#!/bin/sh
# Installs the dependencies, builds peftq in _build and runs the main job on the embedded
# default input.
set -eu
cd "$(dirname "$0")/.."

if [ "$(id -u)" -eq 0 ]; then
  ./scripts/install-deps.sh
else
  sudo ./scripts/install-deps.sh
fi

if [ ! -f _build/build.ninja ]; then
  meson setup _build
fi
ninja -C _build ${NINJA_JOBS:+-j "$NINJA_JOBS"}

./scripts/run-demo.sh _build
