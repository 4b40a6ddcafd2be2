/* identity.h: a clone's own identity (hostname, SSH authorized keys, a
 * static address for its first NIC) given at clone time WITHOUT opening
 * the image: kiln clone writes it into the clone's domain XML as SMBIOS
 * type 11 OEM strings ("kiln.hostname=web-1", "kiln.ssh-key=USER:KEY",
 * "kiln.ip=ADDR/PREFIX[,GATEWAY]"), and a first-boot unit that kiln's
 * sysprep installs in every template (sysprep/firstboot-identity.c)
 * reads them from /sys/firmware/dmi/entries/11-* and applies them.
 *
 * The channel is readable by anyone who can read the domain XML (virsh
 * dumpxml, libvirt's logs, the qemu command line), so it carries no
 * secret: private keys and anything that looks like a password are
 * refused.  Values are printable ASCII (an OEM string cannot hold a NUL
 * or a newline).  Errors through GError (KILN_ERROR_USAGE for bad
 * values), nothing printed. */
#ifndef KILN_IDENTITY_H
#define KILN_IDENTITY_H

#include "kiln.h"

/* The OEM string prefixes, shared with the guest script. */
#define KILN_IDENTITY_HOSTNAME "kiln.hostname="
#define KILN_IDENTITY_SSH_KEY "kiln.ssh-key="
#define KILN_IDENTITY_IP "kiln.ip="
/* The extended attribute kiln sets on an image file whose guest has the
 * first-boot identity unit (value: the unit's version), so kiln clone
 * can check a template without launching an appliance. */
#define KILN_IDENTITY_XATTR "user.kiln.firstboot-identity"
#define KILN_IDENTITY_VERSION "1"

typedef struct kiln_identity kiln_identity;
struct kiln_identity {
  char *hostname;     /* NULL or a name; may hold one %d (the clone's number) */
  GPtrArray *keys;    /* char *: "USER:KEYTYPE BASE64 [COMMENT]" */
  char *ip;           /* NULL or "ADDR/PREFIX[,GATEWAY]" (IPv4 or IPv6) */
};

struct kiln_identity *kiln_identity_new (void);
void kiln_identity_free (struct kiln_identity *id);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (kiln_identity, kiln_identity_free)

bool kiln_identity_is_empty (const struct kiln_identity *id);

/* --hostname PATTERN: at most one %d (no other % sequence); the names it
 * gives are checked when the count is known (kiln_identity_oem_strings). */
int kiln_identity_set_hostname (struct kiln_identity *id, const char *pattern, GError **err);
/* --ssh-inject USER:file:KEYFILE | USER:string:KEY: every key of the file
 * (blank and # lines skipped) or the one KEY; public keys only. */
int kiln_identity_add_ssh_inject (struct kiln_identity *id, const char *arg, GError **err);
/* --ip ADDR/PREFIX[,GATEWAY]. */
int kiln_identity_set_ip (struct kiln_identity *id, const char *arg, GError **err);

/* The OEM strings of clone number N (1-based) of COUNT (0 or 1: one
 * clone, and %d gives 1): newly allocated strings (free with
 * g_ptr_array_unref), or NULL and ERR (KILN_ERROR_USAGE) when the hostname
 * pattern has no %d for COUNT > 1, or gives an invalid host name. */
GPtrArray *kiln_identity_oem_strings (const struct kiln_identity *id, unsigned n,
                                      unsigned count, GError **err);

/* Refuse VALUE (an OEM string for WHAT) when it is not printable ASCII or
 * looks like a secret (a private key, a password or token assignment):
 * -1 with ERR (KILN_ERROR_USAGE) saying why. */
int kiln_identity_check_value (const char *value, const char *what, GError **err);

/* Record on image file PATH that its guest has the first-boot identity
 * unit (the extended attribute above).  -1 with ERR when the filesystem
 * refuses it. */
int kiln_identity_mark_image (const char *path, GError **err);
/* Does image file PATH carry that record? */
bool kiln_identity_image_marked (const char *path);
/* Does any file of CHAIN (char *: an image and its backing files) carry it? */
bool kiln_identity_chain_marked (GPtrArray *chain);

#endif
