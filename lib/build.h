/* build.h: making one output image from a verified base: overlay (or
 * standalone copy), then customize and sysprep in ONE appliance launch,
 * written under a temporary name and renamed only when complete.  Used by
 * kiln build; kiln create does the same work and can share it. */
#ifndef KILN_BUILD_H
#define KILN_BUILD_H

#include <stdint.h>
#include "kiln.h"
#include "customize.h"
#include "sysprep.h"

struct kiln_build_image_opts {
  const char *base;               /* the verified base image */
  const char *base_format;        /* NULL: detected */
  const char *output;             /* the final path */
  const char *format;             /* "qcow2" | "raw" */
  bool copy;                      /* a standalone copy instead of an overlay */
  uint64_t size;                  /* 0: the base's virtual size */
  bool force;                     /* replace OUTPUT if it exists */
  struct kiln_customize *custom;  /* NULL or empty: no customize step */
  struct kiln_sysprep_sel *sysprep;   /* NULL: no sysprep */
};

/* What happened, for manifests. */
struct kiln_build_image_result {
  char *digest;                   /* "sha256:HEX" of OUTPUT as written */
  char *distro, *osinfo, *type;   /* from inspection, or NULL (no launch) */
  int major, minor;
  bool launched;                  /* false: nothing needed the appliance */
  enum kiln_accel accel;
  double create_seconds, launch_seconds, customize_seconds, sysprep_seconds;
};

/* Make O->output.  On failure nothing is left under OUTPUT or a temporary
 * name; an existing OUTPUT is refused (KILN_ERROR_EXISTS) unless force,
 * and replaced only once the new image is complete. */
int kiln_build_image (const struct kiln_ctx *ctx, const struct kiln_build_image_opts *o,
                      struct kiln_build_image_result *res, GError **err);
void kiln_build_image_result_clear (struct kiln_build_image_result *res);

/* Remove the temporary files of the builds in progress; async-signal-safe,
 * for a verb's SIGINT/SIGTERM handler. */
void kiln_build_remove_temps (void);

/* "sha256:HEX" of a file's bytes (OpenSSL EVP, read in blocks). */
char *kiln_file_sha256 (const char *path, GError **err);

struct kiln_recipe;

/* The libvirt side of a recipe, after its image is complete: define and
 * start the networks it names that are absent, define the template domain
 * for IMAGE (an old one of that name is replaced only with FORCE, and
 * never while linked clones depend on it), then make its linked clones.
 * BUILT (may be NULL) is how IMAGE was made: its inspection gives the OS
 * when the recipe does not name one, with no second appliance launch.
 * A recipe with none of these sections: nothing done. */
int kiln_build_register (const struct kiln_ctx *ctx, const struct kiln_recipe *r,
                         const char *image, const struct kiln_build_image_result *built,
                         bool force, GError **err);

#endif
