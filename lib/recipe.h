/* recipe.h: kiln recipes (kiln-recipe(5)): one YAML file, and what it
 * extends, parsed with libyaml and validated completely before any work
 * starts.  Every error names FILE:LINE:COLUMN of the node at fault. */
#ifndef KILN_RECIPE_H
#define KILN_RECIPE_H

#include <stdint.h>
#include "kiln.h"

/* The recipe format version this kiln reads (the recipe: key). */
#define KILN_RECIPE_VERSION 1

/* What one recipe file may hold (kiln-recipe(5), LIMITS): more is an
 * error naming the file, the line and the limit. */
#define KILN_RECIPE_MAX_BYTES (1024 * 1024)   /* bytes of one file */
#define KILN_RECIPE_MAX_DEPTH 64              /* levels of nested lists and mappings */
#define KILN_RECIPE_MAX_NODES 100000          /* nodes of one file, aliases expanded */
#define KILN_RECIPE_MAX_KEYS 10000            /* keys of one mapping */

/* A file of the recipe: the one given, then each one it extends. */
struct kiln_recipe_file {
  char *path;                 /* as reached: the given path, or dirname + extends */
  char *digest;               /* "sha256:HEX" of its bytes */
};

/* A file of the host that the recipe reads besides itself (recipes are
 * code: these are read with the rights of whoever runs kiln). */
struct kiln_recipe_read {
  char *path;                 /* absolute, or a pattern like ~/.ssh/id*.pub */
  char *what;                 /* why: "upload", "password file", ... */
  char *where;                /* "FILE:LINE:COLUMN" of the node that names it */
};

struct kiln_customize_op;

/* One customize step: the operation's row and its typed parts, as
 * kiln_customize_add_args takes them (customize.h). */
struct kiln_recipe_step {
  char *op;                   /* the operation's name: "install" */
  const struct kiln_customize_op *row;
  char **args;                /* its parts, NULL-terminated: {"nginx", "curl", NULL} */
  char *display;              /* "op args" with passwords redacted: for logs, plans, manifests */
  char *where;                /* "FILE:LINE:COLUMN" of the step */
};

struct kiln_recipe_network {
  char *name, *bridge, *address, *dhcp, *forward;   /* NULL when not given */
};

struct kiln_recipe_disk {
  char *size;                 /* as written: "2G" */
  uint64_t bytes;             /* kiln_parse_disk_size: a bare number is bytes */
  char *target;               /* "vdb", or NULL: the next free one */
};

/* One command of the boot check (test: commands:): RUN in the guest's
 * shell over the serial console; its output (trailing whitespace and
 * CRs dropped) compared with EXPECT, exactly, or as a regular expression
 * (GRegex, multiline) when REGEX. */
struct kiln_recipe_check {
  char *run;
  char *expect;
  bool regex;
  char *where;                /* "FILE:LINE:COLUMN" of the command */
};

/* The most commands one boot check runs, and its longest wait. */
#define KILN_RECIPE_MAX_CHECKS 100
#define KILN_RECIPE_TEST_DEFAULT_TIMEOUT 300

typedef struct kiln_recipe kiln_recipe;
struct kiln_recipe {
  char *path;                 /* as given */
  char *name;
  GPtrArray *files;           /* struct kiln_recipe_file *: this one first */

  char *base_source;          /* template name, URL, or path (relative ones made absolute) */
  char *base_sums;            /* NULL or a URL */
  char *base_checksum;        /* NULL or "ALG:HEX" */
  bool base_insecure;

  char *output_path;          /* as written (relative to the working directory) */
  char *output_format;        /* "qcow2" | "raw" */
  char *output_mode;          /* "overlay" | "copy" */
  char *output_size;          /* NULL or as written */
  uint64_t output_bytes;      /* 0: the base's size (a bare number is bytes) */

  GPtrArray *steps;           /* struct kiln_recipe_step *, in order */

  bool sysprep;               /* a sysprep section is present */
  char *sysprep_operations;   /* comma list, or NULL (defaults) */
  char *sysprep_enable;       /* comma list, or NULL */

  GPtrArray *networks;        /* struct kiln_recipe_network * */

  bool template;              /* a template section is present */
  char *template_name;        /* defaults to name */
  char *os_variant;           /* "auto" by default */
  int memory;                 /* MiB; 0: osinfo's recommendation */
  int vcpus;                  /* 0: osinfo's recommendation */
  char *template_network;     /* "default" by default; "user", "none" or a network */
  GPtrArray *disks;           /* struct kiln_recipe_disk *: extra disks */

  char **clones;              /* NULL-terminated names, or NULL */

  bool test;                  /* a test section is present: boot a throwaway clone */
  unsigned test_timeout;      /* seconds until it is up (and again for the commands) */
  char *test_user;            /* login user, or NULL: the login prompt is the check */
  char *test_password;        /* "file:ABSPATH" or "password:SECRET" (a registered
                                 secret; wiped by kiln_recipe_free), or NULL */
  GPtrArray *test_checks;     /* struct kiln_recipe_check *, in order */

  GPtrArray *reads;           /* struct kiln_recipe_read *: every host file the
                                 recipe reads besides its own files, in order */
};

/* Load PATH and everything it extends.  VARS: "NAME=VALUE" strings from
 * --var (may be NULL); they win over the environment, which wins over the
 * recipe's vars (a value, or the first line of a file).  The values of
 * secret variables (declared {secret: true}, read from a file, or named
 * in a password:${NAME} selector) are registered with
 * kiln_secret_register, so that nothing kiln writes shows them; step
 * displays are redacted already.  NULL and a KILN_ERROR_USAGE error
 * "FILE:LINE:COLUMN: what is wrong" on any problem (a file over a limit
 * of KILN_RECIPE_MAX_* too).  kiln_recipe_free wipes the strings that
 * may hold expanded secrets. */
struct kiln_recipe *kiln_recipe_load (const char *path, const char *const *vars,
                                      GError **err);
void kiln_recipe_free (struct kiln_recipe *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (kiln_recipe, kiln_recipe_free)

/* Check one --var argument: NAME=VALUE with NAME a valid variable name. */
bool kiln_recipe_var_valid (const char *assignment);

#endif
