/* unpack.h: decompression (xz, gzip, zstd, bzip2) and image containers
 * (tar, OVA) with libarchive, written sparse. */
#ifndef KILN_UNPACK_H
#define KILN_UNPACK_H

#include <stdint.h>
#include "kiln.h"

/* The digest an unpacked image is named by in the cache: every output
 * byte is hashed, and SHA-256 is the cheaper of the two on CPUs with SHA
 * extensions (unpack.c says why). */
#define KILN_UNPACK_DIGEST "sha256"

/* Whether a file starting with HEAD is compressed or a tar container. */
bool kiln_unpack_needed (const unsigned char *head, size_t len);

/* Decompress the file IN_FD (named IN in errors; read from offset 0)
 * into OUT_FD (holes for zero blocks), hashing the output with
 * KILN_UNPACK_DIGEST: *DIGEST "sha256:HEX" (the caller frees it), *SIZE
 * its bytes, *MEMBER the name of the image
 * taken from a container (NULL for a plain compressed file), HEAD its
 * first bytes.  MAX (0: none) bounds the output, holes included: what
 * would unpack to more is refused (KILN_ERROR_VERIFY, naming MAX and
 * MAX_WHY, where the bound comes from) as soon as it gets there, and the
 * caller removes what OUT_FD holds.  IN_FD stays the caller's. */
int kiln_unpack (int in_fd, const char *in, int out_fd, uint64_t max, const char *max_why,
                 char **digest, uint64_t *size, char **member, unsigned char head[16],
                 GError **err);

/* The same, following a file that is still being downloaded: a thread
 * decompresses the first BYTES of IN as kiln_unpack_stream_feed announces
 * them (it reads a duplicate of IN_FD, which stays the caller's).
 * kiln_unpack_stream_failed says whether the thread gave up already (a
 * bound passed, corrupt data): the download can stop.
 * kiln_unpack_stream_finish with OK true (after the last feed, and the
 * download verified, or after a failure, for its error) waits for the
 * rest and gives the results; with OK false it stops the thread and
 * discards.  Frees U. */
typedef struct kiln_unpack_stream kiln_unpack_stream;
struct kiln_unpack_stream *kiln_unpack_stream_start (int in_fd, const char *in, int out_fd,
                                                     uint64_t max, const char *max_why,
                                                     GError **err);
void kiln_unpack_stream_feed (struct kiln_unpack_stream *u, uint64_t bytes);
bool kiln_unpack_stream_failed (struct kiln_unpack_stream *u);
int kiln_unpack_stream_finish (struct kiln_unpack_stream *u, bool ok, char **digest,
                               uint64_t *size, char **member, unsigned char head[16],
                               GError **err);

/* "qcow2", "vmdk", "vhdx" or "raw", from an image's first bytes. */
const char *kiln_image_format (const unsigned char *head, size_t len);

#endif
