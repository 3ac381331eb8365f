/* SPDX-License-Identifier: MIT */
#pragma once

#if !defined(PEFTQ_INSIDE) && !defined(PEFTQ_COMPILATION)
#error "Only <peftq/peftq.h> can be included directly."
#endif

#include <glib.h>

#include "peftq-version-macros.h"

G_BEGIN_DECLS

PEFTQ_AVAILABLE_IN_ALL
gboolean peftq_demo_write_model       (const char  *dir,
                                       GError     **error);
PEFTQ_AVAILABLE_IN_ALL
gboolean peftq_demo_write_adapter     (const char  *dir,
                                       guint        index,
                                       GError     **error);
PEFTQ_AVAILABLE_IN_ALL
gboolean peftq_demo_write_calibration (const char  *path,
                                       GError     **error);
PEFTQ_AVAILABLE_IN_ALL
gboolean peftq_demo_write_all         (const char  *dir,
                                       GError     **error);

G_END_DECLS
