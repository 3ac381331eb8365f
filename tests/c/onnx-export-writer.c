/* SPDX-License-Identifier: MIT */
/* Exports a model folder to ONNX with a chosen external data threshold, for the Python
 * tests that check external data with the onnx package and ONNX Runtime:
 *   onnx-export-writer MODEL_DIR OUT.onnx THRESHOLD_BYTES */
#include "config.h"

#include "peftq.h"
#include "peftq-onnx-export-private.h"

#include <stdio.h>
#include <stdlib.h>

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PeftqCausalLM) model = NULL;
  g_autoptr(PeftqTensor) ids = NULL;
  gint64 values[6] = { 1, 8, 15, 22, 29, 4 };
  gint64 shape[2] = { 1, 6 };
  g_autoptr(GBytes) bytes = g_bytes_new (values, sizeof values);

  if (argc != 4)
    {
      fprintf (stderr, "usage: %s MODEL_DIR OUT.onnx THRESHOLD_BYTES\n", argv[0]);
      return 2;
    }

  model = peftq_causal_lm_load (argv[1], &error);
  if (model != NULL)
    ids = peftq_tensor_new_from_bytes (PEFTQ_DTYPE_I64, shape, 2, bytes, &error);
  if (ids == NULL ||
      !peftq_onnx_export_module (PEFTQ_MODULE (model), ids, argv[2],
                                 g_ascii_strtoull (argv[3], NULL, 10), &error))
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }

  return 0;
}
