/* image.h: making one output image from a verified base, the one
 * implementation behind both kiln create (options) and kiln build
 * (recipes), so that the same inputs give the same image:
 *
 *   base -> working file beside OUTPUT (mode 0600, kiln_temp_beside)
 *        -> qcow2 overlay on the base, or a standalone copy
 *           (qemu-img convert on the host)
 *        -> grown: the virtual disk, then its last partition and that
 *           partition's filesystem
 *        -> customize, then sysprep, in ONE appliance launch (none at all
 *           when there is nothing to do inside the image)
 *        -> sha256 digest -> published under OUTPUT by one rename that
 *           replaces an existing OUTPUT only with force.
 *
 * On failure, and on SIGINT/SIGTERM/SIGHUP when the verb's handler calls
 * kiln_temps_remove_all (fileio.h), nothing is left under a temporary
 * name or under OUTPUT. */
#ifndef KILN_IMAGE_H
#define KILN_IMAGE_H

#include <stdint.h>
#include "kiln.h"
#include "customize.h"
#include "sysprep.h"

struct kiln_sbom_guest;

struct kiln_image_opts {
  const char *base;               /* the verified base image */
  const char *base_format;        /* NULL: detected */
  const char *output;             /* the final path */
  const char *format;             /* "qcow2" | "raw"; NULL: qcow2 */
  bool copy;                      /* a standalone copy instead of an overlay
                                     (required for raw) */
  uint64_t size;                  /* bytes; 0: the base's virtual size */
  bool force;                     /* replace OUTPUT if it exists */
  struct kiln_customize *custom;  /* NULL or empty: no customize step */
  struct kiln_sysprep_sel *sysprep;   /* NULL: no sysprep */
  bool unpublished;               /* leave the complete image under RES->work,
                                     for a caller whose commit publishes it
                                     (kiln build) */
  bool packages;                  /* list the installed packages (res->contents,
                                     for an SBOM) in the launch, if there is one */
};

/* What happened, for output and manifests. */
struct kiln_image_result {
  char *digest;                   /* "sha256:HEX" of OUTPUT as written */
  char *distro, *osinfo, *type;   /* from inspection, or NULL (no launch) */
  int major, minor;
  bool launched;                  /* false: nothing needed the appliance */
  bool grown;                     /* the partition and filesystem were grown */
  enum kiln_accel accel;
  double create_seconds, launch_seconds, grow_seconds, customize_seconds, sysprep_seconds;
  GPtrArray *passwords;           /* struct kiln_customize_password * (customize.h)
                                     that customizing generated (random selectors),
                                     which the caller prints (kiln create) or
                                     stores (kiln build); never NULL after a
                                     success */
  char *work;                     /* with O->unpublished: the image, a temporary
                                     beside OUTPUT (kiln_temp_beside) that the
                                     caller publishes or discards */
  struct kiln_sbom_guest *contents;   /* with o->packages and a launch: the OS and
                                         its packages as the image is published
                                         (after customize and sysprep); else NULL */
};

/* Check O's choices without touching anything (the base may not be
 * known yet): an output named, a known format, no raw overlay.  -1 with ERR (KILN_ERROR_USAGE). */
int kiln_image_opts_check (const struct kiln_image_opts *o, GError **err);

/* Make O->output (see above), or with O->unpublished everything but
 * the last rename: the image is then RES->work.  An existing OUTPUT is KILN_ERROR_EXISTS
 * unless O->force, and is then replaced only once the new image is
 * complete; a size smaller than the base's is KILN_ERROR_USAGE (kiln
 * only grows).  An overlay on a base in kiln's cache is recorded as the
 * base's user (kiln cache prune keeps the base); until OUTPUT exists the
 * caller keeps prune away with the pin of its kiln_fetch result. */
int kiln_image_build (const struct kiln_ctx *ctx, const struct kiln_image_opts *o,
                      struct kiln_image_result *res, GError **err);
void kiln_image_result_clear (struct kiln_image_result *res);


#endif
