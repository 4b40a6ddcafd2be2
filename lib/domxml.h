/* domxml.h: libvirt domain XML, built and edited as a libxml2 tree and
 * found through XPath, never pasted together as strings: what register
 * defines and what clone rewrites (name, UUID, MACs, disks, NVRAM,
 * graphics ports, kiln's <metadata>). */
#ifndef KILN_DOMXML_H
#define KILN_DOMXML_H

#include <libxml/tree.h>
#include <libxml/xpath.h>
#include "kiln.h"

#define KILN_XMLNS_TEMPLATE "https://kiln.example/xmlns/template/1"
#define KILN_XMLNS_LIBOSINFO "http://libosinfo.org/xmlns/libvirt/domain/1.0"

typedef struct kiln_domxml kiln_domxml;
struct kiln_domxml {
  xmlDocPtr doc;
  xmlXPathContextPtr xp;    /* prefixes "kiln" and "libosinfo" registered */
};

struct kiln_domxml *kiln_domxml_parse (const char *xml, GError **err);
void kiln_domxml_free (struct kiln_domxml *dx);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (kiln_domxml, kiln_domxml_free)

/* The document, indented, without the XML declaration (as virsh dumpxml). */
char *kiln_domxml_format (struct kiln_domxml *dx);

/* The string value of XPATH (NULL when it selects nothing or ""). */
char *kiln_domxml_get (struct kiln_domxml *dx, const char *xpath);
/* The string values of the nodes XPATH selects. */
GPtrArray *kiln_domxml_strings (struct kiln_domxml *dx, const char *xpath);
/* The nodes XPATH selects (owned by the document). */
GPtrArray *kiln_domxml_nodes (struct kiln_domxml *dx, const char *xpath);

void kiln_domxml_set_name (struct kiln_domxml *dx, const char *name);
/* <uuid>, and the SMBIOS system uuid of <sysinfo> when there is one
 * (libvirt refuses the two when they differ). */
void kiln_domxml_set_uuid (struct kiln_domxml *dx, const char *uuid);

struct kiln_domxml_disk {
  xmlNodePtr node;
  char *type;        /* file, block, volume, network... */
  char *device;      /* disk, cdrom, floppy, lun */
  char *path;        /* source file= or dev= */
  char *pool, *volume;
  char *format;      /* driver type=, NULL if absent */
  char *target;      /* vda */
  bool readonly, shareable;
};
/* The <disk> elements, in document order. */
GPtrArray *kiln_domxml_disks (struct kiln_domxml *dx);
/* A disk a clone must copy or overlay: a writable, unshared disk or lun
 * with a <source> of any type (CD-ROMs, floppies, read-only and shareable
 * disks are shared with the original, as virt-clone does). */
bool kiln_domxml_disk_is_cloned (const struct kiln_domxml_disk *d);
/* Point disk D at file PATH of FORMAT (type='file', <source file=>). */
void kiln_domxml_disk_set_file (struct kiln_domxml_disk *d, const char *path, const char *format);

/* Point disk D at volume VOLUME of POOL (type='volume') of FORMAT. */
void kiln_domxml_disk_set_volume (struct kiln_domxml_disk *d, const char *pool,
                                  const char *volume, const char *format);

/* The <interface> elements; set_mac replaces (or adds) <mac address=>. */
GPtrArray *kiln_domxml_interfaces (struct kiln_domxml *dx);
void kiln_domxml_interface_set_mac (xmlNodePtr iface, const char *mac);

/* Graphics listen ports back to automatic, as a clone must not take the
 * original's fixed ports. */
void kiln_domxml_reset_graphics (struct kiln_domxml *dx);

/* <os><nvram> file (NULL if none): its text, or <source file=> in the
 * newer form; and setting it (in the form the element has). */
char *kiln_domxml_nvram (struct kiln_domxml *dx);
void kiln_domxml_set_nvram (struct kiln_domxml *dx, const char *path);

/* PATH made the own path of domain NAME, cloned from ORIGINAL: in the same
 * directory, ORIGINAL at the start of the file name (followed by a
 * non-alphanumeric character or nothing) replaced by NAME
 * (src-serial.log -> c1-serial.log), else "-NAME" before the extension
 * (serial.log -> serial-c1.log).  The same PATH always gives the same
 * result, so a serial port and its console stay one file.  Newly
 * allocated. */
char *kiln_domxml_own_path (const char *path, const char *original, const char *name);
/* Give the clone NAME (of ORIGINAL) in DX everything per-domain that
 * libvirt or QEMU make at start: every file or socket path listed in
 * domxml.c's own_path_xpaths (chardev output files and logs, listening
 * unix sockets, graphics sockets, audio files) through
 * kiln_domxml_own_path; fixed tap names and vsock CIDs dropped (libvirt
 * picks free ones); graphics ports automatic (kiln_domxml_reset_graphics).
 * Disks and NVRAM, which hold data, are the caller's.  Returns the number
 * of paths rewritten. */
int kiln_domxml_make_own (struct kiln_domxml *dx, const char *original, const char *name);
/* Why DX cannot be cloned without sharing per-domain data that kiln does
 * not copy (a memory device backed by a file), or NULL. */
char *kiln_domxml_unclonable (struct kiln_domxml *dx);

/* Replace the SMBIOS type 11 OEM strings of DX that start with PREFIX
 * by ENTRIES (N of them; text, escaped here): in <sysinfo type='smbios'>
 * (the existing one, its other contents kept, or a new one), with
 * <os><smbios mode='sysinfo'/> so that the guest sees them.  N = 0 with
 * no other sysinfo content removes what it would have added.  A sysinfo
 * <system> uuid stays kiln_domxml_set_uuid's business. */
void kiln_domxml_set_oem_strings (struct kiln_domxml *dx, const char *prefix,
                                  const char *const *entries, size_t n);
/* Log what the first pty serial port prints to file PATH (<log
 * file=PATH append='off'/>, written by virtlogd, emptied at each start);
 * false when DX has no pty serial port. */
bool kiln_domxml_set_serial_log (struct kiln_domxml *dx, const char *path);

/* What kiln records in <metadata><kiln:template xmlns:kiln=...>. */
struct kiln_meta {
  bool is_template;   /* template="yes": register; clones say "no" */
  char *original;     /* clones: the template's name */
  bool linked;        /* clones: disks are overlays on the original's */
  char *base;         /* the file at the bottom of the disk's backing chain */
  char *base_digest;  /* "sha512:HEX" or "sha256:HEX" of the base file
                         (register reads it) */
  char *recipe;
  char *created;      /* ISO 8601 UTC */
  char *firstboot_identity; /* the version of kiln's first-boot identity unit
                               the image has (register saw its mark), or NULL;
                               clones keep their original's */
};
void kiln_meta_clear (struct kiln_meta *m);
/* 1 and M filled when the domain has kiln metadata, 0 when not. */
int kiln_domxml_get_meta (struct kiln_domxml *dx, struct kiln_meta *m);
/* Replace kiln's metadata element (other <metadata> children stay). */
void kiln_domxml_set_meta (struct kiln_domxml *dx, const struct kiln_meta *m);

/* What register defines. */
struct kiln_domxml_disk_spec {
  const char *path;          /* absolute; or pool + volume */
  const char *pool, *volume;
  const char *format;        /* qcow2, raw */
  const char *target;        /* vda */
  const char *bus;           /* virtio, sata */
};
struct kiln_domxml_spec {
  const char *type;          /* kvm, qemu (test for libvirt's test driver) */
  const char *name, *uuid, *arch;
  const char *osinfo_id;     /* libosinfo URI, NULL if unknown */
  unsigned long long memory_mib;
  unsigned int vcpus;
  const struct kiln_domxml_disk_spec *disks;
  size_t n_disks;
  const char *network;       /* NULL: no NIC; "user"; else a network's name */
  const char *nic_model;     /* virtio, e1000 */
  const char *mac;
  bool virtio_rng;
};
struct kiln_domxml *kiln_domxml_new_domain (const struct kiln_domxml_spec *spec);

#endif
