/* verbs.c: the one table of verbs.  Each verb parses its own options
 * (kiln_opts) and returns the exit status; kiln --help lists this table. */
#include <string.h>

#include "kiln.h"
#include "customize.h"
#include "opts.h"

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
const struct kiln_verb kiln_verbs[] = {
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
  { "build", kiln_cmd_build, "Run recipes: fetch, customize, sysprep, register, clone, boot check",
    "[OPTIONS] RECIPE...", kiln_build_options, NULL, NULL },
  { "cache", kiln_cmd_cache, "List, verify or prune the image cache", "[OPTIONS] list|verify|prune",
    kiln_cache_options, NULL, NULL },
  { "repo", kiln_cmd_repo, "Publish a directory of images as a repository", "[OPTIONS] index DIR",
    kiln_repo_options, NULL, NULL },
  { NULL, NULL, NULL, NULL, NULL, NULL, NULL },
};

const struct kiln_verb *
kiln_verb_find (const char *name)
{
  for (const struct kiln_verb *v = kiln_verbs; v->name; v++)
    if (strcmp (v->name, name) == 0)
      return v;
  return NULL;
}
