/* download.c: libcurl transfers for kiln.  Bytes are hashed in the write
 * callback, as they arrive, and written through a fixed buffer, so memory
 * stays flat whatever the size of the file. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <curl/curl.h>

#include "download.h"
#include "fileio.h"
#include "progress.h"

#define KILN_ATTEMPTS    4
#define KILN_BACKOFF_MS  500      /* doubled after every failed attempt */
#define KILN_WBUF        (1 << 20)

void
kiln_transfer_clear (struct kiln_transfer *t)
{
  for (size_t i = 0; i < G_N_ELEMENTS (t->digests); i++)
    g_clear_pointer (&t->digests[i], g_free);
}

/* A buffer handed from the receiving thread to the writing one. */
struct chunk {
  char *data;
  size_t len;
  bool barrier;                 /* answer on the acks queue when reached */
  bool quit;
};

#define KILN_NCHUNKS 4

/* The state of a transfer.  libcurl's thread receives; a worker thread
 * hashes and writes, so that receiving overlaps hashing and writing. */
struct sink {
  CURL *curl;
  /* To a file (resumable) or to memory. */
  int fd;
  GByteArray *mem;
  size_t max;
  struct kiln_digest *d[3];     /* updated by the worker only */
  const char *const *algs;
  struct kiln_transfer *t;
  char *scratch;                /* for hashing a partial file again */
  uint64_t offset;              /* bytes of the file before this attempt's data */
  uint64_t done;                /* bytes of the file received so far */
  uint64_t flushed;             /* bytes of the file written to it (worker) */
  bool length_checked;          /* this attempt's Content-Length against T->max */
  GError *error;                /* a failure inside the callback */
  kiln_progress *progress;
  /* The worker. */
  GThread *worker;
  GAsyncQueue *full, *empty, *acks;
  struct chunk chunks[KILN_NCHUNKS], barrier, quit;
  struct chunk *cur;
  gint failed;
  GError *werror;
};

static gpointer
worker_main (gpointer opaque)
{
  struct sink *s = opaque;

  for (;;) {
    struct chunk *c = g_async_queue_pop (s->full);

    if (c->quit)
      return NULL;
    if (c->barrier) {
      g_async_queue_push (s->acks, c);
      continue;
    }
    if (!g_atomic_int_get (&s->failed)) {
      for (size_t i = 0; s->d[i]; i++)
        kiln_digest_update (s->d[i], c->data, c->len);
      if (kiln_write_sparse (s->fd, c->data, c->len, &s->werror) == -1) {
        g_atomic_int_set (&s->failed, 1);
      }
      else {
        s->flushed += c->len;
        if (s->t->on_data && !s->t->on_data (s->t->opaque, s->flushed)) {
          s->t->stopped = true;
          g_set_error (&s->werror, KILN_ERROR, KILN_ERROR_FAILED, "stopped by its reader");
          g_atomic_int_set (&s->failed, 1);
        }
      }
    }
    c->len = 0;
    g_async_queue_push (s->empty, c);
  }
}

static int
worker_start (struct sink *s, GError **err)
{
  s->full = g_async_queue_new ();
  s->empty = g_async_queue_new ();
  s->acks = g_async_queue_new ();
  s->barrier.barrier = true;
  s->quit.quit = true;
  for (int i = 0; i < KILN_NCHUNKS; i++) {
    s->chunks[i].data = g_malloc (KILN_WBUF);
    if (i > 0)
      g_async_queue_push (s->empty, &s->chunks[i]);
  }
  s->cur = &s->chunks[0];
  s->worker = g_thread_try_new ("kiln-write", worker_main, s, err);
  return s->worker ? 0 : -1;
}

static void
worker_stop (struct sink *s)
{
  if (s->worker) {
    g_async_queue_push (s->full, &s->quit);
    g_thread_join (s->worker);
    s->worker = NULL;
  }
  for (int i = 0; i < KILN_NCHUNKS; i++)
    g_free (s->chunks[i].data);
  g_clear_pointer (&s->full, g_async_queue_unref);
  g_clear_pointer (&s->empty, g_async_queue_unref);
  g_clear_pointer (&s->acks, g_async_queue_unref);
  g_clear_error (&s->werror);
}

/* Hand over what is buffered and wait until the worker wrote it all. */
static int
sink_flush (struct sink *s)
{
  if (s->cur->len > 0) {
    g_async_queue_push (s->full, s->cur);
    s->cur = g_async_queue_pop (s->empty);
  }
  g_async_queue_push (s->full, &s->barrier);
  g_async_queue_pop (s->acks);
  if (g_atomic_int_get (&s->failed)) {
    g_atomic_int_set (&s->failed, 0);
    g_propagate_error (&s->error, g_steal_pointer (&s->werror));
    return -1;
  }
  return 0;
}

static int
reset_digests (struct sink *s, GError **err)
{
  for (size_t i = 0; s->algs && s->algs[i]; i++) {
    kiln_digest_free (s->d[i]);
    s->d[i] = kiln_digest_new (s->algs[i], err);
    if (s->d[i] == NULL)
      return -1;
  }
  return 0;
}

/* The partial file cannot be continued: empty it and hash from the
 * first byte again. */
static int
restart_from_zero (struct sink *s, struct kiln_transfer *t, GError **err)
{
  if (ftruncate (s->fd, 0) != 0 || reset_digests (s, err) == -1) {
    if (err && *err == NULL)
      g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "%s: %s", t->part, g_strerror (errno));
    return -1;
  }
  s->offset = s->done = s->flushed = 0;
  t->resumed_from = 0;
  t->head_len = 0;
  if (t->on_restart)
    t->on_restart (t->opaque);
  return 0;
}

/* A transfer past T->max: the error, and TOO_BIG.  ANNOUNCED: the server
 * said so before sending it (Content-Length). */
static void
set_too_big (struct sink *s, uint64_t bytes, bool announced)
{
  g_autofree char *max = kiln_format_size (s->t->max);

  s->t->too_big = true;
  if (s->error)
    return;
  if (announced) {
    g_autofree char *got = kiln_format_size (bytes);

    g_set_error (&s->error, KILN_ERROR, KILN_ERROR_VERIFY,
                 "%s: the server announces %s (%" G_GUINT64_FORMAT " bytes), more than %s "
                 "(%s): refused", s->t->url, got, bytes, max, s->t->max_why);
  }
  else
    g_set_error (&s->error, KILN_ERROR, KILN_ERROR_VERIFY,
                 "%s: the server sent more than %s (%s): stopped and refused",
                 s->t->url, max, s->t->max_why);
}

static size_t
write_cb (char *data, size_t size, size_t nmemb, void *opaque)
{
  struct sink *s = opaque;
  size_t len = size * nmemb;

  if (s->mem) {
    if (s->mem->len + len > s->max) {
      g_set_error (&s->error, KILN_ERROR, KILN_ERROR_FAILED,
                   "larger than %zu bytes: is this really an index?", s->max);
      return 0;
    }
    g_byte_array_append (s->mem, (const guint8 *) data, len);
    return len;
  }
  if (g_atomic_int_get (&s->failed))
    return 0;                   /* the worker's error is collected by sink_flush */
  if (s->t->max && !s->length_checked) {
    curl_off_t cl = -1;

    /* The headers are in: a Content-Length past the bound is refused
     * before a byte of the body is kept. */
    s->length_checked = true;
    if (curl_easy_getinfo (s->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) == CURLE_OK &&
        cl > 0 && s->offset + (uint64_t) cl > s->t->max) {
      set_too_big (s, s->offset + cl, true);
      return 0;
    }
  }
  if (s->t->max && s->done + len > s->t->max) {
    /* An endless body, or one longer than declared, is not an image. */
    set_too_big (s, s->done + len, false);
    return 0;
  }
  if (s->t->head_len < sizeof s->t->head) {
    size_t n = MIN (len, sizeof s->t->head - s->t->head_len);

    memcpy (s->t->head + s->t->head_len, data, n);
    s->t->head_len += n;
  }
  for (size_t off = 0; off < len;) {
    size_t n = MIN (len - off, KILN_WBUF - s->cur->len);

    memcpy (s->cur->data + s->cur->len, data + off, n);
    s->cur->len += n;
    off += n;
    if (s->cur->len == KILN_WBUF) {
      g_async_queue_push (s->full, s->cur);
      s->cur = g_async_queue_pop (s->empty);
    }
  }
  s->done += len;
  if (s->progress)
    kiln_progress_update (s->progress, s->done);
  return len;
}

static int
xferinfo_cb (void *opaque, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
  struct sink *s = opaque;

  if (s->progress && dltotal > 0)
    kiln_progress_set_total (s->progress, s->offset + dltotal);
  return 0;
}

static void
setup (CURL *c, const char *url, struct sink *s)
{
  const char *ca = g_getenv ("CURL_CA_BUNDLE");

  curl_easy_setopt (c, CURLOPT_URL, url);
  curl_easy_setopt (c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt (c, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt (c, CURLOPT_PROTOCOLS_STR, "http,https,file");
  /* A redirect may not leave TLS, nor reach local files. */
  curl_easy_setopt (c, CURLOPT_REDIR_PROTOCOLS_STR,
                    g_str_has_prefix (url, "https:") ? "https" : "http,https");
  curl_easy_setopt (c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt (c, CURLOPT_SSL_VERIFYHOST, 2L);
  if (ca && *ca)
    curl_easy_setopt (c, CURLOPT_CAINFO, ca);
  curl_easy_setopt (c, CURLOPT_CONNECTTIMEOUT, 30L);
  /* Stalled for a minute: give up this attempt (and retry). */
  curl_easy_setopt (c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt (c, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt (c, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt (c, CURLOPT_USERAGENT, "kiln/" KILN_VERSION);
  curl_easy_setopt (c, CURLOPT_BUFFERSIZE, 256L * 1024);
  curl_easy_setopt (c, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt (c, CURLOPT_WRITEDATA, s);
  curl_easy_setopt (c, CURLOPT_NOSIGNAL, 1L);
}

/* Whether a failed attempt is worth another try. */
static bool
transient (CURLcode rc, long code)
{
  switch (rc) {
  case CURLE_HTTP_RETURNED_ERROR:
    return code >= 500 || code == 408 || code == 429;
  case CURLE_COULDNT_CONNECT:
  case CURLE_PARTIAL_FILE:
  case CURLE_RECV_ERROR:
  case CURLE_SEND_ERROR:
  case CURLE_GOT_NOTHING:
  case CURLE_OPERATION_TIMEDOUT:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
    return true;
  default:
    return false;
  }
}

static void
set_curl_error (GError **err, const char *url, CURLcode rc, long code, const char *msg)
{
  if (rc == CURLE_HTTP_RETURNED_ERROR)
    g_set_error (err, KILN_ERROR, code == 404 || code == 410 ? KILN_ERROR_NOT_FOUND : KILN_ERROR_FAILED,
                 "%s: the server answered HTTP %ld", url, code);
  else if (rc == CURLE_FILE_COULDNT_READ_FILE)
    g_set_error (err, KILN_ERROR, KILN_ERROR_NOT_FOUND, "%s: no such file", url);
  else if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE)
    g_set_error (err, KILN_ERROR, KILN_ERROR_VERIFY,
                 "%s: TLS verification failed: %s (a private CA can be given in $CURL_CA_BUNDLE)",
                 url, msg[0] ? msg : curl_easy_strerror (rc));
  else
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "%s: %s", url,
                 msg[0] ? msg : curl_easy_strerror (rc));
}

static void
init_curl (void)
{
  static gsize once;

  if (g_once_init_enter (&once)) {
    curl_global_init (CURL_GLOBAL_DEFAULT);
    g_once_init_leave (&once, 1);
  }
}

/* The size the server announces for URL (a HEAD request), or -1. */
static curl_off_t
remote_size (const char *url)
{
  struct sink s = { .fd = -1 };
  curl_off_t len = -1;
  CURL *c = curl_easy_init ();

  if (c == NULL)
    return -1;
  setup (c, url, &s);
  curl_easy_setopt (c, CURLOPT_NOBODY, 1L);
  if (curl_easy_perform (c) != CURLE_OK ||
      curl_easy_getinfo (c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len) != CURLE_OK)
    len = -1;
  curl_easy_cleanup (c);
  return len;
}

/* Hash the LEN bytes already in FD (an interrupted download), keeping the
 * first bytes for the magic numbers. */
static int
rehash_part (struct sink *s, uint64_t len, GError **err)
{
  uint64_t left = len;

  if (lseek (s->fd, 0, SEEK_SET) != 0)
    goto fail;
  while (left > 0) {
    ssize_t n = read (s->fd, s->scratch, MIN (left, (uint64_t) KILN_WBUF));

    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      goto fail;
    for (size_t i = 0; s->d[i]; i++)
      kiln_digest_update (s->d[i], s->scratch, n);
    if (s->t->head_len < sizeof s->t->head) {
      size_t m = MIN ((size_t) n, sizeof s->t->head - s->t->head_len);

      memcpy (s->t->head + s->t->head_len, s->scratch, m);
      s->t->head_len += m;
    }
    left -= n;
  }
  return 0;
fail:
  g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "reading %s: %s", s->t->part,
               errno ? g_strerror (errno) : "short read");
  return -1;
}

int
kiln_download_resumable (const struct kiln_ctx *ctx, struct kiln_transfer *t, GError **err)
{
  struct sink s = { .t = t, .algs = t->algs };
  char errbuf[CURL_ERROR_SIZE];
  struct stat st;
  int ret = -1;
  unsigned delay = KILN_BACKOFF_MS;

  init_curl ();
  t->head_len = 0;
  t->too_big = t->stopped = false;
  s.fd = t->fd;
  if (fstat (s.fd, &st) != 0) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "%s: %s", t->part, g_strerror (errno));
    goto out;
  }
  s.scratch = g_malloc (KILN_WBUF);
  if (reset_digests (&s, err) == -1)
    goto out;
  /* A partial file past the bound cannot be continued into an image. */
  if (t->max && (uint64_t) st.st_size > t->max) {
    if (ftruncate (s.fd, 0) != 0) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "%s: %s", t->part, g_strerror (errno));
      goto out;
    }
    st.st_size = 0;
  }
  if (st.st_size > 0) {
    if (rehash_part (&s, st.st_size, err) == -1)
      goto out;
    t->resumed_from = st.st_size;
  }
  s.offset = s.done = s.flushed = st.st_size;
  if (st.st_size > 0 && t->on_data)
    t->on_data (t->opaque, st.st_size);
  g_clear_pointer (&s.scratch, g_free);
  if (worker_start (&s, err) == -1)
    goto out;
  s.progress = kiln_progress_new (ctx, t->label, 0);
  s.curl = curl_easy_init ();
  setup (s.curl, t->url, &s);
  curl_easy_setopt (s.curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt (s.curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt (s.curl, CURLOPT_XFERINFOFUNCTION, xferinfo_cb);
  curl_easy_setopt (s.curl, CURLOPT_XFERINFODATA, &s);

  for (int attempt = 1;; attempt++) {
    CURLcode rc;
    long code = 0;

    errbuf[0] = '\0';
    if (lseek (s.fd, s.offset, SEEK_SET) < 0) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "%s: %s", t->part, g_strerror (errno));
      goto out;
    }
    curl_easy_setopt (s.curl, CURLOPT_RESUME_FROM_LARGE, (curl_off_t) s.offset);
    s.length_checked = false;
    rc = curl_easy_perform (s.curl);
    curl_easy_getinfo (s.curl, CURLINFO_RESPONSE_CODE, &code);
    if (s.error) {
      g_propagate_error (err, g_steal_pointer (&s.error));
      goto out;
    }
    if (sink_flush (&s) == -1) {
      g_propagate_prefixed_error (err, g_steal_pointer (&s.error), "%s: ", t->part);
      goto out;
    }
    /* What the file holds now; holes at its end are made real here so
     * that a resume starts at the right offset. */
    if (ftruncate (s.fd, s.done) != 0) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "%s: %s", t->part, g_strerror (errno));
      goto out;
    }
    if (rc == CURLE_OK)
      break;
    if (rc == CURLE_RANGE_ERROR && s.offset > 0) {
      /* The server ignores Range (libcurl stops at its 200): the file
       * starts over. */
      if (restart_from_zero (&s, t, err) == -1)
        goto out;
      continue;
    }
    if (rc == CURLE_HTTP_RETURNED_ERROR && code == 416 && s.offset > 0) {
      /* Nothing after our offset: either the partial file is complete
       * (kiln stopped between the last byte and the publication), or it
       * is longer than theirs and the file changed: start over. */
      if (remote_size (t->url) == (curl_off_t) s.offset)
        break;
      if (restart_from_zero (&s, t, err) == -1)
        goto out;
      continue;
    }
    if (!transient (rc, code) || attempt >= KILN_ATTEMPTS) {
      set_curl_error (err, t->url, rc, code, errbuf);
      if (attempt > 1 && transient (rc, code))
        g_prefix_error (err, "after %d attempts: ", attempt);
      goto out;
    }
    g_usleep ((gulong) delay * 1000);
    delay *= 2;
    s.offset = s.done;
    s.flushed = s.done;
  }
  if (fsync (s.fd) != 0) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "%s: %s", t->part, g_strerror (errno));
    goto out;
  }
  for (size_t i = 0; s.d[i]; i++)
    t->digests[i] = kiln_digest_finish (s.d[i]);
  t->size = s.done;
  ret = 0;
out:
  /* The worker first: it may still hold a digest or the file. */
  worker_stop (&s);
  if (s.curl)
    curl_easy_cleanup (s.curl);
  kiln_progress_free (s.progress);
  for (size_t i = 0; i < G_N_ELEMENTS (s.d); i++)
    kiln_digest_free (s.d[i]);
  g_clear_error (&s.error);
  g_free (s.scratch);
  return ret;
}

GBytes *
kiln_download_bytes (const char *url, size_t max, GError **err)
{
  struct kiln_transfer t = { .url = url };
  struct sink s = { .t = &t, .max = max, .fd = -1 };
  char errbuf[CURL_ERROR_SIZE];
  unsigned delay = KILN_BACKOFF_MS;
  GBytes *ret = NULL;

  init_curl ();
  s.curl = curl_easy_init ();
  setup (s.curl, url, &s);
  curl_easy_setopt (s.curl, CURLOPT_ERRORBUFFER, errbuf);
  for (int attempt = 1;; attempt++) {
    CURLcode rc;
    long code = 0;

    errbuf[0] = '\0';
    s.mem = g_byte_array_new ();
    rc = curl_easy_perform (s.curl);
    curl_easy_getinfo (s.curl, CURLINFO_RESPONSE_CODE, &code);
    if (s.error) {
      g_propagate_prefixed_error (err, g_steal_pointer (&s.error), "%s: ", url);
      break;
    }
    if (rc == CURLE_OK) {
      ret = g_byte_array_free_to_bytes (g_steal_pointer (&s.mem));
      break;
    }
    g_clear_pointer (&s.mem, g_byte_array_unref);
    if (!transient (rc, code) || attempt >= KILN_ATTEMPTS) {
      set_curl_error (err, url, rc, code, errbuf);
      break;
    }
    g_usleep ((gulong) delay * 1000);
    delay *= 2;
  }
  if (s.mem)
    g_byte_array_unref (s.mem);
  curl_easy_cleanup (s.curl);
  return ret;
}
