/* fuzz-rpmqa.c: what a guest's rpm -qa printed, read for the SBOM when
 * libguestfs cannot read an rpm database (kiln_sbom_add_rpm_qa, lib/sbom.c):
 * the guest is someone else's, so is its rpm.  An error is set exactly when
 * -1 is returned; every package added has a name and a version string. */
#include "fuzz.h"
#include "sbom.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (kiln_sbom_guest) sg = kiln_sbom_guest_new ();
  g_autoptr (GError) err = NULL;
  g_autofree char *text = kiln_fuzz_text (data, size);
  int r;

  sg->package_format = g_strdup ("rpm");
  r = kiln_sbom_add_rpm_qa (sg, text, &err);
  g_assert ((r == -1) == (err != NULL));
  for (guint i = 0; i < sg->packages->len; i++) {
    const struct kiln_sbom_package *p = sg->packages->pdata[i];

    g_assert (p->name && p->name[0] && p->version);
  }
  return 0;
}
