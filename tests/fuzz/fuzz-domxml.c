/* fuzz-domxml.c: a domain XML as kiln clone handles the original's
 * (lib/domxml.c): parse, the checks, every edit a clone makes, format;
 * and what is formatted parses again. */
#include "fuzz.h"
#include "domxml.h"

static void
ignore (void *ctx, const char *msg, ...)
{
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  /* libxml2 reports parse errors on stderr besides kiln's GError. */
  xmlSetGenericErrorFunc (NULL, ignore);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *xml = kiln_fuzz_text (data, size);
  g_autoptr (GError) err = NULL;
  g_autoptr (kiln_domxml) dx = kiln_domxml_parse (xml, &err);
  g_autoptr (kiln_domxml) back = NULL;
  g_autoptr (GPtrArray) disks = NULL, ifaces = NULL, macs = NULL;
  g_autofree char *name = NULL, *nvram = NULL, *why = NULL, *out = NULL;
  struct kiln_meta meta = { 0 };

  if (dx == NULL) {
    g_assert (err != NULL);
    return 0;
  }
  name = kiln_domxml_get (dx, "/domain/name");
  why = kiln_domxml_unclonable (dx);
  kiln_domxml_get_meta (dx, &meta);
  kiln_meta_clear (&meta);
  macs = kiln_domxml_strings (dx, "/domain/devices/interface/mac/@address");
  nvram = kiln_domxml_nvram (dx);

  kiln_domxml_set_name (dx, "c1");
  kiln_domxml_set_uuid (dx, "8b2f0f4e-6c33-4a52-9d0b-6a3c2f6e9f11");
  ifaces = kiln_domxml_interfaces (dx);
  for (guint i = 0; i < ifaces->len; i++)
    kiln_domxml_interface_set_mac (ifaces->pdata[i], "52:54:00:12:34:56");
  disks = kiln_domxml_disks (dx);
  for (guint i = 0; i < disks->len; i++) {
    struct kiln_domxml_disk *d = disks->pdata[i];

    if (!kiln_domxml_disk_is_cloned (d))
      continue;
    if (d->pool && i % 2 == 0)
      kiln_domxml_disk_set_volume (d, d->pool, "c1.qcow2", "qcow2");
    else
      kiln_domxml_disk_set_file (d, "/var/lib/libvirt/images/c1.qcow2", "qcow2");
  }
  if (nvram)
    kiln_domxml_set_nvram (dx, "/var/lib/libvirt/qemu/nvram/c1_VARS.fd");
  kiln_domxml_make_own (dx, name ? name : "src", "c1");
  kiln_domxml_get_meta (dx, &meta);
  meta.is_template = false;
  g_free (meta.original);
  meta.original = g_strdup (name ? name : "src");
  meta.linked = true;
  kiln_domxml_set_meta (dx, &meta);
  kiln_meta_clear (&meta);
  out = kiln_domxml_format (dx);

  back = kiln_domxml_parse (out, &err);
  if (back == NULL)
    g_error ("the clone's XML does not parse again: %s\n%s", err->message, out);
  return 0;
}
