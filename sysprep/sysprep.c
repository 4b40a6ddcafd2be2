/* sysprep.c: kiln sysprep (-a DISK | -d DOMAIN): generalize an image so it
 * can be copied many times (virt-sysprep's options and operations), with
 * the customize operations run in the same appliance launch. */
#include <stdio.h>
#include <string.h>

#include "kiln.h"
#include "customize.h"
#include "guest.h"
#include "json.h"
#include "msg.h"
#include "opts.h"
#include "sysprep.h"

enum {
  OPT_ADD = 1, OPT_DOMAIN, OPT_FORMAT,  /* the image: cli/disks.c */
  OPT_OPERATIONS, OPT_ENABLE, OPT_LIST_OPERATIONS, OPT_DRY_RUN, OPT_UNSAFE_WRITE, OPT_TRACE,
};

const struct kiln_option kiln_sysprep_options[] = {
  { "add", 'a', KILN_ARG_REQUIRED, "DISK", "the disk image to generalize (repeat for a guest on several disks)", OPT_ADD },
  { "domain", 'd', KILN_ARG_REQUIRED, "DOMAIN", "generalize the disks of this shut-off libvirt domain", OPT_DOMAIN },
  { "format", 0, KILN_ARG_REQUIRED, "raw|qcow2|auto", "the format of the -a disks that follow (default: auto, detected)", OPT_FORMAT },
  { "operations", 0, KILN_ARG_REQUIRED, "LIST", "operations to run: defaults, all, NAME, -NAME, comma-separated", OPT_OPERATIONS },
  { "enable", 0, KILN_ARG_REQUIRED, "LIST", "run exactly these operations (comma-separated names)", OPT_ENABLE },
  { "list-operations", 0, KILN_ARG_NONE, NULL, "list the operations (* = run by default) and exit", OPT_LIST_OPERATIONS },
  { "dry-run", 'n', KILN_ARG_NONE, NULL, "open the image read-only and list what would be removed or changed", OPT_DRY_RUN },
  { "unsafe-write-template", 0, KILN_ARG_NONE, NULL, "write -a DISK even if linked clones are backed by it or a running domain uses it (corrupts them)", OPT_UNSAFE_WRITE },
  { "trace", 'x', KILN_ARG_NONE, NULL, "trace libguestfs calls on stderr (passwords and /etc/shadow left out)", OPT_TRACE },
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
      kiln_json_add_bool (b, "default", kiln_sysprep_ops[i].default_on);
      kiln_json_add_strings (b, "phase", phase_names[kiln_sysprep_ops[i].phase],
                             "description", kiln_sysprep_ops[i].description, NULL);
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
  g_auto (kiln_disk_args) da = { 0 };
  const char *arg = NULL;
  bool dry_run = false, list = false;
  int c, r = 0;

  kiln_disk_args_init (&da);
  while (r == 0 && (c = kiln_opts_next (p, &arg)) != 0) {
    switch (c) {
    case OPT_ADD: r = kiln_disk_args_take (&da, ctx, 'a', arg); break;
    case OPT_DOMAIN: r = kiln_disk_args_take (&da, ctx, 'd', arg); break;
    case OPT_FORMAT: r = kiln_disk_args_take (&da, ctx, 'f', arg); break;
    case OPT_OPERATIONS:
      if (kiln_sysprep_sel_operations (sel, arg, &err) == -1)
        return kiln_usage_error (ctx, "%s", err->message);
      break;
    case OPT_ENABLE:
      if (kiln_sysprep_sel_enable (sel, arg, &err) == -1)
        return kiln_usage_error (ctx, "%s", err->message);
      break;
    case OPT_LIST_OPERATIONS: list = true; break;
    case OPT_DRY_RUN: dry_run = true; break;
    case OPT_UNSAFE_WRITE: da.unsafe_write = true; break;
    case OPT_TRACE: kiln_guest_trace_calls (true); break;
    default:
      if (is_customize_id (c) && kiln_customize_add (custom, c, arg, &err) == -1)
        return kiln_usage_error (ctx, "%s", err->message);
      break;
    }
  }
  if (r != 0)
    return r;
  if (list) {
    list_operations (ctx);
    return KILN_EXIT_OK;
  }
  if (kiln_opts_operand_index (p) < argc)
    return kiln_usage_error (ctx, "unexpected argument '%s' (disks are given with -a)",
                             argv[kiln_opts_operand_index (p)]);
  if ((r = kiln_disk_args_check (&da, ctx)) != 0)
    return r;
  if (!kiln_customize_is_empty (custom) && !kiln_sysprep_sel_has (sel, "customize"))
    return kiln_usage_error (ctx, "customize operations were given but the 'customize' "
                             "operation is not selected (add it to --operations)");

  gu = kiln_guest_new (dry_run);
  gu->network = kiln_customize_needs_network (custom);
  kiln_guest_cache_inspection (gu, ctx);
  if (kiln_disk_args_add_to_guest (&da, ctx, gu, &err) == -1 ||
      kiln_guest_launch (gu, &err) == -1 ||
      kiln_guest_inspect (gu, &err) == -1)
    return kiln_fail (err);
  if (g_strcmp0 (gu->type, "linux") != 0) {
    kiln_error ("%s: kiln sysprep generalizes Linux guests; this one is %s",
                kiln_disk_args_name (&da), gu->type ? gu->type : "of an unknown type");
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
  kiln_print_generated_passwords (custom);
  if (!dry_run)
    kiln_info ("%s generalized", kiln_disk_args_name (&da));
  return KILN_EXIT_OK;
}
