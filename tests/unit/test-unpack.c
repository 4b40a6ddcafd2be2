/* test-unpack.c: lib/unpack.c on files made by xz(1) and tar(1).  A plain
 * .xz (one block, many blocks as xz -T makes, concatenated streams) goes
 * through liblzma's decoder: the output equals the input, its sha256 is
 * the input's, its zero blocks are holes; a .tar.xz still yields its
 * member; corrupt or truncated data and output past the bound are
 * refused; the streaming variant fed in small steps gives the same. */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "unpack.h"
#include "digest.h"

static char *dir;

static char *
path (const char *name)
{
  return g_build_filename (dir, name, NULL);
}

static bool
sh (const char *cmd)
{
  g_autofree char *full = g_strdup_printf ("cd '%s' && %s", dir, cmd);
  const char *argv[] = { "/bin/sh", "-c", full, NULL };
  int status = -1;

  return g_spawn_sync (NULL, (char **) argv, NULL, 0, NULL, NULL, NULL, NULL, &status, NULL) &&
         g_spawn_check_wait_status (status, NULL);
}

/* Unpack NAME into NAME.out; with STREAM through kiln_unpack_stream_*,
 * fed 64 KiB at a time. */
static int
unpack (const char *name, uint64_t max, bool stream, char **digest, uint64_t *size,
        char **member, GError **err)
{
  g_autofree char *in = path (name);
  g_autofree char *outname = g_strconcat (name, ".out", NULL);
  g_autofree char *out = path (outname);
  int in_fd = open (in, O_RDONLY | O_CLOEXEC);
  int out_fd = open (out, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  unsigned char head[16];
  int r;

  if (!stream)
    r = kiln_unpack (in_fd, name, out_fd, max, "the test's bound", digest, size, member, head, err);
  else {
    struct kiln_unpack_stream *u = kiln_unpack_stream_start (in_fd, name, out_fd, max,
                                                             "the test's bound", err);
    struct stat st;

    fstat (in_fd, &st);
    for (uint64_t n = 0; u && n < (uint64_t) st.st_size; n += 65536)
      kiln_unpack_stream_feed (u, MIN (n + 65536, (uint64_t) st.st_size));
    r = u ? kiln_unpack_stream_finish (u, true, digest, size, member, head, err) : -1;
  }
  close (in_fd);
  close (out_fd);
  return r;
}

static bool
same_file (const char *a, const char *b)
{
  g_autofree char *pa = path (a), *pb = path (b);
  g_autofree char *ca = NULL, *cb = NULL;
  gsize la, lb;

  return g_file_get_contents (pa, &ca, &la, NULL) && g_file_get_contents (pb, &cb, &lb, NULL) &&
         la == lb && memcmp (ca, cb, la) == 0;
}

static char *
sha256_of (const char *name)
{
  g_autofree char *p = path (name);

  return kiln_digest_file (p, KILN_UNPACK_DIGEST, NULL);
}

static void
check_plain (const char *xzname, const char *what, bool stream)
{
  g_autoptr (GError) err = NULL;
  g_autofree char *digest = NULL, *member = NULL, *want = sha256_of ("disk.raw");
  g_autofree char *outname = g_strconcat (xzname, ".out", NULL);
  g_autofree char *outpath = path (outname);
  uint64_t size = 0;
  struct stat st;
  int r = unpack (xzname, 0, stream, &digest, &size, &member, &err);

  ok (r == 0, "%s%s: unpacked%s%s", what, stream ? " (streamed)" : "", err ? ": " : "",
      err ? err->message : "");
  ok (same_file ("disk.raw", outname), "%s: the output is the input", what);
  is_str (digest, want, "%s: its sha256 is the input's", what);
  ok (size == 8 << 20 && member == NULL, "%s: 8 MiB, no member", what);
  r = stat (outpath, &st);
  ok (r == 0 && st.st_blocks * 512 < (4 << 20),
      "%s: zero blocks are holes (%lld KiB allocated)", what, (long long) st.st_blocks / 2);
}

int
main (void)
{
  g_autoptr (GError) err = NULL;
  g_autofree char *digest = NULL, *member = NULL;
  g_autofree char *xz = g_find_program_in_path ("xz"), *tar = g_find_program_in_path ("tar");
  uint64_t size = 0;

  if (xz == NULL || tar == NULL) {
    diag ("xz and tar are needed: skipped");
    return done_testing ();
  }
  dir = g_dir_make_tmp ("kiln-test-unpack-XXXXXX", NULL);
  /* 8 MiB: random data in the first and fifth MiB, zeros elsewhere. */
  ok (sh ("truncate -s 8M disk.raw && head -c 1M /dev/urandom | dd of=disk.raw conv=notrunc 2>/dev/null"
          " && head -c 1M /dev/urandom | dd of=disk.raw bs=1M seek=4 conv=notrunc 2>/dev/null"
          " && xz -1 -k -c disk.raw > one.xz"
          " && xz -1 -T2 --block-size=1MiB -c disk.raw > multi.xz"
          " && head -c 3M disk.raw > a && tail -c +3145729 disk.raw > b"
          " && xz -1 -c a > concat.xz && xz -1 -c b >> concat.xz"
          " && tar -cf disk.tar disk.raw && xz -1 -c disk.tar > disk.tar.xz"
          " && head -c 100000 multi.xz > trunc.xz"
          " && cp one.xz corrupt.xz && printf 'XXXX' | dd of=corrupt.xz bs=1 seek=5000 conv=notrunc 2>/dev/null"),
      "inputs made with xz and tar");

  check_plain ("one.xz", "a single-block .xz", false);
  check_plain ("multi.xz", "a multi-block .xz (xz -T2)", false);
  check_plain ("concat.xz", "two concatenated .xz streams", false);
  check_plain ("multi.xz", "a multi-block .xz (xz -T2)", true);
  check_plain ("concat.xz", "two concatenated .xz streams", true);

  ok (unpack ("disk.tar.xz", 0, false, &digest, &size, &member, &err) == 0 &&
      g_strcmp0 (member, "disk.raw") == 0 && same_file ("disk.raw", "disk.tar.xz.out"),
      "a .tar.xz yields its member%s%s", err ? ": " : "", err ? err->message : "");
  g_clear_pointer (&digest, g_free);
  g_clear_pointer (&member, g_free);
  g_clear_error (&err);
  ok (unpack ("disk.tar.xz", 0, true, &digest, &size, &member, &err) == 0 &&
      g_strcmp0 (member, "disk.raw") == 0 && same_file ("disk.raw", "disk.tar.xz.out"),
      "streamed too%s%s", err ? ": " : "", err ? err->message : "");
  g_clear_pointer (&digest, g_free);
  g_clear_pointer (&member, g_free);
  g_clear_error (&err);

  for (int stream = 0; stream <= 1; stream++) {
    int r;
    const char *how = stream ? " (streamed)" : "";

    r = unpack ("trunc.xz", 0, stream, &digest, &size, &member, &err);
    ok (r == -1 &&
        g_error_matches (err, KILN_ERROR, KILN_ERROR_VERIFY),
        "a truncated .xz is refused%s: %s", how, err ? err->message : "(no error)");
    g_clear_error (&err);
    r = unpack ("corrupt.xz", 0, stream, &digest, &size, &member, &err);
    ok (r == -1 &&
        g_error_matches (err, KILN_ERROR, KILN_ERROR_VERIFY),
        "a corrupt .xz is refused%s: %s", how, err ? err->message : "(no error)");
    g_clear_error (&err);
    r = unpack ("multi.xz", 6 << 20, stream, &digest, &size, &member, &err);
    ok (r == -1 &&
        g_error_matches (err, KILN_ERROR, KILN_ERROR_VERIFY) &&
        strstr (err->message, "the test's bound"),
        "output past the bound is refused%s: %s", how, err ? err->message : "(no error)");
    g_clear_error (&err);
  }
  sh ("rm -f disk.raw a b *.xz *.tar *.out");
  rmdir (dir);
  g_free (dir);
  return done_testing ();
}
