/* SPDX-License-Identifier: MIT */
#pragma once

#if !defined(PEFTQ_INSIDE) && !defined(PEFTQ_COMPILATION)
#error "Only <peftq/peftq.h> can be included directly."
#endif

#include "peftq-version-macros.h"
#include "peftq-module.h"

G_BEGIN_DECLS

#define PEFTQ_TYPE_ADD (peftq_add_get_type ())

PEFTQ_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PeftqAdd, peftq_add, PEFTQ, ADD, PeftqModule)

PEFTQ_AVAILABLE_IN_ALL
PeftqModule *peftq_add_new (void) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
