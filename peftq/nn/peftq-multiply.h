/* SPDX-License-Identifier: MIT */
#pragma once

#if !defined(PEFTQ_INSIDE) && !defined(PEFTQ_COMPILATION)
#error "Only <peftq/peftq.h> can be included directly."
#endif

#include "peftq-version-macros.h"
#include "peftq-module.h"

G_BEGIN_DECLS

#define PEFTQ_TYPE_MULTIPLY (peftq_multiply_get_type ())

PEFTQ_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PeftqMultiply, peftq_multiply, PEFTQ, MULTIPLY, PeftqModule)

PEFTQ_AVAILABLE_IN_ALL
PeftqModule *peftq_multiply_new (void) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
