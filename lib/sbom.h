/* sbom.h: a software bill of materials for an image, as an SPDX 2.3 JSON
 * document: the image, the operating system in it, every package its
 * package database lists (libguestfs inspection,
 * guestfs_inspect_list_applications2), and the base image it was made
 * from with its verified digest.
 *
 * Reading the packages needs an inspected, mounted guest, so kiln build
 * reads them in the launch that customizes the image (kiln_image_build)
 * and kiln inspect --sbom in its own; this unit never launches. */
#ifndef KILN_SBOM_H
#define KILN_SBOM_H

#include "kiln.h"

struct kiln_guest;

/* One installed package, as the guest's package database says. */
struct kiln_sbom_package {
  char *name;
  char *version;                  /* "[EPOCH:]VERSION[-RELEASE]", as dpkg and rpm print it */
  char *arch;                     /* NULL when the database does not say */
  char *source;                   /* the source package; NULL when the database does not say */
};

/* The operating system of an image and its packages. */
struct kiln_sbom_guest {
  char *type, *distro, *product_name, *arch, *osinfo, *package_format;
  int major, minor;
  GPtrArray *packages;            /* struct kiln_sbom_package *, by name; never NULL */
};

typedef struct kiln_sbom_guest kiln_sbom_guest;
struct kiln_sbom_guest *kiln_sbom_guest_new (void);
void kiln_sbom_guest_free (struct kiln_sbom_guest *sg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (kiln_sbom_guest, kiln_sbom_guest_free)

/* Add a package (the strings are copied; ARCH and SOURCE may be NULL or
 * empty, meaning unknown).  For callers that read a package list some
 * other way, and for tests. */
void kiln_sbom_guest_add (struct kiln_sbom_guest *sg, const char *name, int epoch,
                          const char *version, const char *release, const char *arch,
                          const char *source);

/* Add to SG the packages of TEXT, the output of the guest's
 * rpm -qa --qf '%{NAME}\t%{EPOCHNUM}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\t%{SOURCERPM}\n'
 * ("(none)" for a tag the package lacks; the source package is the NAME
 * part of SOURCERPM).  0, or -1 with ERR (KILN_ERROR_GUEST) on a line
 * without those six fields (packages before it stay added). */
int kiln_sbom_add_rpm_qa (struct kiln_sbom_guest *sg, const char *text, GError **err);

/* Add to SG the installed packages of TEXT, a dpkg status file
 * (/var/lib/dpkg/status: deb822 stanzas).  A package is installed when
 * the last word of its Status field is "installed"; its version is the
 * Version field as written ("[EPOCH:]UPSTREAM[-REVISION]"), its source
 * the first word of Source (the package's own name when there is none),
 * as dpkg-query's ${source:Package} says.  Stanzas with an empty or no
 * Package or Version are skipped; 0, or -1 with ERR (KILN_ERROR_GUEST) when TEXT
 * holds a NUL byte. */
int kiln_sbom_add_dpkg_status (struct kiln_sbom_guest *sg, const char *text, size_t len,
                               GError **err);

/* The operating system and packages of GU, which kiln_guest_inspect and
 * kiln_guest_mount have prepared: a deb guest's /var/lib/dpkg/status is
 * read by kiln_sbom_add_dpkg_status (libguestfs' own list needs its own
 * inspection, which the inspection cache (lib/inspection.h) saves); an
 * rpm guest's database through libguestfs, or where libguestfs cannot
 * read it (Debian's appliance lacks rpm's macros) the guest's own
 * rpm -qa; other formats through libguestfs, whose inspection the guest
 * then needs (kiln_guest's lists_packages).  No launch.  A new object for the caller
 * to free, or NULL with ERR (KILN_ERROR_GUEST). */
struct kiln_sbom_guest *kiln_sbom_read_guest (struct kiln_guest *gu, GError **err);

/* What an SPDX document describes.  Every string is borrowed. */
struct kiln_sbom_doc {
  const char *image;              /* the image file (its base name names the document) */
  const char *image_digest;       /* "ALG:HEX" of the image file, or NULL */
  const struct kiln_sbom_guest *guest;   /* NULL: not inspected (nothing needed a
                                            launch); the document then lists the
                                            image and its base only */
  const char *base;               /* the base image's path, or NULL: no base */
  const char *base_source;        /* where it came from (URL or path), or NULL */
  const char *base_digest;        /* "ALG:HEX" of the base as stored, or NULL */
  bool base_verified;             /* the base matched a published checksum */
  const char *base_source_digest; /* "ALG:HEX" of the bytes fetched (what the
                                     published checksum matched), or NULL; a
                                     second checksum of the base when it is
                                     the same file (BASE_SOURCE is BASE) */
  const char *created;            /* "YYYY-MM-DDThh:mm:ssZ"; NULL: now */
};

/* D as an SPDX 2.3 JSON document (pretty, newline-terminated), for the
 * caller to g_free; every registered secret (secret.h) redacted, as in a
 * manifest.  SPDX ids are "SPDXRef-" and letters, digits, '.' and
 * '-' only, unique within the document; the document namespace is a
 * unique URI under https://kiln.invalid/spdx/.  NULL with ERR
 * (KILN_ERROR_USAGE) when D has no image or a digest is not "ALG:HEX" with
 * ALG sha256 or sha512 (kiln_checksum_parse). */
char *kiln_sbom_json (const struct kiln_sbom_doc *d, GError **err);

/* kiln_sbom_json (D) written to PATH atomically (kiln_file_write_atomic),
 * mode 0644, replacing what is there.  -1 with ERR (prefixed by PATH for a
 * write error). */
int kiln_sbom_write (const char *path, const struct kiln_sbom_doc *d, GError **err);

/* The SBOM's file for an image: "IMAGE.spdx.json" (for g_free). */
char *kiln_sbom_path (const char *image);

#endif
