/* unpack.c: libarchive streaming decompression into a sparse file, the
 * output hashed as it is written. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <archive.h>
#include <archive_entry.h>

#include "unpack.h"
#include "digest.h"
#include "fileio.h"
#include "progress.h"

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

/* The error for output past MAX bytes (from MAX_WHY). */
static void
set_too_big (GError **err, const char *in, uint64_t max, const char *max_why)
{
  g_autofree char *m = kiln_format_size (max);

  g_set_error (err, KILN_ERROR, KILN_ERROR_VERIFY,
               "%s unpacks to more than %s (%s): stopped and refused", in, m, max_why);
}

/* Take the image out of A (opened by the caller; freed here), named IN in
 * errors, into OUT_FD, at most MAX bytes (0: no bound).  1 when A took
 * the data for a container without a single entry: zero blocks look like
 * the end of a tar archive, and an image whose first KiB are zeros (a
 * filesystem image, a bomb of zeros) is no container; read it raw. */
static int
unpack_archive (struct archive *a, const char *in, int out_fd, uint64_t max, const char *max_why,
                char **digest, uint64_t *size, char **member, unsigned char head[16],
                GError **err)
{
  struct archive_entry *ent;
  g_autoptr (kiln_digest) d = kiln_digest_new ("sha512", err);
  int64_t pos = 0;
  int ret = -1, r = ARCHIVE_FATAL;
  bool found = false;
  size_t head_len = 0;

  *member = NULL;
  memset (head, 0, 16);
  if (d == NULL)
    goto out;
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
      /* Holes count: a bomb of zeros is sparse but still unbounded. */
      if (max && (off < 0 || (uint64_t) off + len > max)) {
        set_too_big (err, in, max, max_why);
        goto out;
      }
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
    if (!raw && archive_entry_size_is_set (ent) && max && (uint64_t) archive_entry_size (ent) > max) {
      set_too_big (err, in, max, max_why);
      goto out;
    }
    if (!raw && archive_entry_size_is_set (ent) && archive_entry_size (ent) > pos) {
      kiln_digest_update_zeros (d, archive_entry_size (ent) - pos);
      pos = archive_entry_size (ent);
    }
    found = true;
    break;
  }
  if (!found && r == ARCHIVE_EOF && *member == NULL && archive_format (a) != ARCHIVE_FORMAT_RAW &&
      archive_file_count (a) == 0) {
    archive_read_free (a);
    return 1;
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

/* A reader of compressed data holding a tar container (CONTAINERS) or a
 * raw image. */
static struct archive *
new_reader (bool containers)
{
  struct archive *a = archive_read_new ();

  archive_read_support_filter_all (a);
  if (containers)
    archive_read_support_format_tar (a);
  archive_read_support_format_raw (a);
  return a;
}

int
kiln_unpack (int in_fd, const char *in, int out_fd, uint64_t max, const char *max_why,
             char **digest, uint64_t *size, char **member, unsigned char head[16],
             GError **err)
{
  int ret = 1;

  *member = NULL;
  for (int containers = 1; ret == 1 && containers >= 0; containers--) {
    struct archive *a = new_reader (containers);

    if (lseek (in_fd, 0, SEEK_SET) != 0) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "%s: %s", in, g_strerror (errno));
      archive_read_free (a);
      return -1;
    }
    if (archive_read_open_fd (a, in_fd, 1 << 20) != ARCHIVE_OK) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "%s: %s", in, archive_error_string (a));
      archive_read_free (a);
      return -1;
    }
    ret = unpack_archive (a, in, out_fd, max, max_why, digest, size, member, head, err);
  }
  return ret;
}

/* ---- following a download ---- */

#define KILN_STREAM_BUF (1 << 20)

struct kiln_unpack_stream {
  char *in;
  int in_fd, out_fd;
  GThread *thread;
  GMutex lock;
  GCond cond;
  uint64_t available;           /* bytes of IN that hold the file's data */
  bool finished, aborted;
  uint64_t pos;                 /* the reader's offset in IN */
  uint64_t max;
  char *max_why;
  gint done;                    /* the thread has returned */
  char *buf;
  /* Results, from the thread. */
  int ret;
  char *digest, *member;
  uint64_t size;
  unsigned char head[16];
  GError *error;
};

static la_ssize_t
stream_read (struct archive *a, void *opaque, const void **out)
{
  struct kiln_unpack_stream *u = opaque;
  uint64_t avail;
  bool aborted;
  ssize_t n;
  size_t want;

  g_mutex_lock (&u->lock);
  while (u->pos >= u->available && !u->finished && !u->aborted)
    g_cond_wait (&u->cond, &u->lock);
  avail = u->available;
  aborted = u->aborted;
  g_mutex_unlock (&u->lock);
  if (aborted) {
    archive_set_error (a, ECANCELED, "the download stopped");
    return -1;
  }
  if (u->pos >= avail)
    return 0;
  want = MIN ((uint64_t) KILN_STREAM_BUF, avail - u->pos);
  n = pread (u->in_fd, u->buf, want, u->pos);
  if (n < 0) {
    archive_set_error (a, errno, "reading %s: %s", u->in, g_strerror (errno));
    return -1;
  }
  if (n == 0) {
    /* Announced but not in the file yet: zero blocks that the sparse
     * writer skipped, and that the file's final size will cover. */
    memset (u->buf, 0, want);
    n = want;
  }
  u->pos += n;
  *out = u->buf;
  return n;
}

static gpointer
stream_thread (gpointer opaque)
{
  struct kiln_unpack_stream *u = opaque;

  u->ret = 1;
  for (int containers = 1; u->ret == 1 && containers >= 0; containers--) {
    struct archive *a = new_reader (containers);

    u->pos = 0;                 /* the raw reading starts over */
    if (archive_read_open (a, u, NULL, stream_read, NULL) != ARCHIVE_OK) {
      g_set_error (&u->error, KILN_ERROR, KILN_ERROR_VERIFY, "%s: %s", u->in, archive_error_string (a));
      archive_read_free (a);
      u->ret = -1;
      break;
    }
    u->ret = unpack_archive (a, u->in, u->out_fd, u->max, u->max_why, &u->digest, &u->size,
                             &u->member, u->head, &u->error);
  }
  g_atomic_int_set (&u->done, 1);
  return NULL;
}

/* Frees U once its thread is joined (or never started): what the thread
 * left behind (digest, member, error) and what start made. */
static void
stream_free (struct kiln_unpack_stream *u)
{
  g_clear_error (&u->error);
  g_free (u->digest);
  g_free (u->member);
  if (u->in_fd >= 0)
    close (u->in_fd);
  g_mutex_clear (&u->lock);
  g_cond_clear (&u->cond);
  g_free (u->buf);
  g_free (u->in);
  g_free (u->max_why);
  g_free (u);
}

struct kiln_unpack_stream *
kiln_unpack_stream_start (int in_fd, const char *in, int out_fd, uint64_t max,
                          const char *max_why, GError **err)
{
  struct kiln_unpack_stream *u = g_new0 (struct kiln_unpack_stream, 1);

  u->in = g_strdup (in);
  u->out_fd = out_fd;
  u->max = max;
  u->max_why = g_strdup (max_why);
  /* pread only: the offset it shares with IN_FD does not matter. */
  u->in_fd = fcntl (in_fd, F_DUPFD_CLOEXEC, 0);
  g_mutex_init (&u->lock);
  g_cond_init (&u->cond);
  u->buf = g_malloc (KILN_STREAM_BUF);
  if (u->in_fd >= 0)
    u->thread = g_thread_try_new ("kiln-unpack", stream_thread, u, err);
  else
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "%s: %s", in, g_strerror (errno));
  if (u->thread == NULL) {
    stream_free (u);
    return NULL;
  }
  return u;
}

void
kiln_unpack_stream_feed (struct kiln_unpack_stream *u, uint64_t bytes)
{
  g_mutex_lock (&u->lock);
  u->available = bytes;
  g_cond_signal (&u->cond);
  g_mutex_unlock (&u->lock);
}

bool
kiln_unpack_stream_failed (struct kiln_unpack_stream *u)
{
  return g_atomic_int_get (&u->done) && u->ret != 0;
}

int
kiln_unpack_stream_finish (struct kiln_unpack_stream *u, bool ok, char **digest,
                           uint64_t *size, char **member, unsigned char head[16],
                           GError **err)
{
  int ret;

  g_mutex_lock (&u->lock);
  if (ok)
    u->finished = true;
  else
    u->aborted = true;
  g_cond_signal (&u->cond);
  g_mutex_unlock (&u->lock);
  g_thread_join (u->thread);
  ret = ok ? u->ret : -1;
  if (ret == 0) {
    *digest = g_steal_pointer (&u->digest);
    *member = g_steal_pointer (&u->member);
    *size = u->size;
    memcpy (head, u->head, 16);
  }
  else if (ok)
    g_propagate_error (err, g_steal_pointer (&u->error));
  stream_free (u);
  return ret;
}
