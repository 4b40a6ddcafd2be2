/* template.h: register and clone as library calls, for the verbs of the
 * same names and for kiln build.  Implemented in clone/register.c and
 * clone/clone.c; they report through GError and print nothing (except
 * kiln_info progress while inspecting). */
#ifndef KILN_TEMPLATE_H
#define KILN_TEMPLATE_H

#include "kiln.h"

struct kiln_register_disk {
  gint64 size;                 /* bytes */
  const char *target;          /* vdX; NULL: the next free one */
};

struct kiln_register_spec {
  const char *disk;            /* the template's image */
  const char *name;
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

enum kiln_clone_mode {
  KILN_CLONE_DEFAULT,          /* linked for a kiln template, else full */
  KILN_CLONE_LINKED,
  KILN_CLONE_FULL,
};

struct kiln_clone_spec {
  const char *original;
  const char *name;            /* NULL: ORIGINAL-clone (first free) */
  unsigned count;              /* 0 or 1: one clone NAME; N: NAME-1..NAME-N */
  enum kiln_clone_mode mode;
  const char *const *macs;     /* per NIC: a MAC or "RANDOM"; may be NULL */
  size_t n_macs;
  const char *const *files;    /* per cloned disk; may be NULL */
  size_t n_files;
  bool replace;
  bool print_xml;              /* only build the XML: create nothing */
};

struct kiln_clone_made {
  char *name, *uuid, *xml;
  bool linked;
  GPtrArray *disks, *macs;     /* char * */
  gint64 usec;                 /* how long it took */
};

/* Make the clones SPEC describes (kiln clone).  *MADE (an array of struct
 * kiln_clone_made, free with g_ptr_array_unref) lists the clones made,
 * also when a later one fails; a clone that fails leaves nothing. */
int kiln_clone_domains (const struct kiln_ctx *ctx, const struct kiln_clone_spec *spec,
                        GPtrArray **made, GError **err);

/* Names of the linked clones of TEMPLATE, sorted (kiln clone --list-dependents). */
GPtrArray *kiln_clone_dependents (const struct kiln_ctx *ctx, const char *template_name,
                                  GError **err);

#endif
