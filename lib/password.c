/* password.c: password selectors and libxcrypt hashing.  The clear text
 * lives only in memory owned here and is wiped when freed; it is never
 * put in an argv, a log or an error message. */
#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <openssl/rand.h>

#include "password.h"
#include "secret.h"

void
kiln_secret_free (char *s)
{
  if (s == NULL)
    return;
  explicit_bzero (s, strlen (s));
  g_free (s);
}

void
kiln_password_free (struct kiln_password *p)
{
  if (p == NULL)
    return;
  kiln_secret_free (p->secret);
  g_free (p->file);
  g_free (p);
}

bool
kiln_password_selector_parse (const char *sel, struct kiln_password_selector *out,
                              GError **err)
{
  *out = (struct kiln_password_selector) { 0 };
  /* locked:SELECTOR (or lock:): set it, then lock the account, as
   * virt-customize does. */
  if (g_str_has_prefix (sel, "locked:") || g_str_has_prefix (sel, "lock:")) {
    const char *rest = strchr (sel, ':') + 1;

    if (*rest == '\0') {
      g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE, "locked: needs a selector after the colon");
      return false;
    }
    if (!kiln_password_selector_parse (rest, out, err))
      return false;
    out->locked = true;
    return true;
  }
  if (g_str_has_prefix (sel, "password:")) {
    if (sel[9] == '\0') {
      g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE, "password: needs a password after the colon");
      return false;
    }
    out->kind = KILN_PASSWORD_PLAIN;
    out->secret = sel + 9;
  } else if (g_str_has_prefix (sel, "file:")) {
    if (sel[5] == '\0') {
      g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE, "file: needs a file name after the colon");
      return false;
    }
    out->kind = KILN_PASSWORD_PLAIN;
    out->file = sel + 5;
  } else if (strcmp (sel, "random") == 0) {
    out->kind = KILN_PASSWORD_RANDOM;
  } else if (strcmp (sel, "disabled") == 0) {
    out->kind = KILN_PASSWORD_DISABLED;
  } else if (strcmp (sel, "locked") == 0) {
    out->kind = KILN_PASSWORD_LOCKED;
  } else {
    /* Only the selector's name: the rest may be a password. */
    const char *colon = strchr (sel, ':');
    g_autofree char *name = colon ? g_strndup (sel, (gsize) (colon - sel)) : NULL;

    g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE,
                 "unknown password selector '%s' (use password:P, file:F, random, disabled, locked "
                 "or locked:SELECTOR)",
                 name ? name : "(no colon)");
    return false;
  }
  return true;
}

char *
kiln_password_selector_shown (const char *sel)
{
  const char *p = sel;

  /* The secret may sit behind any number of locked: prefixes. */
  while (g_str_has_prefix (p, "locked:") || g_str_has_prefix (p, "lock:"))
    p = strchr (p, ':') + 1;
  if (g_str_has_prefix (p, "password:"))
    return g_strdup_printf ("%.*spassword:<redacted>", (int) (p - sel), sel);
  return g_strdup (sel);
}

struct kiln_password *
kiln_password_parse (const char *sel, GError **err)
{
  g_autoptr (kiln_password) p = g_new0 (struct kiln_password, 1);
  struct kiln_password_selector s;

  if (!kiln_password_selector_parse (sel, &s, err))
    return NULL;
  p->kind = s.kind;
  p->locked = s.locked;
  if (s.secret)
    p->secret = g_strdup (s.secret);
  if (s.file) {
    p->file = g_strdup (s.file);
    /* One bounded line of a regular file: not /dev/zero, not a FIFO. */
    p->secret = kiln_secret_read_line ("password file", p->file, &p->file_exposed, err);
    if (p->secret == NULL)
      return NULL;
  }
  return g_steal_pointer (&p);
}

bool
kiln_password_parse_crypto (const char *s, enum kiln_password_crypto *out)
{
  if (g_strcmp0 (s, "yescrypt") == 0)
    *out = KILN_CRYPTO_YESCRYPT;
  else if (g_strcmp0 (s, "sha512") == 0)
    *out = KILN_CRYPTO_SHA512;
  else
    return false;
  return true;
}

enum kiln_password_crypto
kiln_password_crypto_for (const char *distro, int major)
{
  /* The first releases whose PAM (libxcrypt) accepts $y$ hashes. */
  static const struct { const char *distro; int major; } yes[] = {
    { "debian", 11 }, { "ubuntu", 20 }, { "fedora", 30 },
    { "rhel", 9 }, { "centos", 9 }, { "rocky", 9 }, { "almalinux", 9 },
    { "oraclelinux", 9 }, { "archlinux", 0 }, { "opensuse", 15 },
  };

  for (size_t i = 0; i < G_N_ELEMENTS (yes); i++)
    if (g_strcmp0 (distro, yes[i].distro) == 0)
      return major >= yes[i].major ? KILN_CRYPTO_YESCRYPT : KILN_CRYPTO_SHA512;
  return KILN_CRYPTO_SHA512;
}

char *
kiln_password_hash (const char *clear, enum kiln_password_crypto crypto, GError **err)
{
  unsigned char rbytes[32];
  g_autofree char *setting = NULL;
  struct crypt_data *cd;
  const char *h;
  char *r;

  if (RAND_bytes (rbytes, sizeof rbytes) != 1) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "no random bytes from OpenSSL for a salt");
    return NULL;
  }
  errno = 0;
  setting = crypt_gensalt_ra (crypto == KILN_CRYPTO_SHA512 ? "$6$" : "$y$", 0,
                              (const char *) rbytes, sizeof rbytes);
  explicit_bzero (rbytes, sizeof rbytes);
  if (setting == NULL) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "crypt_gensalt failed: %s",
                 g_strerror (errno));
    return NULL;
  }
  cd = g_new0 (struct crypt_data, 1);
  h = crypt_r (clear, setting, cd);
  if (h == NULL || h[0] == '*') {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "crypt failed for the %s method",
                 crypto == KILN_CRYPTO_SHA512 ? "sha512" : "yescrypt");
    explicit_bzero (cd, sizeof *cd);
    g_free (cd);
    return NULL;
  }
  r = g_strdup (h);
  explicit_bzero (cd, sizeof *cd);
  g_free (cd);
  return r;
}

bool
kiln_password_verify (const char *clear, const char *hash)
{
  struct crypt_data *cd = g_new0 (struct crypt_data, 1);
  const char *h = crypt_r (clear, hash, cd);
  bool same = h != NULL && h[0] != '*' && strcmp (h, hash) == 0;

  explicit_bzero (cd, sizeof *cd);
  g_free (cd);
  return same;
}

char *
kiln_password_random (size_t n, GError **err)
{
  /* No 0/O, 1/l/I: people type these from a terminal. */
  static const char alphabet[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  const size_t m = sizeof alphabet - 1;
  char *s = g_malloc (n + 1);
  size_t i = 0;

  while (i < n) {
    unsigned char b;

    if (RAND_bytes (&b, 1) != 1) {
      kiln_secret_free (s);
      g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "no random bytes from OpenSSL");
      return NULL;
    }
    if (b >= 256 - 256 % m)     /* no modulo bias */
      continue;
    s[i++] = alphabet[b % m];
  }
  s[n] = '\0';
  return s;
}

char *
kiln_shadow_set (const char *text, const char *user, const char *field,
                 bool lock, GError **err)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_autoptr (GString) out = g_string_new (NULL);
  size_t ulen = strlen (user);
  bool found = false;

  for (char **l = lines; *l; l++) {
    if (l != lines)
      g_string_append_c (out, '\n');
    if (!found && strncmp (*l, user, ulen) == 0 && (*l)[ulen] == ':') {
      const char *pw = *l + ulen + 1;
      const char *rest = strchr (pw, ':');

      found = true;
      g_string_append_len (out, *l, (gssize) ulen + 1);
      if (field && field[0]) {
        if (lock && field[0] != '!')
          g_string_append_c (out, '!');
        g_string_append (out, field);
      } else if (lock) {
        if (pw[0] != '!')
          g_string_append_c (out, '!');
        g_string_append_len (out, pw, rest ? rest - pw : (gssize) strlen (pw));
      } else {
        g_string_append (out, field ? field : "");
      }
      if (rest)
        g_string_append (out, rest);
      explicit_bzero (*l, strlen (*l));
      continue;
    }
    g_string_append (out, *l);
  }
  if (!found) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_NOT_FOUND,
                 "user '%s' has no line in the guest's /etc/shadow", user);
    explicit_bzero (out->str, out->len);
    return NULL;
  }
  return g_string_free (g_steal_pointer (&out), FALSE);
}
