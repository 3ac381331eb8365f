/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Processes the items [begin, end) of a range; called once per contiguous chunk. */
typedef void (*PeftqRangeFunc) (gsize    begin,
                                gsize    end,
                                gpointer user_data);

/* Splits [0, n_items) into at most peftq_get_num_threads() contiguous chunks and runs
 * @func on each, the first chunk on the calling thread. Chunks have at least @min_chunk
 * items (one chunk when the range is shorter), and their sizes differ by at most one.
 * Returns when every chunk is done. Chunks run concurrently, so @func must only write to
 * the items of its own range. */
void peftq_parallel_for (gsize          n_items,
                         gsize          min_chunk,
                         PeftqRangeFunc func,
                         gpointer       user_data);

G_END_DECLS
