/* sign.h: signatures on repository indexes: Ed25519 with OpenSSL for
 * indexes that kiln repo index signs, OpenPGP with gpgme for
 * virt-builder's index.asc and Debian's SHA512SUMS.sign. */
#ifndef KILN_SIGN_H
#define KILN_SIGN_H

#include "kiln.h"

/* Check SIG (base64 of a 64-byte Ed25519 signature, as kiln repo index
 * writes it) over DATA with the PEM public key in PUBKEY.  WHAT names the
 * signed file in errors.  KILN_ERROR_VERIFY when it does not match. */
int kiln_ed25519_verify (const char *pubkey, const void *data, size_t len,
                         GBytes *sig, const char *what, GError **err);
/* Base64 of the Ed25519 signature of DATA with the PEM private key KEY. */
char *kiln_ed25519_sign (const char *key, const void *data, size_t len, GError **err);

/* OpenPGP, with a throwaway keyring holding only KEYFILE's keys. */
int kiln_gpg_verify_detached (const char *keyfile, const void *data, size_t len,
                              GBytes *sig, const char *what, GError **err);
/* The verified plain text of a clearsigned DATA. */
GBytes *kiln_gpg_verify_clearsigned (const char *keyfile, const void *data, size_t len,
                                     const char *what, GError **err);

#endif
