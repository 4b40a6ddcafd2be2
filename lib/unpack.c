/* unpack.c: libarchive streaming decompression into a sparse file, the
 * output hashed as it is written. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <archive.h>
#include <archive_entry.h>

#include "unpack.h"
#include "digest.h"
#include "download.h"

bool
kiln_unpack_needed (const unsigned char *h, size_t len)
{
  static const struct { const char *magic; size_t len; } magics[] = {
    { "\xfd" "7zXZ\0", 6 },     /* xz */
    { "\x1f\x8b", 2 },          /* gzip */
    { "\x28\xb5\x2f\xfd", 4 },  /* zstd */
    { "BZh", 3 },               /* bzip2 */
  };

  for (size_t i = 0; i < G_N_ELEMENTS (magics); i++)
    if (len >= magics[i].len && memcmp (h, magics[i].magic, magics[i].len) == 0)
      return true;
  return len >= 262 && memcmp (h + 257, "ustar", 5) == 0;
}

const char *
kiln_image_format (const unsigned char *h, size_t len)
{
  if (len >= 4 && memcmp (h, "QFI\xfb", 4) == 0)
    return "qcow2";
  if (len >= 4 && memcmp (h, "KDMV", 4) == 0)
    return "vmdk";
  if (len >= 8 && memcmp (h, "vhdxfile", 8) == 0)
    return "vhdx";
  return "raw";
}

/* Not disk images: what else an OVA or an image tarball carries. */
static bool
is_sidecar (const char *name)
{
  static const char *const exts[] = { ".ovf", ".mf", ".cert", ".json", ".txt", ".xml", ".sig", NULL };

  for (const char *const *e = exts; *e; e++)
    if (g_str_has_suffix (name, *e))
      return true;
  return false;
}

int
kiln_unpack (const char *in, int out_fd, char **digest, uint64_t *size,
             char **member, unsigned char head[16], GError **err)
{
  struct archive *a = archive_read_new ();
  struct archive_entry *ent;
  g_autoptr (kiln_digest) d = kiln_digest_new ("sha512", err);
  int64_t pos = 0;
  int ret = -1, r;
  bool found = false;
  size_t head_len = 0;

  *member = NULL;
  memset (head, 0, 16);
  if (d == NULL)
    goto out;
  archive_read_support_filter_all (a);
  archive_read_support_format_tar (a);
  archive_read_support_format_raw (a);
  if (archive_read_open_filename (a, in, 1 << 20) != ARCHIVE_OK) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "%s: %s", in, archive_error_string (a));
    goto out;
  }
  while ((r = archive_read_next_header (a, &ent)) == ARCHIVE_OK) {
    const void *buf;
    size_t len;
    la_int64_t off;
    bool raw = archive_format (a) == ARCHIVE_FORMAT_RAW;

    if (!raw && (archive_entry_filetype (ent) != AE_IFREG || is_sidecar (archive_entry_pathname (ent))))
      continue;
    if (!raw)
      *member = g_strdup (archive_entry_pathname (ent));
    while ((r = archive_read_data_block (a, &buf, &len, &off)) == ARCHIVE_OK) {
      if (off > pos) {
        /* A hole of a sparse tar member. */
        kiln_digest_update_zeros (d, off - pos);
        if (lseek (out_fd, off - pos, SEEK_CUR) < 0)
          goto werr;
        pos = off;
      }
      if (head_len < 16) {
        size_t n = MIN (len, 16 - head_len);

        memcpy (head + head_len, buf, n);
        head_len += n;
      }
      kiln_digest_update (d, buf, len);
      if (kiln_write_sparse (out_fd, buf, len, err) == -1)
        goto out;
      pos += len;
    }
    if (r != ARCHIVE_EOF) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_VERIFY, "%s: cannot decompress: %s", in,
                   archive_error_string (a));
      goto out;
    }
    if (!raw && archive_entry_size_is_set (ent) && archive_entry_size (ent) > pos) {
      kiln_digest_update_zeros (d, archive_entry_size (ent) - pos);
      pos = archive_entry_size (ent);
    }
    found = true;
    break;
  }
  if (!found) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_VERIFY, "%s: %s", in,
                 r == ARCHIVE_EOF ? "the container holds no disk image"
                                  : archive_error_string (a));
    goto out;
  }
  if (ftruncate (out_fd, pos) != 0 || fsync (out_fd) != 0)
    goto werr;
  *digest = kiln_digest_finish (d);
  *size = pos;
  ret = 0;
  goto out;
werr:
  g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "writing the image from %s: %s", in, g_strerror (errno));
out:
  if (ret != 0)
    g_clear_pointer (member, g_free);
  archive_read_free (a);
  return ret;
}
