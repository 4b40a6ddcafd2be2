/* inspection.h: the inspection cache.  What libguestfs inspection says of
 * an image (guestfs_inspect_os, the inspect_get_* answers and the root's
 * mountpoints), kept under kiln's cache directory so that a command that
 * opens the same unchanged contents again does not inspect them again.
 *
 * Why: inspection is the largest cost inside an appliance after its boot.
 * On the Debian fixture under TCG it takes 6.4 s of a 19 s kiln sysprep
 * (LIBGUESTFS_DEBUG timestamps: 2.5 s scanning partitions and LVM, 2.9 s
 * for Augeas to load its lenses and read /etc/fstab), and virt-sysprep,
 * virt-customize and kiln all pay it on every run.  A golden-image
 * pipeline opens the same base again and again: kiln build of many
 * recipes on one cached base, kiln create and kiln sysprep on fresh
 * overlays of one template.
 *
 * The key is the identity of what the appliance will read, never a
 * guess: for each disk, in the order they are added, the empty qcow2
 * overlays on top are skipped (kiln_qcow2_empty_overlay: every read goes
 * to the backing file, so they show the backing file's bytes), and the
 * first layer that holds data and every file below it are named by the
 * absolute name qemu opens (a relative backing name is looked up from the
 * directory of the name given, not of a link's target, as qemu does) and
 * the file it resolves to, device, inode, size, and modification and
 * change times in nanoseconds.  Any write to those files changes their
 * times; a rename or chmod changes the change time.  The libguestfs
 * version and backend, and the modification time of the host's package
 * database (supermin builds the appliance from the host's packages), are
 * part of the key too.  Uncacheable, so inspected as before: a disk that
 * is not a regular file (a block device, whose times do not follow its
 * contents), a layer other than qcow2 or raw, a qcow2 with an external
 * data file (its bytes are in a file the chain does not name), an overlay
 * that does not record its backing file's format (qemu would probe it),
 * and a chain kiln cannot read.
 *
 *   CACHE/inspection/KEY   one entry (GKeyFile, mode 0600), KEY the
 *                          sha256 of the identity text
 *
 * kiln cache prune removes every entry (they cost one inspection to
 * remake); removing the directory is always safe. */
#ifndef KILN_INSPECTION_H
#define KILN_INSPECTION_H

#include "kiln.h"

/* What inspection said of one root.  Strings NULL when unknown. */
struct kiln_inspection {
  char *root;                 /* the root filesystem (/dev/sda1, /dev/vg0/root,
                                 btrfsvol:/dev/sda2/@) */
  char *type, *distro, *product_name, *hostname, *arch;
  char *package_format, *package_management, *osinfo;
  int major, minor;
  GPtrArray *mountpoints;     /* char *: mountpoint, device, mountpoint, ...
                                 as guestfs_inspect_get_mountpoints */
};

struct kiln_inspection *kiln_inspection_new (void);
void kiln_inspection_free (struct kiln_inspection *in);
typedef struct kiln_inspection kiln_inspection;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (kiln_inspection, kiln_inspection_free)

/* The key (64 hex digits, g_free it) for the disks DISKS (char *paths) of
 * FORMATS (char *, "qcow2", "raw", ...) as the appliance will see them,
 * with GUESTFS_ID naming the libguestfs that inspects ("1.48.2 direct").
 * *OVERLAID is true when every disk is an empty overlay (a write goes to
 * the overlay, so the key still names the same bytes after a writable
 * run: worth recording), false when a disk's own data is on top.  NULL
 * when the guest cannot be cached, with the reason in *WHY (static text,
 * for a debug message); no error: not caching is never a failure. */
char *kiln_inspection_key (GPtrArray *disks, GPtrArray *formats, const char *guestfs_id,
                           bool *overlaid, const char **why);

/* DIR/inspection, the cache's inspection directory, made (mode 0700) if
 * needed, for kiln_cache_dir's DIR.  NULL and ERR when it cannot be made
 * or is not a directory of the caller's. */
char *kiln_inspection_dir (const char *cache_dir, GError **err);

/* The entry KEY in INSPECTION_DIR, or NULL when there is none or it does
 * not hold a well-formed inspection (a link, a non-regular file, over
 * 64 KiB, a root or a device not under /dev, a mountpoint not absolute,
 * no "/" mountpoint, a control character): the caller inspects. */
struct kiln_inspection *kiln_inspection_lookup (const char *inspection_dir, const char *key);

/* Record IN under KEY in INSPECTION_DIR (written to a temporary file, then
 * renamed: a reader sees the old entry or the new one).  -1 with ERR. */
int kiln_inspection_store (const char *inspection_dir, const char *key,
                           const struct kiln_inspection *in, GError **err);

/* Remove the entry KEY (one that did not work: a mount failed). */
void kiln_inspection_forget (const char *inspection_dir, const char *key);

/* Remove every entry of INSPECTION_DIR; the number removed. */
guint kiln_inspection_clear (const char *inspection_dir);

#endif
