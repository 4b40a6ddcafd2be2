/* clone.h: a new domain from a shut-off one, with a new name, UUID and
 * MAC addresses, what virt-clone does.  A kiln template's clones are
 * LINKED by default: each disk is a qcow2 overlay on the template's disk,
 * made in milliseconds without reading the image (no appliance, no KVM
 * probe: the template's domain type is copied).  A full clone copies the
 * disks, sparse, sharing blocks where the filesystem can.  Read-only,
 * shareable and CD-ROM disks are shared.  For kiln clone and kiln build;
 * errors through GError, nothing printed. */
#ifndef KILN_CLONE_H
#define KILN_CLONE_H

#include "kiln.h"
#include "identity.h"

enum kiln_clone_mode {
  KILN_CLONE_DEFAULT,          /* linked for a kiln template, else full */
  KILN_CLONE_LINKED,
  KILN_CLONE_FULL,
};

struct kiln_clone_spec {
  const char *original;
  const char *name;            /* NULL: ORIGINAL-clone (first free); every
                                  name made is checked by kiln_name_valid */
  unsigned count;              /* 0 or 1: one clone NAME; N: NAME-1..NAME-N */
  enum kiln_clone_mode mode;
  const char *const *macs;     /* per NIC: a MAC or "RANDOM"; may be NULL */
  size_t n_macs;
  const char *const *files;    /* per cloned disk; may be NULL */
  size_t n_files;
  bool replace;
  bool print_xml;              /* only build the XML: create nothing */
  /* Per-clone identity (identity.h), NULL or empty: none.  Each clone's
   * OEM strings (its number in 1..count for a %d hostname) go into its
   * <sysinfo>; the original must have the first-boot unit: its kiln
   * metadata says so (kiln register saw the mark), or a file of its disks'
   * backing chains carries the mark (kiln_identity_chain_marked), or
   * ASSUME_IDENTITY_UNIT; else KILN_ERROR_USAGE saying how to add the
   * unit.  No image is opened. */
  const struct kiln_identity *identity;
  /* The user says the original's guest has the first-boot identity unit
   * (kiln clone --assume-identity-unit): no mark or metadata needed. */
  bool assume_identity_unit;
  /* Log each clone's first pty serial port to CLONE-console.log beside
   * its first disk (for kiln_console_wait; kiln clone --start). */
  bool console_log;
};

struct kiln_clone_made {
  char *name, *uuid, *xml;
  bool linked;
  GPtrArray *disks, *macs;     /* char * */
  char *console_log;           /* spec->console_log: the serial log, or NULL */
  gint64 usec;                 /* how long it took */
};
void kiln_clone_made_free (struct kiln_clone_made *m);

/* Make the clones SPEC describes (kiln clone), as one transaction:
 *
 * - precondition, for every clone before anything is made: the original
 *   is shut off and has no per-domain data kiln cannot copy
 *   (kiln_domxml_unclonable); no more --file or --mac values than disks
 *   and NICs (KILN_ERROR_USAGE); each name is free, or with SPEC->replace
 *   names a shut-off domain without snapshots, checkpoints or a managed
 *   save image whose disks no linked clone depends on (the scan fails
 *   closed); every file a clone makes is new or that domain's own.
 * - work: the disks (overlays or sparse copies) and NVRAM copies are made
 *   under temporary names beside their final ones.  A never-started UEFI
 *   original (no NVRAM file) gives each clone its own NVRAM path and no
 *   copy.  Each clone's per-domain paths are its own (kiln_domxml_make_own).
 * - commit, clone by clone: the replaced domain undefined (its NVRAM
 *   kept), the files renamed into place (the replaced domain's files
 *   kept aside under a hard link), the clone defined.  After the last
 *   define, the replaced files kept aside (and a replaced NVRAM no clone
 *   took over) are removed.
 * - undo, on any failure: every clone of the run undefined, its files
 *   removed, the replaced domains' files put back and their XML (and
 *   autostart) defined again: the connection and the files are as they
 *   were.  What the undo could not restore is appended to ERR.
 *
 * Fault injection (fault.h) steps: clone-disk (after each disk is
 * staged), clone-nvram (after the NVRAM copy), clone-replace-undefine
 * (instead of undefining the replaced domain), clone-define (instead of
 * defining the clone).
 *
 * *MADE (an array of struct kiln_clone_made, free with g_ptr_array_unref)
 * lists the clones made: all of them, or none on failure. */
int kiln_clone_domains (const struct kiln_ctx *ctx, const struct kiln_clone_spec *spec,
                        GPtrArray **made, GError **err);

/* Names of the linked clones of TEMPLATE, sorted (kiln clone --list-dependents). */
GPtrArray *kiln_clone_dependents (const struct kiln_ctx *ctx, const char *template_name,
                                  GError **err);

#endif
