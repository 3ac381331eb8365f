# SPDX-License-Identifier: MIT
"""Shared fixtures for the Python tests: the Peftq module, test data and file helpers."""

import json
import os
import pathlib
import struct

import gi
import pytest

gi.require_version("Peftq", "1.0")
from gi.repository import GLib, Peftq  # noqa: E402


@pytest.fixture
def testdata():
    """Return the shared test data folder, or skip when PEFTQ_TESTDATA is missing."""
    root = os.environ.get("PEFTQ_TESTDATA", "")
    if not root or not os.path.isdir(root):
        pytest.skip("PEFTQ_TESTDATA is not set or is not a folder, so the shared test data is missing")
    return pathlib.Path(root)


def build_safetensors(header, data=b""):
    """Build safetensors file bytes by hand: the 8-byte length, the header and the data.

    A dict header is serialized to JSON; a str or bytes header is used as is.
    """
    if isinstance(header, dict):
        header = json.dumps(header)
    if isinstance(header, str):
        header = header.encode("utf-8")
    return struct.pack("<Q", len(header)) + header + data


def parse_safetensors(path):
    """Parse a safetensors file without peftq: return (header dict, data area bytes)."""
    contents = pathlib.Path(path).read_bytes()
    (header_size,) = struct.unpack("<Q", contents[:8])
    header = json.loads(contents[8 : 8 + header_size])
    return header, contents[8 + header_size :]


def error_code(error):
    """Return the PeftqError code of a GLib.Error, asserting its domain."""
    assert error.domain == GLib.quark_to_string(Peftq.error_quark())
    return error.code
