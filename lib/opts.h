/* opts.h: command-line parsing driven by the option tables in kiln.h. */
#ifndef KILN_OPTS_H
#define KILN_OPTS_H

#include <stdio.h>
#include "kiln.h"

typedef struct kiln_opts kiln_opts;

/* A parser for CTX->verb's options merged with the global ones, over ARGV
 * (ARGV[0] is the verb's name).  With CTX->verb NULL it parses only the
 * global options in front of the verb and stops at the first operand. */
struct kiln_opts *kiln_opts_new (struct kiln_ctx *ctx, int argc, char **argv);
void kiln_opts_free (struct kiln_opts *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (kiln_opts, kiln_opts_free)

/* The next verb option: its id and, when it takes one, its argument in
 * *ARG.  Global options are applied to the context and skipped; --help and
 * --long-options print and exit 0; a bad option prints a usage error and
 * exits 2.  Returns 0 when the options are exhausted. */
int kiln_opts_next (struct kiln_opts *p, const char **arg);

/* Index in ARGV of the first operand, once kiln_opts_next returned 0. */
int kiln_opts_operand_index (const struct kiln_opts *p);

void kiln_opts_print_help (const struct kiln_verb *verb, FILE *out);

/* "kiln VERB: MESSAGE" and a hint to --help, on stderr; returns 2. */
int kiln_usage_error (const struct kiln_ctx *ctx, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

#endif
