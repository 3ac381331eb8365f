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

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* The nesting limit for JSON files other than safetensors headers. peftq's formats nest
 * fewer than ten levels, so deeper input is malformed or hostile. */
#define PEFTQ_JSON_MAX_DEPTH 64

/* Loads untrusted JSON text into @parser after checking it with peftq_json_validate,
 * which keeps json-glib from recursing into the stack limit. Same contract as
 * json_parser_load_from_data (@length -1 for NUL-terminated text); invalid UTF-8 and
 * rejected JSON give PEFTQ_ERROR_INVALID_DATA. */
gboolean peftq_json_parser_load_data (JsonParser  *parser,
                                      const char  *data,
                                      gssize       length,
                                      GError     **error);

/* Maps a file and loads it as peftq_json_parser_load_data does. A path that is not a
 * regular file gives PEFTQ_ERROR_IO, and a file that cannot be read gives the GFileError
 * of g_mapped_file_new (G_FILE_ERROR_NOENT when missing). */
gboolean peftq_json_parser_load_file (JsonParser  *parser,
                                      const char  *path,
                                      GError     **error);

G_END_DECLS
