/* test-guest.c: lib/guest.c without a launch: which guest paths hold
 * secrets, and that reads and writes of them are never traced (-x,
 * LIBGUESTFS_TRACE=1) while other files' are.  A handle that is not
 * launched still traces a call's arguments before refusing it, which is
 * where a write's content would show. */
#include "tap.h"
#include "guest.h"

static void
collect (guestfs_h *g, void *opaque, uint64_t event, int handle, int flags,
         const char *buf, size_t len, const uint64_t *array, size_t array_len)
{
  g_string_append_len (opaque, buf, (gssize) len);
  g_string_append_c (opaque, '\n');
}

static void
test_secret_paths (void)
{
  ok (kiln_guest_path_secret ("/etc/shadow"), "/etc/shadow");
  ok (kiln_guest_path_secret ("//etc/./shadow"), "//etc/./shadow is /etc/shadow");
  ok (kiln_guest_path_secret ("/etc/gshadow-"), "/etc/gshadow- (the backup)");
  ok (kiln_guest_path_secret ("/etc/../etc/shadow"), "/etc/../etc/shadow");
  ok (!kiln_guest_path_secret ("/etc/passwd"), "/etc/passwd is not");
  ok (!kiln_guest_path_secret ("etc/shadow"), "a relative path is not a guest path");
  ok (!kiln_guest_path_secret (NULL), "NULL is not");
}

static void
test_untraced (void)
{
  guestfs_h *g = guestfs_create_flags (GUESTFS_CREATE_NO_ENVIRONMENT);
  g_autoptr (GString) trace = g_string_new (NULL);
  size_t len = 0;

  if (g == NULL) {
    ok (0, "a libguestfs handle");
    return;
  }
  guestfs_set_error_handler (g, NULL, NULL);
  guestfs_set_event_callback (g, collect, GUESTFS_EVENT_TRACE, 0, trace);
  guestfs_set_trace (g, 1);

  is_int (kiln_guest_write_file (g, "/etc/motd", "VISIBLE-MOTD", 12), -1, "write refused: not launched");
  ok (strstr (trace->str, "VISIBLE-MOTD") != NULL, "an ordinary file's write is traced (the check sees traces)");
  g_string_truncate (trace, 0);
  kiln_guest_write_file (g, "/etc/shadow", "root:$y$SECRET-HASH:1::::::", 27);
  kiln_guest_append_file (g, "//etc/./gshadow", "SECRET-APPEND", 13);
  free (kiln_guest_read_file (g, "/etc/shadow", &len));
  if (!ok (strstr (trace->str, "SECRET") == NULL && strstr (trace->str, "shadow") == NULL,
           "reads, writes and appends of /etc/shadow and /etc/gshadow are not traced"))
    printf ("# trace: %s\n", g_strdelimit (trace->str, "\n", '|'));
  is_int (guestfs_get_trace (g), 1, "tracing is on again afterwards");
  guestfs_set_trace (g, 0);
  kiln_guest_write_file (g, "/etc/shadow", "x", 1);
  is_int (guestfs_get_trace (g), 0, "and stays off when it was off");
  guestfs_close (g);
}

/* What customize wrote on purpose, and the directories that hold it
 * (sysprep empties those instead of removing them). */
static void
test_kept (void)
{
  g_autoptr (kiln_guest) gu = kiln_guest_new (false);
  bool exact = true;

  ok (!kiln_guest_holds_kept (gu, "/root/.ssh", &exact) && !exact, "nothing kept yet");
  ok (!kiln_guest_holds_kept (NULL, "/root/.ssh", &exact), "no guest: nothing kept");
  kiln_guest_keep (gu, "/root/.ssh/authorized_keys");    /* not launched: kept as given */
  ok (kiln_guest_holds_kept (gu, "/root/.ssh/authorized_keys", &exact) && exact,
      "the kept file itself");
  ok (kiln_guest_holds_kept (gu, "/root/.ssh", &exact) && !exact, "its directory holds it");
  ok (kiln_guest_holds_kept (gu, "/root", &exact) && !exact, "and its parent");
  ok (kiln_guest_holds_kept (gu, "/", &exact) && !exact, "and /");
  ok (!kiln_guest_holds_kept (gu, "/root/.ss", &exact), "a name prefix is not a parent");
  ok (!kiln_guest_holds_kept (gu, "/root/.ssh/known_hosts", &exact), "a sibling is not kept");
  ok (!kiln_guest_holds_kept (gu, "/home/u/.ssh", &exact), "another user's directory is not");
}

int
main (void)
{
  test_secret_paths ();
  test_untraced ();
  test_kept ();
  return done_testing ();
}
