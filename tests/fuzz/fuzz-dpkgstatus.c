/* fuzz-dpkgstatus.c: a guest's /var/lib/dpkg/status, read for the SBOM
 * (kiln_sbom_add_dpkg_status, lib/sbom.c): the guest is someone else's,
 * so is its status file.  An error is set exactly when -1 is returned;
 * every package added has a name, a version and a source. */
#include "fuzz.h"
#include "sbom.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (kiln_sbom_guest) sg = kiln_sbom_guest_new ();
  g_autoptr (GError) err = NULL;
  int r;

  sg->package_format = g_strdup ("deb");
  r = kiln_sbom_add_dpkg_status (sg, (const char *) data, size, &err);
  g_assert ((r == -1) == (err != NULL));
  for (guint i = 0; i < sg->packages->len; i++) {
    const struct kiln_sbom_package *p = sg->packages->pdata[i];

    g_assert (p->name && p->version && p->source);
  }
  return 0;
}
