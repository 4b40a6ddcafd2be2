/* value.h: the one parser for each kind of value that users type, so that
 * a size or a name means the same on the command line and in a recipe
 * (as git's parse-options OPT_MAGNITUDE serves every command). */
#ifndef KILN_VALUE_H
#define KILN_VALUE_H

#include <stdint.h>
#include "kiln.h"

/* A size: a whole or decimal number with an optional binary unit K, M, G
 * or T (1024-based; "G", "GiB" and "GB" all mean 2^30; case-insensitive).
 * A bare number is BYTES, everywhere in kiln (as in qemu-img and
 * virt-builder --size): "10" is ten bytes, "10G" ten GiB.  Zero,
 * negative numbers, unknown units and sizes past 2^63 are refused.
 * Returns 0 and *BYTES, or -1 with ERR (KILN_ERROR_USAGE) naming S and
 * giving an example. */
int kiln_parse_size (const char *s, uint64_t *bytes, GError **err);

/* kiln_parse_size for the size of a disk: at least 1 MiB (a bare "10"
 * meant as GiB is caught here: the error says to write "10G"), rounded up
 * to whole 512-byte sectors as qemu-img does.  WHAT names the option or
 * key in the error ("--size", "disks[0].size"). */
int kiln_parse_disk_size (const char *s, const char *what, uint64_t *bytes, GError **err);

/* A time: a whole number of seconds, optionally followed by s, m or h
 * ("90", "90s", "5m", "1h"), from MIN to MAX seconds.  Returns 0 and
 * *SECONDS, or -1 with ERR (KILN_ERROR_USAGE) naming WHAT ("--wait=5d",
 * "test: timeout") and the range. */
int kiln_parse_duration (const char *s, const char *what, unsigned min, unsigned max,
                         unsigned *seconds, GError **err);

/* Is NAME usable as a libvirt domain name, template or clone name?  kiln
 * makes file names from these (NAME.qcow2, NAME_VARS.fd), so: 1 to 64
 * characters, ASCII letters, digits, '-', '_' and '.', starting with a
 * letter or a digit.  false with ERR (KILN_ERROR_USAGE) saying what is
 * wrong, with WHAT ("--name", "template.name") in front. */
bool kiln_name_valid (const char *name, const char *what, GError **err);

/* Is U a user name a guest can have (1 to 32 characters: letters,
 * digits, '.', '_', '-', '$'; not starting with '-')? */
bool kiln_user_name_valid (const char *u);
/* Is H a host name (RFC 1123: dot-separated labels of 1 to 63 letters,
 * digits and inner '-', 253 characters at most)? */
bool kiln_hostname_valid (const char *h);

#endif
