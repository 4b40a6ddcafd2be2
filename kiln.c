/* kiln.c: the front end.  One table of verbs; each verb parses its own
 * options (kiln_opts) and returns the exit status. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kiln.h"
#include "msg.h"
#include "opts.h"
#include "customize.h"
#include "event.h"

extern const struct kiln_option kiln_list_options[];
extern const struct kiln_option kiln_fetch_options[];
extern const struct kiln_option kiln_create_options[];
extern const struct kiln_option kiln_customize_verb_options[];
extern const struct kiln_option kiln_sysprep_options[];
extern const struct kiln_option kiln_inspect_options[];
extern const struct kiln_option kiln_register_options[];
extern const struct kiln_option kiln_clone_options[];
extern const struct kiln_option kiln_build_options[];
extern const struct kiln_option kiln_cache_options[];
extern const struct kiln_option kiln_repo_options[];

/* In the order of the pipeline, as kiln --help shows them. */
static const struct kiln_verb kiln_verbs[] = {
  { "list", kiln_cmd_list, "List the templates of the configured repositories", "[OPTIONS]",
    kiln_list_options, NULL, NULL },
  { "fetch", kiln_cmd_fetch, "Download, verify and cache an image", "[OPTIONS] TEMPLATE|URL|PATH",
    kiln_fetch_options, NULL, NULL },
  { "create", kiln_cmd_create, "Make an image from a template: overlay or copy, grow, customize, sysprep",
    "SOURCE -o OUT [--format qcow2|raw] [--size SIZE] [--copy] [OPERATIONS...] [--sysprep[=OPS]]",
    kiln_create_options, kiln_customize_options, "Customize operations (applied in order)" },
  { "customize", kiln_cmd_customize, "Customize a disk image: passwords, packages, files, first boot",
    "(-a DISK | -d DOMAIN) OPERATIONS... [-n]",
    kiln_customize_verb_options, kiln_customize_options, "Customize operations (applied in order)" },
  { "sysprep", kiln_cmd_sysprep, "Generalize an image so that it can be cloned",
    "(-a DISK | -d DOMAIN) [--operations LIST] [--enable LIST] [--list-operations] [-n] [OPERATIONS...]",
    kiln_sysprep_options, kiln_customize_options, "Customize operations (in the customize slot)" },
  { "inspect", kiln_cmd_inspect, "Show the operating system in a disk image", "[OPTIONS] DISK",
    kiln_inspect_options, NULL, NULL },
  { "register", kiln_cmd_register, "Define a libvirt template domain for a disk image",
    "[OPTIONS] DISK --name NAME", kiln_register_options, NULL, NULL },
  { "clone", kiln_cmd_clone, "Clone a domain: linked (qcow2 overlay) or full",
    "[OPTIONS] --original NAME (--name NEW | --auto-clone)", kiln_clone_options, NULL, NULL },
  { "build", kiln_cmd_build, "Run recipes: fetch, customize, sysprep, register, clone",
    "[OPTIONS] RECIPE...", kiln_build_options, NULL, NULL },
  { "cache", kiln_cmd_cache, "List, verify or prune the image cache", "[OPTIONS] list|verify|prune",
    kiln_cache_options, NULL, NULL },
  { "repo", kiln_cmd_repo, "Publish a directory of images as a repository", "[OPTIONS] index DIR",
    kiln_repo_options, NULL, NULL },
  { NULL, NULL, NULL, NULL, NULL, NULL, NULL },
};

static const struct kiln_verb *
find_verb (const char *name)
{
  for (const struct kiln_verb *v = kiln_verbs; v->name; v++)
    if (strcmp (v->name, name) == 0)
      return v;
  return NULL;
}

int
main (int argc, char **argv)
{
  struct kiln_ctx ctx = { .verbosity = 1 };
  int i;

  kiln_elapsed ();
  kiln_event_set_handler (kiln_msg_event_handler, NULL);
  kiln_opts_verb_table = kiln_verbs;
  /* The global options in front of the verb. */
  {
    g_autoptr (kiln_opts) p = kiln_opts_new (&ctx, argc, argv);

    while (kiln_opts_next (p, NULL) != 0)
      ;
    i = kiln_opts_operand_index (p);
  }
  if (i >= argc) {
    kiln_opts_print_help (NULL, stderr);
    return KILN_EXIT_USAGE;
  }
  ctx.verb = find_verb (argv[i]);
  if (ctx.verb == NULL)
    return kiln_usage_error (&ctx, "unknown verb '%s'", argv[i]);
  return ctx.verb->run (&ctx, argc - i, argv + i);
}
