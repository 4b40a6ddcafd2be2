/* opts.h: the front end (cli/): the verb table and the verbs' entry
 * points, command-line parsing driven by the option tables (kiln.h has
 * their types), --help, --version and usage errors.
 *
 * This is front-end code: it prints, and --help, --version and a bad
 * option end the process, as in git's parse-options.  lib/ never includes
 * this header (tests/check-layout.sh keeps it so). */
#ifndef KILN_OPTS_H
#define KILN_OPTS_H

#include <stdio.h>
#include "kiln.h"

/* -c, --accel, --json, -v, -q, -h, -V, --long-options: accepted by every
 * verb, before or after it. */
extern const struct kiln_option kiln_global_options[];

/* The verbs (cli/verbs.c), in the order of the pipeline, as kiln --help
 * lists them; the last row has a NULL name. */
extern const struct kiln_verb kiln_verbs[];
const struct kiln_verb *kiln_verb_find (const char *name);

/* Verb entry points, one per file of builder/, clone/ and sysprep/sysprep.c. */
int kiln_cmd_inspect (struct kiln_ctx *ctx, int argc, char **argv);
int kiln_cmd_register (struct kiln_ctx *ctx, int argc, char **argv);
int kiln_cmd_clone (struct kiln_ctx *ctx, int argc, char **argv);
int kiln_cmd_fetch (struct kiln_ctx *ctx, int argc, char **argv);
int kiln_cmd_list (struct kiln_ctx *ctx, int argc, char **argv);
int kiln_cmd_cache (struct kiln_ctx *ctx, int argc, char **argv);
int kiln_cmd_repo (struct kiln_ctx *ctx, int argc, char **argv);
int kiln_cmd_build (struct kiln_ctx *ctx, int argc, char **argv);
int kiln_cmd_customize (struct kiln_ctx *ctx, int argc, char **argv);
int kiln_cmd_create (struct kiln_ctx *ctx, int argc, char **argv);
int kiln_cmd_sysprep (struct kiln_ctx *ctx, int argc, char **argv);

typedef struct kiln_opts kiln_opts;

/* A parser for CTX->verb's options merged with the global ones, over ARGV
 * (ARGV[0] is the verb's name).  With CTX->verb NULL it parses only the
 * global options in front of the verb and stops at the first operand. */
struct kiln_opts *kiln_opts_new (struct kiln_ctx *ctx, int argc, char **argv);
void kiln_opts_free (struct kiln_opts *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (kiln_opts, kiln_opts_free)

/* The next verb option: its id and, when it takes one, its argument in
 * *ARG.  Global options are applied to the context and skipped; --help,
 * --version and --long-options print and exit 0; a bad option prints a
 * usage error and exits 2.  Returns 0 when the options are exhausted. */
int kiln_opts_next (struct kiln_opts *p, const char **arg);

/* Index in P's ARGV of the first operand, once kiln_opts_next (P) returned
 * 0 (operands were moved behind the options); before that, -1. */
int kiln_opts_operand_index (const struct kiln_opts *p);

/* When OPERAND (a pointer into P's ARGV) is the word that followed an
 * option whose value is optional, given without one (--wait 600): that
 * option's long name, for a usage error saying to attach the value
 * (--wait=600), as getopt takes a separate word for an operand.  Else
 * NULL. */
const char *kiln_opts_detached_value (const struct kiln_opts *p, const char *operand);

/* kiln --help (VERB NULL: the verb list) or kiln VERB --help. */
void kiln_opts_print_help (const struct kiln_verb *verb, FILE *out);

/* "kiln VERB: MESSAGE" and a hint to --help, on stderr; returns 2. */
int kiln_usage_error (const struct kiln_ctx *ctx, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

/* kiln --version: kiln's version and those of the libraries it runs on. */
void kiln_print_version (FILE *out);

/* ---- -a DISK / -d DOMAIN / --format, shared by customize and sysprep ---- */

struct kiln_guest;

/* The disks a verb works on: -a DISK (repeatable, each with the --format
 * given before it, "auto" meaning detected) or -d DOMAIN (its disks). */
struct kiln_disk_args {
  GPtrArray *disks;             /* char *, owned */
  GPtrArray *formats;           /* char * or NULL (detect), one per disk */
  const char *domain;
  const char *format;           /* for the -a that follow; NULL: detect */
  bool unsafe_write;            /* --unsafe-write-template: no kiln_image_check_writable */
};

typedef struct kiln_disk_args kiln_disk_args;
void kiln_disk_args_init (struct kiln_disk_args *a);
/* Frees what init made (also on a zeroed struct). */
void kiln_disk_args_clear (struct kiln_disk_args *a);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (kiln_disk_args, kiln_disk_args_clear)
/* Take -a (WHAT 'a'), -d ('d') or --format ('f') with ARG.  0, or a usage
 * error printed and KILN_EXIT_USAGE returned. */
int kiln_disk_args_take (struct kiln_disk_args *a, const struct kiln_ctx *ctx, char what,
                         const char *arg);
/* Exactly one of -a and -d was given: 0, else a usage error (2). */
int kiln_disk_args_check (const struct kiln_disk_args *a, const struct kiln_ctx *ctx);
/* Add the disks to GU (the domain's when -d, which must be shut off, in
 * the formats its XML gives).  Unless GU is read-only or unsafe_write is
 * set, each -a DISK must pass kiln_image_check_writable first (no linked
 * clone backed by it, no running domain using it): checked for every
 * disk before any is added, so a refusal comes before a launch. */
int kiln_disk_args_add_to_guest (struct kiln_disk_args *a, const struct kiln_ctx *ctx,
                                 struct kiln_guest *gu, GError **err);
/* What to call the image in messages: the domain or the first disk. */
const char *kiln_disk_args_name (const struct kiln_disk_args *a);

/* ---- What a verb prints of lib/'s results ---- */

struct kiln_customize;
/* "USER's password: PASSWORD" on stdout for each password that C's
 * random selectors generated (as virt-builder prints them). */
void kiln_print_generated_passwords (const struct kiln_customize *c);

#endif
