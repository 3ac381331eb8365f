/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Checks that @text is exactly one JSON value under the strict grammar of RFC 8259, before
 * json-glib parses it. json-glib 1.6 accepts comments, single-quoted strings, hexadecimal
 * and octal numbers and a second value after the first. It silently wraps integers
 * outside the 64-bit range (2^64 + 8 reads as 8), truncates strings at an escaped NUL, and
 * recurses once per nesting level, so deep nesting overflows the stack. This check rejects
 * all of these: integers outside gint64, `\u0000` and unpaired surrogate escapes in
 * strings, and nesting deeper than @max_depth arrays and objects.
 *
 * @text must be valid UTF-8. On success, @out_root_keys (optional) receives the decoded
 * member names of the root object in file order, duplicates included, or an empty array
 * when the root is not an object. Errors are PEFTQ_ERROR_INVALID_DATA with a message
 * that gives the byte offset, without a file name. */
gboolean peftq_json_validate (const char  *text,
                              gsize        length,
                              guint        max_depth,
                              GPtrArray  **out_root_keys,
                              GError     **error);

G_END_DECLS
