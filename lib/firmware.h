/* firmware.h: which firmware a disk image boots with, read from its
 * partition table (no appliance): a GPT disk with an EFI system partition
 * and nothing a PC BIOS could boot from is UEFI-only; everything else
 * boots with the BIOS libvirt gives by default.  And the domain XML for
 * UEFI: libvirt's firmware autoselection (<os firmware='efi'>), Secure
 * Boot off, so that the OVMF image and its NVRAM template come from the
 * host's firmware descriptors (ovmf: /usr/share/qemu/firmware). */
#ifndef KILN_FIRMWARE_H
#define KILN_FIRMWARE_H

#include "kiln.h"
#include "domxml.h"

/* What a disk's first sectors say about booting (512-byte sectors). */
struct kiln_disk_boot {
  bool gpt;          /* protective MBR (type 0xEE) and a GPT header at LBA 1 */
  bool esp;          /* a GPT entry of type EFI system partition */
  bool bios_boot;    /* a GPT entry of type BIOS boot (GRUB's core.img), or
                        one with the legacy-BIOS-bootable attribute */
  bool mbr_code;     /* the MBR's boot code (bytes 0..439) is not all zero */
};

/* Read BUF (LEN bytes: the disk from offset 0; 1 MiB covers every usual
 * GPT) into *OUT.  A disk without a GPT is no error (out->gpt false); a
 * GPT whose entries lie beyond LEN, or of an entry size under 128 bytes,
 * is KILN_ERROR_FAILED. */
int kiln_disk_boot_parse (const guint8 *buf, size_t len, struct kiln_disk_boot *out,
                          GError **err);

/* True when B can only boot through UEFI: GPT, an ESP, no BIOS boot
 * partition (nor legacy-bootable entry) and no MBR boot code. */
bool kiln_disk_boot_uefi_only (const struct kiln_disk_boot *b);

/* Read the first MiB of image PATH of FORMAT (through qemu-img dd, so
 * qcow2, backing chains and compressed clusters are all read as a guest
 * would) and parse it.  Errors: qemu-img failing (KILN_ERROR_FAILED, with
 * its message), and kiln_disk_boot_parse's. */
int kiln_disk_boot_of_image (const char *path, const char *format, struct kiln_disk_boot *out,
                             GError **err);

/* Make DX's domain boot with UEFI: <os firmware='efi'> and <firmware>
 * with the features secure-boot and enrolled-keys disabled (kiln does not
 * know that the guest's loader is signed). */
void kiln_domxml_set_efi (struct kiln_domxml *dx);

#endif
