/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "peftq-json-private.h"
#include "peftq-error.h"
#include "peftq-file-private.h"

#include <string.h>

/* A recursive-descent check of the RFC 8259 grammar. Recursion depth is bounded by
 * max_depth, so hostile input cannot exhaust the stack here either. */
typedef struct
{
  const char *text;
  gsize length;
  gsize position;
  guint max_depth;
  GError **error;
} JsonScanner;

G_GNUC_PRINTF (2, 3)
static gboolean
scanner_fail (JsonScanner *scanner,
              const char  *format,
              ...)
{
  va_list args;
  g_autofree char *reason = NULL;

  va_start (args, format);
  reason = g_strdup_vprintf (format, args);
  va_end (args);

  g_set_error (scanner->error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
               "%s at byte %" G_GSIZE_FORMAT, reason, scanner->position);
  return FALSE;
}

static gboolean
scanner_at_end (JsonScanner *scanner)
{
  return scanner->position >= scanner->length;
}

static char
scanner_peek (JsonScanner *scanner)
{
  return scanner_at_end (scanner) ? '\0' : scanner->text[scanner->position];
}

static void
skip_whitespace (JsonScanner *scanner)
{
  while (!scanner_at_end (scanner))
    {
      char c = scanner->text[scanner->position];

      if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
        break;
      scanner->position++;
    }
}

static gboolean
fail_unexpected (JsonScanner *scanner,
                 const char  *expected)
{
  char c = scanner_peek (scanner);

  if (scanner_at_end (scanner))
    return scanner_fail (scanner, "unexpected end of the text, expected %s", expected);
  if (g_ascii_isprint (c))
    return scanner_fail (scanner, "unexpected character “%c”, expected %s", c, expected);

  return scanner_fail (scanner, "unexpected byte 0x%02x, expected %s", (guchar) c, expected);
}

/* Reads four hexadecimal digits after "\u". */
static gboolean
scan_hex4 (JsonScanner *scanner,
           gunichar    *out_value)
{
  gunichar value = 0;

  for (int i = 0; i < 4; i++)
    {
      int digit = g_ascii_xdigit_value (scanner_peek (scanner));

      if (digit < 0)
        return fail_unexpected (scanner, "four hexadecimal digits after “\\u”");

      value = value * 16 + (gunichar) digit;
      scanner->position++;
    }

  *out_value = value;
  return TRUE;
}

static gboolean
scan_unicode_escape (JsonScanner *scanner,
                     GString     *decoded)
{
  gunichar code_point;

  if (!scan_hex4 (scanner, &code_point))
    return FALSE;

  if (code_point == 0)
    return scanner_fail (scanner, "the escape “\\u0000” (a NUL character) is not allowed in a string");

  if (code_point >= 0xdc00 && code_point <= 0xdfff)
    return scanner_fail (scanner, "unpaired low surrogate \\u%04X", code_point);

  if (code_point >= 0xd800 && code_point <= 0xdbff)
    {
      gunichar low;

      if (scanner->position + 2 > scanner->length ||
          memcmp (scanner->text + scanner->position, "\\u", 2) != 0)
        return scanner_fail (scanner, "high surrogate \\u%04X is not followed by a low surrogate", code_point);

      scanner->position += 2;
      if (!scan_hex4 (scanner, &low))
        return FALSE;
      if (low < 0xdc00 || low > 0xdfff)
        return scanner_fail (scanner, "high surrogate \\u%04X is followed by \\u%04X, not by a low surrogate",
                             code_point, low);

      code_point = 0x10000 + ((code_point - 0xd800) << 10) + (low - 0xdc00);
    }

  if (decoded != NULL)
    g_string_append_unichar (decoded, code_point);

  return TRUE;
}

/* Scans a string whose opening quote is at the current position. @decoded, when not
 * NULL, receives its value with the escapes resolved. */
static gboolean
scan_string (JsonScanner *scanner,
             GString     *decoded)
{
  scanner->position++;

  for (;;)
    {
      char c;

      if (scanner_at_end (scanner))
        return scanner_fail (scanner, "unterminated string");

      c = scanner->text[scanner->position];
      if (c == '"')
        {
          scanner->position++;
          return TRUE;
        }

      if ((guchar) c < 0x20)
        return scanner_fail (scanner, "control character 0x%02x inside a string; JSON requires it to be escaped",
                             (guchar) c);

      if (c != '\\')
        {
          if (decoded != NULL)
            g_string_append_c (decoded, c);
          scanner->position++;
          continue;
        }

      scanner->position++;
      c = scanner_peek (scanner);
      scanner->position++;
      switch (c)
        {
        case '"':
        case '\\':
        case '/':
          if (decoded != NULL)
            g_string_append_c (decoded, c);
          break;
        case 'b':
          if (decoded != NULL)
            g_string_append_c (decoded, '\b');
          break;
        case 'f':
          if (decoded != NULL)
            g_string_append_c (decoded, '\f');
          break;
        case 'n':
          if (decoded != NULL)
            g_string_append_c (decoded, '\n');
          break;
        case 'r':
          if (decoded != NULL)
            g_string_append_c (decoded, '\r');
          break;
        case 't':
          if (decoded != NULL)
            g_string_append_c (decoded, '\t');
          break;
        case 'u':
          if (!scan_unicode_escape (scanner, decoded))
            return FALSE;
          break;
        default:
          scanner->position--;
          return fail_unexpected (scanner, "an escape character (one of \"\\/bfnrtu) after “\\”");
        }
    }
}

static gboolean
scan_digits (JsonScanner *scanner)
{
  if (!g_ascii_isdigit (scanner_peek (scanner)))
    return fail_unexpected (scanner, "a digit");

  while (g_ascii_isdigit (scanner_peek (scanner)))
    scanner->position++;

  return TRUE;
}

/* Scans a number. An integer (no fraction, no exponent) must fit in gint64, because
 * json-glib wraps larger ones around instead of reporting them. */
static gboolean
scan_number (JsonScanner *scanner)
{
  gsize start = scanner->position;
  gboolean negative = FALSE;
  gboolean is_integer = TRUE;
  guint64 magnitude = 0;
  guint64 limit;
  gboolean overflow = FALSE;

  if (scanner_peek (scanner) == '-')
    {
      negative = TRUE;
      scanner->position++;
    }
  limit = negative ? (guint64) G_MAXINT64 + 1 : (guint64) G_MAXINT64;

  if (scanner_peek (scanner) == '0')
    {
      scanner->position++;
      if (g_ascii_isdigit (scanner_peek (scanner)))
        return scanner_fail (scanner, "a number has a leading zero");
    }
  else
    {
      if (!g_ascii_isdigit (scanner_peek (scanner)))
        return fail_unexpected (scanner, "a digit");

      while (g_ascii_isdigit (scanner_peek (scanner)))
        {
          guint digit = (guint) (scanner_peek (scanner) - '0');

          if (magnitude > (limit - digit) / 10)
            overflow = TRUE;
          else
            magnitude = magnitude * 10 + digit;
          scanner->position++;
        }
    }

  if (scanner_peek (scanner) == '.')
    {
      is_integer = FALSE;
      scanner->position++;
      if (!scan_digits (scanner))
        return FALSE;
    }

  if (scanner_peek (scanner) == 'e' || scanner_peek (scanner) == 'E')
    {
      is_integer = FALSE;
      scanner->position++;
      if (scanner_peek (scanner) == '+' || scanner_peek (scanner) == '-')
        scanner->position++;
      if (!scan_digits (scanner))
        return FALSE;
    }

  if (is_integer && overflow)
    {
      gsize end = scanner->position;

      scanner->position = start;
      return scanner_fail (scanner, "the integer %.*s is outside the 64-bit range",
                           (int) MIN (end - start, 40), scanner->text + start);
    }

  return TRUE;
}

static gboolean
scan_literal (JsonScanner *scanner,
              const char  *word)
{
  gsize length = strlen (word);

  if (scanner->length - scanner->position < length ||
      memcmp (scanner->text + scanner->position, word, length) != 0)
    return fail_unexpected (scanner, "a JSON value");

  scanner->position += length;
  return TRUE;
}

static gboolean scan_value (JsonScanner *scanner,
                            guint        depth,
                            GPtrArray   *object_keys);

static gboolean
scan_array (JsonScanner *scanner,
            guint        depth)
{
  scanner->position++;
  skip_whitespace (scanner);
  if (scanner_peek (scanner) == ']')
    {
      scanner->position++;
      return TRUE;
    }

  for (;;)
    {
      if (!scan_value (scanner, depth, NULL))
        return FALSE;

      skip_whitespace (scanner);
      if (scanner_peek (scanner) == ']')
        {
          scanner->position++;
          return TRUE;
        }
      if (scanner_peek (scanner) != ',')
        return fail_unexpected (scanner, "“,” or “]”");

      scanner->position++;
      skip_whitespace (scanner);
    }
}

static gboolean
scan_object (JsonScanner *scanner,
             guint        depth,
             GPtrArray   *keys)
{
  scanner->position++;
  skip_whitespace (scanner);
  if (scanner_peek (scanner) == '}')
    {
      scanner->position++;
      return TRUE;
    }

  for (;;)
    {
      g_autoptr(GString) key = keys != NULL ? g_string_new (NULL) : NULL;

      if (scanner_peek (scanner) != '"')
        return fail_unexpected (scanner, "a member name in double quotes");
      if (!scan_string (scanner, key))
        return FALSE;
      if (keys != NULL)
        g_ptr_array_add (keys, g_string_free (g_steal_pointer (&key), FALSE));

      skip_whitespace (scanner);
      if (scanner_peek (scanner) != ':')
        return fail_unexpected (scanner, "“:” after a member name");
      scanner->position++;
      skip_whitespace (scanner);

      if (!scan_value (scanner, depth, NULL))
        return FALSE;

      skip_whitespace (scanner);
      if (scanner_peek (scanner) == '}')
        {
          scanner->position++;
          return TRUE;
        }
      if (scanner_peek (scanner) != ',')
        return fail_unexpected (scanner, "“,” or “}”");

      scanner->position++;
      skip_whitespace (scanner);
    }
}

/* Scans one value. @depth counts the arrays and objects around it. */
static gboolean
scan_value (JsonScanner *scanner,
            guint        depth,
            GPtrArray   *object_keys)
{
  char c = scanner_peek (scanner);

  if ((c == '{' || c == '[') && depth + 1 > scanner->max_depth)
    return scanner_fail (scanner, "arrays and objects nest deeper than %u levels", scanner->max_depth);

  switch (c)
    {
    case '{':
      return scan_object (scanner, depth + 1, object_keys);
    case '[':
      return scan_array (scanner, depth + 1);
    case '"':
      return scan_string (scanner, NULL);
    case 't':
      return scan_literal (scanner, "true");
    case 'f':
      return scan_literal (scanner, "false");
    case 'n':
      return scan_literal (scanner, "null");
    default:
      if (c == '-' || g_ascii_isdigit (c))
        return scan_number (scanner);
      return fail_unexpected (scanner, "a JSON value");
    }
}

gboolean
peftq_json_validate (const char  *text,
                     gsize        length,
                     guint        max_depth,
                     GPtrArray  **out_root_keys,
                     GError     **error)
{
  g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func (g_free);
  JsonScanner scanner = { text, length, 0, max_depth, error };

  g_return_val_if_fail (text != NULL || length == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  skip_whitespace (&scanner);
  if (!scan_value (&scanner, 0, keys))
    return FALSE;

  skip_whitespace (&scanner);
  if (!scanner_at_end (&scanner))
    return scanner_fail (&scanner, "unexpected content after the JSON value");

  if (out_root_keys != NULL)
    *out_root_keys = g_steal_pointer (&keys);

  return TRUE;
}

gboolean
peftq_json_parser_load_data (JsonParser  *parser,
                             const char  *data,
                             gssize       length,
                             GError     **error)
{
  gsize size;
  const char *end_of_valid;

  g_return_val_if_fail (JSON_IS_PARSER (parser), FALSE);
  g_return_val_if_fail (data != NULL || length == 0, FALSE);

  size = length < 0 ? strlen (data) : (gsize) length;

  if (!g_utf8_validate (data, (gssize) size, &end_of_valid))
    {
      g_set_error (error, PEFTQ_ERROR, PEFTQ_ERROR_INVALID_DATA,
                   "invalid UTF-8 at byte %" G_GSIZE_FORMAT, (gsize) (end_of_valid - data));
      return FALSE;
    }

  if (!peftq_json_validate (data, size, PEFTQ_JSON_MAX_DEPTH, NULL, error))
    return FALSE;

  return json_parser_load_from_data (parser, data, (gssize) size, error);
}

gboolean
peftq_json_parser_load_file (JsonParser  *parser,
                             const char  *path,
                             GError     **error)
{
  g_autoptr(GMappedFile) mapping = NULL;

  g_return_val_if_fail (JSON_IS_PARSER (parser), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  if (!peftq_check_regular_file (path, error))
    return FALSE;

  mapping = g_mapped_file_new (path, FALSE, error);
  if (mapping == NULL)
    return FALSE;

  return peftq_json_parser_load_data (parser,
                                      g_mapped_file_get_contents (mapping),
                                      (gssize) g_mapped_file_get_length (mapping),
                                      error);
}
