/* unpack.c: streaming decompression into a sparse file, the output hashed
 * as it is written: liblzma's multi-threaded decoder for plain .xz (the
 * common case of a disk image, and the slowest to decode), libarchive for
 * the rest (gzip, zstd, bzip2, tar and OVA containers).
 *
 * The output is hashed with SHA-256, not SHA-512: every byte of it is
 * hashed, holes included (3 GiB for a typical raw cloud image), and with
 * the SHA extensions of current x86 CPUs OpenSSL's SHA-256 runs at about
 * twice SHA-512's speed (1.8 against 0.86 GB/s here), which is most of
 * the CPU kiln spends beyond liblzma's own decoding (bench/RESULTS.md,
 * unxz).  Without them SHA-256 is the slower one (0.55 GB/s here with
 * SHA-NI masked), but they are in AMD CPUs since Zen (2017), Intel's
 * since Ice Lake (2019) and ARMv8 CPUs with the Cryptography Extension,
 * and a name must not depend on the machine that unpacked the image.
 * What the download was verified against stays the checksum the
 * repository gave; this digest only names the result in the cache. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <archive.h>
#include <archive_entry.h>
#include <lzma.h>

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

/* Where the image goes: OUT_FD, sparse, hashed, its first 16 bytes kept
 * in HEAD, at most MAX bytes (0: no bound), holes included. */
struct sink {
  int fd;
  struct kiln_digest *d;
  uint64_t pos, max;
  const char *in, *max_why;
  unsigned char *head;
};

/* Append LEN bytes of BUF (NULL: LEN zero bytes, a hole) to S. */
static int
sink_write (struct sink *s, const void *buf, size_t len, GError **err)
{
  /* Holes count: a bomb of zeros is sparse but still unbounded. */
  if (s->max && s->pos + len > s->max) {
    set_too_big (err, s->in, s->max, s->max_why);
    return -1;
  }
  if (buf == NULL) {
    kiln_digest_update_zeros (s->d, len);
    if (lseek (s->fd, len, SEEK_CUR) < 0) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "writing the image from %s: %s", s->in,
                   g_strerror (errno));
      return -1;
    }
    s->pos += len;
    return 0;
  }
  if (s->pos < 16)
    memcpy (s->head + s->pos, buf, MIN (len, 16 - s->pos));
  kiln_digest_update (s->d, buf, len);
  if (kiln_write_sparse (s->fd, buf, len, err) == -1)
    return -1;
  s->pos += len;
  return 0;
}

/* The image is complete: its size set, synced, its digest taken. */
static int
sink_finish (struct sink *s, char **digest, uint64_t *size, GError **err)
{
  if (ftruncate (s->fd, s->pos) != 0 || fsync (s->fd) != 0) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "writing the image from %s: %s", s->in,
                 g_strerror (errno));
    return -1;
  }
  *digest = kiln_digest_finish (s->d);
  *size = s->pos;
  return 0;
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
  g_autoptr (kiln_digest) d = kiln_digest_new (KILN_UNPACK_DIGEST, err);
  struct sink sk = { out_fd, d, 0, max, in, max_why, head };
  int ret = -1, r = ARCHIVE_FATAL;
  bool found = false;

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
      if (off < 0) {
        g_set_error (err, KILN_ERROR, KILN_ERROR_VERIFY, "%s: a block at a negative offset", in);
        goto out;
      }
      /* A hole of a sparse tar member. */
      if ((uint64_t) off > sk.pos && sink_write (&sk, NULL, off - sk.pos, err) == -1)
        goto out;
      if (sink_write (&sk, buf, len, err) == -1)
        goto out;
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
    if (!raw && archive_entry_size_is_set (ent) && (uint64_t) archive_entry_size (ent) > sk.pos) {
      kiln_digest_update_zeros (d, archive_entry_size (ent) - sk.pos);
      sk.pos = archive_entry_size (ent);
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
  ret = sink_finish (&sk, digest, size, err);
out:
  if (ret != 0)
    g_clear_pointer (member, g_free);
  archive_read_free (a);
  return ret;
}

/* ---- plain .xz with liblzma ---- */

/* The multi-threaded decoder decodes the blocks of a multi-block stream
 * (xz -T, or xz --block-size) in parallel, as long as all the threads'
 * buffers fit in XZ_MEMLIMIT; past it, or for a single-block stream, it
 * decodes in one thread, which any stream xz can make fits (-9e: 65 MiB
 * of dictionary). */
#define XZ_MEMLIMIT (64ull << 20)
#define XZ_MAX_THREADS 4
#define XZ_BUF (1 << 20)

static bool
is_xz (const unsigned char *h, size_t len)
{
  return len >= 6 && memcmp (h, "\xfd" "7zXZ\0", 6) == 0;
}

/* Where the compressed bytes come from: READ sets *BUF to the next bytes
 * and returns how many, 0 at the end, -1 with ERR. */
struct src {
  ssize_t (*read) (void *opaque, const void **buf, GError **err);
  void *opaque;
};

static const char *
lzma_why (lzma_ret r)
{
  switch (r) {
  case LZMA_MEM_ERROR: return "out of memory";
  case LZMA_MEMLIMIT_ERROR: return "the stream needs more memory than allowed";
  case LZMA_FORMAT_ERROR: return "not in the xz format";
  case LZMA_OPTIONS_ERROR: return "unsupported compression options";
  case LZMA_DATA_ERROR: return "corrupt data";
  case LZMA_BUF_ERROR: return "truncated data";
  default: return "decoder error";
  }
}

/* Decompress the .xz stream(s) SRC (named IN) into OUT_FD as unpack_archive
 * does.  1 (OUT_FD rewound and emptied) when the data is a tar container:
 * libarchive takes it. */
static int
unpack_xz (struct src *src, const char *in, int out_fd, uint64_t max, const char *max_why,
           char **digest, uint64_t *size, unsigned char head[16], GError **err)
{
  g_autoptr (kiln_digest) d = kiln_digest_new (KILN_UNPACK_DIGEST, err);
  struct sink sk = { out_fd, d, 0, max, in, max_why, head };
  lzma_stream s = LZMA_STREAM_INIT;
  lzma_mt mt = {
    .flags = LZMA_CONCATENATED,
    .threads = MIN (XZ_MAX_THREADS, MAX (1, g_get_num_processors ())),
    .memlimit_threading = XZ_MEMLIMIT,
    .memlimit_stop = UINT64_MAX,
  };
  g_autofree uint8_t *obuf = g_malloc (XZ_BUF);
  unsigned char first[262];
  size_t first_len = 0;
  lzma_action action = LZMA_RUN;
  lzma_ret r;
  int ret = -1;

  memset (head, 0, 16);
  if (d == NULL)
    return -1;
  if ((r = lzma_stream_decoder_mt (&s, &mt)) != LZMA_OK) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "%s: cannot start the xz decoder: %s",
                 in, lzma_why (r));
    return -1;
  }
  for (;;) {
    size_t produced;

    if (s.avail_in == 0 && action == LZMA_RUN) {
      const void *buf;
      ssize_t n = src->read (src->opaque, &buf, err);

      if (n < 0)
        goto out;
      if (n == 0)
        action = LZMA_FINISH;
      s.next_in = buf;
      s.avail_in = n;
    }
    s.next_out = obuf;
    s.avail_out = XZ_BUF;
    r = lzma_code (&s, action);
    produced = XZ_BUF - s.avail_out;
    if (first_len < sizeof first && produced > 0) {
      size_t k = MIN (produced, sizeof first - first_len);

      memcpy (first + first_len, obuf, k);
      first_len += k;
      if (first_len == sizeof first && memcmp (first + 257, "ustar", 5) == 0) {
        ret = lseek (out_fd, 0, SEEK_SET) == 0 && ftruncate (out_fd, 0) == 0 ? 1 : -1;
        if (ret == -1)
          g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "%s: %s", in, g_strerror (errno));
        goto out;
      }
    }
    if (produced > 0 && sink_write (&sk, obuf, produced, err) == -1)
      goto out;
    if (r == LZMA_STREAM_END)
      break;
    if (r != LZMA_OK) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_VERIFY, "%s: cannot decompress: %s", in,
                   lzma_why (r));
      goto out;
    }
  }
  ret = sink_finish (&sk, digest, size, err);
out:
  lzma_end (&s);
  return ret;
}

/* Reading IN_FD from its start, for kiln_unpack. */
struct fd_src {
  int fd;
  const char *in;
  char *buf;
};

static ssize_t
fd_read (void *opaque, const void **buf, GError **err)
{
  struct fd_src *f = opaque;
  ssize_t n;

  do
    n = read (f->fd, f->buf, XZ_BUF);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "reading %s: %s", f->in, g_strerror (errno));
  *buf = f->buf;
  return n;
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
  unsigned char magic[6];

  *member = NULL;
  if (pread (in_fd, magic, sizeof magic, 0) == sizeof magic && is_xz (magic, sizeof magic) &&
      lseek (in_fd, 0, SEEK_SET) == 0) {
    g_autofree char *buf = g_malloc (XZ_BUF);
    struct fd_src f = { in_fd, in, buf };
    struct src src = { fd_read, &f };

    ret = unpack_xz (&src, in, out_fd, max, max_why, digest, size, head, err);
  }
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

/* The next bytes of IN, waiting for the download to announce them. */
static ssize_t
stream_next (void *opaque, const void **out, GError **err)
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
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "the download stopped");
    return -1;
  }
  if (u->pos >= avail)
    return 0;
  want = MIN ((uint64_t) KILN_STREAM_BUF, avail - u->pos);
  n = pread (u->in_fd, u->buf, want, u->pos);
  if (n < 0) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "reading %s: %s", u->in, g_strerror (errno));
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

static la_ssize_t
stream_read (struct archive *a, void *opaque, const void **out)
{
  g_autoptr (GError) e = NULL;
  ssize_t n = stream_next (opaque, out, &e);

  if (n < 0)
    archive_set_error (a, ECANCELED, "%s", e->message);
  return n;
}

static gpointer
stream_thread (gpointer opaque)
{
  struct kiln_unpack_stream *u = opaque;

  const void *first;
  g_autoptr (GError) e = NULL;
  ssize_t n;

  u->ret = 1;
  /* A plain .xz goes to liblzma (from the start again: reads are pread). */
  u->pos = 0;
  n = stream_next (u, &first, &e);
  if (n >= 6 && is_xz (first, n)) {
    struct src src = { stream_next, u };

    u->pos = 0;
    u->ret = unpack_xz (&src, u->in, u->out_fd, u->max, u->max_why, &u->digest, &u->size,
                        u->head, &u->error);
  }
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
