/* fetch.c: SOURCE to a verified image in the cache: resolve it (template,
 * URL or path), find what it must hash to, download it once (locked,
 * resumable, hashed as it arrives), unpack it, publish it by rename. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fetch.h"
#include "cache.h"
#include "digest.h"
#include "download.h"
#include "repo.h"
#include "unpack.h"

void
kiln_fetch_result_clear (struct kiln_fetch_result *r)
{
  g_clear_pointer (&r->path, g_free);
  g_clear_pointer (&r->format, g_free);
  g_clear_pointer (&r->digest, g_free);
  g_clear_pointer (&r->source, g_free);
  g_clear_pointer (&r->source_digest, g_free);
  g_clear_pointer (&r->osinfo, g_free);
  g_clear_pointer (&r->verification, g_free);
  if (r->pinned)
    close (r->pin);
  r->pinned = false;
}

/* The last path segment of URL, without query: the name sums files use. */
static char *
url_basename (const char *url)
{
  g_autofree char *path = g_strdup (url);
  char *q = strpbrk (path, "?#");
  char *slash;

  if (q)
    *q = '\0';
  slash = strrchr (path, '/');
  return g_uri_unescape_string (slash ? slash + 1 : path, NULL);
}

/* The checksum that --sums URL gives for the file NAME. */
static char *
checksum_from_sums (const char *sums_url, const char *name, GError **err)
{
  g_autoptr (GBytes) data = kiln_download_bytes (sums_url, 16u << 20, err);
  g_autoptr (GPtrArray) sums = NULL;
  const struct kiln_sum *s;
  const char *p;
  gsize len;

  if (data == NULL)
    return NULL;
  p = g_bytes_get_data (data, &len);
  sums = kiln_sums_parse (p, len, sums_url, err);
  if (sums == NULL)
    return NULL;
  s = kiln_sums_lookup (sums, name);
  if (s == NULL) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_NOT_FOUND,
                 "%s has no checksum for %s: is it the right checksum file?", sums_url, name);
    return NULL;
  }
  return g_strdup (s->checksum);
}

static void
fill_from_cache (struct kiln_fetch_result *r, char *path, const char *url, const char *checksum)
{
  g_autoptr (GKeyFile) meta = kiln_cache_meta (path);
  struct stat st;

  r->path = path;
  r->digest = kiln_cache_digest_of (path);
  r->format = g_key_file_get_string (meta, "image", "format", NULL);
  if (r->format == NULL)
    r->format = g_strdup ("raw");
  if (r->osinfo == NULL)
    r->osinfo = g_key_file_get_string (meta, "image", "osinfo", NULL);
  r->source = g_strdup (url);
  r->source_digest = g_strdup (checksum);
  if (lstat (path, &st) == 0)
    r->size = st.st_size;
  r->from_cache = true;
}

/* The bounds on what a fetch writes: the downloaded file (DL) and the
 * image it unpacks to (OUT), each with where it comes from. */
struct bounds {
  uint64_t dl, out;
  char *dl_why, *out_why;
};

static void
bounds_clear (struct bounds *b)
{
  g_clear_pointer (&b->dl_why, g_free);
  g_clear_pointer (&b->out_why, g_free);
}

/* Unpacking while the download goes on: a thread follows the partial
 * file once its first bytes say it is compressed. */
struct follow {
  struct kiln_transfer *t;
  const struct bounds *b;
  const char *dir, *key;
  bool decided, disabled;
  char *tmp;
  int fd;
  struct kiln_unpack_stream *u;
};

static void
follow_stop (struct follow *f)
{
  if (f->u) {
    char *digest = NULL, *member = NULL;
    unsigned char head[16];
    uint64_t size;

    kiln_unpack_stream_finish (f->u, false, &digest, &size, &member, head, NULL);
    f->u = NULL;
  }
  if (f->fd >= 0)
    close (f->fd);
  f->fd = -1;
  if (f->tmp)
    unlink (f->tmp);
  g_clear_pointer (&f->tmp, g_free);
}

static bool
follow_data (void *opaque, uint64_t bytes)
{
  struct follow *f = opaque;

  if (f->disabled)
    return true;
  if (!f->decided) {
    g_autofree char *tname = NULL;

    /* Enough to tell a tar header (offset 257) from anything else. */
    if (f->t->head_len < 262)
      return true;
    f->decided = true;
    if (!kiln_unpack_needed (f->t->head, f->t->head_len)) {
      f->disabled = true;
      return true;
    }
    tname = g_strconcat (".tmp-", f->key, "-XXXXXX", NULL);
    f->tmp = g_build_filename (f->dir, "images", tname, NULL);
    f->fd = g_mkstemp_full (f->tmp, O_RDWR | O_CLOEXEC, 0644);
    if (f->fd >= 0)
      f->u = kiln_unpack_stream_start (f->t->fd, f->t->label, f->fd, f->b->out, f->b->out_why, NULL);
    if (f->u == NULL) {
      /* Unpack after the download instead. */
      follow_stop (f);
      f->disabled = true;
      return true;
    }
  }
  /* Unpacking gave up (past its bound, corrupt): stop downloading too. */
  if (kiln_unpack_stream_failed (f->u))
    return false;
  kiln_unpack_stream_feed (f->u, bytes);
  return true;
}

static void
follow_restart (void *opaque)
{
  struct follow *f = opaque;

  /* What was unpacked came from bytes that are gone: unpack afterwards. */
  follow_stop (f);
  f->disabled = true;
}

/* Download URL into the cache under lock; CHECKSUM (may be NULL) is what
 * the downloaded bytes must hash to, R->verified whether that proves
 * anything (recorded in the .meta); B bounds what is written. */
static int
fetch_url (const struct kiln_ctx *ctx, const char *url, const char *checksum,
           const char *format_hint, const struct bounds *b, struct kiln_fetch_result *r,
           GError **err)
{
  g_autofree char *dir = kiln_cache_dir (ctx, err);
  g_autofree char *key = NULL;
  g_autofree char *part = NULL;
  g_autofree char *name = url_basename (url);
  g_autofree char *tmp = NULL;
  g_autofree char *image_digest = NULL;
  g_autofree char *member = NULL;
  g_autoptr (GKeyFile) meta = NULL;
  struct kiln_transfer t = { .url = url, .label = name, .fd = -1,
                             .max = b->dl, .max_why = b->dl_why };
  struct follow f = { .fd = -1, .b = b };
  g_autofree char *alg = NULL;
  const char *format;
  unsigned char head[16];
  uint64_t size;
  int lock = -1, ret = -1;
  char *cached;

  if (dir == NULL)
    return -1;
  if (checksum) {
    key = kiln_cache_key (checksum);
    /* kiln_checksum_parse made it "ALG:HEX". */
    alg = g_strndup (checksum, strcspn (checksum, ":"));
    cached = kiln_cache_lookup (dir, checksum);
    if (cached) {
      fill_from_cache (r, cached, url, checksum);
      return 0;
    }
  }
  else {
    g_autofree char *h = g_compute_checksum_for_string (G_CHECKSUM_SHA256, url, -1);

    key = g_strconcat ("url-", h, NULL);
  }
  /* One process downloads; the others wait here and then find it cached. */
  lock = kiln_cache_lock (dir, key, true, err);
  if (lock < 0)
    goto out;
  if (checksum && (cached = kiln_cache_lookup (dir, checksum))) {
    fill_from_cache (r, cached, url, checksum);
    ret = 0;
    goto out;
  }
  {
    g_autofree char *pname = g_strconcat (".part-", key, NULL);
    g_autofree char *tprefix = g_strconcat (".tmp-", key, "-", NULL);
    g_autofree char *images = g_build_filename (dir, "images", NULL);
    g_autoptr (GDir) d = g_dir_open (images, 0, NULL);
    const char *n;

    part = g_build_filename (dir, "images", pname, NULL);
    /* Unpacked output of a killed run: under our lock, nobody writes it. */
    while (d && (n = g_dir_read_name (d))) {
      if (g_str_has_prefix (n, tprefix)) {
        g_autofree char *stale = g_build_filename (images, n, NULL);

        unlink (stale);
      }
    }
  }
  /* Every byte is hashed once: the download with the checksum's
   * algorithm (sha512 without one), which also names an image stored as
   * downloaded; an unpacked image is hashed as it is written
   * (KILN_UNPACK_DIGEST). */
  t.algs[0] = alg ? alg : "sha512";
  t.part = part;
  t.fd = kiln_cache_open (part, O_RDWR | O_CREAT, 0600, err);
  if (t.fd < 0)
    goto out;
  f.t = &t;
  f.dir = dir;
  f.key = key;
  t.on_data = follow_data;
  t.on_restart = follow_restart;
  t.opaque = &f;
  if (kiln_download_resumable (ctx, &t, err) == -1) {
    struct stat st;

    if (t.stopped && f.u) {
      /* The unpacking gave up (past its bound, or corrupt data): its
       * error is the one to tell, and the bytes that made it are not
       * worth resuming. */
      char *digest = NULL, *mem = NULL;
      unsigned char h[16];
      uint64_t sz;

      g_clear_error (err);
      kiln_unpack_stream_finish (f.u, true, &digest, &sz, &mem, h, err);
      f.u = NULL;
      g_free (digest);
      g_free (mem);
      unlink (part);
    }
    /* A server that says the file is not there will not say otherwise
     * on the next run, and a file past its bound will not shrink: keep
     * nothing. */
    else if ((err && *err && (*err)->code == KILN_ERROR_NOT_FOUND) || t.too_big ||
             (fstat (t.fd, &st) == 0 && st.st_size == 0))
      unlink (part);
    goto out;
  }
  if (checksum && strcmp (t.digests[0], checksum) != 0) {
    unlink (part);
    g_set_error (err, KILN_ERROR, KILN_ERROR_VERIFY,
                 "checksum mismatch for %s (%s, %" G_GUINT64_FORMAT " bytes): expected %s, got %s; "
                 "the download was removed and nothing was cached",
                 name, url, t.size, checksum, t.digests[0]);
    goto out;
  }
  meta = g_key_file_new ();
  g_key_file_set_string (meta, "image", "source", url);
  if (checksum)
    g_key_file_set_string (meta, "image", "source_digest", checksum);
  else
    g_key_file_set_string (meta, "image", "source_digest", t.digests[0]);
  g_key_file_set_boolean (meta, "image", "verified", r->verified);
  if (r->verification)
    g_key_file_set_string (meta, "image", "verification", r->verification);
  {
    g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
    g_autofree char *iso = g_date_time_format_iso8601 (now);

    g_key_file_set_string (meta, "image", "fetched", iso);
  }
  if (f.u) {
    /* Verified: let the unpacking thread finish what it follows. */
    int rc = kiln_unpack_stream_finish (f.u, true, &image_digest, &size, &member, head, err);

    f.u = NULL;
    close (f.fd);
    f.fd = -1;
    tmp = g_steal_pointer (&f.tmp);
    if (rc == -1) {
      unlink (tmp);
      unlink (part);
      goto out;
    }
    format = kiln_image_format (head, sizeof head);
    if (member)
      g_key_file_set_string (meta, "image", "member", member);
  }
  else if (kiln_unpack_needed (t.head, t.head_len)) {
    g_autofree char *tname = g_strconcat (".tmp-", key, "-XXXXXX", NULL);
    int fd;

    tmp = g_build_filename (dir, "images", tname, NULL);
    fd = g_mkstemp_full (tmp, O_RDWR | O_CLOEXEC, 0644);
    if (fd < 0) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "%s: %s", tmp, g_strerror (errno));
      goto out;
    }
    if (kiln_unpack (t.fd, name, fd, b->out, b->out_why, &image_digest, &size, &member,
                     head, err) == -1) {
      close (fd);
      unlink (tmp);
      /* Verified bytes that do not unpack: the publisher's problem; keep
       * nothing, so that a fixed file is fetched again. */
      unlink (part);
      goto out;
    }
    close (fd);
    format = kiln_image_format (head, sizeof head);
    if (member)
      g_key_file_set_string (meta, "image", "member", member);
  }
  else {
    tmp = g_strdup (part);
    image_digest = g_strdup (t.digests[0]);
    size = t.size;
    format = kiln_image_format (t.head, t.head_len);
  }
  /* An index may say qcow2 for what qemu calls raw only when it is wrong;
   * the bytes decide, the hint fills in what the magic cannot tell. */
  if (strcmp (format, "raw") == 0 && format_hint && strcmp (format_hint, "qcow2") != 0)
    format = format_hint;
  g_key_file_set_string (meta, "image", "format", format);
  g_key_file_set_uint64 (meta, "image", "size", size);
  if (r->osinfo)
    g_key_file_set_string (meta, "image", "osinfo", r->osinfo);
  {
    const char *sources[2] = { checksum, NULL };

    r->path = kiln_cache_publish (dir, tmp, image_digest, meta, checksum ? sources : NULL, err);
  }
  if (r->path == NULL)
    goto out;
  if (strcmp (tmp, part) != 0)
    unlink (part);
  r->digest = g_steal_pointer (&image_digest);
  r->format = g_strdup (format);
  r->source = g_strdup (url);
  r->source_digest = g_strdup (checksum ? checksum : t.digests[0]);
  r->size = size;
  ret = 0;
out:
  /* Whatever failed, an unpacking thread still under way is stopped and
   * its output removed. */
  follow_stop (&f);
  if (t.fd >= 0)
    close (t.fd);
  kiln_transfer_clear (&t);
  if (lock >= 0)
    close (lock);
  return ret;
}

/* What a template's checksum is worth: the index it comes from is signed
 * (the signature was checked when it was read), local, came over TLS, or
 * came over plain http unsigned (proves nothing).  Sets R's verification
 * text; returns whether the checksum is authentic.  REPO may be NULL. */
static bool
index_trust (const struct kiln_repo *repo, const char *id, struct kiln_fetch_result *r)
{
  const char *uri = repo ? repo->uri : "";

  if (repo && (repo->pubkey || repo->gpgkey)) {
    r->verification = g_strdup_printf ("matched the checksum in repository %s's index, whose %s "
                                       "signature was verified", id, repo->pubkey ? "Ed25519" : "OpenPGP");
    return true;
  }
  switch (kiln_source_classify (uri)) {
  case KILN_SOURCE_HTTPS:
    r->verification = g_strdup_printf ("matched the checksum in repository %s's index, fetched "
                                       "over https (authenticated by TLS; the index is not signed)", id);
    return true;
  case KILN_SOURCE_HTTP:
    r->verification = g_strdup_printf ("NOT verified: repository %s's index came over plain http:// "
                                       "without a signature, so its checksum proves nothing (--insecure)", id);
    return false;
  default:
    r->verification = g_strdup_printf ("matched the checksum in repository %s's local index", id);
    return true;
  }
}

/* What --sums URL's checksum is worth (see index_trust); false: plain
 * http, which a man in the middle could have written as well as the
 * image. */
static bool
sums_trust (const char *sums_url, struct kiln_fetch_result *r)
{
  switch (kiln_source_classify (sums_url)) {
  case KILN_SOURCE_HTTP:
    r->verification = g_strdup_printf ("NOT verified: it matched the checksum in %s, but that came "
                                       "over plain http:// unsigned, from wherever the image could "
                                       "have come (--insecure)", sums_url);
    return false;
  case KILN_SOURCE_HTTPS:
    r->verification = g_strdup_printf ("matched the checksum in %s (fetched over https)", sums_url);
    return true;
  default:
    r->verification = g_strdup_printf ("matched the checksum in %s (a local file)", sums_url);
    return true;
  }
}

/* The bounds of a fetch: MAX (--max-size, 0: not given), or else the
 * sizes the index declares (T may be NULL), or else the default. */
static void
bounds_set (struct bounds *b, uint64_t max, const struct kiln_template *t)
{
  if (max) {
    b->out = max;
    b->out_why = g_strdup ("--max-size");
  }
  else {
    b->out = KILN_FETCH_MAX_SIZE_DEFAULT;
    b->out_why = g_strdup ("kiln's default maximum; --max-size raises it");
  }
  /* size= is the disk's virtual size: a qcow2 file holding all of it
   * also holds its tables (1/8192 of the data, and some clusters). */
  if (t && t->size && t->size < UINT64_MAX / 2) {
    uint64_t declared = t->size + t->size / 256 + (1u << 20);

    if (max == 0 || declared < max) {
      b->out = declared;
      g_free (b->out_why);
      b->out_why = g_strdup_printf ("the size= of repository %s's index, %" G_GUINT64_FORMAT
                                    " bytes, with room for qcow2's tables", t->repo, t->size);
    }
  }
  b->dl = b->out;
  b->dl_why = g_strdup (b->out_why);
  if (t && t->compressed_size && (max == 0 || t->compressed_size <= max)) {
    b->dl = t->compressed_size;
    g_free (b->dl_why);
    b->dl_why = g_strdup_printf ("the compressed_size= of repository %s's index", t->repo);
  }
}

static int
fetch (const struct kiln_ctx *ctx, const char *source, const struct kiln_fetch_opts *o,
       struct kiln_fetch_result *r, GError **err)
{
  static const struct kiln_fetch_opts none = { 0 };
  enum kiln_source_kind kind = kiln_source_classify (source);
  g_autofree char *checksum = NULL;
  g_autofree char *url = NULL;
  g_autofree char *format_hint = NULL;
  g_autoptr (kiln_template) t = NULL;
  struct bounds b = { 0 };
  bool authentic = false;       /* the checksum came from a source a MITM cannot write */
  int ret;

  memset (r, 0, sizeof *r);
  if (o == NULL)
    o = &none;
  if (o->checksum) {
    checksum = kiln_checksum_parse (o->checksum, NULL, err);
    if (checksum == NULL)
      return -1;
    r->verification = g_strdup_printf ("matched the checksum given, %s", checksum);
    authentic = true;
  }
  switch (kind) {
  case KILN_SOURCE_INVALID:
    g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE,
                 "%s: not a template name, a local path or an https://, http:// or file:// URL", source);
    return -1;

  case KILN_SOURCE_PATH: {
    unsigned char head[512];
    ssize_t n;
    int fd = open (source, O_RDONLY | O_CLOEXEC);
    struct stat st;

    if (fd < 0 || fstat (fd, &st) != 0) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_NOT_FOUND, "%s: %s", source, g_strerror (errno));
      if (fd >= 0)
        close (fd);
      return -1;
    }
    n = read (fd, head, sizeof head);
    close (fd);
    if (!S_ISREG (st.st_mode) && !S_ISBLK (st.st_mode)) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE, "%s: not a file", source);
      return -1;
    }
    if (n > 0 && kiln_unpack_needed (head, n)) {
      /* Compressed: it goes through the cache like a download. */
      g_autofree char *abs = g_canonicalize_filename (source, NULL);

      url = g_filename_to_uri (abs, NULL, err);
      if (url == NULL)
        return -1;
      break;
    }
    if (checksum) {
      g_autofree char *got = kiln_digest_file (source, strncmp (checksum, "sha256", 6) == 0 ? "sha256" : "sha512", err);

      if (got == NULL)
        return -1;
      if (strcmp (got, checksum) != 0) {
        g_set_error (err, KILN_ERROR, KILN_ERROR_VERIFY,
                     "checksum mismatch for %s: expected %s, got %s", source, checksum, got);
        return -1;
      }
      r->source_digest = g_steal_pointer (&got);
      r->verified = true;
    }
    else
      r->verification = g_strdup ("not checked against any checksum: a local file, trusted as it is");
    r->path = g_canonicalize_filename (source, NULL);
    r->source = g_strdup (r->path);
    r->size = st.st_size;
    r->format = g_strdup (kiln_image_format (head, n > 0 ? n : 0));
    return 0;
  }

  case KILN_SOURCE_TEMPLATE: {
    const struct kiln_repo *repo = NULL;
    g_autoptr (GPtrArray) repos = NULL;
    g_autofree char *given = g_steal_pointer (&r->verification);
    bool index_ok;

    t = kiln_repo_find (ctx, source, o->arch, err);
    if (t == NULL)
      return -1;
    repos = kiln_repos_load (NULL);
    for (guint i = 0; repos && i < repos->len; i++)
      if (strcmp (((struct kiln_repo *) repos->pdata[i])->id, t->repo) == 0)
        repo = repos->pdata[i];
    if (t->checksum == NULL && !o->insecure) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_VERIFY,
                   "template %s in repository %s has no checksum: refusing it (--insecure to take it anyway)",
                   source, t->repo);
      return -1;
    }
    index_ok = index_trust (repo, t->repo, r);
    if (!index_ok && !o->insecure) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_VERIFY,
                   "repository %s is plain http:// and has no pubkey= or gpgkey=: its checksums "
                   "prove nothing; refusing it (use https, sign it, or --insecure)", t->repo);
      return -1;
    }
    if (checksum && t->checksum && strcmp (checksum, t->checksum) != 0) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_VERIFY,
                   "--checksum %s differs from repository %s's %s for %s", checksum, t->repo,
                   t->checksum, source);
      return -1;
    }
    if (checksum == NULL && t->checksum) {
      checksum = g_strdup (t->checksum);
      authentic = index_ok;
    }
    else if (checksum) {
      /* Given, and the same as the index's if it has one. */
      g_free (r->verification);
      r->verification = g_steal_pointer (&given);
    }
    else {
      g_free (r->verification);
      r->verification = g_strdup_printf ("NOT verified: repository %s's index gives no checksum "
                                         "(--insecure)", t->repo);
    }
    url = g_strdup (t->url);
    format_hint = g_strdup (t->format);
    r->osinfo = g_strdup (t->osinfo);
    break;
  }

  case KILN_SOURCE_HTTP:
  case KILN_SOURCE_HTTPS:
  case KILN_SOURCE_FILE_URL:
    url = g_strdup (source);
    break;
  }

  if (checksum == NULL && o->sums_url) {
    g_autofree char *name = url_basename (url);

    authentic = sums_trust (o->sums_url, r);
    if (!authentic && !o->insecure) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_VERIFY,
                   "--sums %s is plain http://: a checksum file that anyone on the way can "
                   "rewrite verifies nothing; give it over https://, give --checksum, or accept "
                   "the risk with --insecure", o->sums_url);
      return -1;
    }
    checksum = checksum_from_sums (o->sums_url, name, err);
    if (checksum == NULL)
      return -1;
  }
  if (checksum == NULL && kind == KILN_SOURCE_HTTP && !o->insecure) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_VERIFY,
                 "%s: plain http:// with nothing to verify against: give --checksum or --sums, "
                 "use https://, or accept the risk with --insecure", url);
    return -1;
  }
  if (r->verification == NULL) {
    switch (kiln_source_classify (url)) {
    case KILN_SOURCE_HTTPS:
      r->verification = g_strdup ("not checked against any checksum: downloaded over https, "
                                  "which authenticates the server, not the image");
      break;
    case KILN_SOURCE_HTTP:
      r->verification = g_strdup ("NOT verified: plain http:// with no checksum (--insecure)");
      break;
    default:
      r->verification = g_strdup ("not checked against any checksum: a local file, trusted as it is");
      break;
    }
  }
  r->verified = checksum != NULL && authentic;
  bounds_set (&b, o->max_size, t);
  ret = fetch_url (ctx, url, checksum, format_hint, &b, r, err);
  bounds_clear (&b);
  if (ret == -1) {
    kiln_fetch_result_clear (r);
    return -1;
  }
  return 0;
}

int
kiln_fetch (const struct kiln_ctx *ctx, const char *source,
            const struct kiln_fetch_opts *o, struct kiln_fetch_result *r,
            GError **err)
{
  /* Taken before the cache is looked at, so that kiln cache prune cannot
   * remove the base between here and the record of its overlay (a local
   * path may name a cached image too); kiln_fetch_result_clear lets go. */
  int pin = kiln_cache_pin (ctx, err);

  if (pin < 0) {
    memset (r, 0, sizeof *r);
    return -1;
  }
  if (fetch (ctx, source, o, r, err) == -1) {
    close (pin);
    return -1;
  }
  r->pin = pin;
  r->pinned = true;
  return 0;
}
