/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-buffer-pool-private.h"

/* The header before each buffer keeps its size class; 64 bytes keep the data aligned
 * for any vector unit. */
#define HEADER_SIZE 64
#define ALIGNMENT 64
#define MIN_POOLED_BYTES (64 * 1024)
#define MAX_CACHED_BYTES ((gsize) 256 * 1024 * 1024)

static GMutex pool_mutex;
static GHashTable *free_lists;  /* size class -> GSList of buffer bases */
static gsize cached_bytes;

static gsize
size_class (gsize n_bytes)
{
  /* Page multiples: tensors of one shape always land in the same class. */
  return (n_bytes + 4095) & ~(gsize) 4095;
}

gpointer
peftq_buffer_pool_alloc (gsize n_bytes)
{
  gsize klass = size_class (MAX (n_bytes, 1));
  guint8 *base = NULL;

  if (klass >= MIN_POOLED_BYTES)
    {
      g_mutex_lock (&pool_mutex);
      if (free_lists != NULL)
        {
          GSList *list = g_hash_table_lookup (free_lists, GSIZE_TO_POINTER (klass));

          if (list != NULL)
            {
              base = list->data;
              g_hash_table_insert (free_lists, GSIZE_TO_POINTER (klass), g_slist_delete_link (list, list));
              cached_bytes -= klass;
            }
        }
      g_mutex_unlock (&pool_mutex);
    }

  if (base == NULL)
    base = g_aligned_alloc (1, klass + HEADER_SIZE, ALIGNMENT);

  *(gsize *) base = klass;
  return base + HEADER_SIZE;
}

void
peftq_buffer_pool_free (gpointer buffer)
{
  guint8 *base;
  gsize klass;

  if (buffer == NULL)
    return;

  base = (guint8 *) buffer - HEADER_SIZE;
  klass = *(gsize *) base;

  if (klass >= MIN_POOLED_BYTES)
    {
      g_mutex_lock (&pool_mutex);
      if (cached_bytes + klass <= MAX_CACHED_BYTES)
        {
          GSList *list;

          if (free_lists == NULL)
            free_lists = g_hash_table_new (NULL, NULL);
          list = g_hash_table_lookup (free_lists, GSIZE_TO_POINTER (klass));
          g_hash_table_insert (free_lists, GSIZE_TO_POINTER (klass), g_slist_prepend (list, base));
          cached_bytes += klass;
          base = NULL;
        }
      g_mutex_unlock (&pool_mutex);
    }

  if (base != NULL)
    g_aligned_free (base);
}
