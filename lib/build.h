/* build.h: what kiln build does after a recipe's image is made (see
 * image.h for the image itself): the libvirt side of the recipe. */
#ifndef KILN_BUILD_H
#define KILN_BUILD_H

#include "kiln.h"
#include "image.h"

struct kiln_recipe;

/* A file kiln build publishes at its commit point. */
struct kiln_build_file {
  const char *tmp;             /* a temporary from kiln_temp_beside (fileio.h);
                                  NULL: FINAL is removed at the commit */
  const char *final;
  const char *step;            /* the KILN_FAULT step (fault.h) of its
                                  publication, or NULL */
};

/* The precondition of a recipe's libvirt side, checked before any work
 * (kiln build runs it before fetching): a domain of the template's name
 * exists only with FORCE (KILN_ERROR_EXISTS), is shut off, and has no
 * linked clones (KILN_ERROR_BUSY, naming them); no domain has a clone's
 * name (KILN_ERROR_EXISTS: clones are made anew, even with FORCE).  The
 * scans fail closed (an error, never a pass). */
int kiln_build_check (const struct kiln_ctx *ctx, const struct kiln_recipe *r, bool force,
                      GError **err);

/* The commit of kiln build, a transaction.  FILES (N_FILES; the image
 * first, IMAGE being its final name) are complete under temporary names;
 * the recipe's networks that are absent are defined and started, the
 * template domain's XML is made (the precondition of kiln_build_check
 * checked again), then at the commit point: the image is published, the
 * previous template (FORCE) is undefined and the new one defined, its
 * linked clones are made, and the other FILES are published.  What is
 * replaced (files, the previous template's definition and extra disks)
 * is kept aside until all of that succeeded.
 *
 * BUILT (may be NULL) is how the image was made: its inspection gives the
 * OS when the recipe does not name one, with no second appliance launch.
 *
 * On failure (KILN_FAULT steps "networks", "publish", "template-define",
 * "clone-N", and those of FILES included) everything is undone: no new
 * domain or network remains, the previous files and template are back
 * under their names and definition, no temporary is left.  The
 * temporaries of FILES are consumed (published or removed) either way. */
int kiln_build_register (const struct kiln_ctx *ctx, const struct kiln_recipe *r,
                         const struct kiln_build_file *files, size_t n_files, const char *image,
                         const struct kiln_image_result *built, bool force, GError **err);

#endif
