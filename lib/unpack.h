/* unpack.h: decompression (xz, gzip, zstd, bzip2) and image containers
 * (tar, OVA) with libarchive, written sparse. */
#ifndef KILN_UNPACK_H
#define KILN_UNPACK_H

#include <stdint.h>
#include "kiln.h"

/* Whether a file starting with HEAD is compressed or a tar container. */
bool kiln_unpack_needed (const unsigned char *head, size_t len);

/* Decompress IN into OUT_FD (holes for zero blocks), hashing the output
 * with sha512: *DIGEST "sha512:HEX", *SIZE its bytes, *MEMBER the name of
 * the image taken from a container (NULL for a plain compressed file),
 * HEAD its first bytes. */
int kiln_unpack (const char *in, int out_fd, char **digest, uint64_t *size,
                 char **member, unsigned char head[16], GError **err);

/* The same, following a file that is still being downloaded: a thread
 * decompresses the first BYTES of IN as kiln_unpack_stream_feed announces
 * them.  kiln_unpack_stream_finish with OK true (after the last feed, and
 * the download verified) waits for the rest and gives the results; with
 * OK false it stops the thread and discards.  Frees U. */
typedef struct kiln_unpack_stream kiln_unpack_stream;
struct kiln_unpack_stream *kiln_unpack_stream_start (const char *in, int out_fd, GError **err);
void kiln_unpack_stream_feed (struct kiln_unpack_stream *u, uint64_t bytes);
int kiln_unpack_stream_finish (struct kiln_unpack_stream *u, bool ok, char **digest,
                               uint64_t *size, char **member, unsigned char head[16],
                               GError **err);

/* "qcow2", "vmdk", "vhdx" or "raw", from an image's first bytes. */
const char *kiln_image_format (const unsigned char *head, size_t len);

#endif
