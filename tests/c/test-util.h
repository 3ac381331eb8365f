/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Returns the path of @relative inside the shared test data folder (PEFTQ_TESTDATA), or
 * marks the current test as skipped and returns NULL when that file is missing. */
char *peftq_test_get_data_path (const char *relative);

/* Creates a fresh temporary folder for one test; remove it with peftq_test_remove_dir. */
char *peftq_test_make_temp_dir (void);
void  peftq_test_remove_dir    (const char *path);

G_END_DECLS
