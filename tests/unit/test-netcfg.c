/* test-netcfg.c: network configuration loses its MAC bindings and keeps
 * everything else (netcfg.h), on the files cloud-init, installers and
 * administrators write. */
#include <string.h>

#include "netcfg.h"
#include "tap.h"

static char *
networkd (const char *name, const char *in, enum kiln_netcfg_change *r)
{
  char *out = NULL;

  *r = kiln_netcfg_networkd (name, in, strlen (in), &out);
  return out;
}

static void
test_networkd (void)
{
  enum kiln_netcfg_change r;
  g_autofree char *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL, *f = NULL;

  a = networkd ("10-eth.network",
                "[Match]\nMACAddress=52:54:00:12:34:56\n\n[Network]\nDHCP=yes\n", &r);
  ok (r == KILN_NETCFG_CHANGED && a && strcmp (a, "[Match]\nType=ether\n\n[Network]\nDHCP=yes\n") == 0,
      "a .network matched only by MAC matches any Ethernet NIC instead: %s", a ? a : "(null)");

  b = networkd ("10-eth.network",
                "# ours\n[Match]\nName=en*\n MACAddress = 52:54:00:12:34:56\n[Network]\nDHCP=yes\n", &r);
  ok (r == KILN_NETCFG_CHANGED && b && strcmp (b, "# ours\n[Match]\nName=en*\n[Network]\nDHCP=yes\n") == 0,
      "with a Name= beside it only the MAC goes (blanks around = too), comments stay: %s", b ? b : "(null)");

  c = networkd ("10-eth.network", "[Match]\nName=eth0\n[Link]\nMACAddress=52:54:00:aa:bb:cc\n", &r);
  ok (r == KILN_NETCFG_CHANGED && c && strcmp (c, "[Match]\nName=eth0\n[Link]\n") == 0,
      "a fixed MAC in [Link] goes (the clone would share it): %s", c ? c : "(null)");

  d = networkd ("10-persistent.link", "[Match]\nMACAddress=52:54:00:12:34:56\n[Link]\nName=lan0\n", &r);
  ok (r == KILN_NETCFG_REMOVE && d == NULL,
      "a .link renaming the template's NIC by MAC is removed (else it would rename every NIC)");

  e = networkd ("20-dhcp.network", "[Match]\nName=en*\n[Network]\nDHCP=yes\n", &r);
  ok (r == KILN_NETCFG_SAME && e == NULL, "a file with no MAC is left alone");

  f = networkd ("br0.netdev", "[NetDev]\nName=br0\nKind=bridge\nMACAddress=52:54:00:01:02:03", &r);
  ok (r == KILN_NETCFG_CHANGED && f && strcmp (f, "[NetDev]\nName=br0\nKind=bridge\n") == 0,
      "a bridge's fixed MAC in a .netdev goes: %s", f ? f : "(null)");

  {
    g_autofree char *g = networkd ("x.network", "[Match]\nPermanentMACAddress=52:54:00:12:34:56", &r);

    ok (r == KILN_NETCFG_CHANGED && g && strcmp (g, "[Match]\nType=ether\n") == 0,
        "PermanentMACAddress= too, with [Match] on the last line: %s", g ? g : "(null)");
  }
  {
    g_autofree char *h = networkd ("x.network", "MACAddress=1\n#MACAddress=2\n[Match]\nName=a\n", &r);

    ok (r == KILN_NETCFG_CHANGED && h && strcmp (h, "#MACAddress=2\n[Match]\nName=a\n") == 0,
        "a commented-out MAC stays, one before any section goes: %s", h ? h : "(null)");
  }
}

static char *
netplan (const char *in, int *r, GError **err)
{
  char *out = NULL;

  *r = kiln_netcfg_netplan (in, strlen (in), &out, err);
  return out;
}

static void
test_netplan (void)
{
  int r;
  g_autoptr (GError) e = NULL;
  /* As cloud-init writes it on Debian's and Ubuntu's cloud images. */
  const char *cloud =
    "# This file is generated from information provided by the datasource.\n"
    "network:\n"
    "    ethernets:\n"
    "        enp1s0:\n"
    "            dhcp4: true\n"
    "            match:\n"
    "                macaddress: '52:54:00:12:34:56'\n"
    "            set-name: enp1s0\n"
    "    version: 2\n";
  g_autofree char *a = netplan (cloud, &r, &e);

  ok (r == KILN_NETCFG_CHANGED && a, "cloud-init's netplan file changes%s%s", e ? ": " : "", e ? e->message : "");
  ok (a && strstr (a, "macaddress") == NULL, "without the MAC");
  ok (a && strstr (a, "name: enp1s0") && strstr (a, "set-name") == NULL,
      "matched by the name it set instead (set-name goes with the MAC): %s", a ? a : "");
  ok (a && strstr (a, "dhcp4: true") && strstr (a, "version: 2"), "everything else stays");
  {
    g_autofree char *again = NULL;
    int r2;

    again = a ? netplan (a, &r2, NULL) : NULL;
    ok (a && r2 == KILN_NETCFG_SAME && again == NULL, "its output has nothing left to change");
  }

  {
    g_autofree char *b = netplan ("network:\n  version: 2\n  ethernets:\n    id0:\n"
                                  "      match: {macaddress: \"52:54:00:12:34:56\", driver: virtio_net}\n"
                                  "      dhcp4: yes\n", &r, NULL);

    ok (r == KILN_NETCFG_CHANGED && b && strstr (b, "driver: virtio_net") && !strstr (b, "macaddress"),
        "a flow-style match keeps its other keys: %s", b ? b : "");
  }
  {
    g_autofree char *c = netplan ("network:\n  ethernets:\n    eth0:\n      match:\n        macaddress: 52:54:00:12:34:56\n"
                                  "      dhcp4: true\n", &r, NULL);

    ok (r == KILN_NETCFG_CHANGED && c && !strstr (c, "match") && strstr (c, "eth0:"),
        "a MAC-only match without set-name goes: the id is the name: %s", c ? c : "");
  }
  {
    g_autofree char *d = netplan ("network:\n  bonds:\n    bond0:\n      macaddress: 52:54:00:01:02:03\n"
                                  "      interfaces: [eth0, eth1]\n", &r, NULL);

    ok (r == KILN_NETCFG_CHANGED && d && !strstr (d, "macaddress") && strstr (d, "interfaces"),
        "a bond's fixed MAC goes: %s", d ? d : "");
  }
  {
    g_autofree char *f = netplan ("network:\n  version: 2\n  renderer: networkd\n  ethernets:\n    eth0: {dhcp4: true}\n",
                                  &r, NULL);

    ok (r == KILN_NETCFG_SAME && f == NULL, "a file with no MAC is left alone");
  }
  {
    g_autofree char *g = netplan ("", &r, NULL);

    ok (r == KILN_NETCFG_SAME && g == NULL, "an empty file is left alone");
  }
  {
    g_autoptr (GError) e2 = NULL;
    g_autofree char *h = netplan ("network:\n  ethernets: [\n", &r, &e2);

    ok (r == -1 && h == NULL && e2 && strstr (e2->message, "line"),
        "broken YAML is an error naming the line: %s", e2 ? e2->message : "(none)");
  }
  {
    /* An anchor shared by two devices, and a recursive alias: no loop. */
    g_autofree char *i = netplan ("network:\n  ethernets:\n    a: &m\n      match: {macaddress: x}\n      set-name: a\n"
                                  "    b: *m\n  x: &r [*r]\n", &r, NULL);

    ok (r == KILN_NETCFG_CHANGED && i && !strstr (i, "macaddress"), "aliases are followed once: %s", i ? i : "");
  }
}

static char *
keyfile (const char *in, size_t len, int *r, GError **err)
{
  char *out = NULL;

  *r = kiln_netcfg_nmconnection (in, len, &out, err);
  return out;
}

static void
test_nmconnection (void)
{
  int r;
  g_autoptr (GError) e = NULL;
  /* As nmcli and the installers write a wired profile on a golden image. */
  const char *wired =
    "[connection]\n"
    "id=enp1s0\n"
    "uuid=8c3b0f8e-5d0a-4bb5-9a57-0e4f3c1d2b7a\n"
    "type=ethernet\n"
    "\n"
    "[ethernet]\n"
    "# the golden VM's NIC\n"
    "mac-address=52:54:00:0F:1C:A0\n"
    "cloned-mac-address=preserve\n"
    "\n"
    "[ipv4]\n"
    "method=auto\n";
  g_autofree char *a = keyfile (wired, strlen (wired), &r, &e);

  ok (r == KILN_NETCFG_CHANGED && a, "a wired profile bound by mac-address= changes%s%s",
      e ? ": " : "", e ? e->message : "");
  ok (a && strstr (a, "\nmac-address") == NULL && strstr (a, "52:54:00:0F:1C:A0") == NULL,
      "without its MAC binding: %s", a ? a : "");
  ok (a && strstr (a, "cloned-mac-address=preserve") && strstr (a, "id=enp1s0") &&
      strstr (a, "[ipv4]\nmethod=auto") && strstr (a, "# the golden VM's NIC"),
      "cloned-mac-address, the other settings and the comments stay");
  {
    g_autofree char *again = NULL;
    int r2 = 0;

    again = a ? keyfile (a, strlen (a), &r2, NULL) : NULL;
    ok (a && r2 == KILN_NETCFG_SAME && again == NULL, "its output has nothing left to change");
  }
  {
    const char *wifi = "[connection]\nid=home\ntype=wifi\n[wifi]\nmac-address = 02:00:00:00:00:01\n"
                       "ssid=home\n[802-3-ethernet]\nmac-address=82;84;0;1;2;3;\n[vpn]\nmac-address=keep\n";
    g_autofree char *b = keyfile (wifi, strlen (wifi), &r, NULL);

    ok (r == KILN_NETCFG_CHANGED && b && !strstr (b, "02:00:00") && !strstr (b, "82;84") &&
        strstr (b, "ssid=home") && strstr (b, "mac-address=keep"),
        "[wifi] (blanks around =) and the long setting names too, no other group: %s", b ? b : "");
  }
  {
    /* GKeyFile indexes only the last copy of a repeated key. */
    const char *twice = "[ethernet]\nmac-address=52:54:00:00:00:01\n[ipv4]\nmethod=auto\n"
                        "[ethernet]\nmac-address=52:54:00:00:00:02\nmac-address=52:54:00:00:00:03\n";
    g_autofree char *t = keyfile (twice, strlen (twice), &r, NULL);

    ok (r == KILN_NETCFG_CHANGED && t && !strstr (t, "mac-address"),
        "every copy of a repeated key goes, in a repeated group too: %s", t ? t : "");
  }
  {
    const char *none = "[connection]\nid=x\ntype=ethernet\ninterface-name=eth0\n[ipv4]\nmethod=auto\n";
    g_autofree char *c = keyfile (none, strlen (none), &r, NULL);

    ok (r == KILN_NETCFG_SAME && c == NULL, "a profile bound by interface name only is left alone");
  }
  {
    g_autoptr (GError) e2 = NULL;
    g_autofree char *d = keyfile ("[ethernet\nmac-address=x\n", 24, &r, &e2);

    ok (r == -1 && d == NULL && e2, "a file GKeyFile cannot read is an error: %s",
        e2 ? e2->message : "(none)");
  }
  {
    g_autoptr (GError) e3 = NULL;
    g_autofree char *f = keyfile ("[ethernet]\nmac-address=a\0b\n", 27, &r, &e3);

    ok (r == -1 && f == NULL && e3, "so is one with a NUL byte: %s", e3 ? e3->message : "(none)");
  }
}

int
main (void)
{
  plan (29);
  test_networkd ();
  test_netplan ();
  test_nmconnection ();
  return done_testing ();
}
