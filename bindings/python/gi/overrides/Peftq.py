# SPDX-License-Identifier: MIT
"""PyGObject overrides for peftq: NumPy interop, iteration helpers and readable reprs.

PyGObject loads this module when a program imports ``gi.repository.Peftq``. NumPy is
optional: the NumPy helpers import it when they are called.
"""

from gi.module import get_introspection_module
from gi.overrides import override

Peftq = get_introspection_module("Peftq")

__all__ = []

# NumPy type strings of the dtypes that NumPy can view without conversion. BF16 has no
# NumPy equivalent, so to_numpy() converts it to float32.
_NUMPY_TYPESTR = {
    Peftq.DType.F64: "<f8",
    Peftq.DType.F32: "<f4",
    Peftq.DType.F16: "<f2",
    Peftq.DType.I64: "<i8",
    Peftq.DType.I32: "<i4",
    Peftq.DType.I16: "<i2",
    Peftq.DType.I8: "|i1",
    Peftq.DType.U8: "|u1",
    Peftq.DType.BOOL: "|b1",
}


def _dtype_from_numpy(array_dtype):
    kind_size = (array_dtype.kind, array_dtype.itemsize)
    table = {
        ("f", 8): Peftq.DType.F64,
        ("f", 4): Peftq.DType.F32,
        ("f", 2): Peftq.DType.F16,
        ("i", 8): Peftq.DType.I64,
        ("i", 4): Peftq.DType.I32,
        ("i", 2): Peftq.DType.I16,
        ("i", 1): Peftq.DType.I8,
        ("u", 1): Peftq.DType.U8,
        ("b", 1): Peftq.DType.BOOL,
    }
    if kind_size not in table:
        raise TypeError(
            "NumPy dtype {} has no peftq equivalent; use float64, float32, float16, "
            "int64, int32, int16, int8, uint8 or bool".format(array_dtype)
        )
    return table[kind_size]


class _TensorView:
    """Exposes a tensor's storage through the NumPy array interface, without a copy.

    The view keeps a reference to the tensor, so the storage outlives every array that
    NumPy builds on it.
    """

    def __init__(self, tensor, typestr):
        self.tensor = tensor
        self.__array_interface__ = {
            "version": 3,
            "shape": tuple(tensor.get_shape()),
            "typestr": typestr,
            "data": (tensor.get_data_address(), True),
        }


class Tensor(Peftq.Tensor):
    @classmethod
    def from_numpy(cls, array):
        """Create a tensor with the dtype, shape and values of a NumPy array (one copy)."""
        import numpy
        from gi.repository import GLib

        # asarray keeps rank 0, which ascontiguousarray would turn into rank 1.
        array = numpy.asarray(array, order="C")
        dtype = _dtype_from_numpy(array.dtype)
        data = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
        return Peftq.Tensor.new_from_bytes(dtype, list(array.shape), GLib.Bytes.new(data))

    def to_numpy(self):
        """Return a read-only NumPy array over the tensor's data.

        The array shares memory with the tensor, including tensors mapped from a file,
        except for BF16, which NumPy cannot represent and which is converted to float32.
        """
        import numpy

        dtype = self.get_dtype()
        if dtype == Peftq.DType.BF16:
            return self.to_float32().to_numpy()

        if self.get_n_elements() == 0:
            return numpy.zeros(tuple(self.get_shape()), dtype=_NUMPY_TYPESTR[dtype])

        array = numpy.asarray(_TensorView(self, _NUMPY_TYPESTR[dtype]))
        array.flags.writeable = False
        return array

    @property
    def shape(self):
        return tuple(self.get_shape())

    @property
    def dtype(self):
        return self.get_dtype()

    def __len__(self):
        if self.get_rank() == 0:
            raise TypeError("len() of a rank-0 tensor")
        return self.get_dim(0)

    def __repr__(self):
        return "<Peftq.Tensor dtype={} shape={}>".format(
            Peftq.dtype_to_string(self.get_dtype()), self.format_shape()
        )


Tensor = override(Tensor)
__all__.append("Tensor")


class SafetensorsFile(Peftq.SafetensorsFile):
    def __iter__(self):
        """Iterate over ``(name, tensor)`` pairs in file order."""
        for name in self.get_tensor_names():
            yield name, self.get_tensor(name)

    def __len__(self):
        return self.get_n_tensors()

    def __contains__(self, name):
        return self.has_tensor(name)

    def __getitem__(self, name):
        if not self.has_tensor(name):
            raise KeyError(name)
        return self.get_tensor(name)

    def __repr__(self):
        return "<Peftq.SafetensorsFile {!r} tensors={}>".format(
            self.get_path(), self.get_n_tensors()
        )


SafetensorsFile = override(SafetensorsFile)
__all__.append("SafetensorsFile")


class Module(Peftq.Module):
    def named_modules(self):
        """Return ``(name, module)`` pairs of the subtree in PyTorch's order, self first as ``""``."""
        return list(zip(self.list_module_names(), self.list_modules()))

    def named_children(self):
        """Return ``(local name, module)`` pairs of the direct children."""
        return [(child.get_name(), child) for child in self.get_children()]

    def named_parameters(self):
        """Return ``(qualified name, tensor)`` pairs in PyTorch's ``named_parameters()`` order."""
        state = self.state_dict()
        return [(name, state[name]) for name in self.list_named_parameters()]

    def __getitem__(self, path):
        module = self.find_module(path)
        if module is None:
            raise KeyError(path)
        return module

    def __iter__(self):
        """Iterate over ``(name, module)`` pairs, as ``named_modules()``."""
        return iter(self.named_modules())

    def __repr__(self):
        qualified_name = self.dup_qualified_name()
        return "<Peftq.{} {}>".format(self.get_type_name(), repr(qualified_name) if qualified_name else "(root)")


Module = override(Module)
__all__.append("Module")


class AffineQuantizer(Peftq.AffineQuantizer):
    def __repr__(self):
        return "<Peftq.AffineQuantizer {!r} bitwidth={} {} {} {}>".format(
            self.get_name(),
            self.get_bitwidth(),
            "symmetric" if self.get_symmetric() else "asymmetric",
            "enabled" if self.get_enabled() else "disabled",
            "initialized" if self.is_initialized() else "uninitialized",
        )


AffineQuantizer = override(AffineQuantizer)
__all__.append("AffineQuantizer")


class Encoding(Peftq.Encoding):
    def __repr__(self):
        values = self.get_n_values()
        if values == 1:
            detail = "scale={:.8g} offset={}".format(self.get_scale()[0], self.get_legacy_offset()[0])
        else:
            detail = "{} values".format(values)
        return "<Peftq.Encoding bitwidth={} {} {}>".format(
            self.get_bitwidth(), "symmetric" if self.get_symmetric() else "asymmetric", detail
        )


Encoding = override(Encoding)
__all__.append("Encoding")


class QuantSim(Peftq.QuantSim):
    def named_quantizers(self):
        """Return ``(name, quantizer)`` pairs of every quantizer in the simulation's order."""
        return [(quantizer.get_name(), quantizer) for quantizer in self.list_quantizers()]

    def __iter__(self):
        """Iterate over ``(name, quantizer)`` pairs, as ``named_quantizers()``."""
        return iter(self.named_quantizers())

    def __len__(self):
        return self.get_n_quantizers()

    def __contains__(self, name):
        return self.get_quantizer(name) is not None

    def __getitem__(self, name):
        quantizer = self.get_quantizer(name)
        if quantizer is None:
            raise KeyError(name)
        return quantizer

    def __repr__(self):
        return "<Peftq.QuantSim quantizers={} scheme={} output_bw={} param_bw={}>".format(
            self.get_n_quantizers(),
            Peftq.quant_scheme_to_string(self.get_quant_scheme()),
            self.get_default_output_bw(),
            self.get_default_param_bw(),
        )


QuantSim = override(QuantSim)
__all__.append("QuantSim")


def _module_label(module):
    qualified_name = module.dup_qualified_name()
    return repr(qualified_name) if qualified_name else "(root)"


class LoraLayer(Peftq.LoraLayer):
    def __repr__(self):
        adapters = ", ".join(
            "{} r={} alpha={:g}".format(self.get_adapter_name(i), self.get_rank(i), self.get_alpha(i))
            for i in range(self.get_n_adapters())
        )
        return "<Peftq.LoraLayer {} adapters=[{}]>".format(_module_label(self), adapters)


LoraLayer = override(LoraLayer)
__all__.append("LoraLayer")


class PeftModel(Peftq.PeftModel):
    def __repr__(self):
        names = [adapter.get_name() for adapter in self.list_adapters()]
        return "<Peftq.PeftModel {} adapters={!r}>".format(_module_label(self), names)


PeftModel = override(PeftModel)
__all__.append("PeftModel")


class CausalLM(Peftq.CausalLM):
    def __repr__(self):
        return "<Peftq.CausalLM {} {} layers={} hidden_size={} vocab_size={}>".format(
            _module_label(self),
            self.get_architecture(),
            self.get_num_layers(),
            self.get_hidden_size(),
            self.get_vocab_size(),
        )


CausalLM = override(CausalLM)
__all__.append("CausalLM")


class Adapter(Peftq.Adapter):
    def __repr__(self):
        config = self.get_config()
        return "<Peftq.Adapter {!r} r={} alpha={:g} layers={} {}>".format(
            self.get_name(),
            config.get_r(),
            config.get_lora_alpha(),
            self.get_n_layers(),
            "active" if self.get_active() else "inactive",
        )


Adapter = override(Adapter)
__all__.append("Adapter")


class EncodingsFile(Peftq.EncodingsFile):
    def __repr__(self):
        return "<Peftq.EncodingsFile version={} {} params={} activations={}>".format(
            self.get_version(),
            "torch" if self.get_torch_layout() else "onnx",
            len(self.get_param_names()),
            len(self.get_activation_names()),
        )


EncodingsFile = override(EncodingsFile)
__all__.append("EncodingsFile")
