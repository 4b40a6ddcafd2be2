/* clone.c: kiln clone --original NAME (--name NEW | --auto-clone): the
 * options, then kiln_clone_domains (lib/clone.c) and the clones made,
 * printed; --list-dependents prints kiln_clone_dependents. */
#include <stdio.h>
#include <string.h>

#include "kiln.h"
#include "boot.h"
#include "clone.h"
#include "hosts.h"
#include "json.h"
#include "mac.h"
#include "msg.h"
#include "opts.h"

enum {
  OPT_ORIGINAL = 1, OPT_NAME, OPT_AUTO_CLONE, OPT_FULL, OPT_LINKED, OPT_COUNT, OPT_MAC,
  OPT_FILE, OPT_REPLACE, OPT_PRINT_XML, OPT_LIST_DEPENDENTS, OPT_HOSTNAME, OPT_SSH_INJECT,
  OPT_IP, OPT_START, OPT_WAIT, OPT_ASSUME_IDENTITY_UNIT,
};

/* --wait without SECONDS. */
#define DEFAULT_WAIT 300

const struct kiln_option kiln_clone_options[] = {
  { "original", 'o', KILN_ARG_REQUIRED, "NAME", "the domain to clone (shut off)", OPT_ORIGINAL },
  { "name", 'n', KILN_ARG_REQUIRED, "NEW", "the clone's name (with --count: NEW-1..NEW-N)", OPT_NAME },
  { "auto-clone", 'A', KILN_ARG_NONE, NULL, "name the clone ORIGINAL-clone (first free) and its disks after it", OPT_AUTO_CLONE },
  { "full", 0, KILN_ARG_NONE, NULL, "copy the disks (sparse) instead of linking them", OPT_FULL },
  { "linked", 0, KILN_ARG_NONE, NULL, "overlay the disks even when the original is not a kiln template", OPT_LINKED },
  { "count", 0, KILN_ARG_REQUIRED, "N", "make N clones", OPT_COUNT },
  { "mac", 'm', KILN_ARG_REQUIRED, "MAC|RANDOM", "the MAC of the next NIC (repeatable; default: random, unique)", OPT_MAC },
  { "file", 'f', KILN_ARG_REQUIRED, "PATH", "the file of the next cloned disk (repeatable; default: beside the original's)", OPT_FILE },
  { "replace", 0, KILN_ARG_NONE, NULL, "replace a shut-off domain of the same name (and its disk files the clone reuses)", OPT_REPLACE },
  { "print-xml", 0, KILN_ARG_NONE, NULL, "print the clones' XML; create nothing", OPT_PRINT_XML },
  { "hostname", 0, KILN_ARG_REQUIRED, "NAME", "the clone's host name, applied at boot (with --count: a %d pattern, e.g. web-%d)", OPT_HOSTNAME },
  { "ssh-inject", 0, KILN_ARG_REQUIRED, "USER:file:F|USER:string:KEY", "add an SSH public key to USER's authorized_keys at boot (repeatable)", OPT_SSH_INJECT },
  { "ip", 0, KILN_ARG_REQUIRED, "ADDR/PREFIX[,GW]", "a static address for the clone's first NIC, applied at boot", OPT_IP },
  { "assume-identity-unit", 0, KILN_ARG_NONE, NULL, "the original's guest has kiln's first-boot identity unit though kiln finds no record of it", OPT_ASSUME_IDENTITY_UNIT },
  { "start", 0, KILN_ARG_NONE, NULL, "start the clones (all at once) and print their state and addresses", OPT_START },
  { "wait", 0, KILN_ARG_OPTIONAL, "SECONDS", "with --start: wait until each clone is up (login prompt, guest agent or DHCP lease; default 300 s)", OPT_WAIT },
  { "list-dependents", 0, KILN_ARG_NONE, NULL, "list the linked clones of the template (--original or operand) and exit", OPT_LIST_DEPENDENTS },
  KILN_OPTION_END
};

static int
list_dependents (struct kiln_ctx *ctx, const char *name)
{
  g_autoptr (GError) err = NULL;
  g_autoptr (GPtrArray) deps = kiln_clone_dependents (ctx, name, &err);

  if (deps == NULL)
    return kiln_fail (err);
  if (ctx->json) {
    g_autoptr (JsonBuilder) b = json_builder_new ();

    json_builder_begin_array (b);
    for (guint i = 0; i < deps->len; i++)
      json_builder_add_string_value (b, deps->pdata[i]);
    json_builder_end_array (b);
    kiln_json_print_builder (b);
  } else {
    for (guint i = 0; i < deps->len; i++)
      printf ("%s\n", (const char *) deps->pdata[i]);
  }
  return KILN_EXIT_OK;
}

/* Clone M's boot result in BOOTS (NULL: not started), by name. */
static const struct kiln_boot_result *
boot_of (GPtrArray *boots, const char *name)
{
  for (guint i = 0; boots && i < boots->len; i++) {
    const struct kiln_boot_result *r = boots->pdata[i];
    if (strcmp (r->name, name) == 0)
      return r;
  }
  return NULL;
}

static void
json_boot (JsonBuilder *b, const struct kiln_boot_result *r)
{
  kiln_json_add_string (b, "boot", kiln_boot_state_name (r->state));
  kiln_json_add_string (b, "state", r->domain_state);
  if (r->how)
    kiln_json_add_string (b, "up_by", r->how);
  if (r->console_hostname)
    kiln_json_add_string (b, "console_hostname", r->console_hostname);
  json_builder_set_member_name (b, "addresses");
  json_builder_begin_array (b);
  for (guint k = 0; k < r->addresses->len; k++)
    json_builder_add_string_value (b, r->addresses->pdata[k]);
  json_builder_end_array (b);
  kiln_json_add_int (b, "boot_microseconds", r->usec);
  if (r->console_tail)
    kiln_json_add_string (b, "console_tail", r->console_tail);
  if (r->error)
    kiln_json_add_string (b, "error", r->error);
}

/* One line per started clone: NAME BOOT-STATE ADDRESSES (how, when);
 * the console's last lines of one that did not come up, on stderr. */
static void
print_boot (const struct kiln_boot_result *r)
{
  g_autofree char *addrs = NULL;

  g_ptr_array_add (r->addresses, NULL);
  addrs = g_strjoinv (",", (char **) r->addresses->pdata);
  g_ptr_array_remove_index (r->addresses, r->addresses->len - 1);
  printf ("%s\t%s\t%s\t%s", r->name, kiln_boot_state_name (r->state),
          r->domain_state ? r->domain_state : "-", addrs[0] ? addrs : "-");
  if (r->how)
    printf ("\t(%s after %.1f s)", r->how, (double) r->usec / 1e6);
  printf ("\n");
  if (r->error)
    fprintf (stderr, "kiln clone: %s\n", r->error);
  if (r->console_tail)
    fprintf (stderr, "kiln clone: %s is not up after %.0f s; its console's last lines:\n%s\n",
             r->name, (double) r->usec / 1e6, r->console_tail[0] ? r->console_tail : "(empty)");
}

static void
print_made (struct kiln_ctx *ctx, const struct kiln_clone_spec *spec, GPtrArray *made,
            GPtrArray *boots)
{
  if (spec->print_xml) {
    for (guint i = 0; i < made->len; i++)
      fputs (((struct kiln_clone_made *) made->pdata[i])->xml, stdout);
  } else if (ctx->json) {
    g_autoptr (JsonBuilder) b = json_builder_new ();

    json_builder_begin_array (b);
    for (guint i = 0; i < made->len; i++) {
      const struct kiln_clone_made *m = made->pdata[i];
      const struct kiln_boot_result *r = boot_of (boots, m->name);

      json_builder_begin_object (b);
      kiln_json_add_string (b, "name", m->name);
      kiln_json_add_string (b, "uuid", m->uuid);
      kiln_json_add_string (b, "original", spec->original);
      json_builder_set_member_name (b, "linked");
      json_builder_add_boolean_value (b, m->linked);
      json_builder_set_member_name (b, "disks");
      json_builder_begin_array (b);
      for (guint k = 0; k < m->disks->len; k++)
        json_builder_add_string_value (b, m->disks->pdata[k]);
      json_builder_end_array (b);
      json_builder_set_member_name (b, "macs");
      json_builder_begin_array (b);
      for (guint k = 0; k < m->macs->len; k++)
        json_builder_add_string_value (b, m->macs->pdata[k]);
      json_builder_end_array (b);
      json_builder_set_member_name (b, "microseconds");
      json_builder_add_int_value (b, m->usec);
      if (m->console_log)
        kiln_json_add_string (b, "console_log", m->console_log);
      if (r)
        json_boot (b, r);
      json_builder_end_object (b);
    }
    json_builder_end_array (b);
    kiln_json_print_builder (b);
  } else {
    for (guint i = 0; ctx->verbosity > 0 && i < made->len; i++) {
      const struct kiln_clone_made *m = made->pdata[i];
      printf ("cloned %s as %s (%s, %.1f ms)\n", spec->original, m->name,
              m->linked ? "linked" : "full", (double) m->usec / 1000.0);
    }
    for (guint i = 0; boots && i < boots->len; i++)
      print_boot (boots->pdata[i]);
  }
}

/* kiln clone -c URI1 -c URI2 ...: the same clones on every host, in
 * parallel, each host its own transaction (lib/hosts.h). */
struct hosts_clone {
  const struct kiln_clone_spec *spec;
  GPtrArray **made;             /* one per host */
};

static int
clone_on_host (const struct kiln_ctx *ctx, size_t host, void *data, GError **err)
{
  struct hosts_clone *h = data;

  return kiln_clone_domains (ctx, h->spec, &h->made[host], err);
}

static int
clone_hosts (struct kiln_ctx *ctx, const struct kiln_clone_spec *spec)
{
  size_t n = ctx->connect_all->len, failed;
  g_autofree GPtrArray **made = g_new0 (GPtrArray *, n);
  g_autofree GError **errs = g_new0 (GError *, n);
  struct hosts_clone h = { .spec = spec, .made = made };
  int rc = KILN_EXIT_OK;

  failed = kiln_hosts_run (ctx, (const char *const *) ctx->connect_all->pdata, n, clone_on_host,
                           &h, errs);
  for (size_t i = 0; i < n; i++) {
    if (errs[i]) {
      rc = kiln_fail (errs[i]);
      g_error_free (errs[i]);
    } else {
      print_made (ctx, spec, made[i], NULL);
    }
    if (made[i])
      g_ptr_array_unref (made[i]);
  }
  if (failed)
    kiln_error ("clone failed on %zu of %zu hosts (named above); the others have their clones",
                failed, n);
  return rc;
}

int
kiln_cmd_clone (struct kiln_ctx *ctx, int argc, char **argv)
{
  g_autoptr (kiln_opts) p = kiln_opts_new (ctx, argc, argv);
  g_autoptr (GError) err = NULL;
  g_autoptr (GPtrArray) macs = g_ptr_array_new (), files = g_ptr_array_new ();
  g_autoptr (GPtrArray) made = NULL, boots = NULL;
  g_autofree struct kiln_boot_target *targets = NULL;
  g_autoptr (kiln_identity) id = kiln_identity_new ();
  struct kiln_clone_spec spec = { 0 };
  const char *arg = NULL;
  bool auto_clone = false, full = false, linked = false, list_deps = false, start = false;
  unsigned wait = 0;
  guint64 count = 0;
  int c, i, rc;

  while ((c = kiln_opts_next (p, &arg)) != 0) {
    switch (c) {
    case OPT_ORIGINAL: spec.original = arg; break;
    case OPT_NAME: spec.name = arg; break;
    case OPT_AUTO_CLONE: auto_clone = true; break;
    case OPT_FULL: full = true; break;
    case OPT_LINKED: linked = true; break;
    case OPT_COUNT:
      if (!g_ascii_string_to_unsigned (arg, 10, 1, 1000, &count, NULL))
        return kiln_usage_error (ctx, "--count takes a number from 1 to 1000, not '%s'", arg);
      break;
    case OPT_MAC:
      if (g_ascii_strcasecmp (arg, "RANDOM") != 0 && !kiln_mac_valid (arg))
        return kiln_usage_error (ctx, "--mac %s: not a unicast MAC address (or RANDOM)", arg);
      g_ptr_array_add (macs, (gpointer) arg);
      break;
    case OPT_FILE: g_ptr_array_add (files, (gpointer) arg); break;
    case OPT_REPLACE: spec.replace = true; break;
    case OPT_PRINT_XML: spec.print_xml = true; break;
    case OPT_LIST_DEPENDENTS: list_deps = true; break;
    case OPT_START: start = true; break;
    case OPT_ASSUME_IDENTITY_UNIT: spec.assume_identity_unit = true; break;
    case OPT_WAIT:
      if (kiln_boot_parse_wait (arg, &wait, &err) == -1)
        return kiln_usage_error (ctx, "%s", err->message);
      break;
    case OPT_HOSTNAME:
      if (kiln_identity_set_hostname (id, arg, &err) == -1)
        return kiln_usage_error (ctx, "%s", err->message);
      break;
    case OPT_SSH_INJECT:
      if (kiln_identity_add_ssh_inject (id, arg, &err) == -1)
        return kiln_usage_error (ctx, "%s", err->message);
      break;
    case OPT_IP:
      if (kiln_identity_set_ip (id, arg, &err) == -1)
        return kiln_usage_error (ctx, "%s", err->message);
      break;
    }
  }
  i = kiln_opts_operand_index (p);
  if (list_deps) {
    if (argc - i == 1 && spec.original == NULL)
      spec.original = argv[i];
    else if (argc - i != 0 || spec.original == NULL)
      return kiln_usage_error (ctx, "--list-dependents takes one template (--original NAME or operand)");
    return list_dependents (ctx, spec.original);
  }
  if (argc - i != 0) {
    const char *opt = kiln_opts_detached_value (p, argv[i]);

    if (opt)
      return kiln_usage_error (ctx, "unexpected operand '%s': --%s takes its value attached, "
                               "as --%s=%s", argv[i], opt, opt, argv[i]);
    return kiln_usage_error (ctx, "unexpected operand '%s' (use --original and --name)", argv[i]);
  }
  if (spec.original == NULL)
    return kiln_usage_error (ctx, "--original NAME is required");
  if ((spec.name == NULL) == !auto_clone)
    return kiln_usage_error (ctx, "give either --name NEW or --auto-clone");
  if (full && linked)
    return kiln_usage_error (ctx, "--full and --linked exclude each other");
  if (count > 1 && files->len > 0)
    return kiln_usage_error (ctx, "--file names one clone's disks: not with --count");
  if (wait > 0 && !start)
    return kiln_usage_error (ctx, "--wait waits for the clones --start starts: give both");
  if (start && spec.print_xml)
    return kiln_usage_error (ctx, "--print-xml creates nothing to --start");
  for (guint k = 0; count > 1 && k < macs->len; k++)
    if (g_ascii_strcasecmp (macs->pdata[k], "RANDOM") != 0)
      return kiln_usage_error (ctx, "--mac MAC names one clone's NIC: not with --count");
  /* Every clone would get the same address and clash on the network. */
  if (count > 1 && id->ip)
    return kiln_usage_error (ctx, "--ip ADDR names one clone's address: not with --count "
                             "(clone one at a time with --ip, or let DHCP address them)");

  spec.count = (unsigned) count;
  spec.mode = full ? KILN_CLONE_FULL : linked ? KILN_CLONE_LINKED : KILN_CLONE_DEFAULT;
  spec.macs = (const char *const *) macs->pdata;
  spec.n_macs = macs->len;
  spec.files = (const char *const *) files->pdata;
  spec.n_files = files->len;
  spec.identity = id;
  /* The console log is how kiln sees a login prompt. */
  spec.console_log = start;
  if (ctx->connect_all && ctx->connect_all->len > 1) {
    if (start || spec.print_xml)
      return kiln_usage_error (ctx, "-c given more than once: not with --start or --print-xml");
    return clone_hosts (ctx, &spec);
  }
  rc = kiln_clone_domains (ctx, &spec, &made, &err);
  /* All or nothing: on failure no clone is left to print. */
  if (rc == -1)
    return kiln_fail (err);
  if (start) {
    targets = g_new0 (struct kiln_boot_target, made->len);
    for (guint k = 0; k < made->len; k++) {
      const struct kiln_clone_made *m = made->pdata[k];
      targets[k].name = m->name;
      targets[k].console_log = m->console_log;
    }
    rc = kiln_boot_start (ctx, targets, made->len, wait, &boots, &err);
  }
  print_made (ctx, &spec, made, boots);
  if (rc == -1) {
    g_prefix_error (&err, "the clones stay defined (%s): ",
                    wait > 0 ? "and those that run, running" : "not all started");
    return kiln_fail (err);
  }
  return KILN_EXIT_OK;
}
