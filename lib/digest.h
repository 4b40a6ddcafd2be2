/* digest.h: sha256/sha512 through OpenSSL EVP, fed while bytes arrive so
 * that nothing is read twice to be verified, and the "ALG:HEX" notation
 * that checksums travel in. */
#ifndef KILN_DIGEST_H
#define KILN_DIGEST_H

#include <stddef.h>
#include "kiln.h"

typedef struct kiln_digest kiln_digest;

/* ALG: "sha256" or "sha512".  NULL with ERR set for anything else. */
struct kiln_digest *kiln_digest_new (const char *alg, GError **err);
void kiln_digest_update (struct kiln_digest *d, const void *buf, size_t len);
/* Feed LEN zero bytes (holes of sparse data). */
void kiln_digest_update_zeros (struct kiln_digest *d, size_t len);
/* "ALG:HEX"; the digest cannot be updated afterwards. */
char *kiln_digest_finish (struct kiln_digest *d);
const char *kiln_digest_alg (const struct kiln_digest *d);
void kiln_digest_free (struct kiln_digest *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (kiln_digest, kiln_digest_free)

/* Check and normalize "ALG:HEX" (lower-case hex of the right length);
 * returns the normalized copy, with *ALG set to a static "sha256"/"sha512". */
char *kiln_checksum_parse (const char *spec, const char **alg, GError **err);

/* "ALG:HEX" of the file PATH, read in fixed-size blocks. */
char *kiln_digest_file (const char *path, const char *alg, GError **err);

#endif
