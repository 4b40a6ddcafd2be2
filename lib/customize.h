/* customize.h: the customize operations (--root-password, --install,
 * --run-command, ...), shared by kiln customize, kiln create, kiln sysprep
 * and recipes.  ONE table, kiln_customize_ops, says for each operation its
 * name (the long option and the recipe key), the shape of its argument,
 * its help line and the code that checks, applies and describes it; the
 * command line's option rows, the recipe keys, --help and the describe
 * text all come from it.  Operations are added (checked) in order, then
 * applied in that order on one launched guest. */
#ifndef KILN_CUSTOMIZE_H
#define KILN_CUSTOMIZE_H

#include "kiln.h"
#include "guest.h"

typedef struct kiln_customize kiln_customize;

/* The shape of an operation's argument: how the command line's string is
 * split into typed parts, and how a recipe writes them. */
enum kiln_customize_shape {
  KILN_CUSTOMIZE_NONE,        /* no argument.  Recipe: "- update" or "- update: true" */
  KILN_CUSTOMIZE_STRING,      /* one part.  Recipe: "- hostname: NAME" */
  KILN_CUSTOMIZE_LIST,        /* A,B,...: one part each.  Recipe: a list, or "A, B" */
  KILN_CUSTOMIZE_PAIR,        /* A:B, split at the first ':' (B may hold more).
                                 Recipe: {KEY0: A, KEY1: B}, or the string "A:B" */
  KILN_CUSTOMIZE_HEAD_LIST,   /* A:B[:C...], split at every ':'.
                                 Recipe: {KEY0: A, KEY1: B | [B, C]}, or the string */
  KILN_CUSTOMIZE_USER_KEY,    /* USER, USER:file:F or USER:string:KEY -> (USER[, file|string, X]).
                                 Recipe: {KEY0: USER[, KEY1: F | KEY2: KEY]}, or the string */
};

/* What parts are (kiln_customize_op.flags). */
enum {
  KILN_CUSTOMIZE_LOCAL = 1 << 0,    /* part 0 is a local file: relative to the recipe */
  KILN_CUSTOMIZE_SELECTOR = 1 << 1, /* the last part is a password selector (password.h) */
  KILN_CUSTOMIZE_NETWORK = 1 << 2,  /* needs the appliance's network (package work) */
  KILN_CUSTOMIZE_SETTING = 1 << 3,  /* a setting for the whole run, not a step */
  KILN_CUSTOMIZE_NOT_ROOT = 1 << 4, /* its guest paths may not name the guest's root */
};

/* Which parts are paths in the guest (kiln_customize_op.guest): bit I for
 * part I; in a HEAD_LIST the highest bit covers every later part too. */
#define KILN_CUSTOMIZE_PART(i) (1u << (i))

struct kiln_customize_step;         /* one checked operation (customize.c) */
struct kiln_customize_run;          /* the state of one kiln_customize_apply */

/* One row of the table. */
struct kiln_customize_op {
  const char *name;                 /* --NAME on the command line, NAME: in a recipe */
  enum kiln_customize_shape shape;
  const char *metavar;              /* the argument in --help and messages: "FILE:CONTENT" */
  const char *help;                 /* the --help line */
  const char *keys[3];              /* a recipe mapping's keys for the parts (PAIR and after) */
  unsigned flags;
  unsigned guest;                   /* KILN_CUSTOMIZE_PART bits: parts that are guest paths,
                                       normalized before parse sees them */
  /* Check ARGS (the parts, NULL-terminated, as the shape gives them) and
   * fill S; false and a KILN_ERROR_USAGE error "--NAME: ..." otherwise. */
  bool (*parse) (struct kiln_customize *c, struct kiln_customize_step *s,
                 const char *const *args, GError **err);
  /* Do it on the guest (NULL for a setting). */
  int (*apply) (struct kiln_customize_run *run, const struct kiln_customize_step *s,
                GError **err);
  /* A line for plans, logs and manifests, never holding a secret (NULL:
   * "--NAME PARTS"). */
  char *(*describe) (const struct kiln_customize_step *s);
};

/* The table, ending with a row whose name is NULL. */
extern const struct kiln_customize_op kiln_customize_ops[];

/* The command line's option rows, made from kiln_customize_ops (same
 * order, ids from KILN_OPT_CUSTOMIZE_BASE); a verb puts this in its
 * kiln_verb.group. */
extern struct kiln_option kiln_customize_options[];

/* The row named NAME (a leading "--" is allowed), or NULL. */
const struct kiln_customize_op *kiln_customize_op_find (const char *name);

/* Split a command-line argument ARG of OP into its parts by OP's shape
 * (NULL ARG for NONE); NULL and a KILN_ERROR_USAGE error when ARG does not
 * have the shape.  Recipes use it for the string forms too. */
char **kiln_customize_split (const struct kiln_customize_op *op, const char *arg, GError **err);

/* PATH, a path inside the guest, in its one spelling: absolute, without
 * empty or "." components or a trailing '/' ("//", "/." and "/./" are
 * "/"; "/etc//x/" is "/etc/x").  Every check on a guest path (the
 * guest's root above all) is made on this form, and the operation gets
 * it.  A new string; NULL and a KILN_ERROR_USAGE error (without a
 * "--NAME: " prefix) when PATH is NULL, empty or relative, or has a ".."
 * component (a symbolic link in the guest decides where that leads). */
char *kiln_guest_path_normalize (const char *path, GError **err);

/* Replace each guest-path part of ARGS (OP's parts, NULL-terminated,
 * g_malloc'd) by its kiln_guest_path_normalize form, in place, and refuse
 * the guest's root for an operation with KILN_CUSTOMIZE_NOT_ROOT.  -1 and
 * a KILN_ERROR_USAGE error "--NAME: ..." otherwise.
 * kiln_customize_add_args does this itself; recipes call it when loaded. */
int kiln_customize_normalize_paths (const struct kiln_customize_op *op, char **args, GError **err);

/* ARGS written back in the command line's form, a password selector
 * shown by kiln_password_selector_shown (for plans). */
char *kiln_customize_args_text (const struct kiln_customize_op *op, const char *const *args);

struct kiln_customize *kiln_customize_new (void);
void kiln_customize_free (struct kiln_customize *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (kiln_customize, kiln_customize_free)

/* Append operation OP with its typed parts ARGS (as kiln_customize_split
 * gives them; NULL for none), checking them: local files are read now, so
 * a bad argument fails before any appliance starts.  -1 and a
 * KILN_ERROR_USAGE error otherwise. */
int kiln_customize_add_args (struct kiln_customize *c, const struct kiln_customize_op *op,
                             const char *const *args, GError **err);
/* The command line's way: the option of id ID (kiln_customize_options)
 * with its argument ARG (NULL when it takes none), split by its shape. */
int kiln_customize_add (struct kiln_customize *c, int id, const char *arg, GError **err);
/* The same with the operation given by NAME. */
int kiln_customize_add_by_name (struct kiln_customize *c, const char *name,
                                const char *arg, GError **err);

bool kiln_customize_is_empty (const struct kiln_customize *c);
/* Operation I (0-based, in order) as a line for --dry-run, logs and
 * manifests: never holds a password.  NULL past the end. */
char *kiln_customize_describe (const struct kiln_customize *c, guint i);
/* True when an operation needs the appliance's network (package work). */
bool kiln_customize_needs_network (const struct kiln_customize *c);

/* Apply every operation, in order, to GU (launched, inspected, mounted
 * read-write), reporting each through kiln_event_info ("customize").
 * DRY_RUN: GU is read-only; each operation is a kiln_event_result line
 * "would run: ...". */
int kiln_customize_apply (struct kiln_customize *c, struct kiln_guest *gu,
                          bool dry_run, GError **err);

/* A password kiln_customize_apply generated (a random selector): the
 * user's name and the password, both owned by the struct. */
struct kiln_customize_password {
  char *user;
  char *password;
};

/* A copy of P (both strings copied), which the caller frees with
 * kiln_customize_password_free. */
struct kiln_customize_password *kiln_customize_password_copy (const struct kiln_customize_password *p);

/* Free P (a gpointer, to be a GPtrArray's free function), wiping the
 * password first; NULL is fine. */
void kiln_customize_password_free (gpointer p);

/* The passwords that kiln_customize_apply generated (random selectors),
 * in order: struct kiln_customize_password *, owned by C, valid until
 * kiln_customize_free (which wipes them).  Empty when none.  lib/ never
 * shows them: the verb prints or stores them. */
const GPtrArray *kiln_customize_generated_passwords (const struct kiln_customize *c);

#endif
