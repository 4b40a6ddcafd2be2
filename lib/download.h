/* download.h: transfers with libcurl: TLS verification on, redirects,
 * proxy from the environment, timeouts, retries with backoff on transient
 * failures, and resume with Range into a partial file. */
#ifndef KILN_DOWNLOAD_H
#define KILN_DOWNLOAD_H

#include <stdint.h>
#include "kiln.h"
#include "digest.h"

/* A resumable download of URL into the file PART, open read-write as FD
 * (the caller's: it opens it, refusing links, with kiln_cache_open, and
 * closes it).  Bytes already in the file (an earlier, interrupted run)
 * are hashed again and the transfer goes on from there with a Range
 * request; a server that ignores Range restarts the file.  Every byte of
 * the file goes through the digests named in ALGS, in order, as it
 * arrives. */
struct kiln_transfer {
  const char *url;
  const char *part;             /* FD's name, in messages */
  int fd;
  const char *algs[3];          /* NULL-terminated: "sha512", "sha256" */
  const char *label;            /* for the progress bar */
  /* The most bytes the file may hold (0: no bound), and where that bound
   * comes from, for the error ("--max-size").  A server announcing more
   * (Content-Length), or sending more, is an error (TOO_BIG set), and so
   * is a partial file longer than that: it starts over. */
  uint64_t max;
  const char *max_why;
  /* Called (in the downloading thread) whenever the first BYTES of PART
   * hold the file's data, so that a reader can follow the file as it
   * grows; it returns false to stop the transfer (an error, with STOPPED
   * set).  ON_RESTART: when the file starts over from 0 (a server that
   * ignores Range).  Both may be NULL. */
  bool (*on_data) (void *opaque, uint64_t bytes);
  void (*on_restart) (void *opaque);
  void *opaque;
  /* Results. */
  char *digests[3];             /* "ALG:HEX", same order as ALGS */
  uint64_t size;
  uint64_t resumed_from;        /* bytes that were already in PART */
  unsigned char head[512];      /* the file's first bytes (magic numbers) */
  size_t head_len;
  bool too_big;                 /* failed: more than MAX */
  bool stopped;                 /* failed: ON_DATA said stop */
};
void kiln_transfer_clear (struct kiln_transfer *t);

int kiln_download_resumable (const struct kiln_ctx *ctx, struct kiln_transfer *t,
                             GError **err);

/* URL's content in memory, at most MAX bytes (indexes, checksum and
 * signature files).  A 404 is KILN_ERROR_NOT_FOUND. */
GBytes *kiln_download_bytes (const char *url, size_t max, GError **err);

#endif
