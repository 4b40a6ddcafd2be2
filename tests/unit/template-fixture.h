/* template-fixture.h: where test-register and test-clone start from.
 * libvirt's test:///default driver keeps its state only while a
 * connection is open: the one returned here lets a test see what the
 * library's own connections did.  KILN_ACCEL=tcg: no KVM probe. */
#ifndef KILN_TEMPLATE_FIXTURE_H
#define KILN_TEMPLATE_FIXTURE_H

#include <unistd.h>
#include <libvirt/libvirt.h>

#include "tap.h"
#include "diskfile.h"
#include "virt.h"

/* Open test:///default, and make DIR/base.raw (4 MiB, raw) and the
 * qcow2 overlays of it named in DISKS (NULL-terminated, in DIR).  NULL
 * when something failed (said as a failed test). */
static inline virConnectPtr
template_fixture (const char *dir, const char *const *disks)
{
  g_autofree char *base = g_build_filename (dir, "base.raw", NULL);
  g_autoptr (GError) err = NULL;
  virConnectPtr conn;

  g_setenv ("KILN_ACCEL", "tcg", TRUE);
  kiln_virt_quiet ();
  conn = virConnectOpen ("test:///default");
  if (!ok (conn != NULL, "test:///default opens"))
    return NULL;
  if (!ok (g_file_set_contents (base, "a base image's first bytes", -1, NULL) &&
           truncate (base, 4 * 1024 * 1024) == 0, "a 4 MiB raw base"))
    return NULL;
  for (const char *const *d = disks; *d; d++) {
    g_autofree char *path = g_build_filename (dir, *d, NULL);

    if (!ok (kiln_disk_create_overlay (path, base, "raw", false, &err) == 0,
             "%s, an overlay of it%s%s", *d, err ? ": " : "", err ? err->message : ""))
      return NULL;
  }
  return conn;
}

#endif
