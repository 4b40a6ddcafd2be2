/* sysprep.h: generalizing a guest: the table of operations (sysprep/) and
 * how to select and run them on one launched guest, so that kiln create
 * --sysprep and kiln sysprep share one appliance launch with customize. */
#ifndef KILN_SYSPREP_H
#define KILN_SYSPREP_H

#include "kiln.h"
#include "guest.h"
#include "customize.h"

typedef struct kiln_sysprep_sel kiln_sysprep_sel;

/* The default selection ("defaults"). */
struct kiln_sysprep_sel *kiln_sysprep_sel_new (void);
void kiln_sysprep_sel_free (struct kiln_sysprep_sel *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (kiln_sysprep_sel, kiln_sysprep_sel_free)

/* virt-sysprep's --operations LIST (replaces the selection: "defaults",
 * "all", NAME, -NAME) and --enable LIST (exactly these).  Unknown names:
 * -1 and an error naming them. */
int kiln_sysprep_sel_operations (struct kiln_sysprep_sel *s, const char *list, GError **err);
int kiln_sysprep_sel_enable (struct kiln_sysprep_sel *s, const char *list, GError **err);

/* Run the selected operations on GU (launched, inspected, mounted), in
 * the documented order; CUSTOM (may be NULL) runs in the customize slot.
 * DRY_RUN: GU is read-only; list what would be removed or changed. */
int kiln_sysprep_run (const struct kiln_sysprep_sel *s, struct kiln_guest *gu,
                      struct kiln_customize *custom, bool dry_run, GError **err);

#endif
