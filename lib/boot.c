/* boot.c: start domains and wait until they are up (see boot.h). */
#include <string.h>
#include <libvirt/libvirt.h>

#include "boot.h"
#include "value.h"
#include "domxml.h"
#include "event.h"
#include "virt.h"

/* How often the domains are looked at while waited for. */
#define POLL_USEC (500 * 1000)
/* Only the end of a long console log is read: a login prompt is recent. */
#define READ_MAX (256 * 1024)

const char *
kiln_boot_state_name (enum kiln_boot_state s)
{
  switch (s) {
  case KILN_BOOT_STARTED: return "started";
  case KILN_BOOT_UP: return "up";
  case KILN_BOOT_TIMEOUT: return "timeout";
  case KILN_BOOT_STOPPED: return "stopped";
  case KILN_BOOT_START_FAILED: return "start-failed";
  }
  return "?";
}

int
kiln_boot_parse_wait (const char *arg, unsigned *seconds, GError **err)
{
  g_autofree char *what = NULL;

  if (arg == NULL) {
    *seconds = KILN_BOOT_DEFAULT_WAIT;
    return 0;
  }
  what = g_strdup_printf ("--wait=%s", arg);
  return kiln_parse_duration (arg, what, 1, 86400, seconds, err);
}

void
kiln_boot_result_free (struct kiln_boot_result *r)
{
  if (r == NULL)
    return;
  g_free (r->name);
  g_free (r->domain_state);
  g_free (r->console_hostname);
  if (r->addresses)
    g_ptr_array_unref (r->addresses);
  g_free (r->console_tail);
  g_free (r->error);
  g_free (r);
}

char *
kiln_boot_console_log_of (const char *xml, const char *name)
{
  struct kiln_domxml *dx = xml ? kiln_domxml_parse (xml, NULL) : NULL;
  g_autofree char *log = NULL, *base = NULL, *want = NULL;

  if (dx == NULL)
    return NULL;
  log = kiln_domxml_get (dx, "/domain/devices/serial[@type='pty']/log/@file");
  kiln_domxml_free (dx);
  if (log == NULL)
    return NULL;
  base = g_path_get_basename (log);
  want = g_strdup_printf ("%s-console.log", name);
  return strcmp (base, want) == 0 ? g_steal_pointer (&log) : NULL;
}

char *
kiln_boot_console_text (const char *text, size_t len)
{
  GString *s = g_string_sized_new (len);

  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char) text[i];

    if (c == 0x1b) {
      /* CSI: ESC [ parameters final-byte; other escapes: ESC and one byte. */
      if (i + 1 < len && text[i + 1] == '[') {
        i += 2;
        while (i < len && !((unsigned char) text[i] >= 0x40 && (unsigned char) text[i] <= 0x7e))
          i++;
      } else {
        i++;
      }
    } else if (c == '\r') {
      if (i + 1 < len && text[i + 1] == '\n')
        continue;
      g_string_append_c (s, '\n');
    } else if (c == '\n' || c == '\t' || (c >= 0x20 && c < 0x7f)) {
      g_string_append_c (s, (char) c);
    } else if (c != 0) {
      g_string_append_c (s, '?');
    }
  }
  return g_string_free (s, FALSE);
}

char *
kiln_boot_login_prompt (const char *text, size_t len)
{
  g_autofree char *t = kiln_boot_console_text (text, len);
  g_auto (GStrv) lines = g_strsplit (t, "\n", -1);
  char *host = NULL;

  for (char **l = lines; *l; l++) {
    const char *p = *l, *end;

    while (*p == ' ')
      p++;
    end = strstr (p, " login:");
    if (end == NULL || end == p || g_str_has_prefix (p, "Last login:"))
      continue;
    /* HOST is one word of host-name characters. */
    for (const char *q = p; q < end; q++)
      if (!g_ascii_isalnum (*q) && *q != '-' && *q != '.' && *q != '_')
        goto next;
    g_free (host);
    host = g_strndup (p, (gsize) (end - p));
  next:
    ;
  }
  return host;
}

char *
kiln_boot_console_tail (const char *text, size_t len, unsigned lines)
{
  g_autofree char *t = kiln_boot_console_text (text, len);
  size_t n = strlen (t);
  const char *start;
  unsigned seen = 0;

  while (n > 0 && (t[n - 1] == '\n' || t[n - 1] == ' ' || t[n - 1] == '\t'))
    n--;
  t[n] = '\0';
  start = t + n;
  while (start > t && lines > 0) {
    if (start[-1] == '\n' && ++seen == lines)
      break;
    start--;
  }
  return g_strdup (start);
}

/* The end of the console log PATH (at most READ_MAX bytes); NULL and
 * *WHY when it cannot be read (not yet there is not an error: ""). */
static char *
read_log (const char *path, size_t *len, char **why)
{
  g_autoptr (GError) e = NULL;
  g_autoptr (GMappedFile) m = NULL;
  const char *data;
  size_t n;

  *len = 0;
  if (path == NULL)
    return NULL;
  m = g_mapped_file_new (path, FALSE, &e);
  if (m == NULL) {
    if (!g_error_matches (e, G_FILE_ERROR, G_FILE_ERROR_NOENT) && why && *why == NULL)
      *why = g_strdup_printf ("cannot read the console log: %s", e->message);
    return NULL;
  }
  data = g_mapped_file_get_contents (m);
  n = g_mapped_file_get_length (m);
  if (data == NULL || n == 0)
    return NULL;
  if (n > READ_MAX) {
    data += n - READ_MAX;
    n = READ_MAX;
  }
  *len = n;
  return g_memdup2 (data, n);
}

static bool
has_agent (virDomainPtr dom)
{
  char *xml = virDomainGetXMLDesc (dom, 0);
  g_autoptr (kiln_domxml) dx = xml ? kiln_domxml_parse (xml, NULL) : NULL;
  g_autoptr (GPtrArray) n = NULL;

  free (xml);
  if (dx == NULL)
    return false;
  n = kiln_domxml_nodes (dx, "/domain/devices/channel/target[@name='org.qemu.guest_agent.0']");
  return n->len > 0;
}

/* DOM's addresses from SOURCE (VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_*)
 * appended to OUT (skipping ones already there): how many, or -1 when
 * libvirt could not ask that source. */
static int
addresses (virDomainPtr dom, unsigned int source, GPtrArray *out)
{
  virDomainInterfacePtr *ifaces = NULL;
  int n = virDomainInterfaceAddresses (dom, &ifaces, source, 0), found = 0;

  if (n < 0)
    return -1;
  for (int i = 0; i < n; i++) {
    for (unsigned k = 0; k < ifaces[i]->naddrs; k++) {
      const virDomainIPAddress *a = &ifaces[i]->addrs[k];
      g_autofree char *s = NULL;

      if (a->addr == NULL || g_str_has_prefix (a->addr, "127.") || strcmp (a->addr, "::1") == 0 ||
          g_str_has_prefix (a->addr, "fe80:"))
        continue;
      s = g_strdup_printf ("%s/%u", a->addr, a->prefix);
      found++;
      if (!g_ptr_array_find_with_equal_func (out, s, g_str_equal, NULL))
        g_ptr_array_add (out, g_steal_pointer (&s));
    }
    virDomainInterfaceFree (ifaces[i]);
  }
  free (ifaces);
  return found;
}

static const char *
state_name (int st)
{
  switch (st) {
  case VIR_DOMAIN_RUNNING: return "running";
  case VIR_DOMAIN_BLOCKED: return "blocked";
  case VIR_DOMAIN_PAUSED: return "paused";
  case VIR_DOMAIN_SHUTDOWN: return "shutting down";
  case VIR_DOMAIN_SHUTOFF: return "shut off";
  case VIR_DOMAIN_CRASHED: return "crashed";
  case VIR_DOMAIN_PMSUSPENDED: return "suspended";
  default: return "unknown";
  }
}

/* One domain while waited for. */
struct waited {
  struct kiln_boot_result *r;
  const char *log;
  virDomainPtr dom;
  bool agent;
  bool pending;
  char *log_error;
};

/* Is W up now?  Sets W->r->how and the state. */
static void
look (struct waited *w, gint64 t0)
{
  int st = VIR_DOMAIN_NOSTATE, reason;
  size_t len;
  g_autofree char *text = read_log (w->log, &len, &w->log_error);
  g_autofree char *host = text ? kiln_boot_login_prompt (text, len) : NULL;
  g_autoptr (GPtrArray) tmp = g_ptr_array_new_with_free_func (g_free);

  if (host) {
    w->r->how = "login prompt";
    w->r->console_hostname = g_steal_pointer (&host);
  } else if (w->agent && addresses (w->dom, VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT, tmp) >= 0) {
    w->r->how = "guest agent";
  } else if (addresses (w->dom, VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE, tmp) > 0) {
    w->r->how = "DHCP lease";
  } else {
    if (virDomainGetState (w->dom, &st, &reason, 0) == 0 &&
        (st == VIR_DOMAIN_SHUTOFF || st == VIR_DOMAIN_CRASHED)) {
      w->r->state = KILN_BOOT_STOPPED;
      w->pending = false;
      w->r->usec = g_get_monotonic_time () - t0;
    }
    return;
  }
  w->r->state = KILN_BOOT_UP;
  w->r->usec = g_get_monotonic_time () - t0;
  w->pending = false;
  kiln_event_info ("boot", "%s is up (%s) after %.1f s", w->r->name, w->r->how,
                   (double) w->r->usec / 1e6);
}

/* After the wait: libvirt's state, the addresses, and for a domain not
 * up the end of its console. */
static void
finish (struct waited *w)
{
  int st = VIR_DOMAIN_NOSTATE, reason;

  if (virDomainGetState (w->dom, &st, &reason, 0) == 0)
    w->r->domain_state = g_strdup (state_name (st));
  if (st == VIR_DOMAIN_RUNNING || st == VIR_DOMAIN_PAUSED || st == VIR_DOMAIN_BLOCKED) {
    addresses (w->dom, VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE, w->r->addresses);
    if (w->agent)
      addresses (w->dom, VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT, w->r->addresses);
    if (w->r->addresses->len == 0)
      addresses (w->dom, VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_ARP, w->r->addresses);
  }
  if (w->r->state == KILN_BOOT_TIMEOUT || w->r->state == KILN_BOOT_STOPPED) {
    size_t len;
    g_autofree char *text = read_log (w->log, &len, &w->log_error);

    if (w->log == NULL)
      w->r->console_tail = g_strdup ("(no console log: the domain has no pty serial port)");
    else if (w->log_error)
      w->r->console_tail = g_strdup_printf ("(%s: %s)", w->log, w->log_error);
    else
      w->r->console_tail = kiln_boot_console_tail (text ? text : "", len, KILN_BOOT_TAIL_LINES);
  }
}

int
kiln_boot_start (const struct kiln_ctx *ctx, const struct kiln_boot_target *targets,
                 size_t n, unsigned wait_seconds, GPtrArray **results, GError **err)
{
  virConnectPtr conn;
  g_autofree struct waited *w = g_new0 (struct waited, n ? n : 1);
  g_autoptr (GString) bad = g_string_new (NULL);
  gint64 t0, deadline;
  size_t pending = 0, failed = 0;

  *results = NULL;
  conn = kiln_virt_open (ctx, NULL, err);
  if (conn == NULL)
    return -1;
  *results = g_ptr_array_new_with_free_func ((GDestroyNotify) kiln_boot_result_free);
  t0 = g_get_monotonic_time ();
  deadline = t0 + (gint64) wait_seconds * G_USEC_PER_SEC;
  for (size_t i = 0; i < n; i++) {
    struct kiln_boot_result *r = g_new0 (struct kiln_boot_result, 1);

    r->name = g_strdup (targets[i].name);
    r->addresses = g_ptr_array_new_with_free_func (g_free);
    r->state = wait_seconds > 0 ? KILN_BOOT_TIMEOUT : KILN_BOOT_STARTED;
    g_ptr_array_add (*results, r);
    w[i].r = r;
    w[i].log = targets[i].console_log;
    w[i].dom = virDomainLookupByName (conn, targets[i].name);
    if (w[i].dom == NULL || virDomainCreate (w[i].dom) == -1) {
      g_autoptr (GError) e = NULL;

      kiln_virt_set_error (&e, "cannot start '%s'", targets[i].name);
      r->state = KILN_BOOT_START_FAILED;
      r->error = g_strdup (e->message);
      kiln_event_warning ("boot", "%s", e->message);
      continue;
    }
    kiln_event_info ("boot", "started %s", targets[i].name);
    w[i].agent = has_agent (w[i].dom);
    w[i].pending = wait_seconds > 0;
    pending += w[i].pending;
  }
  if (pending > 0)
    kiln_event_info ("boot", "waiting up to %u s for %zu domain%s to come up", wait_seconds,
                     pending, pending == 1 ? "" : "s");
  while (pending > 0) {
    pending = 0;
    for (size_t i = 0; i < n; i++)
      if (w[i].pending) {
        look (&w[i], t0);
        pending += w[i].pending;
      }
    if (pending == 0 || g_get_monotonic_time () >= deadline)
      break;
    g_usleep (POLL_USEC);
  }
  for (size_t i = 0; i < n; i++) {
    if (w[i].pending)
      w[i].r->usec = g_get_monotonic_time () - t0;
    if (w[i].dom) {
      finish (&w[i]);
      virDomainFree (w[i].dom);
    }
    g_free (w[i].log_error);
    if (w[i].r->state != KILN_BOOT_UP && w[i].r->state != KILN_BOOT_STARTED) {
      g_string_append_printf (bad, "%s%s (%s)", failed ? ", " : "", w[i].r->name,
                              kiln_boot_state_name (w[i].r->state));
      failed++;
    }
  }
  virConnectClose (conn);
  if (failed > 0) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "%zu of %zu domain%s did not %s: %s",
                 failed, n, n == 1 ? "" : "s",
                 wait_seconds > 0 ? "come up" : "start", bad->str);
    return -1;
  }
  return 0;
}
