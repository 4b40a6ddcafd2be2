/* storage.h: a domain's disks through libvirt's storage API, for
 * connections whose hypervisor does not share kiln's filesystem
 * (kiln_virt_is_local false): volumes found by path, their format and
 * backing chain read from their XML, linked clones and full copies made
 * by the hypervisor's host, images uploaded and verified.  Nothing here
 * opens a local file except the image an upload reads.  Errors through
 * GError (KILN_ERROR_NOT_FOUND for a path that is no volume, else
 * KILN_ERROR_LIBVIRT unless said); nothing printed. */
#ifndef KILN_STORAGE_H
#define KILN_STORAGE_H

#include <libvirt/libvirt.h>
#include "kiln.h"

/* What a volume's XML (virStorageVolGetXMLDesc) says of it. */
struct kiln_vol_info {
  char *name, *path;
  char *pool;                  /* the pool's name */
  char *format;                /* <target><format type=>, or NULL */
  char *backing;               /* <backingStore><path> (absolute), or NULL */
  char *backing_format;        /* <backingStore><format type=>, or NULL */
  guint64 capacity;            /* virtual size, bytes */
};
void kiln_vol_info_clear (struct kiln_vol_info *vi);

/* The volume whose path (on the hypervisor's host) is PATH, through
 * virStorageVolLookupByPath: only volumes of active pools are found.
 * NULL with ERR (KILN_ERROR_NOT_FOUND when it is no volume); free with
 * virStorageVolFree. */
virStorageVolPtr kiln_storage_vol_of_path (virConnectPtr conn, const char *path, GError **err);

/* Fill VI (cleared first) from VOL's XML; -1 with ERR. */
int kiln_storage_vol_info (virStorageVolPtr vol, struct kiln_vol_info *vi, GError **err);

/* The backing chain of the volume at PATH, read from the volumes' XML:
 * PATH itself first, then each backing file, as paths on the hypervisor's
 * host.  It fails closed: NULL with ERR when PATH, or any backing file,
 * is not a volume of an active pool (the chain cannot be followed
 * further, and what lies below is unknown).  A relative backing path is
 * taken from the directory of the volume that names it. */
GPtrArray *kiln_storage_chain (virConnectPtr conn, const char *path, GError **err);

/* A new qcow2 volume NAME in POOL whose backing store is the volume
 * BACKING (its path, its capacity as NAME's) read as BACKING_FORMAT: a
 * linked clone, made by the hypervisor's host (virStorageVolCreateXML
 * with <backingStore>) without reading BACKING's data.  Give the format
 * the domain's XML says: BACKING_FORMAT NULL takes the volume's, which
 * libvirt probes from the file's header (a guest writing to a raw disk
 * can forge it).  NULL with ERR (KILN_ERROR_EXISTS when NAME exists). */
virStorageVolPtr kiln_storage_create_overlay (virStoragePoolPtr pool, const char *name,
                                              virStorageVolPtr backing,
                                              const char *backing_format, GError **err);

/* A full copy of SRC as the new volume NAME of POOL, in FORMAT (NULL:
 * SRC's), made by the hypervisor's host (virStorageVolCreateXMLFrom).
 * NULL with ERR (KILN_ERROR_EXISTS when NAME exists). */
virStorageVolPtr kiln_storage_copy (virStoragePoolPtr pool, const char *name, const char *format,
                                    virStorageVolPtr src, GError **err);

/* Delete VOL (its file on the hypervisor's host); -1 with ERR. */
int kiln_storage_delete (virStorageVolPtr vol, GError **err);

/* A new raw volume NAME of POOL, SIZE bytes, to upload into.  NULL with
 * ERR (KILN_ERROR_EXISTS when NAME exists). */
virStorageVolPtr kiln_storage_create_raw (virStoragePoolPtr pool, const char *name, guint64 size,
                                          GError **err);

/* Upload the local file FILE into VOL (at least its size), holes kept
 * (a sparse stream), with a progress bar labelled LABEL on CTX's terminal.
 * -1 with ERR; VOL then holds part of FILE (the caller deletes it). */
int kiln_storage_upload (const struct kiln_ctx *ctx, virStorageVolPtr vol, const char *file,
                         const char *label, GError **err);

/* Check an upload of FILE into VOL.  Always: VOL's physical size on the
 * hypervisor's host (virStorageVolGetInfoFlags PHYSICAL) is FILE's size.
 * With DOWNLOAD: VOL's bytes, downloaded back (virStorageVolDownload),
 * have FILE's SHA-256, so what the remote side stored is what was sent
 * (this reads the image once more on both sides and moves it over the
 * connection again).  -1 with ERR (KILN_ERROR_VERIFY on a mismatch,
 * naming both values). */
int kiln_storage_verify (const struct kiln_ctx *ctx, virStorageVolPtr vol, const char *file,
                         bool download, GError **err);

#endif
