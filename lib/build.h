/* build.h: what kiln build does after a recipe's image is made (see
 * image.h for the image itself): the libvirt side of the recipe. */
#ifndef KILN_BUILD_H
#define KILN_BUILD_H

#include "kiln.h"
#include "image.h"

struct kiln_recipe;

/* The libvirt side of a recipe, after its image is complete: define and
 * start the networks it names that are absent, define the template domain
 * for IMAGE (an old one of that name is replaced only with FORCE, and
 * never while linked clones depend on it), then make its linked clones.
 * BUILT (may be NULL) is how IMAGE was made: its inspection gives the OS
 * when the recipe does not name one, with no second appliance launch.
 * A recipe with none of these sections: nothing done. */
int kiln_build_register (const struct kiln_ctx *ctx, const struct kiln_recipe *r,
                         const char *image, const struct kiln_image_result *built,
                         bool force, GError **err);

#endif
