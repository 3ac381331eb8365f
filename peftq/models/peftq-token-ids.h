/* SPDX-License-Identifier: MIT */
#pragma once

#if !defined(PEFTQ_INSIDE) && !defined(PEFTQ_COMPILATION)
#error "Only <peftq/peftq.h> can be included directly."
#endif

#include "peftq-version-macros.h"
#include "peftq-tensor.h"

G_BEGIN_DECLS

PEFTQ_AVAILABLE_IN_ALL
PeftqTensor *peftq_load_token_ids (const char  *path,
                                   GError     **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
