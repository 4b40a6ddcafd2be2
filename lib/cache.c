/* cache.c: kiln's image cache: publish by rename after verification,
 * read-only entries, locks so that parallel fetches download once, and
 * the bookkeeping of which overlays still need which base. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "fileio.h"

/* The owner of a cache directory kiln trusts: the caller, or root (whose
 * directories nobody else can write to unless root allowed it). */
static bool
trusted_owner (uid_t uid)
{
  return uid == geteuid () || uid == 0;
}

static char *
user_name (uid_t uid)
{
  struct passwd *pw = getpwuid (uid);

  return pw ? g_strdup_printf ("uid %u (%s)", (unsigned) uid, pw->pw_name)
            : g_strdup_printf ("uid %u", (unsigned) uid);
}

/* Whether kiln may work in directory PATH of the cache: a directory (TOP,
 * the cache itself, may be reached through a symbolic link the user chose;
 * its subdirectories may not), owned by the caller or root, and writable
 * by nobody else.  Whoever can write in a cache can plant links that make
 * kiln, often root, overwrite or expose other files. */
static int
check_dir (const char *path, bool top, GError **err)
{
  struct stat st;

  if ((top ? stat (path, &st) : lstat (path, &st)) != 0) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "cache: %s: %s (choose another with --cache-dir)",
                 path, g_strerror (errno));
    return -1;
  }
  if (!S_ISDIR (st.st_mode)) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                 "cache: %s is not a directory (a symbolic link?): refusing the cache; "
                 "remove it, or choose another cache with --cache-dir", path);
    return -1;
  }
  if (!trusted_owner (st.st_uid)) {
    g_autofree char *owner = user_name (st.st_uid), *me = user_name (geteuid ());

    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                 "cache: %s belongs to %s, not to you (%s)%s: whoever owns a cache can "
                 "make kiln overwrite or expose other files through it; use a cache of your own "
                 "(--cache-dir) or give it to yourself (chown -R)", path, owner, me,
                 geteuid () == 0 ? "" : " or root");
    return -1;
  }
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                 "cache: %s is writable by %s (mode %04o): anyone who can write there can make "
                 "kiln overwrite or expose other files; make it private (chmod go-w) or choose "
                 "another cache with --cache-dir", path,
                 st.st_mode & S_IWOTH ? "everyone" : "its group", (unsigned) (st.st_mode & 07777));
    return -1;
  }
  return 0;
}

/* Whether the directories above cache directory DIR keep others from
 * replacing it: each, from DIR's real parent up to /, must belong to the
 * caller or root and be writable by nobody else, unless it has the sticky
 * bit (like /tmp and /var/tmp, where only a directory's owner may rename
 * or remove it).  Otherwise anyone who can write in an ancestor can move
 * the checked cache away and put one of their own under its name.  The
 * same rule as OpenSSH's StrictModes for the paths of key files. */
static int
check_ancestors (const char *dir, GError **err)
{
  g_autofree char *real = realpath (dir, NULL);
  g_autofree char *p = NULL;
  struct stat st;

  if (real == NULL) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "cache: %s: %s (choose another with --cache-dir)",
                 dir, g_strerror (errno));
    return -1;
  }
  p = g_path_get_dirname (real);
  for (;;) {
    if (lstat (p, &st) != 0) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "cache: %s: %s", p, g_strerror (errno));
      return -1;
    }
    if (!trusted_owner (st.st_uid)) {
      g_autofree char *owner = user_name (st.st_uid);

      g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                   "cache: %s, above the cache %s, belongs to %s: its owner can replace the "
                   "cache with one of their own; choose a cache under directories that only "
                   "you or root own (--cache-dir)", p, real, owner);
      return -1;
    }
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                   "cache: %s, above the cache %s, is writable by %s (mode %04o) without the "
                   "sticky bit: anyone who can write there can replace the cache with one of "
                   "their own; make it private (chmod go-w), give it the sticky bit (chmod +t), "
                   "or choose another cache with --cache-dir", p, real,
                   st.st_mode & S_IWOTH ? "everyone" : "its group", (unsigned) (st.st_mode & 07777));
      return -1;
    }
    if (strcmp (p, "/") == 0)
      return 0;
    {
      char *up = g_path_get_dirname (p);

      g_free (p);
      p = up;
    }
  }
}

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
  if (check_dir (dir, true, err) == -1 || check_ancestors (dir, err) == -1)
    return NULL;
  for (const char *const *sub = (const char *const[]) { "images", "sources", "users", "locks", NULL };
       *sub; sub++) {
    g_autofree char *p = g_build_filename (dir, *sub, NULL);

    if (check_dir (p, false, err) == -1)
      return NULL;
  }
  return g_steal_pointer (&dir);
}

int
kiln_cache_open (const char *path, int flags, mode_t mode, GError **err)
{
  struct stat st;
  int fd, e;

  /* O_NONBLOCK: a FIFO planted under the name must not hang the open;
   * it is refused below like any other non-regular file. */
  fd = open (path, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, mode);
  if (fd < 0) {
    e = errno;
    if (e == ELOOP)
      g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                   "%s is a symbolic link: kiln never follows links in its cache (was it planted "
                   "there? remove it and check who can write into the cache)", path);
    else
      g_set_error (err, KILN_ERROR, e == ENOENT ? KILN_ERROR_NOT_FOUND : KILN_ERROR_FAILED,
                   "%s: %s", path, g_strerror (e));
    return -1;
  }
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode) ||
      fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) & ~O_NONBLOCK) != 0) {
    e = errno;
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                 "%s: %s", path, S_ISREG (st.st_mode) ? g_strerror (e)
                 : "not a regular file: kiln uses only files it made in its cache (remove it)");
    close (fd);
    return -1;
  }
  return fd;
}

/* The contents of FD (PATH, in messages), at most MAX bytes; NULL when
 * it cannot be read (ERR may be NULL). */
static char *
read_fd (int fd, const char *path, size_t max, gsize *len, GError **err)
{
  g_autoptr (GString) s = g_string_new (NULL);
  char buf[8192];

  for (;;) {
    ssize_t n = read (fd, buf, sizeof buf);

    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 || s->len + n > max) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "%s: %s", path,
                   n < 0 ? g_strerror (errno) : "too large");
      return NULL;
    }
    if (n == 0)
      break;
    g_string_append_len (s, buf, n);
  }
  if (len)
    *len = s->len;
  return g_string_free (g_steal_pointer (&s), FALSE);
}

/* The same for the file PATH of the cache (kiln_cache_open). */
static char *
read_file (const char *path, size_t max, gsize *len, GError **err)
{
  int fd = kiln_cache_open (path, O_RDONLY, 0, err);
  char *text;

  if (fd < 0)
    return NULL;
  text = read_fd (fd, path, max, len, err);
  close (fd);
  return text;
}

GKeyFile *
kiln_cache_meta (const char *image)
{
  g_autofree char *path = g_strconcat (image, ".meta", NULL);
  g_autofree char *text = NULL;
  GKeyFile *meta = g_key_file_new ();
  gsize len;

  text = read_file (path, 1u << 20, &len, NULL);
  if (text)
    g_key_file_load_from_data (meta, text, len, G_KEY_FILE_NONE, NULL);
  return meta;
}

/* Why the image at PATH (DIR/images/ALG-HEX) is not an entry kiln can
 * trust, or NULL when it is: a regular file (not a link, nor anything
 * else planted under the name), owned by the caller or root, writable by
 * nobody else, with the .meta that publish writes first, recording the
 * digest the name says (when the .meta records one: caches from before
 * kiln recorded it are trusted by name). */
static const char *
entry_problem (const char *path)
{
  g_autofree char *metapath = g_strconcat (path, ".meta", NULL);
  g_autoptr (GKeyFile) meta = NULL;
  g_autofree char *recorded = NULL;
  g_autofree char *named = NULL;
  struct stat st;

  if (lstat (path, &st) != 0)
    return "it cannot be read";
  named = kiln_cache_digest_of (path);
  if (named == NULL)
    return "its name is not one kiln gives (sha256- or sha512- and the digest in lower-case hex)";
  if (S_ISLNK (st.st_mode))
    return "it is a symbolic link, not an image kiln published";
  if (!S_ISREG (st.st_mode))
    return "it is not a regular file";
  if (!trusted_owner (st.st_uid) || (st.st_mode & (S_IWGRP | S_IWOTH)))
    return "someone else owns it or can write to it";
  if (lstat (metapath, &st) != 0 || !S_ISREG (st.st_mode))
    return "it has no .meta: kiln did not publish it";
  meta = kiln_cache_meta (path);
  recorded = g_key_file_get_string (meta, "image", "digest", NULL);
  if (recorded && g_strcmp0 (recorded, named) != 0)
    return "its .meta records another digest";
  return NULL;
}

/* Is the cached image PATH the very file that was downloaded (its .meta's
 * source_digest is its name, or absent in caches that predate it), not
 * what kiln unpacked from it? */
static bool
is_download (const char *path)
{
  g_autoptr (GKeyFile) meta = kiln_cache_meta (path);
  g_autofree char *source = g_key_file_get_string (meta, "image", "source_digest", NULL);
  g_autofree char *named = kiln_cache_digest_of (path);

  return source == NULL || g_strcmp0 (source, named) == 0;
}

/* Opens (creating it) the lock file PATH and takes flock HOW on it; the
 * fd holds the lock.  A lock another process holds with LOCK_NB in HOW is
 * KILN_ERROR_BUSY. */
static int
lock_file (const char *path, int how, GError **err)
{
  int fd = kiln_cache_open (path, O_RDWR | O_CREAT, 0644, err);

  if (fd < 0)
    return -1;
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
  g_autofree char *named = NULL;

  /* The checksum of an image stored as it was downloaded is its own name.
   * Not so for an unpacked image: its name is the digest of what it
   * unpacked to, and a checksum is the download's; taking it by name
   * would accept, only while it is cached, a checksum that the download
   * itself would fail. */
  if (entry_problem (img) == NULL && is_download (img))
    return g_steal_pointer (&img);
  /* sources/ holds kiln's own links; only their last component counts,
   * and it must name an image as publish names them. */
  target = g_file_read_link (link, NULL);
  if (target == NULL)
    return NULL;
  base = g_path_get_basename (target);
  g_clear_pointer (&img, g_free);
  img = g_build_filename (dir, "images", base, NULL);
  named = kiln_cache_digest_of (img);
  if (named == NULL || entry_problem (img) != NULL)
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
  int pin, fd;

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
  /* Through an fd that refuses links: the mode is TMP's own. */
  fd = kiln_cache_open (tmp, O_RDONLY, 0, err);
  if (fd < 0 || fchmod (fd, 0444) != 0) {
    if (fd >= 0)
      g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "%s: %s", tmp, g_strerror (errno));
    g_prefix_error (err, "publishing %s in the cache: ", path);
    if (fd >= 0)
      close (fd);
    unlink (tmp);
    goto fail;
  }
  close (fd);
  /* What lookups check the name against (entry_problem). */
  g_key_file_set_string (meta, "image", "digest", digest);
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

/* Users files are small: a path a line. */
#define KILN_USERS_MAX (16u << 20)

static char **
read_users (const char *dir, const char *key)
{
  g_autofree char *path = g_build_filename (dir, "users", key, NULL);
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;
  GPtrArray *out = g_ptr_array_new ();

  if ((text = read_file (path, KILN_USERS_MAX, NULL, NULL))) {
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
    struct stat st;

    if ((!g_str_has_prefix (n, "sha512-") && !g_str_has_prefix (n, "sha256-")) || strchr (n, '.'))
      continue;
    e = g_new0 (struct kiln_cache_entry, 1);
    e->path = g_build_filename (images, n, NULL);
    e->digest = g_strdup_printf ("%.6s:%s", n, n + 7);
    e->meta = kiln_cache_meta (e->path);
    e->problem = entry_problem (e->path);
    if (lstat (e->path, &st) == 0) {
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

    if (lstat (img, &st) == 0)
      return false;
  }
  if (lstat (path, &st) != 0 || !S_ISREG (st.st_mode) || unlink (path) != 0)
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
    if (lstat (path, &st) == 0 && unlink (path) == 0) {
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
  /* Read and appended through kiln_cache_open: a link planted under the
   * name would make kiln append to another file. */
  fd = kiln_cache_open (path, O_RDWR | O_CREAT | O_APPEND, 0644, err);
  if (fd < 0) {
    close (lock);
    return -1;
  }
  if ((text = read_fd (fd, path, KILN_USERS_MAX, NULL, err)) == NULL) {
    close (fd);
    close (lock);
    return -1;
  }
  {
    g_auto (GStrv) lines = g_strsplit (text, "\n", -1);

    if (g_strv_contains ((const char *const *) lines, cuser)) {
      close (fd);
      close (lock);
      return 0;
    }
  }
  line = g_strconcat (cuser, "\n", NULL);
  if (write (fd, line, strlen (line)) != (ssize_t) strlen (line)) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "%s: %s", path, g_strerror (errno));
    close (fd);
    close (lock);
    return -1;
  }
  close (fd);
  close (lock);
  return 0;
}
