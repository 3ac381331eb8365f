/* SPDX-License-Identifier: MIT */
#pragma once

#if !defined(PEFTQ_INSIDE) && !defined(PEFTQ_COMPILATION)
#error "Only <peftq/peftq.h> can be included directly."
#endif

#include "peftq-version-macros.h"
#include "peftq-module.h"

G_BEGIN_DECLS

#define PEFTQ_TYPE_SEQUENTIAL (peftq_sequential_get_type ())

PEFTQ_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PeftqSequential, peftq_sequential, PEFTQ, SEQUENTIAL, PeftqModule)

PEFTQ_AVAILABLE_IN_ALL
PeftqModule *peftq_sequential_new    (void) G_GNUC_WARN_UNUSED_RESULT;
PEFTQ_AVAILABLE_IN_ALL
void         peftq_sequential_append (PeftqSequential *self,
                                      const char      *name,
                                      PeftqModule     *module);

G_END_DECLS
