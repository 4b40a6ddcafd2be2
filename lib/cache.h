/* cache.h: the content-addressed image cache.
 *
 *   DIR/images/ALG-HEX           a verified image, read-only, never modified,
 *                                named by a digest of its own bytes: the
 *                                checksum's (sha512 without one) when it is
 *                                stored as downloaded, SHA-256 when kiln
 *                                unpacked it (lib/unpack.h)
 *   DIR/images/ALG-HEX.meta      where it came from (GKeyFile)
 *   DIR/sources/ALG-HEX          symlink from the digest of what was
 *                                downloaded (compressed) to the image
 *   DIR/users/ALG-HEX            overlays and templates backed by the image
 *   DIR/locks/KEY.lock           flock()ed while KEY is being fetched
 *   DIR/images/.part-KEY         an interrupted download (resumed later)
 *   DIR/images/.tmp-KEY-XXXXXX   an image being unpacked
 *   DIR/inspection/KEY           inspection results (lib/inspection.h)
 */
#ifndef KILN_CACHE_H
#define KILN_CACHE_H

#include <stdint.h>
#include <sys/types.h>
#include "kiln.h"

/* Open PATH, a file in the cache, with open(2) FLAGS and MODE, refusing
 * a symbolic link (O_NOFOLLOW) and anything but a regular file (a FIFO or
 * a device planted under the name): whoever planted it must not make
 * kiln write, create or read elsewhere.  Returns the fd (close-on-exec,
 * blocking) for the caller to close, or -1 with ERR (NOT_FOUND when PATH
 * does not exist, else FAILED, saying it is a link). */
int kiln_cache_open (const char *path, int flags, mode_t mode, GError **err);

/* The metadata beside the cached image IMAGE (IMAGE.meta, read through
 * kiln_cache_open); an empty key file when there is none.  Unref it. */
GKeyFile *kiln_cache_meta (const char *image);

/* An exclusive flock on DIR/locks/KEY.lock; WAIT false: -1 with
 * KILN_ERROR_BUSY when someone holds it.  Returns the fd to close. */
int kiln_cache_lock (const char *dir, const char *key, bool wait, GError **err);

/* The exclusive side of kiln_cache_pin, for kiln cache prune. */
int kiln_cache_lock_prune (const struct kiln_ctx *ctx, bool wait, GError **err);

/* "sha256:HEX" -> "sha256-HEX" (a file name). */
char *kiln_cache_key (const char *checksum);

/* "sha512:HEX" or "sha256:HEX" when PATH is a cached image
 * (DIR/images/ALG-HEX: the cache names images by a digest of their bytes
 * and never changes them), else NULL; reads nothing. */
char *kiln_cache_digest_of (const char *path);

/* The image that the download with digest CHECKSUM became, if cached and
 * trusted: images/ALG-HEX for a download stored as it came (its .meta's
 * source_digest is its name), else where sources/ALG-HEX points; never an
 * unpacked image by the digest of its own bytes, which is no download's
 * checksum.  The image is a regular file (lstat: no link) named ALG-HEX,
 * as kiln_cache_digest_of reads it, owned by the
 * caller or root and writable by nobody else, with the .meta kiln
 * publishes first (whose digest=, when there, is the name's).  NULL
 * otherwise: the caller downloads again, and its publish replaces what
 * was there. */
char *kiln_cache_lookup (const char *dir, const char *checksum);

/* Make TMP (in DIR/images) the read-only image DIGEST ("ALG:HEX" of TMP's
 * bytes),
 * with META written beside it and DIR/sources links for every checksum of
 * SOURCES.  Returns the final path.  One step: the .meta is written
 * (atomically) first, then the image's rename is the commit point, so an
 * image never exists without its .meta; on failure TMP is removed and no
 * new image exists.  Holds a pin meanwhile. */
char *kiln_cache_publish (const char *dir, const char *tmp, const char *digest,
                          GKeyFile *meta, const char *const *sources, GError **err);

struct kiln_cache_entry {
  char *path;
  char *digest;                 /* "ALG:HEX" from the name */
  GKeyFile *meta;               /* may be empty */
  uint64_t size;                /* bytes allocated on disk */
  uint64_t apparent;            /* st_size */
  char **users;                 /* recorded users that still exist */
  const char *problem;          /* why kiln does not trust it (a link, no
                                   .meta...; kiln_cache_lookup skips it),
                                   or NULL; static */
};
void kiln_cache_entry_free (struct kiln_cache_entry *e);
GPtrArray *kiln_cache_entries (const char *dir, GError **err);

/* Remove ENTRY's image, metadata, source links and users file. */
int kiln_cache_remove (const char *dir, const struct kiln_cache_entry *e, GError **err);
/* Remove partial downloads and temporary files nobody is writing, and
 * what a publish killed before its commit point left (a .meta without
 * its image, a .meta being written).  The caller holds
 * kiln_cache_lock_prune (publishers hold a pin).  Returns how many, or -1. */
int kiln_cache_clean_partials (const char *dir, uint64_t *bytes, GError **err);

/* Record that USER (an overlay or a template disk) has the cached image
 * BASE as its backing file, so that kiln cache prune keeps BASE. */
int kiln_cache_add_user (const struct kiln_ctx *ctx, const char *base,
                         const char *user, GError **err);

/* Keep kiln cache prune away while a base is fetched and its user is not
 * recorded yet: take the pin before kiln_fetch, close the returned fd
 * after kiln_cache_add_user (prune waits for every pin to go). */
int kiln_cache_pin (const struct kiln_ctx *ctx, GError **err);

/* The cache directory for CTX (created if absent, with its images/,
 * sources/, users/ and locks/, 0755).  Refused (NULL with ERR, FAILED,
 * saying what to do) unless the directory and each subdirectory is owned
 * by the caller or root and writable by nobody else, and the
 * subdirectories are directories, not links, and every directory above it
 * (after resolving links) belongs to the caller or root and is writable by
 * nobody else unless sticky, as OpenSSH's StrictModes asks of key paths:
 * whoever can write in a cache, or rename it, can make kiln overwrite or
 * expose other files through it.  The caller frees the returned path. */
char *kiln_cache_dir (const struct kiln_ctx *ctx, GError **err);

#endif
