/* download.h: transfers with libcurl: TLS verification on, redirects,
 * proxy from the environment, timeouts, retries with backoff on transient
 * failures, and resume with Range into a partial file. */
#ifndef KILN_DOWNLOAD_H
#define KILN_DOWNLOAD_H

#include <stdint.h>
#include "kiln.h"
#include "digest.h"

/* A resumable download of URL into the file PART.  Bytes already in PART
 * (an earlier, interrupted run) are hashed again and the transfer goes on
 * from there with a Range request; a server that ignores Range restarts
 * the file.  Every byte of the file goes through the digests named in
 * ALGS, in order, as it arrives. */
struct kiln_transfer {
  const char *url;
  const char *part;
  const char *algs[3];          /* NULL-terminated: "sha512", "sha256" */
  const char *label;            /* for the progress bar */
  /* Called (in the downloading thread) whenever the first BYTES of PART
   * hold the file's data, so that a reader can follow the file as it
   * grows; and when the file starts over from 0 (a server that ignores
   * Range).  Both may be NULL. */
  void (*on_data) (void *opaque, uint64_t bytes);
  void (*on_restart) (void *opaque);
  void *opaque;
  /* Results. */
  char *digests[3];             /* "ALG:HEX", same order as ALGS */
  uint64_t size;
  uint64_t resumed_from;        /* bytes that were already in PART */
  unsigned char head[512];      /* the file's first bytes (magic numbers) */
  size_t head_len;
};
void kiln_transfer_clear (struct kiln_transfer *t);

int kiln_download_resumable (const struct kiln_ctx *ctx, struct kiln_transfer *t,
                             GError **err);

/* URL's content in memory, at most MAX bytes (indexes, checksum and
 * signature files).  A 404 is KILN_ERROR_NOT_FOUND. */
GBytes *kiln_download_bytes (const char *url, size_t max, GError **err);

#endif
