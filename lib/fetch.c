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
  g_autofree char *metapath = g_strconcat (path, ".meta", NULL);
  g_autoptr (GKeyFile) meta = g_key_file_new ();
  g_autofree char *base = g_path_get_basename (path);
  struct stat st;

  g_key_file_load_from_file (meta, metapath, G_KEY_FILE_NONE, NULL);
  r->path = path;
  r->digest = g_strconcat ("sha512:", base + strlen ("sha512-"), NULL);
  r->format = g_key_file_get_string (meta, "image", "format", NULL);
  if (r->format == NULL)
    r->format = g_strdup ("raw");
  if (r->osinfo == NULL)
    r->osinfo = g_key_file_get_string (meta, "image", "osinfo", NULL);
  r->source = g_strdup (url);
  r->source_digest = g_strdup (checksum);
  if (stat (path, &st) == 0)
    r->size = st.st_size;
  r->from_cache = true;
  r->verified = checksum != NULL || g_key_file_get_boolean (meta, "image", "verified", NULL);
}

/* Unpacking while the download goes on: a thread follows the partial
 * file once its first bytes say it is compressed. */
struct follow {
  struct kiln_transfer *t;
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

static void
follow_data (void *opaque, uint64_t bytes)
{
  struct follow *f = opaque;

  if (f->disabled)
    return;
  if (!f->decided) {
    g_autofree char *tname = NULL;

    /* Enough to tell a tar header (offset 257) from anything else. */
    if (f->t->head_len < 262)
      return;
    f->decided = true;
    if (!kiln_unpack_needed (f->t->head, f->t->head_len)) {
      f->disabled = true;
      return;
    }
    tname = g_strconcat (".tmp-", f->key, "-XXXXXX", NULL);
    f->tmp = g_build_filename (f->dir, "images", tname, NULL);
    f->fd = g_mkstemp_full (f->tmp, O_RDWR | O_CLOEXEC, 0644);
    if (f->fd >= 0)
      f->u = kiln_unpack_stream_start (f->t->part, f->fd, NULL);
    if (f->u == NULL) {
      /* Unpack after the download instead. */
      follow_stop (f);
      f->disabled = true;
      return;
    }
  }
  kiln_unpack_stream_feed (f->u, bytes);
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
 * the downloaded bytes must hash to. */
static int
fetch_url (const struct kiln_ctx *ctx, const char *url, const char *checksum,
           const char *format_hint, struct kiln_fetch_result *r, GError **err)
{
  g_autofree char *dir = kiln_cache_dir (ctx, err);
  g_autofree char *key = NULL;
  g_autofree char *part = NULL;
  g_autofree char *name = url_basename (url);
  g_autofree char *tmp = NULL;
  g_autofree char *image_digest = NULL;
  g_autofree char *member = NULL;
  g_autoptr (GKeyFile) meta = NULL;
  struct kiln_transfer t = { .url = url, .label = name };
  struct follow f = { .fd = -1 };
  g_autofree char *alg = NULL;
  const char *format;
  unsigned char head[16];
  uint64_t size;
  int lock = -1, ret = -1, sha512_slot = -1;
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
  if (alg) {
    t.algs[0] = alg;
    if (strcmp (alg, "sha512") != 0) {
      t.algs[1] = "sha512";
      sha512_slot = 1;
    }
    else
      sha512_slot = 0;
  }
  else {
    t.algs[0] = "sha512";
    sha512_slot = 0;
  }
  t.part = part;
  f.t = &t;
  f.dir = dir;
  f.key = key;
  t.on_data = follow_data;
  t.on_restart = follow_restart;
  t.opaque = &f;
  if (kiln_download_resumable (ctx, &t, err) == -1) {
    /* A server that says the file is not there will not say otherwise
     * on the next run: keep nothing. */
    struct stat st;

    if ((err && *err && (*err)->code == KILN_ERROR_NOT_FOUND) ||
        (stat (part, &st) == 0 && st.st_size == 0))
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
  g_key_file_set_boolean (meta, "image", "verified", checksum != NULL);
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
      g_prefix_error (err, "%s: ", name);
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
    if (kiln_unpack (part, fd, &image_digest, &size, &member, head, err) == -1) {
      close (fd);
      unlink (tmp);
      /* Verified bytes that do not unpack: the publisher's problem; keep
       * nothing, so that a fixed file is fetched again. */
      unlink (part);
      g_prefix_error (err, "%s: ", name);
      goto out;
    }
    close (fd);
    format = kiln_image_format (head, sizeof head);
    if (member)
      g_key_file_set_string (meta, "image", "member", member);
  }
  else {
    tmp = g_strdup (part);
    image_digest = g_strdup (t.digests[sha512_slot]);
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
    const char *sources[3] = { checksum, t.digests[sha512_slot], NULL };

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
  r->verified = checksum != NULL;
  ret = 0;
out:
  /* Whatever failed, an unpacking thread still under way is stopped and
   * its output removed. */
  follow_stop (&f);
  kiln_transfer_clear (&t);
  if (lock >= 0)
    close (lock);
  return ret;
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

  memset (r, 0, sizeof *r);
  if (o == NULL)
    o = &none;
  if (o->checksum) {
    checksum = kiln_checksum_parse (o->checksum, NULL, err);
    if (checksum == NULL)
      return -1;
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
    r->path = g_canonicalize_filename (source, NULL);
    r->source = g_strdup (r->path);
    r->size = st.st_size;
    r->format = g_strdup (kiln_image_format (head, n > 0 ? n : 0));
    return 0;
  }

  case KILN_SOURCE_TEMPLATE: {
    const struct kiln_repo *repo = NULL;
    g_autoptr (GPtrArray) repos = NULL;

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
    if (repo && g_str_has_prefix (repo->uri, "http://") && !repo->pubkey && !repo->gpgkey &&
        !o->insecure) {
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
    if (checksum == NULL)
      checksum = g_strdup (t->checksum);
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
  if (fetch_url (ctx, url, checksum, format_hint, r, err) == -1) {
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
