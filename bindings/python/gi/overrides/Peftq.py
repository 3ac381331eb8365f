# SPDX-License-Identifier: MIT
"""PyGObject overrides for peftq: NumPy interop and Pythonic helpers."""

from gi.module import get_introspection_module
from gi.overrides import override

Peftq = get_introspection_module("Peftq")

__all__ = []


class Tensor(Peftq.Tensor):
    def __repr__(self):
        return "<Peftq.Tensor dtype={} shape={}>".format(
            Peftq.dtype_to_string(self.get_dtype()), self.format_shape()
        )


Tensor = override(Tensor)
__all__.append("Tensor")
