/* qcow2.h: what a disk image file says about itself in its first bytes:
 * its format and the backing file a qcow2 overlay depends on.
 *
 * Finding which domains depend on a template disk means following the
 * backing chain of every disk on the connection; libvirt does not report
 * chains of inactive domains, and qemu-img (which libguestfs' disk_format
 * and disk_has_backing_file spawn) costs a process per file.  The qcow2
 * header (docs/interop/qcow2.txt in qemu) gives both in one read. */
#ifndef KILN_QCOW2_H
#define KILN_QCOW2_H

#include "kiln.h"
#include "fileio.h"     /* kiln_path_canonical, for the chains */

/* The format of image file PATH from its first bytes (kiln_image_format
 * of lib/unpack.h: qcow2, vmdk, vhdx or raw).  NULL and ERR when PATH
 * cannot be read. */
char *kiln_image_file_format (const char *path, GError **err);

/* The backing file of qcow2 PATH as an absolute path (a relative name is
 * relative to PATH's directory), and its format when the header records
 * it (*FORMAT may be NULL).  Returns 0 with *BACKING NULL when PATH has
 * none or is not qcow2; -1 and ERR when PATH cannot be read or is corrupt. */
int kiln_qcow2_backing (const char *path, char **backing, char **format, GError **err);

/* Whether qcow2 PATH is an empty overlay: an image with a backing file
 * whose every read goes to that backing file, as qemu-img create (or
 * kiln_qcow2_write_overlay) leaves it.  Read from the header
 * (docs/interop/qcow2.txt in qemu): no L1 entry set (so no data or zero
 * cluster is allocated), no internal snapshot, no encryption, and no
 * incompatible feature (dirty, corrupt, external data file, ...), which
 * kiln does not reason about.  Returns 1 (and the virtual size in bytes
 * in *SIZE when SIZE), 0 for any other image (raw, data written, no
 * backing file, an L1 table over 32 MiB), -1 with ERR when PATH cannot
 * be read. */
int kiln_qcow2_empty_overlay (const char *path, guint64 *size, GError **err);

/* The incompatible_features bits of qcow2 PATH's header (bit 0 dirty, 1
 * corrupt, 2 external data file, 3 compression type, 4 extended L2): 0
 * for a version 2 image or a file that is not qcow2.  0, or -1 with ERR
 * when PATH cannot be read. */
int kiln_qcow2_incompatible (const char *path, guint64 *features, GError **err);

/* PATH and the chain below it, PATH first, as canonical absolute paths
 * (at most 64 levels: a loop is an error). */
GPtrArray *kiln_image_chain (const char *path, GError **err);

/* The virtual size in bytes of image PATH of FORMAT: a qcow2 header's
 * size field, a raw file's length or a raw block device's size.  -1
 * with ERR for other formats (vmdk, vhdx: ask qemu-img) and errors. */
gint64 kiln_image_virtual_size (const char *path, const char *format, GError **err);

/* Write a qcow2 (v3) overlay of SIZE bytes whose backing file is BACKING
 * (recorded as given) of BACKING_FORMAT into FD, an empty file just opened
 * for writing (it is written from its current offset, 0).  The image has no data clusters: every read goes to BACKING.
 * Its layout is the one qemu-img create gives (header, refcount table,
 * refcount block, L1 table, 64 KiB clusters; SIZE rounded up to whole
 * 512-byte sectors as qemu does), so `qemu-img check` finds
 * nothing to say.  Returns 0, or -1 with ERR (nothing is synced: the
 * caller decides when the file must reach the disk). */
int kiln_qcow2_write_overlay (int fd, guint64 size, const char *backing,
                              const char *backing_format, GError **err);


#endif
