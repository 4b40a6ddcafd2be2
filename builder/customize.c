/* customize.c: kiln customize (-a DISK | -d DOMAIN) OPS... [--dry-run],
 * virt-customize's job in one appliance launch. */
#include <stdio.h>

#include "kiln.h"
#include "customize.h"
#include "guest.h"
#include "msg.h"
#include "opts.h"

enum { OPT_ADD = 1, OPT_DOMAIN, OPT_FORMAT, OPT_DRY_RUN, OPT_UNSAFE_WRITE, OPT_TRACE };

const struct kiln_option kiln_customize_verb_options[] = {
  { "add", 'a', KILN_ARG_REQUIRED, "DISK", "the disk image to customize (repeat for a guest on several disks)", OPT_ADD },
  { "domain", 'd', KILN_ARG_REQUIRED, "DOMAIN", "customize the disks of this libvirt domain (shut off)", OPT_DOMAIN },
  { "format", 0, KILN_ARG_REQUIRED, "raw|qcow2", "the format of the disks that follow (default: detected)", OPT_FORMAT },
  { "dry-run", 'n', KILN_ARG_NONE, NULL, "open read-only and print what would be done", OPT_DRY_RUN },
  { "unsafe-write-template", 0, KILN_ARG_NONE, NULL, "write -a DISK even if linked clones are backed by it or a running domain uses it (corrupts them)", OPT_UNSAFE_WRITE },
  { "trace", 'x', KILN_ARG_NONE, NULL, "trace libguestfs calls on stderr (passwords and /etc/shadow left out)", OPT_TRACE },
  KILN_OPTION_END
};

/* A random password is shown once, on stdout, as virt-builder does: the
 * user has no other way to learn it. */
static void
print_generated_passwords (const struct kiln_customize *c)
{
  const GPtrArray *pw = kiln_customize_generated_passwords (c);

  for (guint i = 0; i < pw->len; i++) {
    const struct kiln_customize_password *p = pw->pdata[i];

    printf ("%s's password: %s\n", p->user, p->password);
  }
  fflush (stdout);
}

int
kiln_cmd_customize (struct kiln_ctx *ctx, int argc, char **argv)
{
  g_autoptr (kiln_opts) p = kiln_opts_new (ctx, argc, argv);
  g_autoptr (kiln_customize) c = kiln_customize_new ();
  g_autoptr (kiln_guest) gu = NULL;
  g_autoptr (GError) err = NULL;
  g_auto (kiln_disk_args) da = { 0 };
  const char *arg = NULL;
  bool dry_run = false;
  int opt, r = 0;

  kiln_disk_args_init (&da);
  while (r == 0 && (opt = kiln_opts_next (p, &arg)) != 0) {
    switch (opt) {
    case OPT_ADD: r = kiln_disk_args_take (&da, ctx, 'a', arg); break;
    case OPT_DOMAIN: r = kiln_disk_args_take (&da, ctx, 'd', arg); break;
    case OPT_FORMAT: r = kiln_disk_args_take (&da, ctx, 'f', arg); break;
    case OPT_UNSAFE_WRITE: da.unsafe_write = true; break;
    case OPT_TRACE: kiln_guest_trace_calls (true); break;
    case OPT_DRY_RUN:
      dry_run = true;
      break;
    default:
      if (kiln_customize_add (c, opt, arg, &err) == -1)
        return err->code == KILN_ERROR_USAGE ? kiln_usage_error (ctx, "%s", err->message)
                                             : kiln_fail (err);
      break;
    }
  }
  if (r != 0)
    return r;
  if (kiln_opts_operand_index (p) < argc)
    return kiln_usage_error (ctx, "unexpected argument '%s' (disks are given with -a)",
                             argv[kiln_opts_operand_index (p)]);
  if ((r = kiln_disk_args_check (&da, ctx)) != 0)
    return r;
  if (kiln_customize_is_empty (c))
    return kiln_usage_error (ctx, "no customize operation given (see kiln customize --help)");

  gu = kiln_guest_new (dry_run);
  gu->network = !dry_run && kiln_customize_needs_network (c);
  kiln_guest_cache_inspection (gu, ctx);
  if (kiln_disk_args_add_to_guest (&da, ctx, gu, &err) == -1)
    return kiln_fail (err);
  if (kiln_guest_launch (gu, &err) == -1 ||
      kiln_guest_inspect (gu, &err) == -1 ||
      kiln_guest_mount (gu, &err) == -1)
    return kiln_fail (err);
  if (kiln_customize_apply (c, gu, dry_run, &err) == -1) {
    g_prefix_error (&err, "%s: ", kiln_disk_args_name (&da));
    kiln_guest_close (gu, NULL);
    return kiln_fail (err);
  }
  print_generated_passwords (c);
  if (kiln_guest_close (gu, &err) == -1)
    return kiln_fail (err);
  kiln_info ("Finished%s", dry_run ? " (dry run: nothing was changed)" : "");
  return KILN_EXIT_OK;
}
