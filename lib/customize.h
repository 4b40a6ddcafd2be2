/* customize.h: the customize operations (--root-password, --install,
 * --run-command, ...), shared by kiln customize, kiln create and kiln
 * sysprep.  Parsed from the command line (or a recipe) into an ordered
 * list, then applied in that order on one launched guest. */
#ifndef KILN_CUSTOMIZE_H
#define KILN_CUSTOMIZE_H

#include "kiln.h"
#include "guest.h"

typedef struct kiln_customize kiln_customize;

/* One row per operation, ids from KILN_OPT_CUSTOMIZE_BASE; a verb puts
 * this table in its kiln_verb.group. */
extern const struct kiln_option kiln_customize_options[];

struct kiln_customize *kiln_customize_new (void);
void kiln_customize_free (struct kiln_customize *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (kiln_customize, kiln_customize_free)

/* Append the operation of option ID with argument ARG (NULL when it takes
 * none), checking its form; -1 and a KILN_ERROR_USAGE error otherwise.
 * NAME is the option's long name, for recipes that give it by name. */
int kiln_customize_add (struct kiln_customize *c, int id, const char *arg, GError **err);
int kiln_customize_add_by_name (struct kiln_customize *c, const char *name,
                                const char *arg, GError **err);

bool kiln_customize_is_empty (const struct kiln_customize *c);
/* Operation I (0-based, in order) as a line for --dry-run, logs and
 * manifests: never holds a password.  NULL past the end. */
char *kiln_customize_describe (const struct kiln_customize *c, guint i);
/* True when an operation needs the appliance's network (package work). */
bool kiln_customize_needs_network (const struct kiln_customize *c);

/* Apply every operation, in order, to GU (launched, inspected, mounted
 * read-write).  DRY_RUN: GU is read-only; say what would be done. */
int kiln_customize_apply (struct kiln_customize *c, struct kiln_guest *gu,
                          bool dry_run, GError **err);

#endif
