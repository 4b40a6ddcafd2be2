/* writable.h: may kiln write into an image file in place?  Not when a
 * linked clone (or any overlay a domain uses) has it in its backing
 * chain, nor while a running domain has it as a disk: writing would
 * corrupt the clone or the guest's filesystem.  customize -a, sysprep -a,
 * create --force and build --force ask before they touch anything. */
#ifndef KILN_WRITABLE_H
#define KILN_WRITABLE_H

#include "kiln.h"

/* The option that skips kiln_image_check_writable, named in its errors. */
#define KILN_UNSAFE_WRITE_OPTION "--unsafe-write-template"

/* 0 when PATH may be written in place (or does not exist).  -1 with
 * KILN_ERROR_BUSY naming the domains whose disks have PATH below them in
 * their backing chain, or that run with PATH as a disk, or when PATH is
 * an image of kiln's cache (those back overlays and are never changed).
 * A libvirt connection (CTX's URI) that cannot be opened or a scan that
 * cannot finish is an error too (the check cannot decide), never a pass;
 * every error names KILN_UNSAFE_WRITE_OPTION.  On a remote connection
 * (kiln_virt_uri_is_local false) PATH is a path on that host, and the
 * chains are read from its volumes (kiln_storage_chain): a domain whose
 * disk is no volume there makes the check undecided. */
int kiln_image_check_writable (const struct kiln_ctx *ctx, const char *path, GError **err);

#endif
