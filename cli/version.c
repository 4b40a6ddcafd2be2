/* version.c: kiln --version, one "NAME VERSION" a line. */
#include <stdio.h>

#include "opts.h"
#include "version.h"

void
kiln_print_version (FILE *out)
{
  const struct kiln_versions *v = kiln_versions ();

  fprintf (out, "kiln %s\n", v->kiln);
  if (v->libguestfs)
    fprintf (out, "libguestfs %s\n", v->libguestfs);
  if (v->libvirt)
    fprintf (out, "libvirt %s\n", v->libvirt);
  fprintf (out, "libosinfo %s (osinfo-db %s)\n", v->libosinfo,
           v->osinfo_db ? v->osinfo_db : "unknown");
  if (v->qemu)
    fprintf (out, "qemu %s\n", v->qemu);
}
