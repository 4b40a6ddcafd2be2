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

/* One command of a recipe's boot check, as it went. */
struct kiln_build_test_check {
  char *run, *expect;          /* as the recipe gives them */
  bool regex;                  /* EXPECT is a regular expression (match:) */
  char *got;                   /* the output (kiln_console_clean), or NULL: not run */
  int status;                  /* its exit status */
  bool pass;
};

/* The boot check of a recipe's test: section (kiln-recipe(5)): a
 * throwaway linked clone of the new template, booted and waited for,
 * the commands run on its serial console, then the clone destroyed,
 * undefined and its overlay and console log removed. */
struct kiln_build_test_report {
  char *clone;                 /* the throwaway clone's name */
  bool up;                     /* it came up within the timeout */
  const char *how;             /* static: "login prompt", ...; or NULL */
  double boot_seconds;         /* from its start until up (or the give-up) */
  bool logged_in;              /* the login (if any) succeeded */
  GPtrArray *checks;           /* struct kiln_build_test_check * */
  bool pass;                   /* up, logged in, every check passed */
};
void kiln_build_test_report_clear (struct kiln_build_test_report *rep);

/* Told the result of a passed boot check, after the clone is gone and
 * before the build's files (but the image) are published: the caller
 * records it (kiln build rewrites its manifest's temporary).  -1 with
 * ERR undoes the commit. */
typedef int (*kiln_build_tested_fn) (const struct kiln_build_test_report *rep, void *data,
                                     GError **err);

/* What a recipe's libvirt side needs, judged from the connection's URI
 * alone (kiln_virt_uri_is_local; no connection is opened, so kiln build
 * --dry-run checks it too): a remote connection (template.connect, -c or
 * KILN_LIBVIRT_REMOTE) needs template.pool, and takes no test: section.
 * 0, or -1 with ERR (KILN_ERROR_USAGE, saying what to change). */
int kiln_build_check_target (const struct kiln_ctx *ctx, const struct kiln_recipe *r,
                             GError **err);

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
 * With a test: section, the boot check runs once the template and its
 * clones are defined (KILN_FAULT step "test" before it): a failing check
 * (not up within the recipe's timeout, login refused, an output that
 * does not match) is KILN_ERROR_FAILED saying what was expected and what
 * came, and undoes the commit like any other failure.  TESTED (may be
 * NULL) is called with DATA when it passed.
 *
 * On failure (KILN_FAULT steps "networks", "publish", "template-define",
 * "clone-N", and those of FILES included) everything is undone: no new
 * domain or network remains, the previous files and template are back
 * under their names and definition, no temporary is left.  The
 * temporaries of FILES are consumed (published or removed) either way. */
int kiln_build_register (const struct kiln_ctx *ctx, const struct kiln_recipe *r,
                         const struct kiln_build_file *files, size_t n_files, const char *image,
                         const struct kiln_image_result *built, bool force,
                         kiln_build_tested_fn tested, void *data, GError **err);

#endif
