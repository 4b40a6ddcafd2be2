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
#include "template-fixture.h"

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

/* An event starting with PREFIX was sent. */
static bool
sent_prefix (const char *prefix)
{
  for (guint i = 0; i < events->len; i++)
    if (g_str_has_prefix (events->pdata[i], prefix))
      return true;
  return false;
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

/* kiln_build_tested_fn: *DATA = 1 when REP says up and passed. */
static int
record (const struct kiln_build_test_report *rep, void *data, GError **err)
{
  *(int *) data = rep->up && rep->pass && rep->clone && g_str_has_prefix (rep->clone, "tt-kiln-test-");
  return 0;
}

int
main (void)
{
  int rep_seen = 0;
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

  /* Issue 17: the boot check (test:) runs after the template is defined;
   * when it fails (a fault), the commit is undone; when it passes, the
   * caller hears of it; either way no throwaway clone, overlay or console
   * log is left. */
  {
    static const char *text =
      "recipe: 1\nname: tt\nbase: {source: debian-12}\noutput: {path: tt.qcow2}\n"
      "template: {network: user, os-variant: debian11, memory: 256, vcpus: 1}\ntest: {timeout: 10}\n";
    g_autofree char *p3 = g_build_filename (dir, "tt.yaml", NULL);
    g_autofree char *img = g_build_filename (dir, "tt.qcow2", NULL);
    g_autoptr (kiln_recipe) r3 = NULL;
    g_autoptr (GDir) d = NULL;
    virConnectPtr fc = template_fixture (dir, (const char *[]) { "tt.qcow2", NULL });
    virDomainPtr dom;
    const char *f;
    int left = 0;

    g_clear_error (&err);
    g_file_set_contents (p3, text, -1, NULL);
    r3 = kiln_recipe_load (p3, NULL, &err);
    ok (r3 != NULL && r3->test, "a recipe with a test section loads");
    setenv ("KILN_FAULT", "test", 1);
    ok (r3 && kiln_build_register (&ctx, r3, NULL, 0, img, NULL, false, NULL, NULL, &err) == -1 &&
        err && strstr (err->message, "injected fault at test"), "KILN_FAULT=test fails the build");
    unsetenv ("KILN_FAULT");
    dom = virDomainLookupByName (conn, "tt");
    ok (dom == NULL, "and the template defined before it is undefined");
    if (dom)
      virDomainFree (dom);
    g_clear_error (&err);
    /* The test driver's domains "come up" at once (it fakes a DHCP lease). */
    ok (r3 && kiln_build_register (&ctx, r3, NULL, 0, img, NULL, false, record, &rep_seen, &err) == 0,
        "without the fault the boot check passes%s%s", err ? ": " : "", err ? err->message : "");
    ok (sent_prefix ("test: boot check: booting tt-kiln-test-"), "after booting a throwaway clone");
    ok (rep_seen == 1, "the caller is told how it went (up, passed)");
    dom = virDomainLookupByName (conn, "tt");
    ok (dom != NULL, "the template stays defined");
    if (dom) {
      kiln_virt_undefine (dom, NULL);
      virDomainFree (dom);
    }
    {
      int n = virConnectNumOfDefinedDomains (conn) + virConnectNumOfDomains (conn);
      g_autofree char **names = g_new0 (char *, n > 0 ? n : 1);
      int got = virConnectListDefinedDomains (conn, names, n);

      for (int i = 0; i < got; i++) {
        left += g_str_has_prefix (names[i], "tt-kiln-test-");
        free (names[i]);
      }
    }
    is_int (left, 0, "no throwaway clone left defined");
    left = 0;
    d = g_dir_open (dir, 0, NULL);
    while (d && (f = g_dir_read_name (d)))
      left += g_str_has_prefix (f, "tt-kiln-test-");
    is_int (left, 0, "nor its overlay or console log");
    ok (g_file_test (img, G_FILE_TEST_EXISTS), "the image given stays (the caller's to remove)");
    if (fc)
      virConnectClose (fc);
    unlink (p3);
  }

  kiln_event_set_handler (NULL, NULL);
  g_ptr_array_unref (events);
  virConnectClose (conn);
  unlink (path);
  rmdir (dir);
  return done_testing ();
}
