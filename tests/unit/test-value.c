/* test-value.c: lib/value.c, the one parser of sizes and names, and
 * lib/fileio.c, the one way a file gets its final name. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "kiln.h"
#include "fileio.h"
#include "value.h"

static uint64_t
size_of (const char *s)
{
  uint64_t b = 0;

  return kiln_parse_size (s, &b, NULL) == 0 ? b : 0;
}

static void
test_sizes (void)
{
  uint64_t b = 0;
  g_autoptr (GError) err = NULL;

  is_int (size_of ("10"), 10, "a bare number is bytes");
  is_int (size_of ("10G"), 10ULL << 30, "10G");
  is_int (size_of ("10g"), 10ULL << 30, "10g");
  is_int (size_of ("10GiB"), 10ULL << 30, "10GiB");
  is_int (size_of ("10GB"), 10ULL << 30, "10GB is binary too");
  is_int (size_of ("512M"), 512ULL << 20, "512M");
  is_int (size_of ("4096K"), 4096ULL << 10, "4096K");
  is_int (size_of ("1T"), 1ULL << 40, "1T");
  is_int (size_of ("1.5G"), 3ULL << 29, "1.5G");
  is_int (size_of ("0"), 0, "zero refused");
  is_int (size_of ("-1G"), 0, "negative refused");
  is_int (size_of ("10X"), 0, "unknown unit refused");
  is_int (size_of ("G"), 0, "a unit alone refused");
  is_int (size_of ("1.5"), 0, "a fraction of a byte refused");
  is_int (size_of ("99999999999999999999G"), 0, "overflow refused");
  is_int (size_of ("10 G"), 0, "a space refused");
  ok (kiln_parse_size ("ten", &b, &err) == -1 && err->code == KILN_ERROR_USAGE &&
      strstr (err->message, "'ten'") && strstr (err->message, "10G"),
      "the error names the value and gives an example");
  g_clear_error (&err);

  ok (kiln_parse_disk_size ("10G", "--size", &b, NULL) == 0 && b == 10ULL << 30, "disk 10G");
  ok (kiln_parse_disk_size ("1048577", "--size", &b, NULL) == 0 && b == 1048576 + 512,
      "a disk size is rounded up to whole sectors");
  ok (kiln_parse_disk_size ("10", "disks[0].size", &b, &err) == -1 &&
      strstr (err->message, "disks[0].size") && strstr (err->message, "10G"),
      "a bare 10 is too small for a disk, and the error says to write 10G");
}

static void
test_names (void)
{
  g_autoptr (GError) err = NULL;

  ok (kiln_name_valid ("debian-12_base.v2", "--name", NULL), "letters, digits, - _ .");
  ok (!kiln_name_valid ("", "--name", NULL), "empty refused");
  ok (!kiln_name_valid ("-x", "--name", NULL), "a leading dash refused");
  ok (!kiln_name_valid (".hidden", "--name", NULL), "a leading dot refused");
  ok (!kiln_name_valid ("a/b", "--name", NULL), "a slash refused");
  ok (!kiln_name_valid ("../etc", "--name", NULL), "a path refused");
  ok (!kiln_name_valid ("a b", "--name", NULL), "a space refused");
  ok (!kiln_name_valid ("caf\xc3\xa9", "--name", NULL), "non-ASCII refused");
  {
    g_autofree char *longname = g_strnfill (65, 'a');
    ok (!kiln_name_valid (longname, "--name", NULL), "65 characters refused");
    longname[64] = '\0';
    ok (kiln_name_valid (longname, "--name", NULL), "64 characters accepted");
  }
  ok (!kiln_name_valid ("a;b", "template.name", &err) && strstr (err->message, "template.name"),
      "the error names the key");
}

static int
count_temps (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *n;
  int k = 0;

  while (d && (n = g_dir_read_name (d)))
    if (strstr (n, ".kiln-"))
      k++;
  return k;
}

static void
test_files (void)
{
  g_autofree char *dir = g_dir_make_tmp ("kiln-value-XXXXXX", NULL);
  g_autofree char *f = g_build_filename (dir, "out", NULL);
  g_autofree char *c = g_build_filename (dir, "copy", NULL);
  g_autofree char *got = NULL, *tmp = NULL;
  g_autoptr (GError) err = NULL;
  struct stat st;

  ok (kiln_file_write_atomic (f, "one", 3, 0600, false, NULL) == 0, "write a new file");
  ok (stat (f, &st) == 0 && (st.st_mode & 0777) == 0600, "with the mode asked for, whatever the umask");
  ok (kiln_file_write_atomic (f, "two", 3, 0600, false, &err) == -1 &&
      err->code == KILN_ERROR_EXISTS, "an existing file is not replaced unless asked");
  g_clear_error (&err);
  g_file_get_contents (f, &got, NULL, NULL);
  is_str (got, "one", "and keeps its content");
  g_clear_pointer (&got, g_free);
  ok (kiln_file_write_atomic (f, "two", 3, 0644, true, NULL) == 0, "replaced when asked");
  g_file_get_contents (f, &got, NULL, NULL);
  is_str (got, "two", "new content");
  is_int (count_temps (dir), 0, "no temporary file left");

  tmp = kiln_temp_beside (f, 0640, NULL);
  ok (tmp && g_str_has_prefix (tmp, dir) && strstr (tmp, "/.out.kiln-"), "a temporary beside the target");
  kiln_temps_remove_all ();
  ok (tmp && access (tmp, F_OK) == -1, "removed by kiln_temps_remove_all (the signal path)");
  kiln_temp_discard (tmp);

  /* A sparse file: 1 MiB of data in a 64 MiB hole. */
  {
    int fd = open (c, O_WRONLY | O_CREAT, 0644);
    g_autofree char *cp = g_build_filename (dir, "copy2", NULL);
    char buf[4096];
    struct stat a, b;

    memset (buf, 'x', sizeof buf);
    ok (fd != -1 && ftruncate (fd, 64 << 20) == 0 && pwrite (fd, buf, sizeof buf, 32 << 20) == sizeof buf,
        "a sparse source");
    close (fd);
    ok (kiln_file_copy_sparse (c, cp, 0600, false, NULL) == 0, "sparse copy");
    stat (c, &a);
    stat (cp, &b);
    is_int (b.st_size, a.st_size, "same size");
    ok (b.st_blocks <= a.st_blocks + 8, "holes kept (%lld blocks vs %lld)",
        (long long) b.st_blocks, (long long) a.st_blocks);
    is_int (b.st_mode & 0777, 0600, "mode as asked");
    ok (kiln_file_copy_sparse (c, cp, 0600, false, &err) == -1 && err->code == KILN_ERROR_EXISTS,
        "an existing copy is refused");
    g_clear_error (&err);
    ok (kiln_file_copy_sparse ("/nonexistent/kiln", cp, 0600, true, &err) == -1 &&
        err->code == KILN_ERROR_NOT_FOUND, "a missing source");
    is_int (count_temps (dir), 0, "no temporary file left");
    unlink (cp);
  }
  /* One data extent longer than a copy chunk (32 MiB, each started on
   * its way to the disk as it is copied), then a hole, then data: every
   * byte arrives, in order, and the hole stays one. */
  {
    int fd = open (c, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    g_autofree char *cp = g_build_filename (dir, "copy3", NULL);
    g_autofree char *want = NULL, *got = NULL;
    gsize wlen = 0, glen = 0;
    size_t n = (33 << 20) + 12345;
    g_autofree unsigned char *buf = g_malloc (n);
    struct stat a, b;

    for (size_t i = 0; i < n; i++)
      buf[i] = (unsigned char) (i * 2654435761u >> 13);
    ok (fd != -1 && ftruncate (fd, 80 << 20) == 0 && pwrite (fd, buf, n, 0) == (ssize_t) n &&
        pwrite (fd, buf, 4096, 72 << 20) == 4096, "a source with a 33 MiB extent");
    close (fd);
    ok (kiln_file_copy_sparse (c, cp, 0600, false, NULL) == 0, "copied in chunks");
    ok (g_file_get_contents (c, &want, &wlen, NULL) && g_file_get_contents (cp, &got, &glen, NULL) &&
        wlen == glen && memcmp (want, got, wlen) == 0, "the copy has every byte");
    stat (c, &a);
    stat (cp, &b);
    ok (b.st_blocks <= a.st_blocks + 8, "its hole kept (%lld blocks vs %lld)",
        (long long) b.st_blocks, (long long) a.st_blocks);
    unlink (cp);
  }
  unlink (c);
  unlink (f);
  rmdir (dir);
}

static void
test_durations (void)
{
  g_autoptr (GError) err = NULL;
  unsigned s = 0;

  ok (kiln_parse_duration ("90", "t", 1, 86400, &s, NULL) == 0 && s == 90, "90: seconds");
  ok (kiln_parse_duration ("90s", "t", 1, 86400, &s, NULL) == 0 && s == 90, "90s");
  ok (kiln_parse_duration ("5m", "t", 1, 86400, &s, NULL) == 0 && s == 300, "5m: 300 s");
  ok (kiln_parse_duration ("24h", "t", 1, 86400, &s, NULL) == 0 && s == 86400, "24h: the top of the range");
  ok (kiln_parse_duration ("25h", "t", 1, 86400, &s, NULL) == -1, "25h: past the range");
  ok (kiln_parse_duration ("9", "t", 10, 86400, &s, NULL) == -1, "under the range");
  ok (kiln_parse_duration ("1.5m", "t", 1, 86400, &s, NULL) == -1, "a fraction refused");
  ok (kiln_parse_duration ("5d", "t", 1, 86400, &s, NULL) == -1, "an unknown unit refused");
  ok (kiln_parse_duration ("m", "t", 1, 86400, &s, NULL) == -1, "a unit alone refused");
  ok (kiln_parse_duration ("-5", "t", 1, 86400, &s, NULL) == -1, "a negative number refused");
  ok (kiln_parse_duration ("99999999999h", "t", 1, 86400, &s, NULL) == -1, "overflow refused");
  ok (kiln_parse_duration ("", "test: timeout", 10, 86400, &s, &err) == -1 && err->code == KILN_ERROR_USAGE &&
      strstr (err->message, "test: timeout: give a time from 10 s to 24 h") != NULL,
      "the error names the key and the range");
}

int
main (void)
{
  test_durations ();
  test_sizes ();
  test_names ();
  test_files ();
  return done_testing ();
}
