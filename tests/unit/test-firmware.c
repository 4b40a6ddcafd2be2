/* test-firmware.c: UEFI-only disks told from their partition table on
 * synthetic MBR/GPT sectors (protective MBR, GPT header, entries with the
 * EFI system partition, BIOS boot and legacy-bootable attribute), the same
 * read through qemu-img from raw and qcow2 files, and the domain XML that
 * asks libvirt for UEFI firmware without Secure Boot. */
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "tap.h"
#include "kiln.h"
#include "domxml.h"
#include "firmware.h"

#define MIB (1024 * 1024)

static const guint8 esp[16] = { 0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11,
                                0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b };
static const guint8 linux_fs[16] = { 0xaf, 0x3d, 0xc6, 0x0f, 0x83, 0x84, 0x72, 0x47,
                                     0x8e, 0x79, 0x3d, 0x69, 0xd8, 0x47, 0x7d, 0xe4 };

static void
put_le (guint8 *p, guint64 v, int n)
{
  for (int i = 0; i < n; i++, v >>= 8)
    p[i] = v & 0xff;
}

/* A disk head: protective MBR (boot code when CODE), GPT header at LBA 1
 * with 128 entries of 128 bytes at LBA 2; no entries yet. */
static guint8 *
gpt_disk (bool code)
{
  guint8 *b = g_malloc0 (MIB);

  if (code)
    memset (b, 0xeb, 440);
  b[446 + 4] = 0xee;
  b[510] = 0x55;
  b[511] = 0xaa;
  memcpy (b + 512, "EFI PART", 8);
  put_le (b + 512 + 72, 2, 8);
  put_le (b + 512 + 80, 128, 4);
  put_le (b + 512 + 84, 128, 4);
  return b;
}

static void
add_entry (guint8 *b, int i, const guint8 *type, guint64 attrs)
{
  guint8 *e = b + 2 * 512 + i * 128;

  memcpy (e, type, 16);
  memset (e + 16, 0x11 + i, 16);     /* unique GUID */
  put_le (e + 48, attrs, 8);
}

static void
add_bios_boot (guint8 *b, int i)
{
  add_entry (b, i, (const guint8 *) "Hah!IdontNeedEFI", 0);
}

static bool
uefi_only (const guint8 *b, size_t len, struct kiln_disk_boot *out)
{
  g_autoptr (GError) err = NULL;

  if (kiln_disk_boot_parse (b, len, out, &err) == -1) {
    diag (err->message);
    return false;
  }
  return kiln_disk_boot_uefi_only (out);
}

static void
test_parse (void)
{
  struct kiln_disk_boot bt;
  g_autofree guint8 *blank = g_malloc0 (MIB), *mbr = g_malloc0 (MIB);
  g_autofree guint8 *cloud = gpt_disk (true), *only = gpt_disk (false);
  g_autofree guint8 *coded = gpt_disk (true), *legacy = gpt_disk (false);
  g_autofree guint8 *noesp = gpt_disk (false), *far = gpt_disk (false);
  g_autoptr (GError) err = NULL;

  ok (!uefi_only (blank, MIB, &bt) && !bt.gpt && !bt.mbr_code, "an empty disk: no GPT, BIOS");
  memset (mbr, 0xfa, 440);
  mbr[446] = 0x80, mbr[446 + 4] = 0x83, mbr[510] = 0x55, mbr[511] = 0xaa;
  ok (!uefi_only (mbr, MIB, &bt) && !bt.gpt && bt.mbr_code, "an MBR disk with boot code: BIOS");

  /* Debian's genericcloud layout: p14 BIOS boot, p15 ESP, p1 root. */
  add_entry (cloud, 0, linux_fs, 0);
  add_bios_boot (cloud, 13);
  add_entry (cloud, 14, esp, 0);
  ok (!uefi_only (cloud, MIB, &bt) && bt.gpt && bt.esp && bt.bios_boot,
      "GPT with ESP and BIOS boot partition (hybrid): BIOS is fine");

  add_entry (only, 0, linux_fs, 0);
  add_entry (only, 14, esp, 0);
  ok (uefi_only (only, MIB, &bt) && bt.gpt && bt.esp && !bt.bios_boot && !bt.mbr_code,
      "GPT with an ESP, no BIOS boot partition, no boot code: UEFI-only");

  add_entry (coded, 0, linux_fs, 0);
  add_entry (coded, 1, esp, 0);
  ok (!uefi_only (coded, MIB, &bt) && bt.mbr_code, "an ESP but MBR boot code: not UEFI-only");

  add_entry (legacy, 0, linux_fs, G_GUINT64_CONSTANT (1) << 2);
  add_entry (legacy, 1, esp, 0);
  ok (!uefi_only (legacy, MIB, &bt) && bt.bios_boot,
      "a legacy-BIOS-bootable entry (syslinux gptmbr): not UEFI-only");

  add_entry (noesp, 0, linux_fs, 0);
  ok (!uefi_only (noesp, MIB, &bt) && bt.gpt && !bt.esp, "GPT without ESP: BIOS");

  /* The header without the protective MBR's 0xEE entry is not trusted. */
  only[446 + 4] = 0x83;
  ok (!uefi_only (only, MIB, &bt) && !bt.gpt, "a GPT header behind a plain MBR: not GPT");
  only[446 + 4] = 0xee;
  ok (kiln_disk_boot_parse (only, 4 * 512, &bt, &err) == -1 && err != NULL,
      "entries beyond the bytes read: an error");
  g_clear_error (&err);
  ok (kiln_disk_boot_parse (only, 100, &bt, &err) == 0 && !bt.gpt, "under two sectors: no GPT");

  put_le (far + 512 + 72, 4096, 8);
  ok (kiln_disk_boot_parse (far, MIB, &bt, &err) == -1 && err != NULL,
      "entries past the first MiB: an error, not a read out of bounds");
  g_clear_error (&err);
  put_le (far + 512 + 72, 2, 8);
  put_le (far + 512 + 84, 16, 4);
  ok (kiln_disk_boot_parse (far, MIB, &bt, &err) == -1 && err != NULL,
      "an entry size under 128: an error");
}

static void
test_image (void)
{
  g_autofree char *dir = g_dir_make_tmp ("test-firmware-XXXXXX", NULL);
  g_autofree char *raw = g_build_filename (dir, "d.raw", NULL);
  g_autofree char *qcow = g_build_filename (dir, "d.qcow2", NULL);
  g_autofree char *tiny = g_build_filename (dir, "tiny.raw", NULL);
  g_autofree guint8 *b = gpt_disk (false);
  g_autoptr (GError) err = NULL;
  struct kiln_disk_boot bt;
  int status = -1;

  add_entry (b, 0, linux_fs, 0);
  add_entry (b, 14, esp, 0);
  ok (g_file_set_contents (raw, (const char *) b, MIB, NULL), "wrote a 1 MiB raw disk");
  ok (kiln_disk_boot_of_image (raw, "raw", &bt, &err) == 0 && kiln_disk_boot_uefi_only (&bt),
      "raw file: UEFI-only read through qemu-img");
  if (err)
    diag (err->message);
  g_clear_error (&err);
  {
    const char *argv[] = { "qemu-img", "convert", "-c", "-f", "raw", "-O", "qcow2", raw, qcow,
                           NULL };
    g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                  &status, NULL);
  }
  ok (status == 0 && kiln_disk_boot_of_image (qcow, "qcow2", &bt, &err) == 0 &&
      kiln_disk_boot_uefi_only (&bt), "compressed qcow2: the same answer");
  g_clear_error (&err);
  g_file_set_contents (tiny, "not a disk", -1, NULL);
  ok (kiln_disk_boot_of_image (tiny, "raw", &bt, &err) == 0 && !bt.gpt,
      "a file smaller than a sector: no GPT, no error");
  g_clear_error (&err);
  ok (kiln_disk_boot_of_image (raw, "qcow2", &bt, &err) == -1 && err &&
      strstr (err->message, "partition table"), "qemu-img failing: an error naming the step");
  g_unlink (raw);
  g_unlink (qcow);
  g_unlink (tiny);
  g_rmdir (dir);
}

static void
test_xml (void)
{
  struct kiln_domxml_disk_spec disk = { .path = "/x.qcow2", .format = "qcow2",
                                        .target = "vda", .bus = "virtio" };
  struct kiln_domxml_spec spec = { .type = "qemu", .name = "t", .memory_mib = 512, .vcpus = 1,
                                   .disks = &disk, .n_disks = 1 };
  g_autoptr (kiln_domxml) dx = kiln_domxml_new_domain (&spec);
  g_autofree char *fw = NULL, *sb = NULL, *ek = NULL, *first = NULL;
  g_autoptr (GPtrArray) n = NULL;

  kiln_domxml_set_efi (dx);
  kiln_domxml_set_efi (dx);           /* twice: still one <firmware> */
  fw = kiln_domxml_get (dx, "/domain/os/@firmware");
  sb = kiln_domxml_get (dx, "/domain/os/firmware/feature[@name='secure-boot']/@enabled");
  ek = kiln_domxml_get (dx, "/domain/os/firmware/feature[@name='enrolled-keys']/@enabled");
  first = kiln_domxml_get (dx, "name(/domain/os/type/following-sibling::*[1])");
  n = kiln_domxml_nodes (dx, "/domain/os/firmware");
  is_str (fw, "efi", "<os firmware='efi'>");
  is_str (sb, "no", "Secure Boot off");
  is_str (ek, "no", "no enrolled keys");
  is_str (first, "firmware", "<firmware> right after <type>");
  is_int ((int) n->len, 1, "one <firmware> after two calls");
}

int
main (void)
{
  plan (22);
  test_parse ();
  test_image ();
  test_xml ();
  return done_testing ();
}
