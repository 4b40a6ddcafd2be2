/* domain.h: libvirt domains as kiln sees them: their disks, whether they
 * run, and which linked clones depend on a template's disks.  customize
 * and sysprep -d use kiln_domain_disks_for_edit; register and clone the
 * rest. */
#ifndef KILN_DOMAIN_H
#define KILN_DOMAIN_H

#include <libvirt/libvirt.h>
#include "kiln.h"
#include "domxml.h"

/* The disks of domain NAME (on CTX's connection) for an offline edit by
 * customize or sysprep: appends each one's path to PATHS and its format,
 * from the XML's <driver type=>, to FORMATS (both g_free arrays).  The
 * format is never probed from the file's bytes: a guest can write any
 * header into a raw disk.  -1 (nothing appended) with an error saying
 * what to do when a disk has no <driver type=>, the domain is running, or
 * linked clones depend on its disks (the message names them), or
 * (KILN_ERROR_USAGE) on a remote connection (kiln_virt_is_local): the
 * edit would open this host's files. */
int kiln_domain_disks_for_edit (const struct kiln_ctx *ctx, const char *name,
                                GPtrArray *paths, GPtrArray *formats, GError **err);

/* Is there a domain named NAME on CONN (active or not)? */
bool kiln_domain_exists (virConnectPtr conn, const char *name);

/* The inactive, secure XML of DOM, parsed. */
struct kiln_domxml *kiln_domain_xml (virDomainPtr dom, GError **err);

/* Refuse (-1, KILN_ERROR_BUSY) unless DOM is shut off; WHAT says what the
 * caller wanted to do ("clone", "edit"). */
int kiln_domain_require_shutoff (virDomainPtr dom, const char *what, GError **err);

/* The file of disk D: its source path, or a volume's path through the
 * storage API.  NULL (no error) for network disks and empty drives. */
char *kiln_domain_disk_file (virConnectPtr conn, const struct kiln_domxml_disk *d,
                             GError **err);

/* Canonical paths of the disks of DX that a clone copies or overlays. */
GPtrArray *kiln_domain_cloned_files (virConnectPtr conn, struct kiln_domxml *dx,
                                     GError **err);

/* Call FN with the name and the parsed inactive, secure XML of every
 * domain of CONN, active or not (one undefined meanwhile is skipped), in
 * the order libvirt lists them; FN runs in the calling thread (the XML is
 * fetched by a few threads at once).
 * -1 with ERR when the domains cannot be listed, when the XML of one
 * cannot be read (its name in the message: a scan never skips a domain
 * silently), or when FN returns -1 (with ERR set; no later FN call). */
typedef int (*kiln_domain_fn) (const char *name, struct kiln_domxml *dx, void *opaque,
                               GError **err);
int kiln_domain_foreach (virConnectPtr conn, kiln_domain_fn fn, void *opaque, GError **err);

/* Names of the domains (other than EXCEPT) with a disk whose backing
 * chain (below the disk itself) holds one of FILES (canonical paths), or
 * whose kiln metadata records ORIGINAL (may be NULL) as the template of a
 * linked clone.  Sorted; free with g_ptr_array_unref.
 *
 * The scan fails closed: NULL and ERR (naming the domain, the disk and
 * what to do) when a domain's XML, a disk's volume or a backing chain
 * cannot be read, since that domain may be a clone that the caller is
 * about to corrupt.  A disk file that does not exist depends on nothing. */
GPtrArray *kiln_domain_dependents (virConnectPtr conn, GPtrArray *files,
                                   const char *original, const char *except,
                                   GError **err);

/* Names of the domains (other than EXCEPT) using one of FILES as a disk
 * or below a disk in its backing chain; fails closed like
 * kiln_domain_dependents. */
GPtrArray *kiln_domain_users (virConnectPtr conn, GPtrArray *files, const char *except,
                              GError **err);

/* An index of the domains of a connection, for a command that asks many
 * questions about them (kiln clone --count N --replace): one listing, every
 * domain's XML read and parsed once, its MACs, kiln metadata and disks
 * kept; a disk's file and backing chain are read at the first query that
 * needs them and kept for the rest of the index's life.  It sees the
 * domains as they were when it was built plus those the caller adds: a
 * command keeps it for its own duration only.  Not thread-safe. */
struct kiln_domain_index;

/* Build the index of CONN's domains (borrowed: it must outlive the index).
 * NULL with ERR as kiln_domain_foreach fails (closed). */
struct kiln_domain_index *kiln_domain_index_new (virConnectPtr conn, GError **err);

/* Free IX (NULL is accepted). */
void kiln_domain_index_free (struct kiln_domain_index *ix);

/* Record domain NAME (parsed in DX, borrowed), defined or about to be
 * defined by the caller; it replaces an entry of the same name.  Its MACs
 * join the set. */
void kiln_domain_index_add (struct kiln_domain_index *ix, const char *name,
                            struct kiln_domxml *dx);

/* The set of lower-case MACs of the indexed domains, owned by IX: the
 * caller may add (kiln_mac_random does) or remove MACs. */
GHashTable *kiln_domain_index_macs (struct kiln_domain_index *ix);

/* kiln_domain_dependents and kiln_domain_users, answered from IX (with
 * the same fail-closed errors). */
GPtrArray *kiln_domain_index_dependents (struct kiln_domain_index *ix, GPtrArray *files,
                                         const char *original, const char *except,
                                         GError **err);
GPtrArray *kiln_domain_index_users (struct kiln_domain_index *ix, GPtrArray *files,
                                    const char *except, GError **err);

/* "a, b, c" (at most 10 names, then "and N more"). */
char *kiln_domain_name_list (GPtrArray *names);

#endif
