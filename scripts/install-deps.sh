#!/bin/sh
# Installs the Debian 12 packages that build and test peftq. Run as root (or with sudo).
set -eu

packages="
  gcc
  meson
  ninja-build
  pkg-config
  libglib2.0-dev
  libjson-glib-dev
  gobject-introspection
  libgirepository1.0-dev
  gir1.2-json-1.0
  valac
  gjs
  libopenblas-dev
  libprotobuf-c-dev
  protobuf-c-compiler
  libonnx-dev
  gi-docgen
  python3
  python3-gi
  python3-numpy
  python3-pytest
  python3-torch
  python3-onnx
  valgrind
  groff-base
"

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: run as root, for example: sudo $0" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# Node.js and npm run the ONNX Runtime tests. A machine may already have a Node.js build
# from another source whose package conflicts with Debian's npm, so install Debian's
# only where none is present.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages="$packages nodejs npm"
fi

# shellcheck disable=SC2086 # the list is split into package names on purpose
apt-get install -y -q --no-install-recommends $packages
