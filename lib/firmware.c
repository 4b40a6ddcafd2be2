/* firmware.c: UEFI-only disks found from their partition table, and the
 * domain XML that boots them (see firmware.h). */
#include <string.h>
#include <glib/gstdio.h>

#include "firmware.h"

#define SECTOR 512
#define READ_BYTES (1024 * 1024)

/* GPT type GUIDs as stored on disk (the first three fields little-endian). */
static const guint8 esp_type[16] = {
  0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11,
  0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b };     /* C12A7328-F81F-11D2-BA4B-00A0C93EC93B */
static const guint8 bios_boot_type[16] = {
  'H', 'a', 'h', '!', 'I', 'd', 'o', 'n', 't', 'N', 'e', 'e', 'd', 'E', 'F', 'I' };
                                                        /* 21686148-6449-6E6F-744E-656564454649 */
#define ATTR_LEGACY_BIOS_BOOTABLE (G_GUINT64_CONSTANT (1) << 2)

static guint64
le (const guint8 *p, int n)
{
  guint64 v = 0;

  while (n-- > 0)
    v = (v << 8) | p[n];
  return v;
}

int
kiln_disk_boot_parse (const guint8 *buf, size_t len, struct kiln_disk_boot *out, GError **err)
{
  static const guint8 zero[16];
  guint64 entries_lba, n_entries, entry_size;

  memset (out, 0, sizeof *out);
  if (len < 2 * SECTOR)
    return 0;
  for (size_t i = 0; i < 440; i++)
    if (buf[i]) {
      out->mbr_code = true;
      break;
    }
  /* A protective MBR: signature, and a partition of type 0xEE. */
  if (buf[510] != 0x55 || buf[511] != 0xaa)
    return 0;
  for (int k = 0; k < 4 && !out->gpt; k++)
    out->gpt = buf[446 + 16 * k + 4] == 0xee;
  if (!out->gpt || memcmp (buf + SECTOR, "EFI PART", 8) != 0) {
    out->gpt = false;
    return 0;
  }
  entries_lba = le (buf + SECTOR + 72, 8);
  n_entries = le (buf + SECTOR + 80, 4);
  entry_size = le (buf + SECTOR + 84, 4);
  if (entry_size < 128 || entry_size > 4096 || n_entries > 4096 || entries_lba < 2 ||
      entries_lba > len / SECTOR || n_entries * entry_size > len - entries_lba * SECTOR) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                 "GPT partition entries not where they can be read (LBA %" G_GUINT64_FORMAT
                 ", %" G_GUINT64_FORMAT " entries of %" G_GUINT64_FORMAT " bytes)",
                 entries_lba, n_entries, entry_size);
    return -1;
  }
  for (guint64 i = 0; i < n_entries; i++) {
    const guint8 *e = buf + entries_lba * SECTOR + i * entry_size;

    if (memcmp (e, zero, 16) == 0)
      continue;                                 /* unused entry */
    if (memcmp (e, esp_type, 16) == 0)
      out->esp = true;
    if (memcmp (e, bios_boot_type, 16) == 0 || (le (e + 48, 8) & ATTR_LEGACY_BIOS_BOOTABLE))
      out->bios_boot = true;
  }
  return 0;
}

bool
kiln_disk_boot_uefi_only (const struct kiln_disk_boot *b)
{
  return b->gpt && b->esp && !b->bios_boot && !b->mbr_code;
}

int
kiln_disk_boot_of_image (const char *path, const char *format, struct kiln_disk_boot *out,
                         GError **err)
{
  g_autofree char *dir = g_dir_make_tmp ("kiln-gpt-XXXXXX", err);
  g_autofree char *raw = NULL, *ifarg = NULL, *ofarg = NULL, *errout = NULL;
  g_autofree guint8 *buf = NULL;
  gsize len = 0;
  int status = 0, rc = -1;

  if (dir == NULL)
    return -1;
  raw = g_build_filename (dir, "head.raw", NULL);
  ifarg = g_strconcat ("if=", path, NULL);
  ofarg = g_strconcat ("of=", raw, NULL);
  {
    /* count: 16 blocks of 64 KiB; qemu-img stops early at a smaller disk's end. */
    const char *argv[] = { "qemu-img", "dd", "-f", format, "-O", "raw", "bs=65536", "count=16",
                           ifarg, ofarg, NULL };
    g_autoptr (GError) e = NULL;

    if (!g_spawn_sync (NULL, (char **) argv, NULL,
                       G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL,
                       &errout, &status, &e) || !g_spawn_check_wait_status (status, &e)) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "reading the partition table of %s: %s%s%s",
                   path, e->message, errout && *errout ? ": " : "",
                   errout ? g_strstrip (errout) : "");
      goto out;
    }
  }
  if (!g_file_get_contents (raw, (char **) &buf, &len, err))
    goto out;
  rc = kiln_disk_boot_parse (buf, MIN (len, READ_BYTES), out, err);
  if (rc == -1)
    g_prefix_error (err, "%s: ", path);
out:
  if (raw)
    g_unlink (raw);
  g_rmdir (dir);
  return rc;
}

void
kiln_domxml_set_efi (struct kiln_domxml *dx)
{
  xmlNodePtr root = xmlDocGetRootElement (dx->doc), os = NULL, fw;

  for (xmlNodePtr n = root->children; n && !os; n = n->next)
    if (n->type == XML_ELEMENT_NODE && xmlStrcmp (n->name, BAD_CAST "os") == 0)
      os = n;
  if (os == NULL)
    os = xmlNewChild (root, NULL, BAD_CAST "os", NULL);
  xmlSetProp (os, BAD_CAST "firmware", BAD_CAST "efi");
  for (xmlNodePtr n = os->children; n; n = n->next)
    if (n->type == XML_ELEMENT_NODE && xmlStrcmp (n->name, BAD_CAST "firmware") == 0) {
      xmlUnlinkNode (n);
      xmlFreeNode (n);
      break;
    }
  fw = xmlNewChild (os, NULL, BAD_CAST "firmware", NULL);
  /* libvirt wants <firmware> right after <type>: put it there. */
  for (xmlNodePtr n = os->children; n; n = n->next)
    if (n->type == XML_ELEMENT_NODE && xmlStrcmp (n->name, BAD_CAST "type") == 0) {
      xmlUnlinkNode (fw);
      xmlAddNextSibling (n, fw);
      break;
    }
  for (int i = 0; i < 2; i++) {
    xmlNodePtr f = xmlNewChild (fw, NULL, BAD_CAST "feature", NULL);

    xmlSetProp (f, BAD_CAST "enabled", BAD_CAST "no");
    xmlSetProp (f, BAD_CAST "name", BAD_CAST (i == 0 ? "secure-boot" : "enrolled-keys"));
  }
}
