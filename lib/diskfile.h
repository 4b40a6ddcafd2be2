/* diskfile.h: making disk files for register and clone: empty disks,
 * qcow2 overlays (linked clones) and sparse full copies.  Each is made
 * under a temporary name in the target's directory and renamed into
 * place only when complete, never over an existing file unless asked. */
#ifndef KILN_DISKFILE_H
#define KILN_DISKFILE_H

#include "kiln.h"
#include "fileio.h"

/* A qcow2 overlay at PATH whose backing file is BACKING (absolute) of
 * BACKING_FORMAT: written directly (lib/qcow2.c) over a qcow2 or raw
 * backing file, through libguestfs' disk_create (qemu-img) over others. */
int kiln_disk_create_overlay (const char *path, const char *backing,
                              const char *backing_format, bool replace, GError **err);

/* The same overlay written into TMP, a file the caller made with
 * kiln_temp_beside and publishes itself (kiln clone's transaction does,
 * for all of a clone's files at once); PATH names the overlay in errors.
 * Not synced: kiln_temp_publish syncs before the rename.  -1 with ERR
 * (TMP is then the caller's to discard). */
int kiln_disk_write_overlay (const char *tmp, const char *path, const char *backing,
                             const char *backing_format, GError **err);

/* An empty disk of SIZE bytes and FORMAT (qcow2, raw) at PATH. */
int kiln_disk_create_empty (const char *path, const char *format, gint64 size,
                            GError **err);

#endif
