/* tap.h: the few TAP helpers kiln's C unit tests need (prove reads them).
 *
 *   plan (3); ok (x == 1, "x is one"); is_str (s, "a", "s is a");
 *   return done_testing ();
 */
#ifndef KILN_TAP_H
#define KILN_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed, tap_planned;

static inline void
plan (int n)
{
  tap_planned = n;
  printf ("1..%d\n", n);
}

#define ok(cond, ...) tap_ok_ (!!(cond), __FILE__, __LINE__, __VA_ARGS__)

static inline int __attribute__ ((format (printf, 4, 5)))
tap_ok_ (int pass, const char *file, int line, const char *fmt, ...)
{
  va_list ap;

  tap_n++;
  printf ("%s %d - ", pass ? "ok" : "not ok", tap_n);
  va_start (ap, fmt);
  vprintf (fmt, ap);
  va_end (ap);
  printf ("\n");
  if (!pass) {
    tap_failed++;
    printf ("#   failed at %s:%d\n", file, line);
  }
  fflush (stdout);
  return pass;
}

#define is_str(got, want, ...) do {                                        \
    const char *g_ = (got), *w_ = (want);                                  \
    if (!ok (g_ && w_ ? strcmp (g_, w_) == 0 : g_ == w_, __VA_ARGS__))     \
      printf ("#   got: '%s'\n#   expected: '%s'\n", g_ ? g_ : "(null)",   \
              w_ ? w_ : "(null)");                                         \
  } while (0)

#define is_int(got, want, ...) do {                                        \
    long long g_ = (got), w_ = (want);                                     \
    if (!ok (g_ == w_, __VA_ARGS__))                                       \
      printf ("#   got: %lld\n#   expected: %lld\n", g_, w_);              \
  } while (0)

static inline void
diag (const char *msg)
{
  printf ("# %s\n", msg);
}

static inline int
done_testing (void)
{
  if (tap_planned == 0)
    printf ("1..%d\n", tap_n);
  else if (tap_planned != tap_n)
    printf ("# planned %d tests but ran %d\n", tap_planned, tap_n);
  return tap_failed || (tap_planned && tap_planned != tap_n) ? 1 : 0;
}

#endif
