/* SPDX-License-Identifier: MIT */
#pragma once

#if !defined(PEFTQ_INSIDE) && !defined(PEFTQ_COMPILATION)
#error "Only <peftq/peftq.h> can be included directly."
#endif

#include <glib.h>

#include "peftq-version.h"

/* The library is built with hidden visibility, so its own build marks the public
 * symbols for export; programs that use the library see a plain extern. */
#ifndef _PEFTQ_EXTERN
# if defined(PEFTQ_COMPILATION) && defined(__GNUC__)
#  define _PEFTQ_EXTERN __attribute__((visibility ("default"))) extern
# else
#  define _PEFTQ_EXTERN extern
# endif
#endif

#define PEFTQ_AVAILABLE_IN_ALL _PEFTQ_EXTERN
