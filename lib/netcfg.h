/* netcfg.h: network configuration bound to the template's MAC address.
 *
 * A template's network configuration often names its NIC by MAC address
 * (cloud-init writes netplan files with "match: macaddress:", installers
 * write systemd-networkd files with "MACAddress=", ifupdown stanzas can
 * carry "hwaddress", which net-hwaddr drops line by line, NetworkManager
 * keyfiles carry "mac-address=").  A clone gets
 * a new MAC (as virt-clone gives it), so such a configuration matches
 * nothing and the clone boots without network.  These functions take the
 * text of one such file and return it without the binding; the sysprep
 * operations net-netplan and net-networkd apply them inside the guest
 * (sysprep/).  They read no file and hold no state: the tests and fuzzers
 * call them directly. */
#ifndef KILN_NETCFG_H
#define KILN_NETCFG_H

#include <stdbool.h>
#include <stddef.h>
#include <glib.h>
#include "kiln.h"

/* What unbinding one file does. */
enum kiln_netcfg_change {
  KILN_NETCFG_SAME,             /* nothing bound to a MAC: leave the file */
  KILN_NETCFG_CHANGED,          /* *OUT holds the new text */
  KILN_NETCFG_REMOVE,           /* the file only made sense for that MAC:
                                   remove it (a .link file renaming the
                                   template's NIC) */
};

/* A systemd-networkd file (TEXT, LEN bytes; a .network, .link or .netdev
 * file, named by NAME for its suffix) without its MAC bindings:
 * "MACAddress=" and "PermanentMACAddress=" lines go from every section
 * (in [Match] they bind the file to the template's NIC; in [Link] and
 * [NetDev] they give a clone the template's MAC).  A .network file whose
 * [Match] is left empty gets "Type=ether" there (an empty [Match] would
 * also match the loopback and every virtual link); a .link file whose
 * [Match] is left empty is to be removed (it would rename every NIC).
 * On KILN_NETCFG_CHANGED, *OUT is a new string the caller frees; else
 * *OUT is NULL. */
enum kiln_netcfg_change kiln_netcfg_networkd (const char *name, const char *text, size_t len,
                                              char **out);

/* A netplan YAML file (TEXT, LEN bytes) without its MAC bindings, for
 * every device kind under "network:" (ethernets, bonds, bridges, vlans,
 * ...): a "macaddress" key in a device's "match" goes (when the match is
 * left empty it becomes "name: SET-NAME" if the device has "set-name",
 * which then goes too, else the match goes and the device's id is its
 * name, as netplan reads it); a "macaddress" key of the device itself
 * (which sets the MAC) goes.  The file is parsed with libyaml and written
 * back in block style, so comments are lost when it changes.
 * KILN_NETCFG_CHANGED with *OUT (caller frees), KILN_NETCFG_SAME with
 * *OUT NULL, or -1 with ERR (KILN_ERROR_USAGE, naming the line) when the
 * file is not valid YAML: netplan would refuse it too, so it is left
 * alone by the caller, with a warning. */
int kiln_netcfg_netplan (const char *text, size_t len, char **out, GError **err);

/* A NetworkManager keyfile (TEXT, LEN bytes: a file of
 * /etc/NetworkManager/system-connections) without its MAC binding:
 * "mac-address" goes from the [ethernet] and [wifi] settings (also spelled
 * [802-3-ethernet] and [802-11-wireless]), so the profile applies to
 * whichever NIC the clone has.  "cloned-mac-address" (the MAC the profile
 * sets) and everything else stay.  The file is read and written with
 * GLib's GKeyFile, the parser NetworkManager itself uses, keeping comments;
 * the groups and keys come back in their order, "key = value" as
 * "key=value".  KILN_NETCFG_CHANGED with *OUT (caller frees),
 * KILN_NETCFG_SAME with *OUT NULL, or -1 with ERR (KILN_ERROR_USAGE) when
 * GKeyFile cannot read it: NetworkManager would ignore it too, so the
 * caller leaves it alone, with a warning. */
int kiln_netcfg_nmconnection (const char *text, size_t len, char **out, GError **err);

#endif
