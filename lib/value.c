/* value.c: sizes and names (see value.h). */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "value.h"

int
kiln_parse_size (const char *s, uint64_t *bytes, GError **err)
{
  const char *p = s;
  char *end = NULL;
  double v, mult = 1;

  if (s == NULL || !g_ascii_isdigit (*p))
    goto bad;
  errno = 0;
  v = g_ascii_strtod (p, &end);
  if (errno != 0 || end == p || !isfinite (v) || v <= 0)
    goto bad;
  switch (g_ascii_toupper (*end)) {
  case '\0': break;
  case 'K': mult = 0x1p10; end++; break;
  case 'M': mult = 0x1p20; end++; break;
  case 'G': mult = 0x1p30; end++; break;
  case 'T': mult = 0x1p40; end++; break;
  default: goto bad;
  }
  if (mult > 1) {
    if (g_ascii_strcasecmp (end, "iB") == 0)
      end += 2;
    else if (g_ascii_strcasecmp (end, "B") == 0)
      end += 1;
  }
  if (*end != '\0')
    goto bad;
  if (mult == 1 && v != floor (v))
    goto bad;                   /* a fraction of a byte */
  v = ceil (v * mult);
  if (v >= 0x1p63 || v < 1)
    goto bad;
  *bytes = (uint64_t) v;
  return 0;

bad:
  g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE,
               "'%s' is not a size: write a number of bytes, or one with a unit K, M, G "
               "or T (e.g. 10G, 512M, 1.5T)", s ? s : "");
  return -1;
}

int
kiln_parse_disk_size (const char *s, const char *what, uint64_t *bytes, GError **err)
{
  uint64_t b;

  if (kiln_parse_size (s, &b, err) == -1) {
    g_prefix_error (err, "%s: ", what);
    return -1;
  }
  if (b < (UINT64_C (1) << 20)) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE,
                 "%s: %s is %" G_GUINT64_FORMAT " bytes, too small for a disk (a bare "
                 "number is bytes: write %sG for GiB)", what, s, b, s);
    return -1;
  }
  *bytes = (b + 511) / 512 * 512;
  return 0;
}

bool
kiln_name_valid (const char *name, const char *what, GError **err)
{
  size_t len = name ? strlen (name) : 0;

  if (len == 0 || len > 64) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE, "%s: a name has 1 to 64 characters%s%s%s",
                 what, len ? " ('" : "", len ? name : "", len ? "' is too long)" : "");
    return false;
  }
  if (!g_ascii_isalnum (name[0])) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE,
                 "%s: '%s' must start with a letter or a digit", what, name);
    return false;
  }
  for (const char *p = name; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_' && *p != '.') {
      g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE,
                   "%s: '%s' may hold only letters, digits, '-', '_' and '.'", what, name);
      return false;
    }
  return true;
}

bool
kiln_user_name_valid (const char *u)
{
  if (u == NULL || u[0] == '\0' || u[0] == '-' || strlen (u) > 32)
    return false;
  for (const char *p = u; *p; p++)
    if (!g_ascii_isalnum (*p) && strchr ("._-$", *p) == NULL)
      return false;
  return true;
}

bool
kiln_hostname_valid (const char *h)
{
  g_auto (GStrv) labels = NULL;

  if (h == NULL || h[0] == '\0' || strlen (h) > 253)
    return false;
  labels = g_strsplit (h, ".", -1);
  for (char **l = labels; *l; l++) {
    size_t n = strlen (*l);

    if (n == 0 || n > 63 || (*l)[0] == '-' || (*l)[n - 1] == '-')
      return false;
    for (const char *p = *l; *p; p++)
      if (!g_ascii_isalnum (*p) && *p != '-')
        return false;
  }
  return true;
}

/* "24 h", "5 m", "90 s": the largest unit that divides SECONDS. */
static char *
duration_text (unsigned seconds)
{
  if (seconds >= 3600 && seconds % 3600 == 0)
    return g_strdup_printf ("%u h", seconds / 3600);
  if (seconds >= 60 && seconds % 60 == 0)
    return g_strdup_printf ("%u m", seconds / 60);
  return g_strdup_printf ("%u s", seconds);
}

int
kiln_parse_duration (const char *s, const char *what, unsigned min, unsigned max,
                     unsigned *seconds, GError **err)
{
  g_autofree char *num = NULL, *lo = duration_text (min), *hi = duration_text (max);
  guint64 v = 0, unit = 1;
  size_t len = s ? strlen (s) : 0;

  if (len > 0 && strchr ("smh", s[len - 1])) {
    unit = s[len - 1] == 'h' ? 3600 : s[len - 1] == 'm' ? 60 : 1;
    len--;
  }
  num = g_strndup (s ? s : "", len);
  if (len == 0 || !g_ascii_string_to_unsigned (num, 10, 0, G_MAXUINT32, &v, NULL) ||
      v * unit < min || v * unit > max) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE,
                 "%s: give a time from %s to %s (SECONDS, or a number with s, m or h, "
                 "like 90, 90s, 5m)", what, lo, hi);
    return -1;
  }
  *seconds = (unsigned) (v * unit);
  return 0;
}
