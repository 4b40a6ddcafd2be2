/* test-console.c: the serial console runner (lib/console.c) against a
 * fake getty on a socket pair: a login prompt, a password check, and a
 * shell that runs what it is sent with /bin/sh (so the marks kiln wraps
 * each command in go through a real shell, echo of the typed line
 * included); the output cleaning and the comparison of outputs. */
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <glib.h>

#include "tap.h"
#include "console.h"

struct fake {
  int fd;
  const char *password;       /* the right one */
  bool silent;                /* never answers (a timeout) */
};

static void
say (int fd, const char *s)
{
  if (write (fd, s, strlen (s)) < 0)
    return;
}

/* One line typed (up to a CR), without it; NULL at the end. */
static char *
typed (int fd)
{
  GString *l = g_string_new (NULL);
  char c;

  while (read (fd, &c, 1) == 1) {
    if (c == '\r')
      return g_string_free (l, FALSE);
    g_string_append_c (l, c);
  }
  g_string_free (l, TRUE);
  return NULL;
}

static gpointer
getty (gpointer data)
{
  struct fake *f = data;
  enum { LOGIN, PASSWORD, SHELL } st = LOGIN;
  char *line;

  while ((line = typed (f->fd)) != NULL) {
    if (f->silent) {
      g_free (line);
      continue;
    }
    if (st == LOGIN && *line == '\0') {
      say (f->fd, "\r\n\x1b[0mDebian GNU/Linux 12 fake ttyS0\r\n\r\nfake login: ");
    } else if (st == LOGIN) {
      say (f->fd, line);
      say (f->fd, "\r\nPassword: ");
      st = PASSWORD;
    } else if (st == PASSWORD) {
      if (strcmp (line, f->password) == 0) {
        say (f->fd, "\r\nLinux fake 6.1.0\r\nroot@fake:~# ");
        st = SHELL;
      } else {
        say (f->fd, "\r\n\r\nLogin incorrect\r\nfake login: ");
        st = LOGIN;
      }
    } else if (strcmp (line, "exit") == 0) {
      g_free (line);
      break;
    } else {
      const char *argv[] = { "/bin/sh", "-c", line, NULL };
      g_autofree char *out = NULL;
      g_auto (GStrv) lines = NULL;

      say (f->fd, line);                 /* the terminal's echo */
      say (f->fd, "\r\n");
      g_spawn_sync (NULL, (char **) argv, NULL, 0, NULL, NULL, &out, NULL, NULL, NULL);
      lines = g_strsplit (out ? out : "", "\n", -1);
      for (char **p = lines; *p; p++) {
        say (f->fd, *p);
        if (p[1])
          say (f->fd, "\r\n");
      }
      say (f->fd, "root@fake:~# ");
    }
    g_free (line);
  }
  close (f->fd);
  return NULL;
}

static int
run (struct fake *f, const char *password, const char *const *cmds, size_t n, int seconds,
     GPtrArray **outs, GError **err)
{
  int sv[2];
  GThread *t;
  int rc;

  socketpair (AF_UNIX, SOCK_STREAM, 0, sv);
  f->fd = sv[1];
  t = g_thread_new ("getty", getty, f);
  rc = kiln_console_run_fd (sv[0], "root", password, cmds, n,
                            g_get_monotonic_time () + seconds * G_USEC_PER_SEC, outs, err);
  shutdown (sv[0], SHUT_RDWR);
  close (sv[0]);
  g_thread_join (t);
  return rc;
}

static void
test_run (void)
{
  struct fake f = { .password = "pw" };
  const char *cmds[] = { "echo fake", "printf 'a\\nb\\n'; echo err >&2", "false", "echo 'KILN-END- 9'" };
  g_autoptr (GPtrArray) outs = NULL;
  g_autoptr (GError) err = NULL;
  const struct kiln_console_output *o;

  ok (run (&f, "pw", cmds, 4, 20, &outs, &err) == 0, "logged in and ran 4 commands");
  if (err)
    diag (err->message);
  ok (outs && outs->len == 4, "4 outputs");
  if (outs == NULL || outs->len < 4)
    return;
  o = outs->pdata[0];
  is_str (o->text, "fake", "the output of the first, without the typed line's echo");
  ok (o->status == 0, "exit status 0");
  o = outs->pdata[1];
  is_str (o->text, "a\nb\nerr", "lines joined with newlines, stderr with stdout, CRs gone");
  o = outs->pdata[2];
  if (!ok (o->status == 1 && strcmp (o->text, "") == 0, "false: status 1, no output"))
    printf ("# status %d text [%s]\n", o->status, o->text);
  o = outs->pdata[3];
  is_str (o->text, "KILN-END- 9", "output that looks like a mark is output");
}

static void
test_refused (void)
{
  struct fake f = { .password = "pw" };
  g_autoptr (GPtrArray) outs = NULL;
  g_autoptr (GError) err = NULL;
  const char *cmds[] = { "echo x" };

  ok (run (&f, "wrong-pw", cmds, 1, 20, &outs, &err) == -1, "a wrong password fails");
  ok (err && strstr (err->message, "refused") != NULL, "saying the login was refused");
  ok (err && strstr (err->message, "wrong-pw") == NULL, "never showing the password");
  ok (outs && outs->len == 0, "no output");
}

static void
test_timeout (void)
{
  struct fake f = { .password = "pw", .silent = true };
  g_autoptr (GPtrArray) outs = NULL;
  g_autoptr (GError) err = NULL;
  gint64 t0 = g_get_monotonic_time ();

  ok (run (&f, "pw", NULL, 0, 1, &outs, &err) == -1, "no login prompt: fails");
  ok (err && strstr (err->message, "no login prompt within the time") != NULL, "saying what it waited for");
  ok (g_get_monotonic_time () - t0 < 5 * G_USEC_PER_SEC, "at the deadline");
}

static void
test_matches (void)
{
  g_autofree char *c = kiln_console_clean ("\x1b[1mweb-1\x1b[0m\r\n\r\n  \r\n", 17);

  is_str (c, "web-1", "clean: escapes, CRs and trailing blank lines removed");
  ok (kiln_console_matches ("web-1", false, "web-1"), "exact: equal");
  ok (kiln_console_matches ("web-1\n", false, "web-1"), "exact: trailing newline ignored");
  ok (!kiln_console_matches ("web-1", false, "web-10"), "exact: not a prefix match");
  ok (!kiln_console_matches ("web", false, "web-1"), "exact: not a substring");
  ok (kiln_console_matches ("^VERSION_ID=\"12\"$", true, "NAME=x\nVERSION_ID=\"12\"\nID=debian"),
      "regex: multiline, ^ and $ at lines");
  ok (!kiln_console_matches ("^ID=fedora$", true, "ID=debian"), "regex: no match");
  ok (!kiln_console_matches ("(unclosed", true, "(unclosed"), "an invalid regex never matches");
}

int
main (void)
{
  signal (SIGPIPE, SIG_IGN);          /* the fake getty may write after kiln hung up */
  test_run ();
  test_refused ();
  test_timeout ();
  test_matches ();
  return done_testing ();
}
