/* customize.c: kiln customize (-a DISK | -d DOMAIN) OPS... [--dry-run],
 * virt-customize's job in one appliance launch. */
#include <stdio.h>

#include "kiln.h"
#include "customize.h"
#include "domain.h"
#include "guest.h"
#include "msg.h"
#include "opts.h"

enum { OPT_ADD = 1, OPT_DOMAIN, OPT_FORMAT, OPT_DRY_RUN };

const struct kiln_option kiln_customize_verb_options[] = {
  { "add", 'a', KILN_ARG_REQUIRED, "DISK", "the disk image to customize (repeat for a guest on several disks)", OPT_ADD },
  { "domain", 'd', KILN_ARG_REQUIRED, "DOMAIN", "customize the disks of this libvirt domain (shut off)", OPT_DOMAIN },
  { "format", 0, KILN_ARG_REQUIRED, "raw|qcow2", "the format of the disks that follow (default: detected)", OPT_FORMAT },
  { "dry-run", 'n', KILN_ARG_NONE, NULL, "open read-only and print what would be done", OPT_DRY_RUN },
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
  g_autoptr (GPtrArray) disks = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) formats = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (kiln_guest) gu = NULL;
  g_autoptr (GError) err = NULL;
  const char *domain = NULL, *format = NULL, *arg = NULL;
  bool dry_run = false;
  int opt;

  while ((opt = kiln_opts_next (p, &arg)) != 0) {
    switch (opt) {
    case OPT_ADD:
      g_ptr_array_add (disks, g_strdup (arg));
      g_ptr_array_add (formats, g_strdup (format));
      break;
    case OPT_DOMAIN:
      if (domain)
        return kiln_usage_error (ctx, "-d/--domain given twice");
      domain = arg;
      break;
    case OPT_FORMAT:
      if (g_strcmp0 (arg, "raw") != 0 && g_strcmp0 (arg, "qcow2") != 0 && g_strcmp0 (arg, "auto") != 0)
        return kiln_usage_error (ctx, "--format takes raw or qcow2, not '%s'", arg);
      format = g_strcmp0 (arg, "auto") == 0 ? NULL : arg;
      break;
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
  if (kiln_opts_operand_index (p) < argc)
    return kiln_usage_error (ctx, "unexpected argument '%s' (disks are given with -a)",
                             argv[kiln_opts_operand_index (p)]);
  if ((disks->len > 0) == (domain != NULL))
    return kiln_usage_error (ctx, "give either -a DISK or -d DOMAIN");
  if (kiln_customize_is_empty (c))
    return kiln_usage_error (ctx, "no customize operation given (see kiln customize --help)");

  if (domain) {
    g_auto (GStrv) paths = kiln_domain_disks_for_edit (ctx, domain, &err);

    if (paths == NULL)
      return kiln_fail (err);
    for (char **d = paths; *d; d++) {
      g_ptr_array_add (disks, g_strdup (*d));
      g_ptr_array_add (formats, NULL);
    }
  }

  gu = kiln_guest_new (dry_run);
  gu->network = !dry_run && kiln_customize_needs_network (c);
  for (guint i = 0; i < disks->len; i++)
    if (kiln_guest_add_disk (gu, disks->pdata[i], formats->pdata[i], &err) == -1)
      return kiln_fail (err);
  if (kiln_guest_launch (gu, &err) == -1 ||
      kiln_guest_inspect (gu, &err) == -1 ||
      kiln_guest_mount (gu, &err) == -1)
    return kiln_fail (err);
  if (kiln_customize_apply (c, gu, dry_run, &err) == -1) {
    g_prefix_error (&err, "%s: ", (const char *) disks->pdata[0]);
    kiln_guest_close (gu, NULL);
    return kiln_fail (err);
  }
  print_generated_passwords (c);
  if (kiln_guest_close (gu, &err) == -1)
    return kiln_fail (err);
  kiln_info ("Finished%s", dry_run ? " (dry run: nothing was changed)" : "");
  return KILN_EXIT_OK;
}
