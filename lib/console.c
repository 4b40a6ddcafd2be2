/* console.c: log in on a serial console and run commands (see console.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <sys/socket.h>
#include <libvirt/libvirt.h>

#include "boot.h"
#include "console.h"
#include "domxml.h"
#include "event.h"
#include "password.h"
#include "virt.h"

/* A getty that printed its prompt before we listened shows it again
 * after a return; so does a shell.  Sent after this much silence. */
#define POKE_USEC (5 * G_USEC_PER_SEC)
/* What arrives is kept up to this size (older bytes are dropped). */
#define KEEP_MAX (1024 * 1024)

void
kiln_console_output_free (struct kiln_console_output *o)
{
  if (o == NULL)
    return;
  g_free (o->text);
  g_free (o);
}

char *
kiln_console_clean (const char *text, size_t len)
{
  char *t = kiln_boot_console_text (text, len);
  size_t n = strlen (t);

  while (n > 0 && g_ascii_isspace (t[n - 1]))
    n--;
  t[n] = '\0';
  return t;
}

bool
kiln_console_matches (const char *expected, bool regex, const char *got)
{
  g_autoptr (GRegex) re = NULL;
  g_autofree char *e = NULL, *g = NULL;

  if (regex) {
    re = g_regex_new (expected, G_REGEX_MULTILINE, 0, NULL);
    return re && g_regex_match (re, got, 0, NULL);
  }
  e = g_strchomp (g_strdup (expected));
  g = g_strchomp (g_strdup (got));
  return strcmp (e, g) == 0;
}

/* The conversation: what arrived since the last match, and the fd. */
struct conv {
  int fd;
  GByteArray *buf;
  gint64 deadline;
};

static int
send_all (struct conv *c, const char *s, GError **err)
{
  size_t len = strlen (s), done = 0;

  while (done < len) {
    /* A socket (the tests' fake getty) closed by the peer must not kill
     * kiln with SIGPIPE; a pty is no socket. */
    ssize_t w = send (c->fd, s + done, len - done, MSG_NOSIGNAL);

    if (w == -1 && errno == ENOTSOCK)
      w = write (c->fd, s + done, len - done);

    if (w == -1 && (errno == EINTR || errno == EAGAIN)) {
      g_usleep (10000);
      continue;
    }
    if (w <= 0) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "cannot write to the console: %s",
                   g_strerror (errno));
      return -1;
    }
    done += (size_t) w;
  }
  return 0;
}

/* Read until RE matches what arrived (since the last match); POKE (may
 * be NULL) is sent after each POKE_USEC of silence.  The match's end
 * starts the next search; *BEFORE (may be NULL) gets what came before
 * the match, *GROUP1 (may be NULL) the match's first group ("" when it
 * did not take part).
 * WHAT names it for a timeout. */
static int
wait_for (struct conv *c, GRegex *re, const char *poke, const char *what, char **before,
          char **group1, GError **err)
{
  gint64 last = g_get_monotonic_time ();

  for (;;) {
    g_autofree char *text = g_strndup (c->buf->len ? (const char *) c->buf->data : "", c->buf->len);
    g_autoptr (GMatchInfo) mi = NULL;
    struct pollfd p = { .fd = c->fd, .events = POLLIN };
    gint64 now;
    int start, end, rc;

    if (g_regex_match (re, text, 0, &mi)) {
      g_match_info_fetch_pos (mi, 0, &start, &end);
      if (before)
        *before = g_strndup (text, start);
      if (group1)
        *group1 = g_match_info_fetch (mi, 1);
      g_byte_array_remove_range (c->buf, 0, (guint) end);
      return 0;
    }
    now = g_get_monotonic_time ();
    if (now >= c->deadline) {
      g_autofree char *tail = kiln_boot_console_tail ((const char *) c->buf->data, c->buf->len, 5);

      g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                   "console: no %s within the time; the console's last lines:\n%s", what, tail);
      return -1;
    }
    if (poke && now - last >= POKE_USEC) {
      if (send_all (c, poke, err) == -1)
        return -1;
      last = now;
    }
    rc = poll (&p, 1, 200);
    if (rc == -1 && errno != EINTR) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "console: %s", g_strerror (errno));
      return -1;
    }
    if (rc > 0) {
      char chunk[4096];
      ssize_t r = read (c->fd, chunk, sizeof chunk);

      if (r == 0 || (r == -1 && errno != EAGAIN && errno != EINTR)) {
        g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "console: closed while waiting for %s",
                     what);
        return -1;
      }
      if (r > 0) {
        g_byte_array_append (c->buf, (const guint8 *) chunk, (guint) r);
        if (c->buf->len > KEEP_MAX)
          g_byte_array_remove_range (c->buf, 0, c->buf->len - KEEP_MAX);
        last = g_get_monotonic_time ();
      }
    }
  }
}

static GRegex *
re_new (const char *pattern)
{
  return g_regex_new (pattern, G_REGEX_MULTILINE | G_REGEX_RAW, 0, NULL);
}

int
kiln_console_run_fd (int fd, const char *user, const char *password, const char *const *cmds,
                     size_t n, gint64 deadline, GPtrArray **outputs, GError **err)
{
  struct conv c = { .fd = fd, .buf = g_byte_array_new (), .deadline = deadline };
  g_autoptr (GRegex) login = re_new ("login: *$");
  g_autoptr (GRegex) pass = re_new ("[Pp]assword: *$");
  g_autoptr (GRegex) after = re_new ("([#$] *$)|(Login incorrect)|(login: *$)");
  g_autofree char *line = g_strconcat (user, "\r", NULL);
  g_autofree char *shell = NULL;
  int ret = -1;

  *outputs = g_ptr_array_new_with_free_func ((GDestroyNotify) kiln_console_output_free);
  /* A return first: the prompt the getty printed may be gone. */
  if (send_all (&c, "\r", err) == -1 ||
      wait_for (&c, login, "\r", "login prompt", NULL, NULL, err) == -1 ||
      send_all (&c, line, err) == -1)
    goto out;
  if (password) {
    g_autofree char *pw = NULL;

    if (wait_for (&c, pass, NULL, "password prompt", NULL, NULL, err) == -1)
      goto out;
    pw = g_strconcat (password, "\r", NULL);
    ret = send_all (&c, pw, err);
    explicit_bzero (pw, strlen (pw));
    if (ret == -1)
      goto out;
    ret = -1;
  }
  if (wait_for (&c, after, NULL, "shell prompt after the login", NULL, &shell, err) == -1)
    goto out;
  if (shell == NULL || *shell == '\0') {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                 "console: the login as %s was refused (wrong user or password)", user);
    goto out;
  }
  for (size_t i = 0; i < n; i++) {
    g_autofree char *cmd = g_strdup_printf (
      "printf '\\n%%s-%%s\\n' KILN-BEGIN %zu; { %s ; } </dev/null 2>&1; "
      "printf '\\n%%s-%%s:%%s\\n' KILN-END %zu \"$?\"\r", i, cmds[i], i);
    g_autofree char *begin = g_strdup_printf ("KILN-BEGIN-%zu\\r?\\n", i);
    g_autofree char *end = g_strdup_printf ("\\r?\\nKILN-END-%zu:([0-9]+)\\r?\\n", i);
    g_autofree char *what = g_strdup_printf ("end of command %zu (%s)", i + 1, cmds[i]);
    g_autoptr (GRegex) rb = re_new (begin), re = re_new (end);
    g_autofree char *got = NULL, *status = NULL;
    struct kiln_console_output *o;

    if (send_all (&c, cmd, err) == -1 ||
        wait_for (&c, rb, NULL, what, NULL, NULL, err) == -1 ||
        wait_for (&c, re, NULL, what, &got, &status, err) == -1)
      goto out;
    o = g_new0 (struct kiln_console_output, 1);
    o->text = kiln_console_clean (got, strlen (got));
    o->status = atoi (status);
    g_ptr_array_add (*outputs, o);
  }
  ret = 0;
  send_all (&c, "exit\r", NULL);
 out:
  g_byte_array_unref (c.buf);
  return ret;
}

/* Is the connection's hypervisor on this host (a pty path means something here)? */
static bool
local_uri (const char *uri)
{
  return uri && (g_str_has_prefix (uri, "qemu:///") || g_str_has_prefix (uri, "qemu+unix:///") ||
                 g_str_has_prefix (uri, "test:///"));
}

int
kiln_console_run (const struct kiln_ctx *ctx, const char *domain, const char *user,
                  const char *password, const char *const *cmds, size_t n, unsigned timeout,
                  GPtrArray **outputs, GError **err)
{
  virConnectPtr conn;
  virDomainPtr dom;
  g_autofree char *uri = NULL, *pty = NULL;
  char *xml = NULL;
  int fd, rc;
  struct termios tio;

  *outputs = NULL;
  conn = kiln_virt_open (ctx, NULL, err);
  if (conn == NULL)
    return -1;
  {
    char *u = virConnectGetURI (conn);

    uri = g_strdup (u);
    free (u);
  }
  dom = kiln_virt_lookup (conn, domain, err);
  if (dom)
    xml = virDomainGetXMLDesc (dom, 0);
  if (dom && xml == NULL)
    kiln_virt_set_domain_error (err, dom, "cannot read the definition of");
  if (dom)
    virDomainFree (dom);
  virConnectClose (conn);
  if (xml == NULL)
    return -1;
  {
    g_autoptr (GError) e = NULL;
    struct kiln_domxml *dx = kiln_domxml_parse (xml, &e);

    free (xml);
    if (dx) {
      pty = kiln_domxml_get (dx, "/domain/devices/serial[@type='pty']/source/@path");
      kiln_domxml_free (dx);
    }
  }
  if (!local_uri (uri)) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE,
                 "%s: the console commands of a boot check need a local connection, not %s",
                 domain, uri ? uri : "?");
    return -1;
  }
  if (pty == NULL) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "%s has no pty serial console", domain);
    return -1;
  }
  fd = open (pty, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd == -1) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "cannot open %s's console %s: %s", domain,
                 pty, g_strerror (errno));
    return -1;
  }
  if (tcgetattr (fd, &tio) == 0) {
    cfmakeraw (&tio);
    tcsetattr (fd, TCSANOW, &tio);
  }
  kiln_event_info ("test", "logging in on %s's console (%s) as %s", domain, pty, user);
  rc = kiln_console_run_fd (fd, user, password, cmds, n,
                            g_get_monotonic_time () + (gint64) timeout * G_USEC_PER_SEC,
                            outputs, err);
  close (fd);
  return rc;
}
