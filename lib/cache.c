/* cache.c: kiln's image cache: publish by rename after verification,
 * read-only entries, locks so that parallel fetches download once, and
 * the bookkeeping of which overlays still need which base. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "fileio.h"

char *
kiln_cache_dir (const struct kiln_ctx *ctx, GError **err)
{
  g_autofree char *dir = NULL;

  if (ctx && ctx->cache_dir)
    dir = g_canonicalize_filename (ctx->cache_dir, NULL);
  else if (getuid () == 0 && g_getenv ("XDG_CACHE_HOME") == NULL)
    dir = g_strdup ("/var/cache/kiln");
  else
    dir = g_build_filename (g_get_user_cache_dir (), "kiln", NULL);
  for (const char *const *sub = (const char *const[]) { "images", "sources", "users", "locks", NULL };
       *sub; sub++) {
    g_autofree char *p = g_build_filename (dir, *sub, NULL);

    /* 0755 whatever the umask: linked clones' backing chains go through
     * images/, and the hypervisor's user must be able to search it. */
    g_autoptr (GError) e = NULL;

    if (kiln_mkdir_p (p, 0755, &e) == -1) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "cache: %s (choose another with --cache-dir)",
                   e->message);
      return NULL;
    }
  }
  return g_steal_pointer (&dir);
}

/* Opens (creating it) the lock file PATH and takes flock HOW on it; the
 * fd holds the lock.  A lock another process holds with LOCK_NB in HOW is
 * KILN_ERROR_BUSY. */
static int
lock_file (const char *path, int how, GError **err)
{
  int fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

  if (fd < 0) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "%s: %s", path, g_strerror (errno));
    return -1;
  }
  while (flock (fd, how) != 0) {
    int e = errno;

    if (e == EINTR)
      continue;
    close (fd);
    g_set_error (err, KILN_ERROR, e == EWOULDBLOCK ? KILN_ERROR_BUSY : KILN_ERROR_FAILED,
                 "%s: %s", path, g_strerror (e));
    return -1;
  }
  return fd;
}

static int
lock_prune_dir (const char *dir, int how, GError **err)
{
  g_autofree char *path = g_build_filename (dir, "locks", "prune.lock", NULL);

  return lock_file (path, how, err);
}

static int
lock_prune (const struct kiln_ctx *ctx, int how, GError **err)
{
  g_autofree char *dir = kiln_cache_dir (ctx, err);

  if (dir == NULL)
    return -1;
  return lock_prune_dir (dir, how, err);
}

int
kiln_cache_lock (const char *dir, const char *key, bool wait, GError **err)
{
  g_autofree char *name = g_strconcat (key, ".lock", NULL);
  g_autofree char *path = g_build_filename (dir, "locks", name, NULL);

  return lock_file (path, LOCK_EX | (wait ? 0 : LOCK_NB), err);
}

int
kiln_cache_pin (const struct kiln_ctx *ctx, GError **err)
{
  return lock_prune (ctx, LOCK_SH, err);
}

int
kiln_cache_lock_prune (const struct kiln_ctx *ctx, bool wait, GError **err)
{
  return lock_prune (ctx, LOCK_EX | (wait ? 0 : LOCK_NB), err);
}

char *
kiln_cache_key (const char *checksum)
{
  char *k = g_strdup (checksum);
  char *colon = strchr (k, ':');

  if (colon)
    *colon = '-';
  return k;
}

char *
kiln_cache_digest_of (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path), *dirname = g_path_get_basename (dir);
  g_autofree char *name = g_path_get_basename (path);
  const char *hex;
  size_t want, n;

  if (strcmp (dirname, "images") != 0)
    return NULL;
  if (g_str_has_prefix (name, "sha512-"))
    want = 128;
  else if (g_str_has_prefix (name, "sha256-"))
    want = 64;
  else
    return NULL;
  hex = name + 7;
  for (n = 0; g_ascii_isxdigit (hex[n]) && !g_ascii_isupper (hex[n]); n++)
    ;
  if (n != want || hex[n] != '\0')
    return NULL;
  return g_strdup_printf ("%.6s:%s", name, hex);
}

char *
kiln_cache_lookup (const char *dir, const char *checksum)
{
  g_autofree char *key = kiln_cache_key (checksum);
  g_autofree char *link = g_build_filename (dir, "sources", key, NULL);
  g_autofree char *img = g_build_filename (dir, "images", key, NULL);
  g_autofree char *target = NULL;
  g_autofree char *base = NULL;

  /* A sha512 of an uncompressed image is the image's own name. */
  if (g_str_has_prefix (checksum, "sha512:") && g_file_test (img, G_FILE_TEST_IS_REGULAR))
    return g_steal_pointer (&img);
  target = g_file_read_link (link, NULL);
  if (target == NULL)
    return NULL;
  base = g_path_get_basename (target);
  g_clear_pointer (&img, g_free);
  img = g_build_filename (dir, "images", base, NULL);
  if (!g_file_test (img, G_FILE_TEST_IS_REGULAR))
    return NULL;
  return g_steal_pointer (&img);
}

char *
kiln_cache_publish (const char *dir, const char *tmp, const char *digest,
                    GKeyFile *meta, const char *const *sources, GError **err)
{
  g_autofree char *key = kiln_cache_key (digest);
  g_autofree char *path = g_build_filename (dir, "images", key, NULL);
  g_autofree char *metapath = g_strconcat (path, ".meta", NULL);
  g_autofree char *data = NULL;
  gsize len;
  int pin;

  /* One commit point: the .meta is complete under its final name before
   * the image takes its own, so an image is never without its format.  A
   * crash in between leaves a .meta without an image, which
   * kiln_cache_clean_partials removes; the pin keeps kiln cache prune
   * from taking this one for such garbage meanwhile.  Replacing is right:
   * the same name is the same bytes (another process fetched them). */
  pin = lock_prune_dir (dir, LOCK_SH, err);
  if (pin < 0) {
    unlink (tmp);
    return NULL;
  }
  if (chmod (tmp, 0444) != 0) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "publishing %s in the cache: %s",
                 path, g_strerror (errno));
    unlink (tmp);
    goto fail;
  }
  data = g_key_file_to_data (meta, &len, NULL);
  if (kiln_file_write_atomic (metapath, data, len, 0644, true, err) == -1) {
    g_prefix_error (err, "publishing in the cache: ");
    unlink (tmp);
    goto fail;
  }
  if (kiln_temp_publish (tmp, path, true, err) == -1) {
    g_prefix_error (err, "publishing in the cache: ");
    if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
      unlink (metapath);
    goto fail;
  }
  close (pin);
  pin = -1;
  for (const char *const *s = sources; s && *s; s++) {
    g_autofree char *skey = kiln_cache_key (*s);
    g_autofree char *link = g_build_filename (dir, "sources", skey, NULL);
    g_autofree char *tlink = g_strconcat (link, ".tmp", NULL);
    g_autofree char *target = g_build_filename ("..", "images", key, NULL);

    if (strcmp (skey, key) == 0)
      continue;
    unlink (tlink);
    if (symlink (target, tlink) != 0 || rename (tlink, link) != 0) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "%s: %s", link, g_strerror (errno));
      return NULL;
    }
  }
  return g_steal_pointer (&path);

fail:
  close (pin);
  return NULL;
}

void
kiln_cache_entry_free (struct kiln_cache_entry *e)
{
  if (e == NULL)
    return;
  g_free (e->path);
  g_free (e->digest);
  if (e->meta)
    g_key_file_unref (e->meta);
  g_strfreev (e->users);
  g_free (e);
}

static char **
read_users (const char *dir, const char *key)
{
  g_autofree char *path = g_build_filename (dir, "users", key, NULL);
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;
  GPtrArray *out = g_ptr_array_new ();

  if (g_file_get_contents (path, &text, NULL, NULL)) {
    lines = g_strsplit (text, "\n", -1);
    for (char **l = lines; *l; l++)
      if (**l && g_file_test (*l, G_FILE_TEST_EXISTS))
        g_ptr_array_add (out, g_strdup (*l));
  }
  g_ptr_array_add (out, NULL);
  return (char **) g_ptr_array_free (out, FALSE);
}

static gint
cmp_entry (gconstpointer a, gconstpointer b)
{
  const struct kiln_cache_entry *x = *(struct kiln_cache_entry *const *) a;
  const struct kiln_cache_entry *y = *(struct kiln_cache_entry *const *) b;

  return strcmp (x->path, y->path);
}

GPtrArray *
kiln_cache_entries (const char *dir, GError **err)
{
  g_autofree char *images = g_build_filename (dir, "images", NULL);
  g_autoptr (GDir) d = g_dir_open (images, 0, err);
  GPtrArray *out;
  const char *n;

  if (d == NULL)
    return NULL;
  out = g_ptr_array_new_with_free_func ((GDestroyNotify) kiln_cache_entry_free);
  while ((n = g_dir_read_name (d))) {
    struct kiln_cache_entry *e;
    g_autofree char *metapath = NULL;
    struct stat st;

    if (!g_str_has_prefix (n, "sha512-") || strchr (n, '.'))
      continue;
    e = g_new0 (struct kiln_cache_entry, 1);
    e->path = g_build_filename (images, n, NULL);
    e->digest = g_strconcat ("sha512:", n + 7, NULL);
    e->meta = g_key_file_new ();
    metapath = g_strconcat (e->path, ".meta", NULL);
    g_key_file_load_from_file (e->meta, metapath, G_KEY_FILE_NONE, NULL);
    if (stat (e->path, &st) == 0) {
      e->size = (uint64_t) st.st_blocks * 512;
      e->apparent = st.st_size;
    }
    e->users = read_users (dir, n);
    g_ptr_array_add (out, e);
  }
  g_ptr_array_sort (out, cmp_entry);
  return out;
}

int
kiln_cache_remove (const char *dir, const struct kiln_cache_entry *e, GError **err)
{
  g_autofree char *key = g_path_get_basename (e->path);
  g_autofree char *metapath = g_strconcat (e->path, ".meta", NULL);
  g_autofree char *users = g_build_filename (dir, "users", key, NULL);
  g_autofree char *sources = g_build_filename (dir, "sources", NULL);
  g_autoptr (GDir) d = g_dir_open (sources, 0, NULL);
  const char *n;

  if (unlink (e->path) != 0 && errno != ENOENT) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "%s: %s", e->path, g_strerror (errno));
    return -1;
  }
  unlink (metapath);
  unlink (users);
  while (d && (n = g_dir_read_name (d))) {
    g_autofree char *link = g_build_filename (sources, n, NULL);
    g_autofree char *target = g_file_read_link (link, NULL);

    if (target && g_str_has_suffix (target, key))
      unlink (link);
  }
  return 0;
}

/* N in IMAGES when it is what a publish killed before its commit point
 * left: a .meta whose image does not exist, or a temporary file of
 * kiln_file_write_atomic.  Publishers hold a pin, so under the prune
 * lock nobody is writing them.  Removed: true. */
static bool
remove_orphan (const char *images, const char *n, uint64_t *bytes)
{
  g_autofree char *path = g_build_filename (images, n, NULL);
  struct stat st;

  if (g_str_has_suffix (n, ".meta")) {
    g_autofree char *img = g_strndup (path, strlen (path) - strlen (".meta"));

    if (g_file_test (img, G_FILE_TEST_IS_REGULAR))
      return false;
  }
  if (stat (path, &st) != 0 || !S_ISREG (st.st_mode) || unlink (path) != 0)
    return false;
  if (bytes)
    *bytes += (uint64_t) st.st_blocks * 512;
  return true;
}

int
kiln_cache_clean_partials (const char *dir, uint64_t *bytes, GError **err)
{
  g_autofree char *images = g_build_filename (dir, "images", NULL);
  g_autoptr (GDir) d = g_dir_open (images, 0, err);
  const char *n;
  int count = 0;

  if (d == NULL)
    return -1;
  while ((n = g_dir_read_name (d))) {
    g_autofree char *key = NULL;
    g_autofree char *path = NULL;
    struct stat st;
    int fd;

    if (g_str_has_suffix (n, ".meta") || (n[0] == '.' && strstr (n, ".kiln-"))) {
      if (remove_orphan (images, n, bytes))
        count++;
      continue;
    }
    if (g_str_has_prefix (n, ".part-"))
      key = g_strdup (n + 6);
    else if (g_str_has_prefix (n, ".tmp-") && strrchr (n, '-') > n + 5)
      key = g_strndup (n + 5, strrchr (n, '-') - (n + 5));
    else
      continue;
    /* Someone holding the key's lock is still writing it. */
    fd = kiln_cache_lock (dir, key, false, NULL);
    if (fd < 0)
      continue;
    path = g_build_filename (images, n, NULL);
    if (stat (path, &st) == 0 && unlink (path) == 0) {
      count++;
      if (bytes)
        *bytes += (uint64_t) st.st_blocks * 512;
    }
    close (fd);
  }
  return count;
}

int
kiln_cache_add_user (const struct kiln_ctx *ctx, const char *base,
                     const char *user, GError **err)
{
  g_autofree char *dir = kiln_cache_dir (ctx, err);
  g_autofree char *cbase = NULL;
  g_autofree char *images = NULL;
  g_autofree char *bdir = NULL;
  g_autofree char *key = NULL;
  g_autofree char *path = NULL;
  g_autofree char *cuser = NULL;
  g_autofree char *text = NULL;
  g_autofree char *line = NULL;
  int lock, fd;

  if (dir == NULL)
    return -1;
  cbase = g_canonicalize_filename (base, NULL);
  images = g_build_filename (dir, "images", NULL);
  bdir = g_path_get_dirname (cbase);
  /* A base outside the cache is the user's business. */
  if (strcmp (bdir, images) != 0)
    return 0;
  key = g_path_get_basename (cbase);
  path = g_build_filename (dir, "users", key, NULL);
  cuser = g_canonicalize_filename (user, NULL);
  lock = kiln_cache_lock (dir, "users", true, err);
  if (lock < 0)
    return -1;
  if (g_file_get_contents (path, &text, NULL, NULL)) {
    g_auto (GStrv) lines = g_strsplit (text, "\n", -1);

    if (g_strv_contains ((const char *const *) lines, cuser)) {
      close (lock);
      return 0;
    }
  }
  line = g_strconcat (cuser, "\n", NULL);
  fd = open (path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0 || write (fd, line, strlen (line)) != (ssize_t) strlen (line)) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "%s: %s", path, g_strerror (errno));
    if (fd >= 0)
      close (fd);
    close (lock);
    return -1;
  }
  close (fd);
  close (lock);
  return 0;
}
