/* sign.c: Ed25519 (OpenSSL EVP) and OpenPGP (gpgme) signatures. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <gpgme.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "sign.h"

static EVP_PKEY *
read_key (const char *path, bool private, GError **err)
{
  FILE *f = fopen (path, "re");
  EVP_PKEY *k;

  if (f == NULL) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_NOT_FOUND, "%s: %s", path, g_strerror (errno));
    return NULL;
  }
  k = private ? PEM_read_PrivateKey (f, NULL, NULL, NULL) : PEM_read_PUBKEY (f, NULL, NULL, NULL);
  fclose (f);
  if (k == NULL || EVP_PKEY_get_id (k) != EVP_PKEY_ED25519) {
    EVP_PKEY_free (k);
    ERR_clear_error ();
    g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE, "%s: not an Ed25519 %s key in PEM form "
                 "(make one with: openssl genpkey -algorithm ed25519)", path,
                 private ? "private" : "public");
    return NULL;
  }
  return k;
}

int
kiln_ed25519_verify (const char *pubkey, const void *data, size_t len,
                     GBytes *sig, const char *what, GError **err)
{
  EVP_PKEY *k = read_key (pubkey, false, err);
  g_autofree char *b64 = NULL;
  g_autofree guchar *raw = NULL;
  gsize rawlen = 0, siglen;
  const char *s;
  EVP_MD_CTX *md;
  int ok;

  if (k == NULL)
    return -1;
  s = g_bytes_get_data (sig, &siglen);
  b64 = g_strstrip (g_strndup (s, siglen));
  raw = g_base64_decode (b64, &rawlen);
  md = EVP_MD_CTX_new ();
  ok = rawlen == 64 && md &&
       EVP_DigestVerifyInit (md, NULL, NULL, NULL, k) == 1 &&
       EVP_DigestVerify (md, raw, rawlen, data, len) == 1;
  EVP_MD_CTX_free (md);
  EVP_PKEY_free (k);
  ERR_clear_error ();
  if (!ok) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_VERIFY,
                 "%s: bad signature (does not verify with %s): refusing it", what, pubkey);
    return -1;
  }
  return 0;
}

char *
kiln_ed25519_sign (const char *key, const void *data, size_t len, GError **err)
{
  EVP_PKEY *k = read_key (key, true, err);
  unsigned char sig[64];
  size_t siglen = sizeof sig;
  EVP_MD_CTX *md;
  int ok;

  if (k == NULL)
    return NULL;
  md = EVP_MD_CTX_new ();
  ok = md && EVP_DigestSignInit (md, NULL, NULL, NULL, k) == 1 &&
       EVP_DigestSign (md, sig, &siglen, data, len) == 1;
  EVP_MD_CTX_free (md);
  EVP_PKEY_free (k);
  if (!ok) {
    ERR_clear_error ();
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "signing with %s failed", key);
    return NULL;
  }
  return g_base64_encode (sig, siglen);
}

/* ---- OpenPGP ---- */

static void
remove_tree (const char *path)
{
  g_autoptr (GDir) d = g_dir_open (path, 0, NULL);
  const char *n;

  while (d && (n = g_dir_read_name (d))) {
    g_autofree char *p = g_build_filename (path, n, NULL);

    if (g_file_test (p, G_FILE_TEST_IS_DIR) && !g_file_test (p, G_FILE_TEST_IS_SYMLINK))
      remove_tree (p);
    else
      unlink (p);
  }
  rmdir (path);
}

/* A gpgme context on a private, temporary keyring holding KEYFILE. */
static gpgme_ctx_t
keyring_ctx (const char *keyfile, char **home, GError **err)
{
  gpgme_ctx_t c = NULL;
  gpgme_data_t kd = NULL;
  gpgme_import_result_t ir;
  gpgme_error_t e;

  gpgme_check_version (NULL);
  *home = g_dir_make_tmp ("kiln-gpg-XXXXXX", NULL);
  if (*home == NULL) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "cannot make a temporary keyring");
    return NULL;
  }
  if ((e = gpgme_new (&c)) ||
      (e = gpgme_ctx_set_engine_info (c, GPGME_PROTOCOL_OpenPGP, NULL, *home))) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "gpgme: %s", gpgme_strerror (e));
    goto fail;
  }
  if ((e = gpgme_data_new_from_file (&kd, keyfile, 1))) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_NOT_FOUND, "%s: %s", keyfile, gpgme_strerror (e));
    goto fail;
  }
  e = gpgme_op_import (c, kd);
  gpgme_data_release (kd);
  ir = e ? NULL : gpgme_op_import_result (c);
  if (ir == NULL || ir->imported + ir->unchanged == 0) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE, "%s: no OpenPGP public key in it", keyfile);
    goto fail;
  }
  return c;
fail:
  if (c)
    gpgme_release (c);
  remove_tree (*home);
  g_clear_pointer (home, g_free);
  return NULL;
}

/* Good when every signature is good, and there is one. */
static int
check_verify (gpgme_ctx_t c, gpgme_error_t e, const char *what, const char *keyfile, GError **err)
{
  gpgme_verify_result_t vr = e ? NULL : gpgme_op_verify_result (c);
  gpgme_signature_t s;

  if (vr == NULL || vr->signatures == NULL) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_VERIFY, "%s: no OpenPGP signature found%s%s",
                 what, e ? ": " : "", e ? gpgme_strerror (e) : "");
    return -1;
  }
  for (s = vr->signatures; s; s = s->next) {
    if (gpg_err_code (s->status) != GPG_ERR_NO_ERROR) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_VERIFY,
                   "%s: bad OpenPGP signature (%s; key %s, expected a key of %s): refusing it",
                   what, gpgme_strerror (s->status), s->fpr ? s->fpr : "?", keyfile);
      return -1;
    }
  }
  return 0;
}

int
kiln_gpg_verify_detached (const char *keyfile, const void *data, size_t len,
                          GBytes *sig, const char *what, GError **err)
{
  g_autofree char *home = NULL;
  gpgme_ctx_t c = keyring_ctx (keyfile, &home, err);
  gpgme_data_t sd = NULL, dd = NULL;
  gsize siglen;
  const char *s;
  int ret;

  if (c == NULL)
    return -1;
  s = g_bytes_get_data (sig, &siglen);
  gpgme_data_new_from_mem (&sd, s, siglen, 0);
  gpgme_data_new_from_mem (&dd, data, len, 0);
  ret = check_verify (c, gpgme_op_verify (c, sd, dd, NULL), what, keyfile, err);
  gpgme_data_release (sd);
  gpgme_data_release (dd);
  gpgme_release (c);
  remove_tree (home);
  return ret;
}

GBytes *
kiln_gpg_verify_clearsigned (const char *keyfile, const void *data, size_t len,
                             const char *what, GError **err)
{
  g_autofree char *home = NULL;
  gpgme_ctx_t c = keyring_ctx (keyfile, &home, err);
  gpgme_data_t sd = NULL, pd = NULL;
  GBytes *ret = NULL;

  if (c == NULL)
    return NULL;
  gpgme_data_new_from_mem (&sd, data, len, 0);
  gpgme_data_new (&pd);
  if (check_verify (c, gpgme_op_verify (c, sd, NULL, pd), what, keyfile, err) == 0) {
    size_t n = 0;
    char *p = gpgme_data_release_and_get_mem (pd, &n);

    pd = NULL;
    ret = g_bytes_new (p, n);
    gpgme_free (p);
  }
  gpgme_data_release (sd);
  if (pd)
    gpgme_data_release (pd);
  gpgme_release (c);
  remove_tree (home);
  return ret;
}
