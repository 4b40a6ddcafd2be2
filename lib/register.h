/* register.h: define a libvirt domain for a template image, what
 * virt-install --import does, with memory, vCPUs, disk bus and NIC model
 * from libosinfo's recommendations for the OS that libguestfs finds in the
 * image, and kiln's template mark in <metadata>.  For kiln register and
 * kiln build; errors through GError, progress through kiln_event_*
 * (topic "register"), nothing printed. */
#ifndef KILN_REGISTER_H
#define KILN_REGISTER_H

#include "kiln.h"

struct kiln_register_disk {
  gint64 size;                 /* bytes */
  const char *target;          /* vdX; NULL: the next free one */
};

struct kiln_register_spec {
  const char *disk;            /* the template's image */
  const char *name;            /* checked by kiln_name_valid: it names files */
  const char *os_variant;      /* libosinfo short id; NULL or "auto": inspect DISK */
  const char *network;         /* "user", a libvirt network's name, or NULL: no NIC */
  const char *pool;            /* upload DISK into this pool and use the volume */
  const char *recipe;          /* recorded in the metadata; may be NULL */
  guint64 memory_mib;          /* 0: libosinfo's recommendation */
  unsigned vcpus;              /* 0: likewise */
  const struct kiln_register_disk *extra;   /* empty qcow2 disks to add */
  size_t n_extra;
  bool print_xml;              /* only build the XML: define and create nothing */
  /* What the caller's own inspection of DISK found (kiln build has just
   * had it open): used for os_variant auto instead of launching an
   * appliance again.  NULL distro: not inspected. */
  const char *inspected_distro, *inspected_osinfo, *inspected_type;
  int inspected_major, inspected_minor;
};

struct kiln_register_result {
  char *uuid, *type, *disk;    /* disk: DISK's absolute path, or the volume's name */
  char *osinfo, *osinfo_note;  /* note: why another id than DISK's own was used */
  char *xml;                   /* the domain XML (defined, or to define) */
  guint64 memory_mib;
  unsigned vcpus;
};
void kiln_register_result_clear (struct kiln_register_result *res);

/* Define the template domain SPEC describes (kiln register).  On failure
 * nothing is left: no domain, no extra disk, no uploaded volume. */
int kiln_register_template (const struct kiln_ctx *ctx, const struct kiln_register_spec *spec,
                            struct kiln_register_result *res, GError **err);

#endif
