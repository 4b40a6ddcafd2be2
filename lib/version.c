/* version.c: kiln --version: kiln's own version and those of the
 * libraries it runs on, read at run time where the library can say. */
#include <inttypes.h>
#include <stdio.h>
#include <guestfs.h>
#include <libvirt/libvirt.h>
#include <osinfo/osinfo.h>

#include "kiln.h"
#include "osinfo.h"

#ifndef KILN_VERSION
#define KILN_VERSION "0.1.0"
#endif

const char *
kiln_version (void)
{
  return KILN_VERSION;
}

void
kiln_print_version (void)
{
  unsigned long lv = 0;
  guestfs_h *g = guestfs_create_flags (GUESTFS_CREATE_NO_ENVIRONMENT);

  printf ("kiln %s\n", KILN_VERSION);
  if (g) {
    struct guestfs_version *v = guestfs_version (g);

    if (v) {
      printf ("libguestfs %" PRIi64 ".%" PRIi64 ".%" PRIi64 "%s\n",
              v->major, v->minor, v->release, v->extra);
      guestfs_free_version (v);
    }
    guestfs_close (g);
  }
  if (virGetVersion (&lv, NULL, NULL) == 0)
    printf ("libvirt %lu.%lu.%lu\n", lv / 1000000, lv / 1000 % 1000, lv % 1000);
  printf ("libosinfo %d.%d.%d (osinfo-db %s)\n", OSINFO_MAJOR_VERSION,
          OSINFO_MINOR_VERSION, OSINFO_MICRO_VERSION, kiln_osinfo_db_version ());
}

