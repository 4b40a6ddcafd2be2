/* register.c: kiln register DISK --name NAME: the options, then
 * kiln_register_template (lib/register.c) and its result, printed. */
#include <stdio.h>
#include <string.h>

#include "kiln.h"
#include "json.h"
#include "msg.h"
#include "opts.h"
#include "register.h"
#include "value.h"

enum {
  OPT_NAME = 1, OPT_OS_VARIANT, OPT_MEMORY, OPT_VCPUS, OPT_NETWORK, OPT_DISK,
  OPT_POOL, OPT_PRINT_XML, OPT_RECIPE, OPT_VERIFY_UPLOAD,
};

const struct kiln_option kiln_register_options[] = {
  { "name", 'n', KILN_ARG_REQUIRED, "NAME", "the new domain's name (required)", OPT_NAME },
  { "os-variant", 0, KILN_ARG_REQUIRED, "ID|auto", "libosinfo id of the guest OS (default: auto, by inspecting the image)", OPT_OS_VARIANT },
  { "memory", 0, KILN_ARG_REQUIRED, "MiB", "memory (default: libosinfo's recommendation)", OPT_MEMORY },
  { "vcpus", 0, KILN_ARG_REQUIRED, "N", "virtual CPUs (default: libosinfo's recommendation)", OPT_VCPUS },
  { "network", 0, KILN_ARG_REQUIRED, "NET|user|none", "a libvirt network, a user-mode NIC, or no NIC (default: user)", OPT_NETWORK },
  { "disk", 0, KILN_ARG_REQUIRED, "SIZE[,target=vdX]", "add an empty qcow2 disk beside DISK (repeatable)", OPT_DISK },
  { "pool", 0, KILN_ARG_REQUIRED, "POOL", "upload DISK into this libvirt storage pool and use the volume", OPT_POOL },
  { "verify-upload", 0, KILN_ARG_NONE, NULL, "with --pool: download the volume back and compare its SHA-256 with DISK's", OPT_VERIFY_UPLOAD },
  { "print-xml", 0, KILN_ARG_NONE, NULL, "print the domain XML instead of defining it", OPT_PRINT_XML },
  { "recipe", 0, KILN_ARG_REQUIRED, "FILE", "record the recipe that built the image in the metadata", OPT_RECIPE },
  KILN_OPTION_END
};

static int
parse_extra_disk (struct kiln_ctx *ctx, GArray *extra, GPtrArray *owned, const char *arg)
{
  g_auto (GStrv) parts = g_strsplit (arg, ",", -1);
  struct kiln_register_disk e = { 0 };
  g_autoptr (GError) err = NULL;
  uint64_t bytes;

  if (kiln_parse_disk_size (parts[0], "--disk", &bytes, &err) == -1)
    return kiln_usage_error (ctx, "%s", err->message);
  e.size = (gint64) bytes;
  for (int i = 1; parts[i]; i++) {
    if (g_str_has_prefix (parts[i], "target=") && parts[i][7]) {
      char *t = g_strdup (parts[i] + 7);
      g_ptr_array_add (owned, t);
      e.target = t;
    } else {
      return kiln_usage_error (ctx, "--disk %s: unknown setting '%s' (only target=vdX)", arg, parts[i]);
    }
  }
  g_array_append_val (extra, e);
  return 0;
}

static void
print_result (struct kiln_ctx *ctx, const char *name, const struct kiln_register_result *res)
{
  if (ctx->json) {
    g_autoptr (JsonBuilder) b = json_builder_new ();

    json_builder_begin_object (b);
    kiln_json_add_string (b, "name", name);
    kiln_json_add_string (b, "uuid", res->uuid);
    kiln_json_add_string (b, "type", res->type);
    kiln_json_add_string (b, "disk", res->disk);
    kiln_json_add_string (b, "osinfo", res->osinfo);
    kiln_json_add_string (b, "osinfo_note", res->osinfo_note);
    json_builder_set_member_name (b, "memory_mib");
    json_builder_add_int_value (b, (gint64) res->memory_mib);
    json_builder_set_member_name (b, "vcpus");
    json_builder_add_int_value (b, res->vcpus);
    json_builder_end_object (b);
    kiln_json_print_builder (b);
  } else if (ctx->verbosity > 0) {
    printf ("registered template %s: %s, %" G_GUINT64_FORMAT " MiB, %u vCPU%s, domain type %s, disk %s\n",
            name, res->osinfo, res->memory_mib, res->vcpus, res->vcpus == 1 ? "" : "s",
            res->type, res->disk);
  }
}

int
kiln_cmd_register (struct kiln_ctx *ctx, int argc, char **argv)
{
  g_autoptr (kiln_opts) p = kiln_opts_new (ctx, argc, argv);
  g_autoptr (GError) err = NULL;
  g_autoptr (GArray) extra = g_array_new (FALSE, TRUE, sizeof (struct kiln_register_disk));
  g_autoptr (GPtrArray) owned = g_ptr_array_new_with_free_func (g_free);
  struct kiln_register_spec rs = { .network = "user" };
  struct kiln_register_result res = { 0 };
  const char *arg = NULL;
  guint64 v;
  int c, i, rc;

  while ((c = kiln_opts_next (p, &arg)) != 0) {
    switch (c) {
    case OPT_NAME: rs.name = arg; break;
    case OPT_OS_VARIANT: rs.os_variant = arg; break;
    case OPT_MEMORY:
      if (!g_ascii_string_to_unsigned (arg, 10, 16, 16 * 1024 * 1024, &v, NULL))
        return kiln_usage_error (ctx, "--memory takes MiB (at least 16), not '%s'", arg);
      rs.memory_mib = v;
      break;
    case OPT_VCPUS:
      if (!g_ascii_string_to_unsigned (arg, 10, 1, 4096, &v, NULL))
        return kiln_usage_error (ctx, "--vcpus takes a number of CPUs, not '%s'", arg);
      rs.vcpus = (unsigned) v;
      break;
    case OPT_NETWORK: rs.network = strcmp (arg, "none") == 0 ? NULL : arg; break;
    case OPT_DISK:
      if ((rc = parse_extra_disk (ctx, extra, owned, arg)) != 0)
        return rc;
      break;
    case OPT_POOL: rs.pool = arg; break;
    case OPT_VERIFY_UPLOAD: rs.verify_upload = true; break;
    case OPT_PRINT_XML: rs.print_xml = true; break;
    case OPT_RECIPE: rs.recipe = arg; break;
    }
  }
  i = kiln_opts_operand_index (p);
  if (argc - i != 1)
    return kiln_usage_error (ctx, argc - i == 0 ? "which disk? (kiln register DISK --name NAME)"
                                                : "one disk at a time (add more with --disk)");
  if (rs.name == NULL)
    return kiln_usage_error (ctx, "--name NAME is required");
  if (rs.verify_upload && rs.pool == NULL)
    return kiln_usage_error (ctx, "--verify-upload checks an upload: it needs --pool POOL");
  rs.disk = argv[i];
  rs.extra = (const struct kiln_register_disk *) extra->data;
  rs.n_extra = extra->len;

  if (kiln_register_template (ctx, &rs, &res, &err) == -1)
    return kiln_fail (err);
  if (res.osinfo_note)
    kiln_warn ("%s", res.osinfo_note);
  if (rs.print_xml)
    fputs (res.xml, stdout);
  else
    print_result (ctx, rs.name, &res);
  kiln_register_result_clear (&res);
  return KILN_EXIT_OK;
}
