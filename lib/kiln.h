/* kiln.h: what every part of kiln shares: the error domain, the global
 * context that the front end fills from the global options, and the types
 * of the verb and option tables (the tables themselves, the verb entry
 * points and the parser live with the front end, in cli/). */
#ifndef KILN_H
#define KILN_H

#include <stdbool.h>
#include <stddef.h>
#include <glib.h>

#define KILN_EXIT_OK      0
#define KILN_EXIT_FAILURE 1
#define KILN_EXIT_USAGE   2

#define KILN_ERROR (kiln_error_quark ())
GQuark kiln_error_quark (void);

enum kiln_error_code {
  KILN_ERROR_FAILED,      /* anything without a better code */
  KILN_ERROR_USAGE,       /* the command line or an input file is wrong */
  KILN_ERROR_NOT_FOUND,   /* a file, template, domain... does not exist */
  KILN_ERROR_EXISTS,      /* the output already exists */
  KILN_ERROR_VERIFY,      /* a checksum or a signature does not match */
  KILN_ERROR_GUEST,       /* libguestfs reported an error */
  KILN_ERROR_LIBVIRT,     /* libvirt reported an error */
  KILN_ERROR_BUSY,        /* a domain is running, an image is in use */
};

enum kiln_accel {
  KILN_ACCEL_AUTO,
  KILN_ACCEL_KVM,
  KILN_ACCEL_TCG,
};

/* Filled from the global options; every verb gets it. */
struct kiln_ctx {
  const char *connect_uri;      /* NULL: qemu:///system for root, else qemu:///session */
  GPtrArray *connect_all;       /* const char *: every -c given, in order (the last is
                                   connect_uri), or NULL: none; for the verbs that
                                   work on several hosts at once (kiln_hosts_run) */
  const char *cache_dir;        /* NULL: $XDG_CACHE_HOME/kiln or /var/cache/kiln */
  bool json;
  int verbosity;                /* 0 quiet, 1 normal, 2 verbose */
  const struct kiln_verb *verb;
};

enum kiln_arg {
  KILN_ARG_NONE,
  KILN_ARG_REQUIRED,
  KILN_ARG_OPTIONAL,
};

/* One row of a verb's option table.  --help and --long-options are printed
 * from these rows, and tests compare them with the man pages. */
struct kiln_option {
  const char *long_name;
  int short_name;               /* 0 when the option has no short form */
  enum kiln_arg arg;
  const char *metavar;          /* "FILE" in "--output FILE" */
  const char *help;
  int id;                       /* what kiln_opts_next() returns for it; > 0 */
};
#define KILN_OPTION_END { NULL, 0, KILN_ARG_NONE, NULL, NULL, 0 }

struct kiln_verb {
  const char *name;
  int (*run) (struct kiln_ctx *ctx, int argc, char **argv);
  const char *summary;          /* one line, for kiln --help */
  const char *synopsis;         /* after "kiln VERB ", for kiln VERB --help */
  const struct kiln_option *options;
  /* A shared group of options the verb accepts too (the customize
   * operations, for create, customize and sysprep), and its --help title. */
  const struct kiln_option *group;
  const char *group_title;
};

/* Ids >= KILN_OPT_GLOBAL_BASE belong to the global options, which every
 * verb accepts too (kiln --json inspect D and kiln inspect --json D). */
#define KILN_OPT_GLOBAL_BASE 10000
/* Ids of the shared customize operations (lib/customize.h). */
#define KILN_OPT_CUSTOMIZE_BASE 5000

#endif
