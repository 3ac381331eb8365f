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
  nodejs
  npm
"

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: run as root, for example: sudo $0" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086 # the list is split into package names on purpose
apt-get install -y -q --no-install-recommends $packages
