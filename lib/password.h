/* password.h: password selectors (password:, file:, random, disabled,
 * locked) and hashing them with libxcrypt for a guest's /etc/shadow. */
#ifndef KILN_PASSWORD_H
#define KILN_PASSWORD_H

#include "kiln.h"

enum kiln_password_kind {
  KILN_PASSWORD_PLAIN,        /* password:P, and file:F once read */
  KILN_PASSWORD_RANDOM,
  KILN_PASSWORD_DISABLED,     /* "*": no password login */
  KILN_PASSWORD_LOCKED,       /* "!" in front of what is there */
};

enum kiln_password_crypto {
  KILN_CRYPTO_AUTO,           /* yescrypt where the guest supports it, else sha512 */
  KILN_CRYPTO_YESCRYPT,
  KILN_CRYPTO_SHA512,
};

typedef struct kiln_password kiln_password;
struct kiln_password {
  enum kiln_password_kind kind;
  char *secret;               /* the clear text for KILN_PASSWORD_PLAIN; wiped on free */
  char *file;                 /* file: selector's path, for messages */
  bool file_exposed;          /* file: readable by group or others */
  bool locked;                /* locked:SELECTOR: set, then lock ("!" in front) */
};

/* What a selector names, read from SEL alone (nothing is opened). */
struct kiln_password_selector {
  enum kiln_password_kind kind;
  const char *file;           /* file:F -> F (inside SEL), else NULL */
  const char *secret;         /* password:P -> P (inside SEL), else NULL */
  bool locked;                /* locked:SELECTOR (or lock:SELECTOR): the rest, then lock */
};

/* THE parser of selectors, for the command line and recipes alike: false
 * and a KILN_ERROR_USAGE error (never repeating what may be a password)
 * when SEL is not password:P, file:F, random, disabled, locked, or
 * locked:SELECTOR / lock:SELECTOR (virt-customize's: that selector, then
 * the account locked; ->locked set, the rest as for SELECTOR). */
bool kiln_password_selector_parse (const char *sel, struct kiln_password_selector *out,
                                   GError **err);

/* SEL for a plan or a log: "password:<redacted>" for password:P (behind
 * any locked: prefix too), SEL itself otherwise. */
char *kiln_password_selector_shown (const char *sel);

/* Parse SEL (kiln_password_selector_parse).  file: reads the first line
 * of F now, so a missing file fails before any launch. */
struct kiln_password *kiln_password_parse (const char *sel, GError **err);
void kiln_password_free (struct kiln_password *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (kiln_password, kiln_password_free)

bool kiln_password_parse_crypto (const char *s, enum kiln_password_crypto *out);

/* The method for a guest (inspection's distro and major version). */
enum kiln_password_crypto kiln_password_crypto_for (const char *distro, int major);

/* A new crypt(3) hash of CLEAR with a random salt from OpenSSL. */
char *kiln_password_hash (const char *clear, enum kiln_password_crypto crypto,
                          GError **err);

/* True when CLEAR matches HASH (crypt_r); for tests and checks. */
bool kiln_password_verify (const char *clear, const char *hash);

/* A random password of N characters from an unambiguous alphabet. */
char *kiln_password_random (size_t n, GError **err);

/* Replace the password field of USER in the shadow file TEXT by FIELD;
 * LOCK: with a "!" in front (FIELD NULL or "": in front of the current
 * field, kept otherwise).  Returns the new text, or NULL and an error when
 * USER has no line. */
char *kiln_shadow_set (const char *text, const char *user, const char *field,
                       bool lock, GError **err);

/* Overwrite a secret in memory before it is freed. */
void kiln_secret_free (char *s);

#endif
