/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-conv2d.h"
#include "peftq-module-private.h"
#include "peftq-gemm-private.h"

#include <string.h>

/**
 * PeftqConv2d:
 *
 * A 2-D convolution, like PyTorch's `nn.Conv2d` with zero padding and no dilation,
 * exported as the ONNX operator `Conv`.
 *
 * The input has the shape [batch, in_channels, height, width]. The parameter `weight`
 * has the shape [out_channels, in_channels / groups, kernel_height, kernel_width] and the
 * optional `bias` the shape [out_channels].
 *
 * Since: 1.0
 */
struct _PeftqConv2d
{
  PeftqModule parent_instance;

  guint in_channels;
  guint out_channels;
  guint kernel[2];
  guint stride[2];
  guint padding[2];
  guint groups;
  gboolean has_bias;
};

G_DEFINE_FINAL_TYPE (PeftqConv2d, peftq_conv2d, PEFTQ_TYPE_MODULE)

/* Copies the receptive fields of one group of channels into the columns of a
 * [channels · kh · kw, out_h · out_w] matrix, with zeros for the padding. */
static void
im2col (const float *input,
        gsize        channels,
        gsize        height,
        gsize        width,
        const guint *kernel,
        const guint *stride,
        const guint *padding,
        gsize        out_h,
        gsize        out_w,
        float       *columns)
{
  for (gsize c = 0; c < channels; c++)
    for (gsize ky = 0; ky < kernel[0]; ky++)
      for (gsize kx = 0; kx < kernel[1]; kx++)
        {
          float *row = columns + ((c * kernel[0] + ky) * kernel[1] + kx) * out_h * out_w;

          for (gsize oy = 0; oy < out_h; oy++)
            {
              gint64 y = (gint64) (oy * stride[0] + ky) - padding[0];

              for (gsize ox = 0; ox < out_w; ox++)
                {
                  gint64 x = (gint64) (ox * stride[1] + kx) - padding[1];

                  row[oy * out_w + ox] = (y >= 0 && y < (gint64) height && x >= 0 && x < (gint64) width)
                    ? input[(c * height + (gsize) y) * width + (gsize) x]
                    : 0.0f;
                }
            }
        }
}

static PeftqTensor *
peftq_conv2d_forward (PeftqModule          *module,
                      PeftqForwardContext  *context,
                      PeftqTensor         **inputs,
                      guint                 n_inputs,
                      GError              **error)
{
  PeftqConv2d *self = PEFTQ_CONV2D (module);
  g_autoptr(PeftqTensor) input = NULL;
  g_autoptr(PeftqTensor) weight = NULL;
  g_autoptr(PeftqTensor) bias = NULL;
  g_autofree float *columns = NULL;
  PeftqTensor *output;
  const gint64 *shape;
  guint rank;
  gsize batch, height, width, out_h, out_w, group_in, group_out, patch;
  gint64 out_shape[4];
  const float *x;
  const float *w;
  float *out;

  if (!peftq_module_check_n_inputs (module, n_inputs, 1, error))
    return NULL;

  input = peftq_tensor_ensure_f32 (inputs[0], "The input of a Conv2d module", error);
  if (input == NULL)
    return NULL;

  shape = peftq_tensor_get_shape (input, &rank);
  if (rank != 4 || shape[1] != self->in_channels ||
      shape[2] + 2 * (gint64) self->padding[0] < self->kernel[0] ||
      shape[3] + 2 * (gint64) self->padding[1] < self->kernel[1])
    {
      g_autofree char *expected = g_strdup_printf ("[batch, %u, height ≥ %d, width ≥ %d]",
                                                   self->in_channels,
                                                   (int) self->kernel[0] - 2 * (int) self->padding[0],
                                                   (int) self->kernel[1] - 2 * (int) self->padding[1]);

      peftq_module_set_shape_error (module, error, "an input", input, expected);
      return NULL;
    }

  weight = peftq_module_get_effective_parameter (module, "weight", error);
  if (weight == NULL)
    return NULL;
  group_in = self->in_channels / self->groups;
  group_out = self->out_channels / self->groups;
  patch = group_in * self->kernel[0] * self->kernel[1];
  if (peftq_tensor_get_n_elements (weight) != (guint64) self->out_channels * patch ||
      peftq_tensor_get_rank (weight) != 4)
    {
      g_autofree char *expected = g_strdup_printf ("[%u, %zu, %u, %u]", self->out_channels, group_in,
                                                   self->kernel[0], self->kernel[1]);

      peftq_module_set_shape_error (module, error, "a weight", weight, expected);
      return NULL;
    }

  if (self->has_bias)
    {
      bias = peftq_module_get_effective_parameter (module, "bias", error);
      if (bias == NULL)
        return NULL;
      if (peftq_tensor_get_n_elements (bias) != self->out_channels)
        {
          g_autofree char *expected = g_strdup_printf ("[%u]", self->out_channels);

          peftq_module_set_shape_error (module, error, "a bias", bias, expected);
          return NULL;
        }
    }

  batch = (gsize) shape[0];
  height = (gsize) shape[2];
  width = (gsize) shape[3];
  out_h = (height + 2 * self->padding[0] - self->kernel[0]) / self->stride[0] + 1;
  out_w = (width + 2 * self->padding[1] - self->kernel[1]) / self->stride[1] + 1;
  out_shape[0] = (gint64) batch;
  out_shape[1] = self->out_channels;
  out_shape[2] = (gint64) out_h;
  out_shape[3] = (gint64) out_w;
  output = peftq_tensor_new_output (out_shape, 4, &out);

  x = peftq_tensor_peek_f32 (input);
  w = peftq_tensor_peek_f32 (weight);
  columns = g_new (float, MAX (patch * out_h * out_w, 1));

  for (gsize n = 0; n < batch; n++)
    for (gsize g = 0; g < self->groups; g++)
      {
        const float *x_group = x + (n * self->in_channels + g * group_in) * height * width;
        float *out_group = out + (n * self->out_channels + g * group_out) * out_h * out_w;

        im2col (x_group, group_in, height, width, self->kernel, self->stride, self->padding,
                out_h, out_w, columns);
        peftq_gemm (FALSE, group_out, out_h * out_w, patch, w + g * group_out * patch, patch,
                    columns, out_h * out_w, 0.0f, out_group, out_h * out_w);
      }

  if (bias != NULL)
    {
      const float *b = peftq_tensor_peek_f32 (bias);

      for (gsize n = 0; n < batch; n++)
        for (gsize o = 0; o < self->out_channels; o++)
          {
            float *plane = out + (n * self->out_channels + o) * out_h * out_w;

            for (gsize i = 0; i < out_h * out_w; i++)
              plane[i] += b[o];
          }
    }

  return output;
}

static const char *
peftq_conv2d_get_op_type (PeftqModule *module)
{
  return "Conv";
}

static const char *
peftq_conv2d_get_type_name (PeftqModule *module)
{
  return "Conv2d";
}

static void
peftq_conv2d_class_init (PeftqConv2dClass *klass)
{
  PeftqModuleClass *module_class = PEFTQ_MODULE_CLASS (klass);

  module_class->forward = peftq_conv2d_forward;
  module_class->get_op_type = peftq_conv2d_get_op_type;
  module_class->get_type_name = peftq_conv2d_get_type_name;
}

static void
peftq_conv2d_init (PeftqConv2d *self)
{
}

/**
 * peftq_conv2d_new_full:
 * @in_channels: the number of input channels, a multiple of @groups
 * @out_channels: the number of output channels, a multiple of @groups
 * @kernel_height: the kernel height
 * @kernel_width: the kernel width
 * @stride_height: the vertical stride, at least 1
 * @stride_width: the horizontal stride, at least 1
 * @padding_height: the zero padding above and below
 * @padding_width: the zero padding left and right
 * @groups: the number of channel groups, at least 1
 * @bias: whether the module has the parameter `bias`
 *
 * Creates a 2-D convolution with zero-filled parameters.
 *
 * Returns: (transfer full): a new module
 *
 * Since: 1.0
 */
PeftqModule *
peftq_conv2d_new_full (guint    in_channels,
                       guint    out_channels,
                       guint    kernel_height,
                       guint    kernel_width,
                       guint    stride_height,
                       guint    stride_width,
                       guint    padding_height,
                       guint    padding_width,
                       guint    groups,
                       gboolean bias)
{
  PeftqConv2d *self;
  gint64 weight_shape[4];
  g_autoptr(PeftqTensor) weight = NULL;

  g_return_val_if_fail (groups >= 1, NULL);
  g_return_val_if_fail (in_channels % groups == 0 && out_channels % groups == 0, NULL);
  g_return_val_if_fail (kernel_height >= 1 && kernel_width >= 1, NULL);
  g_return_val_if_fail (stride_height >= 1 && stride_width >= 1, NULL);

  self = g_object_new (PEFTQ_TYPE_CONV2D, NULL);
  self->in_channels = in_channels;
  self->out_channels = out_channels;
  self->kernel[0] = kernel_height;
  self->kernel[1] = kernel_width;
  self->stride[0] = stride_height;
  self->stride[1] = stride_width;
  self->padding[0] = padding_height;
  self->padding[1] = padding_width;
  self->groups = groups;
  self->has_bias = bias;

  weight_shape[0] = out_channels;
  weight_shape[1] = in_channels / groups;
  weight_shape[2] = kernel_height;
  weight_shape[3] = kernel_width;
  weight = peftq_tensor_new_f32 (weight_shape, 4);
  peftq_module_register_parameter (PEFTQ_MODULE (self), "weight", weight);
  if (bias)
    {
      gint64 bias_shape[1] = { out_channels };
      g_autoptr(PeftqTensor) zeros = peftq_tensor_new_f32 (bias_shape, 1);

      peftq_module_register_parameter (PEFTQ_MODULE (self), "bias", zeros);
    }

  return PEFTQ_MODULE (self);
}

/**
 * peftq_conv2d_new:
 * @in_channels: the number of input channels, a multiple of @groups
 * @out_channels: the number of output channels, a multiple of @groups
 * @kernel_size: the kernel height and width
 * @stride: the stride in both directions, at least 1
 * @padding: the zero padding on every side
 * @groups: the number of channel groups, at least 1
 * @bias: whether the module has the parameter `bias`
 *
 * Creates a 2-D convolution with a square kernel and zero-filled parameters.
 *
 * Returns: (transfer full): a new module
 *
 * Since: 1.0
 */
PeftqModule *
peftq_conv2d_new (guint    in_channels,
                  guint    out_channels,
                  guint    kernel_size,
                  guint    stride,
                  guint    padding,
                  guint    groups,
                  gboolean bias)
{
  return peftq_conv2d_new_full (in_channels, out_channels, kernel_size, kernel_size,
                                stride, stride, padding, padding, groups, bias);
}

/**
 * peftq_conv2d_get_stride:
 * @self: a Conv2d module
 * @height: (out) (optional): return location for the vertical stride
 * @width: (out) (optional): return location for the horizontal stride
 *
 * Gets the stride of the convolution.
 *
 * Since: 1.0
 */
void
peftq_conv2d_get_stride (PeftqConv2d *self,
                         guint       *height,
                         guint       *width)
{
  g_return_if_fail (PEFTQ_IS_CONV2D (self));

  if (height != NULL)
    *height = self->stride[0];
  if (width != NULL)
    *width = self->stride[1];
}

/**
 * peftq_conv2d_get_padding:
 * @self: a Conv2d module
 * @height: (out) (optional): return location for the zero padding above and below
 * @width: (out) (optional): return location for the zero padding left and right
 *
 * Gets the zero padding that the convolution adds on each side of its input.
 *
 * Since: 1.0
 */
void
peftq_conv2d_get_padding (PeftqConv2d *self,
                          guint       *height,
                          guint       *width)
{
  g_return_if_fail (PEFTQ_IS_CONV2D (self));

  if (height != NULL)
    *height = self->padding[0];
  if (width != NULL)
    *width = self->padding[1];
}

/**
 * peftq_conv2d_get_groups:
 * @self: a Conv2d module
 *
 * Gets the number of groups that the channels are split into.
 *
 * Returns: the group count
 *
 * Since: 1.0
 */
guint
peftq_conv2d_get_groups (PeftqConv2d *self)
{
  g_return_val_if_fail (PEFTQ_IS_CONV2D (self), 1);

  return self->groups;
}
