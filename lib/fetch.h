/* fetch.h: getting a source image into the cache, verified.  SOURCE is a
 * repository template name, an http(s):// or file:// URL, or a local path
 * (a local path is trusted as it is and not copied). */
#ifndef KILN_FETCH_H
#define KILN_FETCH_H

#include <stdint.h>
#include "kiln.h"

struct kiln_fetch_opts {
  const char *checksum;     /* "sha512:HEX" / "sha256:HEX", or NULL */
  const char *sums_url;     /* a SHA512SUMS/SHA256SUMS/CHECKSUM file, or NULL */
  const char *arch;         /* NULL: the host's */
  bool insecure;            /* allow what verifies nothing: http:// with no
                               checksum, --sums over plain http://, a plain
                               http:// repository without a signature */
  uint64_t max_size;        /* bytes: the most the download and the image it
                               unpacks to may be; 0: the sizes the index
                               declares, else KILN_FETCH_MAX_SIZE_DEFAULT.  A
                               declared size is kept when smaller. */
};

/* The bound on what a fetch writes when neither --max-size nor the index
 * says: 64 GiB, downloaded and unpacked (holes count). */
#define KILN_FETCH_MAX_SIZE_DEFAULT (UINT64_C (64) << 30)

struct kiln_fetch_result {
  char *path;               /* the verified image (in the cache, or the local path) */
  char *format;             /* "qcow2", "raw" */
  char *digest;             /* "sha512:HEX" or "sha256:HEX" of the image as
                               stored (its name in the cache, lib/cache.h) */
  char *source;             /* what it was fetched from (URL or path) */
  char *source_digest;      /* digest of the bytes downloaded (compressed), or NULL */
  char *osinfo;             /* from the repository index, or NULL */
  uint64_t size;            /* bytes of the stored image */
  bool from_cache;          /* already there: nothing downloaded */
  bool verified;            /* the bytes matched a checksum from a source a man
                               in the middle cannot write: --checksum (or a
                               recipe's checksum:), --sums over https:// or
                               from a local file, a repository index that is
                               signed, local, or came over https://.  False
                               for a local path taken as it is, https://
                               without a checksum, and whatever --insecure
                               let through (http:// sums, an unsigned
                               http:// index, no checksum at all) */
  char *verification;       /* in words, what was and was not verified (for
                               output and manifests) */
  /* private: the cache pin (kiln_cache_pin) that kiln_fetch took and
     kiln_fetch_result_clear lets go. */
  bool pinned;
  int pin;
};

/* Fetch SOURCE into R.  What is downloaded and what it unpacks to are
 * bounded (O->max_size): past the bound the fetch fails
 * (KILN_ERROR_VERIFY) and leaves nothing in the cache.  A link or other
 * non-regular file planted in the cache is refused (cache.h).  R also holds a pin on the cache (cache.h) from
 * before the cache is looked at until kiln_fetch_result_clear: kiln cache
 * prune waits for it, so it cannot remove R->path before the caller has
 * made and recorded its overlay (kiln_image_build does both).  Clear R
 * only after that. */
int kiln_fetch (const struct kiln_ctx *ctx, const char *source,
                const struct kiln_fetch_opts *o, struct kiln_fetch_result *r,
                GError **err);
void kiln_fetch_result_clear (struct kiln_fetch_result *r);

#endif
