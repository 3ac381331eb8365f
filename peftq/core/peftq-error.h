/* SPDX-License-Identifier: MIT */
#pragma once

#if !defined(PEFTQ_INSIDE) && !defined(PEFTQ_COMPILATION)
#error "Only <peftq/peftq.h> can be included directly."
#endif

#include <glib.h>

#include "peftq-version-macros.h"

G_BEGIN_DECLS

/**
 * PEFTQ_ERROR:
 *
 * The error domain of peftq. Errors in this domain are from the [error@Peftq.Error]
 * enumeration.
 */
#define PEFTQ_ERROR (peftq_error_quark ())

/**
 * PeftqError:
 * @PEFTQ_ERROR_FAILED: a failure that no other code describes
 * @PEFTQ_ERROR_INVALID_DATA: a file or value is malformed or inconsistent
 * @PEFTQ_ERROR_INVALID_ARGUMENT: an argument is outside its valid range
 * @PEFTQ_ERROR_UNSUPPORTED: the input is valid but peftq does not implement it
 * @PEFTQ_ERROR_NOT_FOUND: a named tensor, module, key or file does not exist
 * @PEFTQ_ERROR_SHAPE_MISMATCH: tensor shapes or element counts disagree
 * @PEFTQ_ERROR_DTYPE_MISMATCH: a tensor has a dtype that the operation does not accept
 * @PEFTQ_ERROR_NOT_INITIALIZED: an object is used before it was set up, such as a
 *   quantizer without an encoding
 * @PEFTQ_ERROR_IO: reading or writing a file failed
 * @PEFTQ_ERROR_CANCELLED: the operation was cancelled
 *
 * Error codes in the `PEFTQ_ERROR` domain.
 *
 * Since: 1.0
 */
typedef enum
{
  PEFTQ_ERROR_FAILED,
  PEFTQ_ERROR_INVALID_DATA,
  PEFTQ_ERROR_INVALID_ARGUMENT,
  PEFTQ_ERROR_UNSUPPORTED,
  PEFTQ_ERROR_NOT_FOUND,
  PEFTQ_ERROR_SHAPE_MISMATCH,
  PEFTQ_ERROR_DTYPE_MISMATCH,
  PEFTQ_ERROR_NOT_INITIALIZED,
  PEFTQ_ERROR_IO,
  PEFTQ_ERROR_CANCELLED,
} PeftqError;

PEFTQ_AVAILABLE_IN_ALL
GQuark peftq_error_quark (void);

G_END_DECLS
