/* opts.c: getopt_long driven by kiln's option tables, so that parsing,
 * --help and --long-options cannot disagree.  Front-end code: it prints
 * help and usage errors and ends the process for --help and bad options. */
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "kiln.h"
#include "msg.h"
#include "opts.h"
#include "accel.h"

enum {
  GOPT_CONNECT = KILN_OPT_GLOBAL_BASE,
  GOPT_ACCEL,
  GOPT_CACHE_DIR,
  GOPT_JSON,
  GOPT_VERBOSE,
  GOPT_QUIET,
  GOPT_HELP,
  GOPT_VERSION,
  GOPT_LONG_OPTIONS,
};

const struct kiln_option kiln_global_options[] = {
  { "connect", 'c', KILN_ARG_REQUIRED, "URI", "libvirt connection URI (default: qemu:///system as root, else qemu:///session); register and clone take several", GOPT_CONNECT },
  { "accel", 0, KILN_ARG_REQUIRED, "auto|kvm|tcg", "accelerator for appliances and domains (default: auto, or $KILN_ACCEL)", GOPT_ACCEL },
  { "cache-dir", 0, KILN_ARG_REQUIRED, "DIR", "image cache (default: $XDG_CACHE_HOME/kiln, or /var/cache/kiln as root)", GOPT_CACHE_DIR },
  { "json", 0, KILN_ARG_NONE, NULL, "print results as JSON on stdout", GOPT_JSON },
  { "verbose", 'v', KILN_ARG_NONE, NULL, "say more about what is done", GOPT_VERBOSE },
  { "quiet", 'q', KILN_ARG_NONE, NULL, "print only errors and results", GOPT_QUIET },
  { "help", 'h', KILN_ARG_NONE, NULL, "show this help and exit", GOPT_HELP },
  { "version", 'V', KILN_ARG_NONE, NULL, "show the versions of kiln and its libraries and exit", GOPT_VERSION },
  { "long-options", 0, KILN_ARG_NONE, NULL, "list the long options, one a line (for shell completion)", GOPT_LONG_OPTIONS },
  KILN_OPTION_END
};

struct kiln_opts {
  struct kiln_ctx *ctx;
  int argc;
  char **argv;
  struct option *longopts;
  char *shortopts;
  const struct kiln_option **rows;   /* rows[i] describes longopts[i] */
  bool started;
  int operand_index;                 /* -1 until the options are exhausted */
  /* The word right after an option whose value is optional and was not
   * attached (--wait 600): getopt reads it as an operand. */
  const char *detached_word, *detached_option;
};

static size_t
count_rows (const struct kiln_option *t)
{
  size_t n = 0;

  while (t && t[n].long_name)
    n++;
  return n;
}

struct kiln_opts *
kiln_opts_new (struct kiln_ctx *ctx, int argc, char **argv)
{
  struct kiln_opts *p = g_new0 (struct kiln_opts, 1);
  const struct kiln_option *tables[3] = {
    ctx->verb ? ctx->verb->options : NULL,
    ctx->verb ? ctx->verb->group : NULL,
    kiln_global_options,
  };
  size_t n = count_rows (tables[0]) + count_rows (tables[1]) + count_rows (tables[2]);
  GString *shortopts = g_string_new (ctx->verb ? "" : "+");
  size_t k = 0;

  p->ctx = ctx;
  p->operand_index = -1;
  p->argc = argc;
  p->argv = argv;
  p->longopts = g_new0 (struct option, n + 1);
  p->rows = g_new0 (const struct kiln_option *, n + 1);
  for (size_t t = 0; t < G_N_ELEMENTS (tables); t++) {
    for (const struct kiln_option *o = tables[t]; o && o->long_name; o++, k++) {
      p->rows[k] = o;
      p->longopts[k].name = o->long_name;
      p->longopts[k].has_arg = o->arg == KILN_ARG_NONE ? no_argument
        : o->arg == KILN_ARG_REQUIRED ? required_argument : optional_argument;
      p->longopts[k].flag = NULL;
      p->longopts[k].val = o->id;
      if (o->short_name) {
        g_string_append_c (shortopts, (char) o->short_name);
        if (o->arg == KILN_ARG_REQUIRED)
          g_string_append_c (shortopts, ':');
        else if (o->arg == KILN_ARG_OPTIONAL)
          g_string_append (shortopts, "::");
      }
    }
  }
  p->shortopts = g_string_free (shortopts, FALSE);
  return p;
}

void
kiln_opts_free (struct kiln_opts *p)
{
  if (p == NULL)
    return;
  g_free (p->longopts);
  g_free (p->rows);
  g_free (p->shortopts);
  g_free (p);
}

static int
id_of_short (const struct kiln_opts *p, int c)
{
  for (size_t i = 0; p->rows[i]; i++)
    if (p->rows[i]->short_name == c)
      return p->rows[i]->id;
  return c;
}

static void
print_long_options (const struct kiln_opts *p)
{
  for (size_t i = 0; p->rows[i]; i++)
    printf ("--%s\n", p->rows[i]->long_name);
}

static void
apply_global (struct kiln_opts *p, int id, const char *arg)
{
  struct kiln_ctx *ctx = p->ctx;
  enum kiln_accel accel;

  switch (id) {
  case GOPT_CONNECT:
    ctx->connect_uri = arg;
    if (ctx->connect_all == NULL)
      ctx->connect_all = g_ptr_array_new ();
    g_ptr_array_add (ctx->connect_all, (gpointer) arg);
    break;
  case GOPT_CACHE_DIR: ctx->cache_dir = arg; break;
  case GOPT_JSON: ctx->json = true; break;
  case GOPT_VERBOSE: ctx->verbosity++; kiln_msg_set_verbosity (ctx->verbosity); break;
  case GOPT_QUIET: ctx->verbosity = 0; kiln_msg_set_verbosity (0); break;
  case GOPT_ACCEL:
    if (!kiln_accel_parse (arg, &accel))
      exit (kiln_usage_error (ctx, "--accel takes auto, kvm or tcg, not '%s'", arg));
    kiln_accel_set_mode (accel);
    break;
  case GOPT_HELP:
    if (ctx->verb)
      kiln_opts_print_help (ctx->verb, stdout);
    else
      kiln_opts_print_help (NULL, stdout);
    exit (KILN_EXIT_OK);
  case GOPT_VERSION:
    kiln_print_version (stdout);
    exit (KILN_EXIT_OK);
  case GOPT_LONG_OPTIONS:
    print_long_options (p);
    exit (KILN_EXIT_OK);
  }
}

int
kiln_opts_next (struct kiln_opts *p, const char **arg)
{
  int c;

  if (!p->started) {
    optind = 0;                 /* glibc: start afresh, also after a first parse */
    opterr = 0;
    p->started = true;
  }
  for (;;) {
    int prev = optind ? optind : 1;

    c = getopt_long (p->argc, p->argv, p->shortopts, p->longopts, NULL);
    if (c == -1) {
      p->operand_index = optind;
      return 0;
    }
    if (c == '?' || c == ':') {
      const char *bad = p->argv[prev < p->argc ? prev : p->argc - 1];

      if (c == ':' || (optopt && strchr (p->shortopts, optopt) != NULL))
        exit (kiln_usage_error (p->ctx, "option '%s' needs an argument", bad));
      exit (kiln_usage_error (p->ctx, "unknown option '%s'", bad));
    }
    c = id_of_short (p, c);
    for (size_t r = 0; optarg == NULL && p->rows[r]; r++)
      if (p->rows[r]->id == c && p->rows[r]->arg == KILN_ARG_OPTIONAL &&
          optind < p->argc && p->argv[optind][0] != '-') {
        p->detached_word = p->argv[optind];
        p->detached_option = p->rows[r]->long_name;
      }
    if (c >= KILN_OPT_GLOBAL_BASE) {
      apply_global (p, c, optarg);
      continue;
    }
    if (arg)
      *arg = optarg;
    return c;
  }
}

int
kiln_opts_operand_index (const struct kiln_opts *p)
{
  return p->operand_index;
}

const char *
kiln_opts_detached_value (const struct kiln_opts *p, const char *operand)
{
  return operand && operand == p->detached_word ? p->detached_option : NULL;
}

static void
print_rows (const struct kiln_option *t, FILE *out)
{
  for (const struct kiln_option *o = t; o && o->long_name; o++) {
    g_autofree char *left = NULL;

    if (o->short_name)
      left = g_strdup_printf ("-%c, --%s%s%s%s", o->short_name, o->long_name,
                              o->metavar ? (o->arg == KILN_ARG_OPTIONAL ? "[=" : " ") : "",
                              o->metavar ? o->metavar : "",
                              o->metavar && o->arg == KILN_ARG_OPTIONAL ? "]" : "");
    else
      left = g_strdup_printf ("    --%s%s%s%s", o->long_name,
                              o->metavar ? (o->arg == KILN_ARG_OPTIONAL ? "[=" : " ") : "",
                              o->metavar ? o->metavar : "",
                              o->metavar && o->arg == KILN_ARG_OPTIONAL ? "]" : "");
    if (strlen (left) <= 28)
      fprintf (out, "  %-28s %s\n", left, o->help);
    else
      fprintf (out, "  %s\n  %-28s %s\n", left, "", o->help);
  }
}

void
kiln_opts_print_help (const struct kiln_verb *verb, FILE *out)
{
  if (verb == NULL) {
    fprintf (out,
             "Usage: kiln [GLOBAL OPTIONS] VERB [OPTIONS] [ARGS]\n\n"
             "kiln builds, generalizes and clones KVM/libvirt images.\n\nVerbs:\n");
    for (const struct kiln_verb *v = kiln_verbs; v->name; v++)
      fprintf (out, "  %-12s %s\n", v->name, v->summary);
    fprintf (out, "\nGlobal options (accepted before or after the verb):\n");
    print_rows (kiln_global_options, out);
    fprintf (out,
             "\n'kiln VERB --help' describes a verb; 'man kiln-VERB' in full.\n"
             "Exit status: 0 success, 1 failure, 2 usage error.\n");
    return;
  }
  fprintf (out, "Usage: kiln %s %s\n\n%s.\n", verb->name, verb->synopsis, verb->summary);
  if (verb->options && verb->options->long_name) {
    fprintf (out, "\nOptions:\n");
    print_rows (verb->options, out);
  }
  if (verb->group && verb->group->long_name) {
    fprintf (out, "\n%s:\n", verb->group_title ? verb->group_title : "More options");
    print_rows (verb->group, out);
  }
  fprintf (out, "\nGlobal options:\n");
  print_rows (kiln_global_options, out);
  fprintf (out, "\nSee kiln-%s(1).  Exit status: 0 success, 1 failure, 2 usage error.\n",
           verb->name);
}

int
kiln_usage_error (const struct kiln_ctx *ctx, const char *fmt, ...)
{
  va_list ap;
  g_autofree char *msg = NULL;
  const char *verb = ctx && ctx->verb ? ctx->verb->name : NULL;

  va_start (ap, fmt);
  msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  if (verb) {
    fprintf (stderr, "kiln %s: %s\nTry 'kiln %s --help'.\n", verb, msg, verb);
  } else {
    fprintf (stderr, "kiln: %s\nTry 'kiln --help'.\n", msg);
  }
  return KILN_EXIT_USAGE;
}
