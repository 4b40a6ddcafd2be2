/* test-buildreg.c: the libvirt networks a recipe names (the first part of
 * kiln build's registration stage), defined and started on libvirt's
 * test:///default driver.  That driver parses and validates network XML
 * as libvirtd does, and puts no bridge and no address on the host, which
 * the integration tests avoid (they predefine the lab recipe's networks
 * without addresses).  What it did is reported as events, not printed.
 * The template and clone parts are lib/register.c and lib/clone.c,
 * tested by test-register, test-clone and 40-register-clone. */
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include <libvirt/libvirt.h>

#include "tap.h"
#include "build.h"
#include "event.h"
#include "recipe.h"

/* The events kiln_build_register sent: "TOPIC: MESSAGE". */
static GPtrArray *events;

static void
collect (const struct kiln_event *ev, void *opaque)
{
  if (ev->level == KILN_EVENT_INFO)
    g_ptr_array_add (events, g_strdup_printf ("%s: %s", ev->topic, ev->message));
}

static bool
sent (const char *line)
{
  return g_ptr_array_find_with_equal_func (events, line, g_str_equal, NULL);
}

static const char *recipe_text =
  "recipe: 1\n"
  "name: nets\n"
  "base: {source: debian-12}\n"
  "output: {path: nets.qcow2}\n"
  "networks:\n"
  "  - {name: kiln-isolated, bridge: kilnbr71, address: 10.11.12.1/24,"
  "     dhcp: 10.11.12.2-10.11.12.128, forward: none}\n"
  "  - {name: kiln-nat, bridge: kilnbr73, address: 192.168.66.1/24,"
  "     dhcp: 192.168.66.2-192.168.66.254, forward: nat}\n"
  "  - {name: default, address: 10.99.0.1/16}\n";

static char *
net_xml (virConnectPtr conn, const char *name, int *active, int *autostart)
{
  virNetworkPtr n = virNetworkLookupByName (conn, name);
  char *xml;

  *active = *autostart = -1;
  if (n == NULL)
    return NULL;
  xml = virNetworkGetXMLDesc (n, 0);
  *active = virNetworkIsActive (n);
  if (virNetworkGetAutostart (n, autostart) == -1)
    *autostart = -1;
  virNetworkFree (n);
  return xml;
}

int
main (void)
{
  g_autofree char *dir = g_dir_make_tmp ("kiln-buildreg-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "nets.yaml", NULL);
  g_autofree char *xml = NULL, *default_before = NULL;
  g_autoptr (GError) err = NULL;
  g_autoptr (kiln_recipe) r = NULL;
  struct kiln_ctx ctx = { .connect_uri = "test:///default", .verbosity = 0 };
  virConnectPtr conn;
  virNetworkPtr def;
  int active, autostart;

  /* test:///default keeps its state while a connection is open: this one
   * lets the test see what kiln_build_register's own connection did. */
  conn = virConnectOpen ("test:///default");
  if (conn == NULL) {
    ok (0, "test:///default opens");
    return done_testing ();
  }
  /* The driver's own "default" network, stopped: an existing network is
   * started and otherwise used as it is, whatever the recipe says. */
  def = virNetworkLookupByName (conn, "default");
  ok (def != NULL && virNetworkDestroy (def) == 0, "test driver's network 'default' stopped");
  default_before = def ? virNetworkGetXMLDesc (def, 0) : NULL;
  ok (default_before != NULL, "and its definition read");
  if (def)
    virNetworkFree (def);

  ok (g_file_set_contents (path, recipe_text, -1, NULL), "recipe written");
  r = kiln_recipe_load (path, NULL, &err);
  ok (r != NULL, "recipe with three networks loads%s%s", err ? ": " : "", err ? err->message : "");
  if (r == NULL)
    return done_testing ();
  is_int (r->networks->len, 3, "three networks in the recipe");

  events = g_ptr_array_new_with_free_func (g_free);
  kiln_event_set_handler (collect, NULL);
  ok (kiln_build_register (&ctx, r, NULL, 0, NULL, NULL, false, NULL, NULL, &err) == 0,
      "networks defined%s%s", err ? ": " : "", err ? err->message : "");
  ok (sent ("network: defined and started network kiln-isolated"),
      "an event says kiln-isolated was defined");
  ok (sent ("network: network default exists; using it as it is"),
      "an event says 'default' is used as it is");

  xml = net_xml (conn, "kiln-isolated", &active, &autostart);
  ok (xml != NULL, "kiln-isolated is defined");
  is_int (active, 1, "kiln-isolated is started");
  is_int (autostart, 1, "kiln-isolated starts with the host");
  ok (xml && strstr (xml, "<bridge name='kilnbr71' stp='on' delay='0'/>"), "kiln-isolated: its bridge");
  ok (xml && strstr (xml, "<ip address='10.11.12.1' prefix='24'>"), "kiln-isolated: its address");
  ok (xml && strstr (xml, "<range start='10.11.12.2' end='10.11.12.128'"), "kiln-isolated: its DHCP range");
  ok (xml && !strstr (xml, "<forward"), "kiln-isolated: forward none is an isolated network (no <forward>)");
  g_clear_pointer (&xml, free);

  xml = net_xml (conn, "kiln-nat", &active, &autostart);
  ok (xml != NULL, "kiln-nat is defined");
  is_int (active, 1, "kiln-nat is started");
  ok (xml && strstr (xml, "<forward mode='nat'"), "kiln-nat: forward mode nat");
  ok (xml && strstr (xml, "<ip address='192.168.66.1' prefix='24'>"), "kiln-nat: its address");
  ok (xml && strstr (xml, "<range start='192.168.66.2' end='192.168.66.254'"), "kiln-nat: its DHCP range");
  g_clear_pointer (&xml, free);

  xml = net_xml (conn, "default", &active, &autostart);
  is_int (active, 1, "the existing network 'default' is started");
  {
    virNetworkPtr n = virNetworkLookupByName (conn, "default");
    char *now = n ? virNetworkGetXMLDesc (n, 0) : NULL;

    ok (now && default_before && strcmp (now, default_before) == 0 && !strstr (now, "10.99.0.1"),
        "... and its definition is left as it was (not 10.99.0.1/16)");
    free (now);
    if (n)
      virNetworkFree (n);
  }
  g_clear_pointer (&xml, free);

  /* A second build finds them all and changes nothing. */
  {
    virNetworkPtr n = virNetworkLookupByName (conn, "kiln-nat");
    char *before = n ? virNetworkGetXMLDesc (n, 0) : NULL, *after = NULL;

    g_clear_error (&err);
    ok (kiln_build_register (&ctx, r, NULL, 0, NULL, NULL, false, NULL, NULL, &err) == 0,
        "a second run with the networks present succeeds");
    after = n ? virNetworkGetXMLDesc (n, 0) : NULL;
    ok (before && after && strcmp (after, before) == 0, "and leaves them as they are");
    free (before);
    free (after);
    if (n)
      virNetworkFree (n);
  }

  /* A failure after the networks were defined (KILN_FAULT=networks)
   * undefines those this run defined, and only those. */
  {
    static const char *text =
      "recipe: 1\nname: nets2\nbase: {source: debian-12}\noutput: {path: n.qcow2}\n"
      "networks:\n  - {name: kiln-undo, forward: none}\n  - {name: kiln-nat}\n";
    g_autofree char *p2 = g_build_filename (dir, "nets2.yaml", NULL);
    g_autoptr (kiln_recipe) r2 = NULL;
    virNetworkPtr n;

    g_clear_error (&err);
    g_file_set_contents (p2, text, -1, NULL);
    r2 = kiln_recipe_load (p2, NULL, &err);
    ok (r2 != NULL, "a recipe with a new and an existing network loads");
    setenv ("KILN_FAULT", "networks", 1);
    ok (r2 && kiln_build_register (&ctx, r2, NULL, 0, NULL, NULL, false, NULL, NULL, &err) == -1 &&
        err && strstr (err->message, "injected fault at networks"),
        "KILN_FAULT=networks fails the run");
    unsetenv ("KILN_FAULT");
    n = virNetworkLookupByName (conn, "kiln-undo");
    ok (n == NULL, "the network it defined is gone");
    if (n)
      virNetworkFree (n);
    n = virNetworkLookupByName (conn, "kiln-nat");
    ok (n != NULL, "the network that was there before stays");
    if (n)
      virNetworkFree (n);
    unlink (p2);
  }

  kiln_event_set_handler (NULL, NULL);
  g_ptr_array_unref (events);
  virConnectClose (conn);
  unlink (path);
  rmdir (dir);
  return done_testing ();
}
