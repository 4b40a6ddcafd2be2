/* version.c: the versions of kiln and the libraries it runs on, read at
 * run time where the library can say.  Printing them is the front end's
 * work (cli/version.c). */
#include <inttypes.h>
#include <string.h>
#include <guestfs.h>
#include <libvirt/libvirt.h>
#include <osinfo/osinfo.h>

#include "kiln.h"
#include "osinfo.h"
#include "version.h"

#ifndef KILN_VERSION
#define KILN_VERSION "0.1.0"
#endif

const char *
kiln_version (void)
{
  return KILN_VERSION;
}

/* qemu's version from the binary libguestfs runs (its argv, no shell). */
static char *
qemu_version (guestfs_h *g)
{
  g_autofree char *hv = guestfs_get_hv (g);
  g_autofree char *out = NULL;
  const char *argv[] = { hv, "--version", NULL };
  const char *v;
  int status = 0;

  if (hv == NULL ||
      !g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL,
                     NULL, NULL, &out, NULL, &status, NULL) || status != 0 || out == NULL)
    return NULL;
  v = strstr (out, "version ");
  if (v == NULL)
    return NULL;
  v += strlen ("version ");
  return g_strndup (v, strcspn (v, " \n"));
}

static gpointer
compute (gpointer data)
{
  struct kiln_versions *v = g_new0 (struct kiln_versions, 1);
  guestfs_h *g = guestfs_create_flags (GUESTFS_CREATE_NO_ENVIRONMENT |
                                       GUESTFS_CREATE_NO_CLOSE_ON_EXIT);
  unsigned long lv = 0;
  const char *db;

  v->kiln = KILN_VERSION;
  if (g) {
    struct guestfs_version *gv;

    guestfs_set_error_handler (g, NULL, NULL);
    gv = guestfs_version (g);
    if (gv) {
      v->libguestfs = g_strdup_printf ("%" PRIi64 ".%" PRIi64 ".%" PRIi64 "%s",
                                       gv->major, gv->minor, gv->release, gv->extra);
      guestfs_free_version (gv);
    }
    guestfs_parse_environment (g);
    v->qemu = qemu_version (g);
    guestfs_close (g);
  }
  if (virGetVersion (&lv, NULL, NULL) == 0)
    v->libvirt = g_strdup_printf ("%lu.%lu.%lu", lv / 1000000, lv / 1000 % 1000, lv % 1000);
  v->libosinfo = g_strdup_printf ("%d.%d.%d", OSINFO_MAJOR_VERSION, OSINFO_MINOR_VERSION,
                                  OSINFO_MICRO_VERSION);
  db = kiln_osinfo_db_version ();
  v->osinfo_db = db ? g_strdup (db) : NULL;
  return v;
}

const struct kiln_versions *
kiln_versions (void)
{
  static GOnce once = G_ONCE_INIT;

  return g_once (&once, compute, NULL);
}
