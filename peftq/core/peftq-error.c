/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-error.h"

/**
 * peftq_error_quark:
 *
 * Returns the quark of the peftq error domain.
 *
 * Returns: the `PEFTQ_ERROR` quark
 *
 * Since: 1.0
 */
G_DEFINE_QUARK (peftq-error-quark, peftq_error)
