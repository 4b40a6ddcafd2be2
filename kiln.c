/* kiln.c: the front end.  One table of verbs; each verb parses its own
 * options (kiln_opts) and returns the exit status. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <guestfs.h>
#include <libvirt/libvirt.h>
#include <osinfo/osinfo.h>

#include "kiln.h"
#include "msg.h"
#include "opts.h"
#include "osinfo.h"
#include "customize.h"

#ifndef KILN_VERSION
#define KILN_VERSION "0.1.0"
#endif

extern const struct kiln_option kiln_inspect_options[];
extern const struct kiln_option kiln_sysprep_options[];

const struct kiln_verb kiln_verbs[] = {
  { "inspect", kiln_cmd_inspect, "Show the operating system in a disk image", "[OPTIONS] DISK",
    kiln_inspect_options, NULL, NULL },
  { "sysprep", kiln_cmd_sysprep, "Generalize an image so that it can be cloned",
    "(-a DISK | -d DOMAIN) [--operations LIST] [-n] [CUSTOMIZE OPERATIONS]",
    kiln_sysprep_options, kiln_customize_options, "Customize operations (in the customize slot)" },
  { NULL, NULL, NULL, NULL, NULL, NULL, NULL },
};

void kiln_print_version (void);

void
kiln_print_version (void)
{
  unsigned long lv = 0;
  guestfs_h *g = guestfs_create_flags (GUESTFS_CREATE_NO_ENVIRONMENT);

  printf ("kiln %s\n", KILN_VERSION);
  if (g) {
    struct guestfs_version *v = guestfs_version (g);

    if (v) {
      printf ("libguestfs %" PRIi64 ".%" PRIi64 ".%" PRIi64 "%s\n",
              v->major, v->minor, v->release, v->extra);
      guestfs_free_version (v);
    }
    guestfs_close (g);
  }
  if (virGetVersion (&lv, NULL, NULL) == 0)
    printf ("libvirt %lu.%lu.%lu\n", lv / 1000000, lv / 1000 % 1000, lv % 1000);
  printf ("libosinfo %d.%d.%d (osinfo-db %s)\n", OSINFO_MAJOR_VERSION,
          OSINFO_MINOR_VERSION, OSINFO_MICRO_VERSION, kiln_osinfo_db_version ());
}

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
