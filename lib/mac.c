/* mac.c: random, unique MAC addresses. */
#include <stdio.h>
#include <openssl/rand.h>

#include "mac.h"

bool
kiln_mac_valid (const char *s)
{
  unsigned int b[6];
  char tail;

  if (s == NULL || strlen (s) != 17)
    return false;
  for (int i = 0; i < 17; i++) {
    if (i % 3 == 2 ? s[i] != ':' : !g_ascii_isxdigit (s[i]))
      return false;
  }
  if (sscanf (s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6)
    return false;
  return (b[0] & 1) == 0;   /* a multicast address cannot name a NIC */
}

int
kiln_mac_random (GHashTable *used, char out[KILN_MAC_LEN], GError **err)
{
  for (int tries = 0; tries < 1000; tries++) {
    unsigned char b[3];

    if (RAND_bytes (b, sizeof b) != 1) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                   "cannot get random bytes for a MAC address (OpenSSL RAND_bytes)");
      return -1;
    }
    g_snprintf (out, KILN_MAC_LEN, "52:54:00:%02x:%02x:%02x", b[0], b[1], b[2]);
    if (used == NULL)
      return 0;
    if (!g_hash_table_contains (used, out)) {
      g_hash_table_add (used, g_strdup (out));
      return 0;
    }
  }
  g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "no free MAC address found in 52:54:00");
  return -1;
}
