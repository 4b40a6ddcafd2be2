/* digest.c: OpenSSL EVP digests for kiln's checksums. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "digest.h"

struct kiln_digest {
  EVP_MD_CTX *md;
  const char *alg;
};

static const char *
known_alg (const char *alg, const EVP_MD **md)
{
  if (g_ascii_strcasecmp (alg, "sha512") == 0) {
    *md = EVP_sha512 ();
    return "sha512";
  }
  if (g_ascii_strcasecmp (alg, "sha256") == 0) {
    *md = EVP_sha256 ();
    return "sha256";
  }
  return NULL;
}

struct kiln_digest *
kiln_digest_new (const char *alg, GError **err)
{
  const EVP_MD *md = NULL;
  const char *name = known_alg (alg, &md);
  struct kiln_digest *d;

  if (name == NULL) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE,
                 "unknown digest algorithm '%s' (kiln knows sha256 and sha512)", alg);
    return NULL;
  }
  d = g_new0 (struct kiln_digest, 1);
  d->alg = name;
  d->md = EVP_MD_CTX_new ();
  if (d->md == NULL || EVP_DigestInit_ex (d->md, md, NULL) != 1) {
    kiln_digest_free (d);
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "OpenSSL cannot start a %s digest", name);
    return NULL;
  }
  return d;
}

void
kiln_digest_update (struct kiln_digest *d, const void *buf, size_t len)
{
  EVP_DigestUpdate (d->md, buf, len);
}

void
kiln_digest_update_zeros (struct kiln_digest *d, size_t len)
{
  static const char zeros[65536];

  while (len > 0) {
    size_t n = MIN (len, sizeof zeros);

    EVP_DigestUpdate (d->md, zeros, n);
    len -= n;
  }
}

char *
kiln_digest_finish (struct kiln_digest *d)
{
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  GString *s = g_string_new (d->alg);

  EVP_DigestFinal_ex (d->md, out, &n);
  g_string_append_c (s, ':');
  for (unsigned int i = 0; i < n; i++)
    g_string_append_printf (s, "%02x", out[i]);
  return g_string_free (s, FALSE);
}

const char *
kiln_digest_alg (const struct kiln_digest *d)
{
  return d->alg;
}

void
kiln_digest_free (struct kiln_digest *d)
{
  if (d == NULL)
    return;
  EVP_MD_CTX_free (d->md);
  g_free (d);
}

char *
kiln_checksum_parse (const char *spec, const char **alg, GError **err)
{
  const char *colon = strchr (spec, ':');
  const EVP_MD *md = NULL;
  g_autofree char *a = NULL;
  const char *name;
  size_t want, len;

  if (colon == NULL) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE,
                 "checksum '%s' is not ALG:HEX (e.g. sha512:0123...)", spec);
    return NULL;
  }
  a = g_strndup (spec, colon - spec);
  name = known_alg (a, &md);
  if (name == NULL) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE,
                 "checksum '%s': unknown algorithm '%s' (use sha256 or sha512)", spec, a);
    return NULL;
  }
  want = 2 * (size_t) EVP_MD_get_size (md);
  len = strlen (colon + 1);
  for (size_t i = 0; i < len; i++)
    if (!g_ascii_isxdigit (colon[1 + i]))
      len = 0;
  if (len != want) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE,
                 "checksum '%s': a %s digest is %zu hexadecimal digits", spec, name, want);
    return NULL;
  }
  if (alg)
    *alg = name;
  {
    g_autofree char *hex = g_ascii_strdown (colon + 1, -1);

    return g_strconcat (name, ":", hex, NULL);
  }
}

char *
kiln_digest_file (const char *path, const char *alg, GError **err)
{
  g_autoptr (kiln_digest) d = kiln_digest_new (alg, err);
  g_autofree char *buf = NULL;
  int fd;
  ssize_t n;

  if (d == NULL)
    return NULL;
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_NOT_FOUND, "%s: %s", path, g_strerror (errno));
    return NULL;
  }
  posix_fadvise (fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  buf = g_malloc (1 << 20);
  while ((n = read (fd, buf, 1 << 20)) > 0)
    kiln_digest_update (d, buf, n);
  if (n < 0) {
    int e = errno;

    close (fd);
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "reading %s: %s", path, g_strerror (e));
    return NULL;
  }
  close (fd);
  return kiln_digest_finish (d);
}
