/* test-cache.c: lib/cache.c bookkeeping (users of a base, entries, the
 * lookup by source digest), its refusal of planted links and of caches
 * others can write, and lib/fileio.c's sparse writer. */
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "cache.h"
#include "digest.h"
#include "fileio.h"
#include "fetch.h"
#include "unpack.h"

#define HEX2 "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000002"
#define HEX "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"

/* PATH holds exactly TEXT with permission bits MODE: a victim untouched. */
static bool
untouched (const char *path, const char *text, mode_t mode)
{
  g_autofree char *got = NULL;
  struct stat st;

  return lstat (path, &st) == 0 && S_ISREG (st.st_mode) && (st.st_mode & 07777) == mode &&
         g_file_get_contents (path, &got, NULL, NULL) && strcmp (got, text) == 0;
}

/* A file with TEXT and mode MODE (whatever the umask). */
static void
victim (const char *path, const char *text, mode_t mode)
{
  g_file_set_contents (path, text, -1, NULL);
  chmod (path, mode);
}

/* Each kind of link someone could plant in a cache is refused, and what
 * it points to is left alone (issue 16, item 8). */
static void
test_planted_links (struct kiln_ctx *ctx, const char *dir, const char *tmp)
{
  g_autofree char *src = g_build_filename (tmp, "planted-src.raw", NULL);
  g_autofree char *url = g_strconcat ("file://", src, NULL);
  g_autofree char *sum = NULL, *key = NULL, *pname = NULL, *part = NULL;
  g_autofree char *lname = NULL, *lockp = NULL, *created = NULL;
  g_autofree char *secret = g_build_filename (tmp, "secret", NULL);
  g_autofree char *target = g_build_filename (tmp, "victim", NULL);
  struct kiln_fetch_opts o = { 0 };
  struct kiln_fetch_result fr = { 0 };
  g_autoptr (GError) e = NULL;

  g_file_set_contents (src, "the bytes of a source image", -1, NULL);
  sum = kiln_digest_file (src, "sha512", NULL);
  o.checksum = sum;
  key = kiln_cache_key (sum);
  victim (target, "someone else's file\n", 0600);

  /* A .part link: the download would truncate and overwrite the target. */
  pname = g_strconcat (".part-", key, NULL);
  part = g_build_filename (dir, "images", pname, NULL);
  ok (symlink (target, part) == 0, "plant images/.part-KEY -> a victim");
  ok (kiln_fetch (ctx, url, &o, &fr, &e) == -1 && e && strstr (e->message, "symbolic link"),
      "a fetch refuses the planted .part link%s%s", e ? ": " : "", e ? e->message : "");
  g_clear_error (&e);
  ok (untouched (target, "someone else's file\n", 0600), "and its target is untouched (content, mode 0600)");
  unlink (part);

  /* A FIFO under the .part name must not hang kiln. */
  ok (mkfifo (part, 0600) == 0 && kiln_fetch (ctx, url, &o, &fr, &e) == -1,
      "a FIFO planted as the .part is refused%s%s", e ? ": " : "", e ? e->message : "");
  g_clear_error (&e);
  unlink (part);

  /* A lock-file link: opening it with O_CREAT would create the target. */
  lname = g_strconcat (key, ".lock", NULL);
  lockp = g_build_filename (dir, "locks", lname, NULL);
  created = g_build_filename (tmp, "created-through-a-link", NULL);
  unlink (lockp);                 /* the lock file the fetches above made */
  ok (symlink (created, lockp) == 0, "plant locks/KEY.lock -> a file that does not exist");
  ok (kiln_fetch (ctx, url, &o, &fr, &e) == -1 && e && strstr (e->message, "symbolic link"),
      "a fetch refuses the planted lock link%s%s", e ? ": " : "", e ? e->message : "");
  g_clear_error (&e);
  ok (!g_file_test (created, G_FILE_TEST_EXISTS), "and no file was created through it");
  unlink (lockp);
  ok (kiln_fetch (ctx, url, &o, &fr, &e) == 0, "with the links gone the same fetch works%s%s",
      e ? ": " : "", e ? e->message : "");
  g_clear_error (&e);
  kiln_fetch_result_clear (&fr);

  /* A users/ record link: the record would be appended to the target. */
  {
    g_autofree char *base = g_build_filename (dir, "images", "sha512-" HEX2, NULL);
    g_autofree char *rec = g_build_filename (dir, "users", "sha512-" HEX2, NULL);
    g_autofree char *user = g_build_filename (tmp, "planted-user.qcow2", NULL);

    g_file_set_contents (user, "", 0, NULL);
    ok (symlink (target, rec) == 0, "plant users/sha512-HEX -> a victim");
    ok (kiln_cache_add_user (ctx, base, user, &e) == -1 && e && strstr (e->message, "symbolic link"),
        "recording a user refuses the planted link%s%s", e ? ": " : "", e ? e->message : "");
    g_clear_error (&e);
    ok (untouched (target, "someone else's file\n", 0600), "and nothing was appended to its target");
    unlink (rec);
  }

  /* An images/sha512-HEX link to a private file, with a .meta beside it:
   * it would be taken as a verified entry and copied into a 0644 output. */
  {
    g_autofree char *ssum = NULL, *skey = NULL, *img = NULL, *meta = NULL, *found = NULL;
    g_autofree char *wrong = g_build_filename (tmp, "not-the-secret", NULL);
    g_autofree char *wurl = g_strconcat ("file://", wrong, NULL);
    g_autofree char *same = g_build_filename (tmp, "same-bytes", NULL);
    g_autofree char *surl = g_strconcat ("file://", same, NULL);
    g_autoptr (GPtrArray) es = NULL;
    struct kiln_fetch_opts so = { 0 };
    struct stat st;
    bool listed = false;

    victim (secret, "root's secret\n", 0600);
    ssum = kiln_digest_file (secret, "sha512", NULL);
    skey = kiln_cache_key (ssum);
    img = g_build_filename (dir, "images", skey, NULL);
    meta = g_strconcat (img, ".meta", NULL);
    ok (symlink (secret, img) == 0, "plant images/sha512-HEX -> a 0600 file");
    g_file_set_contents (meta, "[image]\nformat=raw\nverified=true\n", -1, NULL);
    found = kiln_cache_lookup (dir, ssum);
    ok (found == NULL, "the lookup does not take the link for a cached image");
    es = kiln_cache_entries (dir, &e);
    for (guint i = 0; es && i < es->len; i++) {
      const struct kiln_cache_entry *x = es->pdata[i];

      if (strcmp (x->path, img) == 0)
        listed = x->problem && strstr (x->problem, "symbolic link");
    }
    ok (listed, "kiln_cache_entries marks it untrusted (what cache verify reports)");
    g_file_set_contents (wrong, "other bytes", -1, NULL);
    so.checksum = ssum;
    ok (kiln_fetch (ctx, wurl, &so, &fr, &e) == -1 && e && e->code == KILN_ERROR_VERIFY,
        "a fetch for that digest downloads and checks again (mismatch here)%s%s",
        e ? ": " : "", e ? e->message : "");
    g_clear_error (&e);
    victim (same, "root's secret\n", 0644);
    ok (kiln_fetch (ctx, surl, &so, &fr, &e) == 0 && fr.path && lstat (fr.path, &st) == 0 &&
        S_ISREG (st.st_mode) && (st.st_mode & 0777) == 0444,
        "a genuine fetch of those bytes replaces the link with a published image%s%s",
        e ? ": " : "", e ? e->message : "");
    g_clear_error (&e);
    kiln_fetch_result_clear (&fr);
    ok (untouched (secret, "root's secret\n", 0600), "and the private file is untouched");
  }
}

/* An unpacked image is named by the SHA-256 of its bytes (lib/unpack.h):
 * found from the download's digest (sources/), not from its own (a
 * checksum is the download's), listed with its digest, verified with the
 * name's algorithm; a name kiln does not give is not trusted. */
static void
test_sha256_names (const char *tmp)
{
  g_autofree char *cdir = g_build_filename (tmp, "c256", NULL);
  struct kiln_ctx ctx = { .cache_dir = cdir, .verbosity = 1 };
  g_autoptr (GError) e = NULL;
  g_autofree char *dir = kiln_cache_dir (&ctx, &e);
  g_autofree char *tmpimg = NULL, *img = NULL, *digest = NULL, *named = NULL;
  g_autofree char *found = NULL, *direct = NULL, *got = NULL;
  g_autoptr (GKeyFile) meta = g_key_file_new ();
  g_autoptr (GPtrArray) es = NULL;
  const char *sources[] = { "sha512:" HEX2, NULL };

  tmpimg = g_build_filename (dir, "images", ".tmp-y-000000", NULL);
  g_file_set_contents (tmpimg, "unpacked bytes\n", -1, NULL);
  digest = kiln_digest_file (tmpimg, "sha256", NULL);
  g_key_file_set_string (meta, "image", "format", "raw");
  g_key_file_set_string (meta, "image", "source_digest", sources[0]);
  img = kiln_cache_publish (dir, tmpimg, digest, meta, sources, &e);
  named = g_strdup_printf ("/images/sha256-%s", digest + 7);
  ok (img && g_str_has_suffix (img, named), "an unpacked image is published as sha256-HEX");
  g_clear_pointer (&named, g_free);
  named = img ? kiln_cache_digest_of (img) : NULL;
  is_str (named, digest, "kiln_cache_digest_of reads sha256 from the name");
  found = kiln_cache_lookup (dir, sources[0]);
  is_str (found, img, "the download's sha512 finds it through sources/");
  direct = kiln_cache_lookup (dir, digest);
  ok (direct == NULL, "its own sha256 does not: that would accept it as a checksum of the download");
  es = kiln_cache_entries (dir, &e);
  ok (es && es->len == 1, "kiln_cache_entries lists it");
  if (es && es->len == 1) {
    const struct kiln_cache_entry *x = es->pdata[0];

    is_str (x->digest, digest, "with the sha256 of its name");
    ok (x->problem == NULL, "and trusts it");
    got = kiln_digest_file (x->path, "sha256", NULL);
    is_str (got, x->digest, "what kiln cache verify computes matches");
  }
  else {
    ok (0, "with the sha256 of its name");
    ok (0, "and trusts it");
    ok (0, "what kiln cache verify computes matches");
  }
  /* Names kiln does not give, each with a .meta that records no digest. */
  for (const char *const *bad = (const char *const[]) {
         "sha256-abcdef",
         "sha256-" "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
         "sha512-" "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", NULL };
       *bad; bad++) {
    g_autofree char *p = g_build_filename (dir, "images", *bad, NULL);
    g_autofree char *m = g_strconcat (p, ".meta", NULL);
    g_autoptr (GPtrArray) all = NULL;
    bool flagged = false;

    g_file_set_contents (p, "x", 1, NULL);
    chmod (p, 0444);
    g_file_set_contents (m, "[image]\nformat=raw\n", -1, NULL);
    ok (kiln_cache_digest_of (p) == NULL, "%s is no image name", *bad);
    all = kiln_cache_entries (dir, &e);
    for (guint i = 0; all && i < all->len; i++) {
      const struct kiln_cache_entry *x = all->pdata[i];

      if (strcmp (x->path, p) == 0)
        flagged = x->problem != NULL;
    }
    ok (flagged, "kiln_cache_entries does not trust %s (what cache list and verify say)", *bad);
  }
}

/* Caches others can write into, or that someone else owns, are refused
 * with a message saying what to do. */
static void
test_cache_dir_checks (const char *tmp)
{
  g_autofree char *c2 = g_build_filename (tmp, "c2", NULL);
  g_autofree char *images = g_build_filename (c2, "images", NULL);
  g_autofree char *elsewhere = g_build_filename (tmp, "elsewhere-images", NULL);
  struct kiln_ctx ctx = { .cache_dir = c2, .verbosity = 1 };
  g_autoptr (GError) e = NULL;
  g_autofree char *d = NULL;
  struct passwd *nobody = getpwnam ("nobody");

  d = kiln_cache_dir (&ctx, &e);
  ok (d != NULL, "a private cache is accepted%s%s", e ? ": " : "", e ? e->message : "");
  g_clear_error (&e);
  g_clear_pointer (&d, g_free);

  chmod (c2, 0777);
  d = kiln_cache_dir (&ctx, &e);
  ok (d == NULL && e && strstr (e->message, "writable by everyone") && strstr (e->message, "chmod go-w"),
      "a 0777 cache is refused, saying what to do%s%s", e ? ": " : "", e ? e->message : "");
  g_clear_error (&e);
  chmod (c2, 0775);
  d = kiln_cache_dir (&ctx, &e);
  ok (d == NULL && e && strstr (e->message, "writable by its group"),
      "a group-writable cache is refused%s%s", e ? ": " : "", e ? e->message : "");
  g_clear_error (&e);
  chmod (c2, 0755);
  chmod (images, 0777);
  d = kiln_cache_dir (&ctx, &e);
  ok (d == NULL && e && strstr (e->message, "images"), "a world-writable images/ is refused%s%s",
      e ? ": " : "", e ? e->message : "");
  g_clear_error (&e);
  chmod (images, 0755);

  if (getuid () == 0 && nobody) {
    ok (chown (c2, nobody->pw_uid, nobody->pw_gid) == 0, "chown the cache to nobody");
    d = kiln_cache_dir (&ctx, &e);
    ok (d == NULL && e && strstr (e->message, "belongs to") && strstr (e->message, "nobody"),
        "a cache owned by another user is refused%s%s", e ? ": " : "", e ? e->message : "");
    g_clear_error (&e);
    ok (chown (c2, 0, 0) == 0, "chown it back");
  }
  else {
    ok (1, "# SKIP not root or no user nobody: cannot chown");
    ok (1, "# SKIP not root or no user nobody");
    ok (1, "# SKIP not root or no user nobody");
  }

  /* A cache under a directory others can write in can be swapped for
   * another: refused unless that directory is sticky (like /tmp). */
  {
    g_autofree char *open_dir = g_build_filename (tmp, "open", NULL);
    g_autofree char *c3 = g_build_filename (open_dir, "c3", NULL);
    struct kiln_ctx ctx3 = { .cache_dir = c3, .verbosity = 1 };

    g_mkdir_with_parents (c3, 0755);
    chmod (open_dir, 0777);
    d = kiln_cache_dir (&ctx3, &e);
    ok (d == NULL && e && strstr (e->message, "above the cache") && strstr (e->message, "sticky"),
        "a cache inside a world-writable directory is refused%s%s", e ? ": " : "", e ? e->message : "");
    g_clear_error (&e);
    chmod (open_dir, 01777);
    d = kiln_cache_dir (&ctx3, &e);
    ok (d != NULL, "inside a sticky world-writable directory (like /tmp) it is accepted%s%s",
        e ? ": " : "", e ? e->message : "");
    g_clear_error (&e);
    g_clear_pointer (&d, g_free);
    chmod (open_dir, 0755);
    if (getuid () == 0 && nobody) {
      ok (chown (open_dir, nobody->pw_uid, nobody->pw_gid) == 0, "chown the cache's parent to nobody");
      d = kiln_cache_dir (&ctx3, &e);
      ok (d == NULL && e && strstr (e->message, "belongs to") && strstr (e->message, "above the cache"),
          "a cache under another user's directory is refused%s%s", e ? ": " : "", e ? e->message : "");
      g_clear_error (&e);
      ok (chown (open_dir, 0, 0) == 0, "chown it back");
    }
    else {
      ok (1, "# SKIP not root or no user nobody: cannot chown");
      ok (1, "# SKIP not root or no user nobody");
      ok (1, "# SKIP not root or no user nobody");
    }
  }

  /* images/ replaced by a link to another directory. */
  rmdir (images);
  g_mkdir_with_parents (elsewhere, 0755);
  ok (symlink (elsewhere, images) == 0, "replace images/ by a link");
  d = kiln_cache_dir (&ctx, &e);
  ok (d == NULL && e && strstr (e->message, "not a directory"),
      "a cache whose images/ is a link is refused%s%s", e ? ": " : "", e ? e->message : "");
  g_clear_error (&e);
}

int
main (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("kiln-test-cache-XXXXXX", NULL);
  g_autofree char *cdir = g_build_filename (tmp, "c", NULL);
  struct kiln_ctx ctx = { .cache_dir = cdir, .verbosity = 1 };
  g_autoptr (GError) e = NULL;
  g_autofree char *dir = kiln_cache_dir (&ctx, &e);
  g_autofree char *img = NULL;
  g_autofree char *user = g_build_filename (tmp, "overlay.qcow2", NULL);
  g_autofree char *outside = g_build_filename (tmp, "elsewhere.raw", NULL);
  g_autofree char *users = NULL;
  g_autofree char *text = NULL;
  g_autoptr (GPtrArray) es = NULL;
  g_autoptr (GKeyFile) meta = g_key_file_new ();
  const char *sources[] = { "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", NULL };
  g_autofree char *tmpimg = NULL;
  g_autofree char *found = NULL;

  ok (dir != NULL, "cache dir created");
  tmpimg = g_build_filename (dir, "images", ".tmp-x-000000", NULL);
  g_file_set_contents (tmpimg, "", 0, NULL);
  g_key_file_set_string (meta, "image", "format", "raw");
  img = kiln_cache_publish (dir, tmpimg, "sha512:" HEX, meta, sources, &e);
  ok (img && g_str_has_suffix (img, "/images/sha512-" HEX), "publish names the image by its digest");
  if (img) {
    struct stat st;

    ok (stat (img, &st) == 0 && (st.st_mode & 0777) == 0444, "published read-only");
  }
  else
    ok (0, "published read-only");
  found = kiln_cache_lookup (dir, sources[0]);
  is_str (found, img, "lookup by the download's digest finds the image");
  ok (kiln_cache_lookup (dir, "sha256:0000000000000000000000000000000000000000000000000000000000000000") == NULL,
      "an unknown digest is not found");

  g_file_set_contents (user, "x", 1, NULL);
  ok (kiln_cache_add_user (&ctx, img, user, &e) == 0, "add a user");
  ok (kiln_cache_add_user (&ctx, img, user, &e) == 0, "add the same user again");
  users = g_build_filename (dir, "users", "sha512-" HEX, NULL);
  {
    g_autofree char *want = g_strconcat (user, "\n", NULL);

    g_file_get_contents (users, &text, NULL, NULL);
    is_str (text, want, "recorded once, one line per user");
  }
  ok (kiln_cache_add_user (&ctx, outside, user, &e) == 0, "a base outside the cache is accepted");
  es = kiln_cache_entries (dir, &e);
  ok (es && es->len == 1, "one entry");
  if (es && es->len == 1) {
    const struct kiln_cache_entry *x = es->pdata[0];

    ok (x->users[0] && strcmp (x->users[0], user) == 0 && x->users[1] == NULL, "its user is listed");
  }
  else
    ok (0, "its user is listed");
  unlink (user);
  g_clear_pointer (&es, g_ptr_array_unref);
  es = kiln_cache_entries (dir, &e);
  ok (es && es->len == 1 && ((struct kiln_cache_entry *) es->pdata[0])->users[0] == NULL,
      "a user that no longer exists does not count");

  /* Publish is one step: the .meta first, then the image's rename. */
  {
    g_autofree char *t2 = g_build_filename (dir, "images", ".tmp-y-000000", NULL);
    g_autofree char *img2 = g_build_filename (dir, "images", "sha512-" HEX2, NULL);
    g_autofree char *meta2 = g_strconcat (img2, ".meta", NULL);
    g_autofree char *block = g_build_filename (meta2, "x", NULL);
    g_autofree char *got = NULL;
    g_autofree char *stale = g_build_filename (dir, "images", ".sha512-" HEX2 ".meta.kiln-Ab12Cd", NULL);
    g_autofree char *goodmeta = g_strconcat (img, ".meta", NULL);
    uint64_t freed = 0;

    /* A .meta that cannot be written: the image must not appear. */
    g_mkdir_with_parents (meta2, 0755);
    g_file_set_contents (block, "", 0, NULL);
    g_file_set_contents (t2, "y", 1, NULL);
    got = kiln_cache_publish (dir, t2, "sha512:" HEX2, meta, NULL, &e);
    ok (got == NULL && e != NULL, "publish fails when its .meta cannot be written%s%s",
        e ? ": " : "", e ? e->message : "");
    g_clear_error (&e);
    ok (!g_file_test (img2, G_FILE_TEST_EXISTS), "and no image appears without its .meta");
    ok (!g_file_test (t2, G_FILE_TEST_EXISTS), "and its temporary file is gone");
    unlink (block);
    rmdir (meta2);

    /* An image that cannot take its name: no .meta stays behind. */
    g_mkdir_with_parents (img2, 0755);
    g_free (block);
    block = g_build_filename (img2, "x", NULL);
    g_file_set_contents (block, "", 0, NULL);
    g_file_set_contents (t2, "y", 1, NULL);
    g_clear_pointer (&got, g_free);
    got = kiln_cache_publish (dir, t2, "sha512:" HEX2, meta, NULL, &e);
    ok (got == NULL && !g_file_test (meta2, G_FILE_TEST_EXISTS),
        "publish that fails at the image's rename leaves no .meta%s%s", e ? ": " : "", e ? e->message : "");
    g_clear_error (&e);
    unlink (block);
    rmdir (img2);

    /* What a kill between the two steps leaves is garbage for prune. */
    g_file_set_contents (meta2, "[image]\nformat=qcow2\n", -1, NULL);
    g_file_set_contents (stale, "[image]\n", -1, NULL);
    is_int (kiln_cache_clean_partials (dir, &freed, &e), 2,
            "clean_partials removes a .meta without its image and a .meta being written");
    ok (!g_file_test (meta2, G_FILE_TEST_EXISTS) && !g_file_test (stale, G_FILE_TEST_EXISTS),
        "both are gone");
    ok (g_file_test (goodmeta, G_FILE_TEST_EXISTS) && g_file_test (img, G_FILE_TEST_EXISTS),
        "a published image and its .meta stay");
  }

  /* Sparse writes: zero blocks become holes. */
  {
    g_autofree char *sp = g_build_filename (tmp, "sparse", NULL);
    g_autofree char *buf = g_malloc0 (1 << 20);
    int fd = open (sp, O_RDWR | O_CREAT, 0644);
    struct stat st;

    buf[0] = 1;
    buf[(1 << 20) - 1] = 1;
    ok (kiln_write_sparse (fd, buf, 1 << 20, &e) == 0 && ftruncate (fd, 1 << 20) == 0, "sparse write");
    fstat (fd, &st);
    ok (st.st_size == (1 << 20) && st.st_blocks * 512 < (1 << 19), "mostly a hole");
    {
      g_autofree char *back = NULL;
      gsize len = 0;

      g_file_get_contents (sp, &back, &len, NULL);
      ok (len == (1 << 20) && memcmp (back, buf, len) == 0, "reads back the same bytes");
    }
    close (fd);
  }
  /* The pin: a fetched base stays pinned until its result is cleared,
   * i.e. until kiln create/build have made and recorded the overlay, so
   * kiln cache prune (which takes the exclusive side) waits. */
  {
    g_autofree char *src = g_build_filename (tmp, "base.raw", NULL);
    g_autofree char *url = g_strconcat ("file://", src, NULL);
    struct kiln_fetch_result fr = { 0 };
    int lock;

    g_file_set_contents (src, "a base that nobody uses yet", -1, NULL);
    ok (kiln_fetch (&ctx, url, NULL, &fr, &e) == 0 && fr.path &&
        g_str_has_prefix (fr.path, dir), "a file:// base is fetched into the cache%s%s",
        e ? ": " : "", e ? e->message : "");
    g_clear_error (&e);
    lock = kiln_cache_lock_prune (&ctx, false, &e);
    ok (lock == -1 && g_error_matches (e, KILN_ERROR, KILN_ERROR_BUSY),
        "prune cannot start while the fetch result holds the pin");
    g_clear_error (&e);
    ok (fr.path && g_file_test (fr.path, G_FILE_TEST_IS_REGULAR), "and the base is there");
    kiln_fetch_result_clear (&fr);
    lock = kiln_cache_lock_prune (&ctx, false, &e);
    ok (lock >= 0, "once the result is cleared prune can run%s%s", e ? ": " : "", e ? e->message : "");
    g_clear_error (&e);
    if (lock >= 0)
      close (lock);
    ok (kiln_fetch (&ctx, "/nonexistent/kiln-base", NULL, &fr, &e) == -1, "a failed fetch");
    g_clear_error (&e);
    lock = kiln_cache_lock_prune (&ctx, false, &e);
    ok (lock >= 0, "leaves no pin behind");
    g_clear_error (&e);
    if (lock >= 0)
      close (lock);
  }

  test_planted_links (&ctx, dir, tmp);
  test_cache_dir_checks (tmp);
  test_sha256_names (tmp);

  ok (kiln_unpack_needed ((const unsigned char *) "\xfd" "7zXZ\0\0", 6), "xz magic");
  ok (!kiln_unpack_needed ((const unsigned char *) "QFI\xfb\0\0\0\3", 8), "qcow2 is not unpacked");
  is_str (kiln_image_format ((const unsigned char *) "QFI\xfb\0\0\0\3", 8), "qcow2", "qcow2 detected");

  {
    const char *rm[] = { "rm", "-rf", tmp, NULL };

    /* The read-only image needs rm -rf; the test's own scratch dir only. */
    g_spawn_sync (NULL, (char **) rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
  }
  return done_testing ();
}
