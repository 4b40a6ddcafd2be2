/* test-boot.c: lib/boot.c without a boot.  The pure parts: a getty login
 * prompt found in a serial console (and "Last login:" or a kernel line
 * not taken for one), the console's last lines made printable, --wait's
 * argument.  Then kiln_boot_start on libvirt's test:///default driver,
 * with console logs written by the test: a domain whose log shows a login
 * prompt is up, one whose log does not is reported after the limit with
 * its console's last 20 lines, one that does not exist fails to start,
 * and without a wait the domains are only started. */
#include <string.h>
#include <unistd.h>
#include <libvirt/libvirt.h>

#include "tap.h"
#include "kiln.h"
#include "boot.h"
#include "virt.h"

static void
test_prompt (void)
{
  static const char debian[] =
    "[  OK  ] Started \x1b[0;1;39mSerial Getty on ttyS0\x1b[0m.\r\n"
    "\r\nDebian GNU/Linux 11 web-3 ttyS0\r\n\r\nweb-3 login: ";
  static const char after[] = "web-3 login: [   42.1] random: crng init done\r\n";
  static const char last[] = "Last login: Mon Nov 30 10:00:00 UTC 2025 on ttyS0\r\n";
  static const char kernel[] = "[    1.0] systemd[1]: Starting Login Service...\r\n"
                               "         Starting systemd-logind.service - User login: x\r\n";
  g_autofree char *h1 = kiln_boot_login_prompt (debian, sizeof debian - 1);
  g_autofree char *h2 = kiln_boot_login_prompt (after, sizeof after - 1);
  g_autofree char *h3 = kiln_boot_login_prompt (last, sizeof last - 1);
  g_autofree char *h4 = kiln_boot_login_prompt (kernel, sizeof kernel - 1);
  g_autofree char *h5 = kiln_boot_login_prompt ("", 0);
  g_autofree char *h6 = kiln_boot_login_prompt ("a login:\nb login: ", 18);

  is_str (h1, "web-3", "a Debian getty's prompt, after escape sequences: host web-3");
  is_str (h2, "web-3", "a prompt with a kernel message after it on its line");
  ok (h3 == NULL, "\"Last login:\" is not a prompt");
  ok (h4 == NULL, "a line with spaces before \" login:\" is not a prompt");
  ok (h5 == NULL, "an empty console has none");
  is_str (h6, "b", "the last prompt counts");
}

static void
test_tail (void)
{
  g_autoptr (GString) con = g_string_new (NULL);
  g_autofree char *t = NULL, *t2 = NULL, *t3 = NULL;
  g_auto (GStrv) lines = NULL;

  for (int i = 1; i <= 30; i++)
    g_string_append_printf (con, "\x1b[1mline %d\x1b[0m\x01\xc3\xa9\r\n", i);
  g_string_append (con, "\r\n\r\n");
  t = kiln_boot_console_tail (con->str, con->len, 20);
  lines = g_strsplit (t, "\n", -1);
  is_int (g_strv_length (lines), 20, "20 lines of 30");
  is_str (lines[0], "line 11???", "from line 11, escapes gone, control and non-ASCII bytes as ?");
  is_str (lines[19], "line 30???", "to the last non-empty line");
  t2 = kiln_boot_console_tail ("a\rb", 3, 20);
  is_str (t2, "a\nb", "a lone CR is a new line");
  t3 = kiln_boot_console_tail ("", 0, 20);
  is_str (t3, "", "an empty console: empty");
}

static void
test_wait_arg (void)
{
  unsigned s = 0;
  g_autoptr (GError) err = NULL;

  ok (kiln_boot_parse_wait (NULL, &s, NULL) == 0 && s == KILN_BOOT_DEFAULT_WAIT,
      "--wait alone: the default");
  ok (kiln_boot_parse_wait ("90", &s, NULL) == 0 && s == 90, "--wait=90");
  ok (kiln_boot_parse_wait ("5m", &s, NULL) == 0 && s == 300, "--wait=5m");
  ok (kiln_boot_parse_wait ("1h", &s, NULL) == 0 && s == 3600, "--wait=1h");
  ok (kiln_boot_parse_wait ("0", &s, &err) == -1 && err->code == KILN_ERROR_USAGE,
      "--wait=0 refused");
  g_clear_error (&err);
  ok (kiln_boot_parse_wait ("25h", &s, &err) == -1, "more than a day refused");
  g_clear_error (&err);
  ok (kiln_boot_parse_wait ("m", &s, &err) == -1, "a unit without a number refused");
  g_clear_error (&err);
  ok (kiln_boot_parse_wait ("-5", &s, &err) == -1, "a negative number refused");
}

static void
define (virConnectPtr conn, const char *name)
{
  g_autofree char *xml = g_strdup_printf (
    "<domain type='test'><name>%s</name><memory unit='MiB'>64</memory>"
    "<os><type>hvm</type></os><devices/></domain>", name);
  virDomainPtr d = virDomainDefineXML (conn, xml);

  if (d)
    virDomainFree (d);
  ok (d != NULL, "defined %s", name);
}

static void
test_start (void)
{
  struct kiln_ctx ctx = { .connect_uri = "test:///default", .verbosity = 0 };
  g_autoptr (GError) err = NULL;
  g_autoptr (GPtrArray) res = NULL, res2 = NULL;
  g_autofree char *dir = g_dir_make_tmp ("kiln-boot-XXXXXX", NULL);
  g_autofree char *up_log = g_build_filename (dir, "up.log", NULL);
  g_autofree char *hang_log = g_build_filename (dir, "hang.log", NULL);
  g_autoptr (GString) hang = g_string_new (NULL);
  virConnectPtr conn;
  const struct kiln_boot_result *r;
  gint64 t0;

  kiln_virt_quiet ();
  conn = virConnectOpen ("test:///default");
  define (conn, "b-up");
  define (conn, "b-hang");
  g_file_set_contents (up_log, "Debian GNU/Linux 11 b-up ttyS0\r\n\r\nb-up login: ", -1, NULL);
  for (int i = 1; i <= 25; i++)
    g_string_append_printf (hang, "[   %d.0] still booting %d\r\n", i, i);
  g_file_set_contents (hang_log, hang->str, -1, NULL);

  {
    const struct kiln_boot_target t[] = {
      { "b-up", up_log }, { "b-hang", hang_log }, { "b-missing", NULL },
    };

    t0 = g_get_monotonic_time ();
    ok (kiln_boot_start (&ctx, t, 3, 1, &res, &err) == -1, "not all up: -1");
    ok (g_get_monotonic_time () - t0 < 5 * G_USEC_PER_SEC, "within about the limit (1 s)");
    ok (err && strstr (err->message, "2 of 3") && strstr (err->message, "b-hang (timeout)") &&
        strstr (err->message, "b-missing (start-failed)"), "the error names the two: %s",
        err ? err->message : "(none)");
    ok (res && res->len == 3, "a result for each, in order");
    if (res == NULL || res->len != 3)
      return;
    r = res->pdata[0];
    is_str (kiln_boot_state_name (r->state), "up", "b-up is up");
    is_str (r->how, "login prompt", "by its login prompt");
    is_str (r->console_hostname, "b-up", "which shows its host name");
    is_str (r->domain_state, "running", "running");
    ok (r->console_tail == NULL, "no console reported for it");
    r = res->pdata[1];
    is_str (kiln_boot_state_name (r->state), "timeout", "b-hang timed out");
    ok (r->usec >= G_USEC_PER_SEC, "after the limit");
    is_str (r->domain_state, "running", "left running");
    ok (r->console_tail && g_str_has_prefix (r->console_tail, "[   6.0] still booting 6\n") &&
        g_str_has_suffix (r->console_tail, "still booting 25"),
        "reported with its console's last 20 lines");
    r = res->pdata[2];
    is_str (kiln_boot_state_name (r->state), "start-failed", "b-missing failed to start");
    ok (r->error && strstr (r->error, "b-missing"), "saying which: %s", r->error);
  }
  virDomainPtr d = virDomainLookupByName (conn, "b-up");
  virDomainDestroy (d);
  virDomainFree (d);
  {
    const struct kiln_boot_target t[] = { { "b-up", NULL } };

    g_clear_error (&err);
    ok (kiln_boot_start (&ctx, t, 1, 0, &res2, &err) == 0, "no wait: started is enough");
    r = res2->pdata[0];
    is_str (kiln_boot_state_name (r->state), "started", "state started");
  }
  virConnectClose (conn);
  unlink (up_log);
  unlink (hang_log);
  rmdir (dir);
}

/* The console log kiln removes with a domain: only its own name. */
static void
test_console_log_of (void)
{
  const char *xml = "<domain><name>web-1</name><devices><serial type='pty'>"
                    "<log file='/var/lib/x/web-1-console.log'/></serial></devices></domain>";
  const char *other = "<domain><name>web-1</name><devices><serial type='pty'>"
                      "<log file='/var/log/mine.log'/></serial></devices></domain>";
  g_autofree char *a = kiln_boot_console_log_of (xml, "web-1");
  g_autofree char *b = kiln_boot_console_log_of (other, "web-1");
  g_autofree char *c = kiln_boot_console_log_of (xml, "web-2");
  g_autofree char *d = kiln_boot_console_log_of ("<domain/>", "web-1");

  is_str (a, "/var/lib/x/web-1-console.log", "NAME-console.log: kiln's, removed with NAME");
  ok (b == NULL, "a log of another name is not kiln's");
  ok (c == NULL, "nor one named after another domain");
  ok (d == NULL && kiln_boot_console_log_of (NULL, "x") == NULL, "no serial log: none");
}

int
main (void)
{
  test_console_log_of ();
  test_prompt ();
  test_tail ();
  test_wait_arg ();
  test_start ();
  return done_testing ();
}
