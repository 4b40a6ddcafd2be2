/* fuzz-netcfg.c: the network configuration a guest image carries, read by
 * sysprep's net-netplan, net-networkd and net-hwaddr (lib/netcfg.c): byte
 * 0 picks the file kind (a .network, a .link, a .netdev, netplan YAML or
 * a NetworkManager keyfile), the rest is the file.  A change must leave nothing more to change: unbinding twice
 * is unbinding once. */
#include <string.h>

#include "fuzz.h"
#include "netcfg.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const char *const names[] = { "a.network", "b.link", "c.netdev" };
  const char *text = (const char *) data + 1;
  char *out = NULL, *again = NULL;

  if (size < 1)
    return 0;
  size--;
  if (data[0] % 5 == 4) {
    g_autoptr (GError) err = NULL;
    int r = kiln_netcfg_nmconnection (text, size, &out, &err);

    g_assert ((r == -1) == (err != NULL));
    g_assert ((r == KILN_NETCFG_CHANGED) == (out != NULL));
    if (out) {
      g_autoptr (GError) e2 = NULL;

      g_assert (kiln_netcfg_nmconnection (out, strlen (out), &again, &e2) == KILN_NETCFG_SAME);
    }
  }
  else if (data[0] % 5 == 3) {
    g_autoptr (GError) err = NULL;
    int r = kiln_netcfg_netplan (text, size, &out, &err);

    g_assert ((r == -1) == (err != NULL));
    g_assert ((r == KILN_NETCFG_CHANGED) == (out != NULL));
    if (out) {
      g_autoptr (GError) e2 = NULL;

      g_assert (kiln_netcfg_netplan (out, strlen (out), &again, &e2) == KILN_NETCFG_SAME);
    }
  }
  else {
    const char *name = names[data[0] % 5];
    enum kiln_netcfg_change r = kiln_netcfg_networkd (name, text, size, &out);

    g_assert ((r == KILN_NETCFG_CHANGED) == (out != NULL));
    if (out) {
      enum kiln_netcfg_change r2 = kiln_netcfg_networkd (name, out, strlen (out), &again);

      g_assert (r2 != KILN_NETCFG_REMOVE);
    }
  }
  g_free (out);
  g_free (again);
  return 0;
}
