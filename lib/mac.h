/* mac.h: MAC addresses for new NICs: random in QEMU's 52:54:00 range
 * (OpenSSL RAND_bytes), unique among the domains of a connection. */
#ifndef KILN_MAC_H
#define KILN_MAC_H

#include <libvirt/libvirt.h>
#include "kiln.h"

#define KILN_MAC_LEN 18   /* "52:54:00:xx:xx:xx" and the NUL */

/* True when S is six colon-separated hex pairs, unicast. */
bool kiln_mac_valid (const char *s);


/* A random 52:54:00 MAC not in USED, added to USED (which may be NULL). */
int kiln_mac_random (GHashTable *used, char out[KILN_MAC_LEN], GError **err);

#endif
