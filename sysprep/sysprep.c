/* sysprep.c: kiln sysprep (-a DISK | -d DOMAIN): generalize an image so it
 * can be copied many times (virt-sysprep's options and operations), with
 * the customize operations run in the same appliance launch. */
#include <stdio.h>
#include <string.h>

#include "kiln.h"
#include "customize.h"
#include "domain.h"
#include "guest.h"
#include "json.h"
#include "msg.h"
#include "opts.h"
#include "sysprep.h"

enum {
  OPT_ADD = 1,
  OPT_DOMAIN,
  OPT_FORMAT,
  OPT_OPERATIONS,
  OPT_ENABLE,
  OPT_LIST_OPERATIONS,
  OPT_DRY_RUN,
};

const struct kiln_option kiln_sysprep_options[] = {
  { "add", 'a', KILN_ARG_REQUIRED, "DISK", "the disk image to generalize (repeat for a guest on several disks)", OPT_ADD },
  { "domain", 'd', KILN_ARG_REQUIRED, "DOMAIN", "generalize the disks of this shut-off libvirt domain", OPT_DOMAIN },
  { "format", 0, KILN_ARG_REQUIRED, "raw|qcow2", "the format of the -a disks (default: detected)", OPT_FORMAT },
  { "operations", 0, KILN_ARG_REQUIRED, "LIST", "operations to run: defaults, all, NAME, -NAME, comma-separated", OPT_OPERATIONS },
  { "enable", 0, KILN_ARG_REQUIRED, "LIST", "run exactly these operations (comma-separated names)", OPT_ENABLE },
  { "list-operations", 0, KILN_ARG_NONE, NULL, "list the operations (* = run by default) and exit", OPT_LIST_OPERATIONS },
  { "dry-run", 'n', KILN_ARG_NONE, NULL, "open the image read-only and list what would be removed or changed", OPT_DRY_RUN },
  KILN_OPTION_END
};

static const char *const phase_names[] = {
  [KILN_SYSPREP_FILES] = "files",
  [KILN_SYSPREP_CUSTOMIZE] = "customize",
  [KILN_SYSPREP_IDENTITY] = "identity",
  [KILN_SYSPREP_DISK] = "disk",
};

static void
list_operations (const struct kiln_ctx *ctx)
{
  if (ctx->json) {
    g_autoptr (JsonBuilder) b = json_builder_new ();

    json_builder_begin_array (b);
    for (size_t i = 0; kiln_sysprep_ops[i].name; i++) {
      json_builder_begin_object (b);
      kiln_json_add_string (b, "name", kiln_sysprep_ops[i].name);
      json_builder_set_member_name (b, "default");
      json_builder_add_boolean_value (b, kiln_sysprep_ops[i].default_on);
      kiln_json_add_string (b, "phase", phase_names[kiln_sysprep_ops[i].phase]);
      kiln_json_add_string (b, "description", kiln_sysprep_ops[i].description);
      json_builder_end_object (b);
    }
    json_builder_end_array (b);
    kiln_json_print_builder (b);
    return;
  }
  for (size_t i = 0; kiln_sysprep_ops[i].name; i++)
    printf ("%s %s %s\n", kiln_sysprep_ops[i].name,
            kiln_sysprep_ops[i].default_on ? "*" : " ", kiln_sysprep_ops[i].description);
}

static bool
is_customize_id (int id)
{
  for (const struct kiln_option *o = kiln_customize_options; o->long_name; o++)
    if (o->id == id)
      return true;
  return false;
}

int
kiln_cmd_sysprep (struct kiln_ctx *ctx, int argc, char **argv)
{
  g_autoptr (kiln_opts) p = kiln_opts_new (ctx, argc, argv);
  g_autoptr (kiln_sysprep_sel) sel = kiln_sysprep_sel_new ();
  g_autoptr (kiln_customize) custom = kiln_customize_new ();
  g_autoptr (kiln_guest) gu = NULL;
  g_autoptr (GError) err = NULL;
  g_autoptr (GPtrArray) disks = g_ptr_array_new_with_free_func (g_free);
  g_auto (GStrv) domain_disks = NULL;
  const char *arg = NULL, *domain = NULL, *format = NULL;
  bool dry_run = false, list = false;
  int c;

  while ((c = kiln_opts_next (p, &arg)) != 0) {
    switch (c) {
    case OPT_ADD:
      g_ptr_array_add (disks, g_strdup (arg));
      break;
    case OPT_DOMAIN:
      if (domain)
        return kiln_usage_error (ctx, "-d/--domain given twice");
      domain = arg;
      break;
    case OPT_FORMAT:
      if (g_strcmp0 (arg, "raw") != 0 && g_strcmp0 (arg, "qcow2") != 0)
        return kiln_usage_error (ctx, "--format takes raw or qcow2, not '%s'", arg);
      format = arg;
      break;
    case OPT_OPERATIONS:
      if (kiln_sysprep_sel_operations (sel, arg, &err) == -1)
        return kiln_usage_error (ctx, "%s", err->message);
      break;
    case OPT_ENABLE:
      if (kiln_sysprep_sel_enable (sel, arg, &err) == -1)
        return kiln_usage_error (ctx, "%s", err->message);
      break;
    case OPT_LIST_OPERATIONS:
      list = true;
      break;
    case OPT_DRY_RUN:
      dry_run = true;
      break;
    default:
      if (is_customize_id (c) && kiln_customize_add (custom, c, arg, &err) == -1)
        return kiln_usage_error (ctx, "%s", err->message);
      break;
    }
  }
  if (list) {
    list_operations (ctx);
    return KILN_EXIT_OK;
  }
  if (kiln_opts_operand_index (p) < argc)
    return kiln_usage_error (ctx, "unexpected argument '%s' (disks are given with -a)",
                             argv[kiln_opts_operand_index (p)]);
  if (disks->len == 0 && domain == NULL)
    return kiln_usage_error (ctx, "which image? (kiln sysprep -a DISK or -d DOMAIN)");
  if (disks->len > 0 && domain)
    return kiln_usage_error (ctx, "-a and -d cannot be used together");
  if (!kiln_customize_is_empty (custom) && !kiln_sysprep_sel_has (sel, "customize"))
    return kiln_usage_error (ctx, "customize operations were given but the 'customize' "
                             "operation is not selected (add it to --operations)");

  if (domain) {
    domain_disks = kiln_domain_disks_for_edit (ctx, domain, &err);
    if (domain_disks == NULL)
      return kiln_fail (err);
    for (char **d = domain_disks; *d; d++)
      g_ptr_array_add (disks, g_strdup (*d));
  }
  gu = kiln_guest_new (dry_run);
  gu->network = kiln_customize_needs_network (custom);
  for (guint i = 0; i < disks->len; i++)
    if (kiln_guest_add_disk (gu, disks->pdata[i], domain ? NULL : format, &err) == -1)
      return kiln_fail (err);
  if (kiln_guest_launch (gu, &err) == -1 ||
      kiln_guest_inspect (gu, &err) == -1)
    return kiln_fail (err);
  if (g_strcmp0 (gu->type, "linux") != 0) {
    kiln_error ("%s: kiln sysprep generalizes Linux guests; this one is %s",
                (char *) disks->pdata[0], gu->type ? gu->type : "of an unknown type");
    return KILN_EXIT_FAILURE;
  }
  if (kiln_guest_mount (gu, &err) == -1)
    return kiln_fail (err);
  {
    g_autofree char *ops = kiln_sysprep_sel_to_string (sel);

    kiln_debug ("sysprep operations: %s", ops);
  }
  if (kiln_sysprep_run (sel, gu, custom, dry_run, &err) == -1)
    return kiln_fail (err);
  if (kiln_guest_close (gu, &err) == -1)
    return kiln_fail (err);
  if (!dry_run)
    kiln_info ("%s generalized", domain ? domain : (char *) disks->pdata[0]);
  return KILN_EXIT_OK;
}
