/* SPDX-License-Identifier: MIT */
/* Writes the sample ONNX models into a folder, for the tests that check them with the
 * onnx Python package and ONNX Runtime:
 *   gemm.onnx, gemm-external.onnx (+ gemm-external.onnx.data), attributes.onnx */
#include "config.h"

#include "onnx-samples.h"

#include <stdio.h>

static gboolean
write_sample (PeftqOnnxBuilder *builder,
              const char       *folder,
              const char       *name,
              guint64           threshold)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (folder, name, NULL);

  if (!peftq_onnx_builder_write (builder, path, threshold, &error))
    {
      fprintf (stderr, "%s\n", error->message);
      return FALSE;
    }
  return TRUE;
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(PeftqOnnxBuilder) gemm = NULL;
  g_autoptr(PeftqOnnxBuilder) attributes = NULL;

  if (argc != 2)
    {
      fprintf (stderr, "Usage: %s FOLDER\n", argv[0]);
      return 2;
    }

  gemm = onnx_sample_gemm_new ();
  attributes = onnx_sample_attributes_new ();
  if (!write_sample (gemm, argv[1], "gemm.onnx", PEFTQ_ONNX_EXTERNAL_DATA_THRESHOLD) ||
      !write_sample (gemm, argv[1], "gemm-external.onnx", 0) ||
      !write_sample (attributes, argv[1], "attributes.onnx", PEFTQ_ONNX_EXTERNAL_DATA_THRESHOLD))
    return 1;

  return 0;
}
