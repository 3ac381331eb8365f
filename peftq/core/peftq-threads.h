/* SPDX-License-Identifier: MIT */
#pragma once

#if !defined(PEFTQ_INSIDE) && !defined(PEFTQ_COMPILATION)
#error "Only <peftq/peftq.h> can be included directly."
#endif

#include <glib.h>

#include "peftq-version-macros.h"

G_BEGIN_DECLS

PEFTQ_AVAILABLE_IN_ALL
guint peftq_get_num_threads (void);
PEFTQ_AVAILABLE_IN_ALL
void  peftq_set_num_threads (guint n_threads);

G_END_DECLS
