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
  const char *pool;            /* upload DISK into this pool and use the volume
                                  (required on a remote connection:
                                  kiln_virt_is_local); the upload's size is
                                  always checked on the host */
  bool verify_upload;          /* and the volume downloaded back to compare
                                  its SHA-256 with DISK's */
  const char *recipe;          /* recorded in the metadata; may be NULL */
  guint64 memory_mib;          /* 0: libosinfo's recommendation */
  unsigned vcpus;              /* 0: likewise */
  const struct kiln_register_disk *extra;   /* empty qcow2 disks to add */
  size_t n_extra;
  bool print_xml;              /* only build the XML: define and create nothing
                                  (kiln_register_define does the rest later) */
  const char *disk_now;        /* where DISK's bytes are until the caller
                                  publishes them as DISK (kiln build's
                                  temporary); NULL: DISK itself */
  const char *replaces;        /* a domain of NAME that the caller will
                                  undefine before kiln_register_define (kiln
                                  build --force): its existence and its use of
                                  DISK are no obstacle; NULL: none */
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
  GPtrArray *extra_files;      /* char *: the extra disks' paths (made, or to
                                  make), in SPEC's order */
  guint64 memory_mib;
  unsigned vcpus;
};
void kiln_register_result_clear (struct kiln_register_result *res);

/* Define the template domain SPEC describes (kiln register).  On failure
 * nothing is left: no domain, no extra disk, no uploaded volume. */
int kiln_register_template (const struct kiln_ctx *ctx, const struct kiln_register_spec *spec,
                            struct kiln_register_result *res, GError **err);

/* The second half of a registration made with SPEC->print_xml (kiln
 * build's commit): create the extra disks RES->extra_files and define
 * RES->xml.  A domain of that name must not exist any more (the caller
 * has undefined SPEC->replaces).  On failure (KILN_FAULT step
 * "template-define" included) nothing is left: the extra disks it made
 * are removed. */
int kiln_register_define (const struct kiln_ctx *ctx, const struct kiln_register_spec *spec,
                          const struct kiln_register_result *res, GError **err);

#endif
