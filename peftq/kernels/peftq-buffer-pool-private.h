/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A cache of large, 64-byte aligned buffers for tensors that the forward pass creates
 * and drops again. The C library gives such memory back to the kernel between two
 * forward passes, and touching it again costs a page fault and a page clear per 4 KiB.
 * That took about a sixth of a small model's forward pass (perf, stories260K). The
 * cache keeps freed buffers of 64 KiB and more, up to 256 MiB in total, for the next
 * request of the same rounded size. The contents of a new buffer are undefined. */
gpointer peftq_buffer_pool_alloc (gsize    n_bytes);
/* Returns a buffer of peftq_buffer_pool_alloc() to the cache, or frees it. */
void     peftq_buffer_pool_free  (gpointer buffer);

G_END_DECLS
