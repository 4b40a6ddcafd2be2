/* listxml.c: the floor of a clone's domain scan, for make bench.  Lists
 * every domain of URI and reads each one's inactive XML, as kiln's
 * kiln_domain_foreach does (same flags, THREADS calls in flight on one
 * connection), and does nothing with it: no parsing, no index.  What this
 * takes among N domains, less what it takes among the fewest, is what any
 * client that checks every domain's MACs and disks (kiln, virt-clone)
 * pays on top of its own work.
 *
 * usage: listxml URI THREADS */
#include <stdio.h>
#include <stdlib.h>
#include <glib.h>
#include <libvirt/libvirt.h>

static virDomainPtr *doms;
static int n;
static gint next;
static gint failed;

static gpointer
reader (gpointer unused)
{
  int i;

  while ((i = g_atomic_int_add (&next, 1)) < n) {
    char *xml = virDomainGetXMLDesc (doms[i], VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE);

    if (xml == NULL)
      g_atomic_int_inc (&failed);
    free (xml);
  }
  return NULL;
}

int
main (int argc, char **argv)
{
  virConnectPtr conn;
  GThread *t[64];
  int threads;

  if (argc != 3 || (threads = atoi (argv[2])) < 1 || threads > 64) {
    fprintf (stderr, "usage: listxml URI THREADS (1-64)\n");
    return 2;
  }
  conn = virConnectOpen (argv[1]);
  if (conn == NULL || (n = virConnectListAllDomains (conn, &doms, 0)) < 0)
    return 1;
  for (int i = 0; i < threads; i++)
    t[i] = g_thread_new ("listxml", reader, NULL);
  for (int i = 0; i < threads; i++)
    g_thread_join (t[i]);
  printf ("%d domains\n", n);
  for (int i = 0; i < n; i++)
    virDomainFree (doms[i]);
  free (doms);
  virConnectClose (conn);
  return failed ? 1 : 0;
}
