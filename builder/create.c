/* create.c: kiln create SOURCE -o OUT: fetch SOURCE (or take a local
 * image), then make OUT with kiln_image_build (lib/image.c), the same
 * call kiln build makes for a recipe: the options here fill the same
 * struct kiln_image_opts that a recipe's output section does. */
#include <stdio.h>
#include <string.h>

#include "kiln.h"
#include "customize.h"
#include "fetch.h"
#include "fileio.h"
#include "guest.h"
#include "image.h"
#include "msg.h"
#include "opts.h"
#include "sysprep.h"
#include "value.h"
#include "writable.h"

enum {
  OPT_OUTPUT = 1, OPT_FORMAT, OPT_SIZE, OPT_COPY, OPT_FORCE, OPT_SYSPREP,
  OPT_CHECKSUM, OPT_SUMS, OPT_INSECURE, OPT_UNSAFE_WRITE, OPT_TRACE, OPT_MAX_SIZE,
};

const struct kiln_option kiln_create_options[] = {
  { "output", 'o', KILN_ARG_REQUIRED, "OUT", "the image to write", OPT_OUTPUT },
  { "format", 0, KILN_ARG_REQUIRED, "qcow2|raw", "OUT's format (default: qcow2; raw implies --copy)", OPT_FORMAT },
  { "size", 0, KILN_ARG_REQUIRED, "SIZE", "grow the disk, its last partition and filesystem to SIZE (e.g. 8G)", OPT_SIZE },
  { "copy", 0, KILN_ARG_NONE, NULL, "write a standalone copy instead of an overlay on the cached base", OPT_COPY },
  { "force", 0, KILN_ARG_NONE, NULL, "replace OUT if it exists", OPT_FORCE },
  { "unsafe-write-template", 0, KILN_ARG_NONE, NULL, "with --force, replace OUT even if linked clones are backed by it or a running domain uses it (corrupts them)", OPT_UNSAFE_WRITE },
  { "sysprep", 0, KILN_ARG_OPTIONAL, "OPS", "generalize after customizing (OPS as for kiln sysprep --operations)", OPT_SYSPREP },
  { "checksum", 0, KILN_ARG_REQUIRED, "ALG:HEX", "expected digest of a downloaded SOURCE", OPT_CHECKSUM },
  { "sums", 0, KILN_ARG_REQUIRED, "URL", "a SHA512SUMS/SHA256SUMS file to check SOURCE against", OPT_SUMS },
  { "insecure", 0, KILN_ARG_NONE, NULL, "accept what verifies nothing: http:// with no checksum, --sums over http://, an unsigned http:// repository", OPT_INSECURE },
  { "max-size", 0, KILN_ARG_REQUIRED, "SIZE", "refuse a download or an unpacked base larger than SIZE (default: the index's size, else 64G)", OPT_MAX_SIZE },
  { "trace", 'x', KILN_ARG_NONE, NULL, "trace libguestfs calls on stderr (passwords and /etc/shadow left out)", OPT_TRACE },
  KILN_OPTION_END
};

int
kiln_cmd_create (struct kiln_ctx *ctx, int argc, char **argv)
{
  g_autoptr (kiln_opts) p = kiln_opts_new (ctx, argc, argv);
  g_autoptr (kiln_customize) custom = kiln_customize_new ();
  g_autoptr (kiln_sysprep_sel) sel = NULL;
  g_autoptr (GError) err = NULL;
  struct kiln_image_opts o = { .format = "qcow2", .custom = custom };
  struct kiln_image_result res = { 0 };
  struct kiln_fetch_opts fo = { 0 };
  struct kiln_fetch_result fr = { 0 };
  const char *arg = NULL, *source;
  bool unsafe_write = false;
  int opt, i;

  while ((opt = kiln_opts_next (p, &arg)) != 0) {
    switch (opt) {
    case OPT_OUTPUT: o.output = arg; break;
    case OPT_FORMAT:
      if (g_strcmp0 (arg, "qcow2") != 0 && g_strcmp0 (arg, "raw") != 0)
        return kiln_usage_error (ctx, "--format takes qcow2 or raw, not '%s'", arg);
      o.format = arg;
      break;
    case OPT_SIZE:
      if (kiln_parse_disk_size (arg, "--size", &o.size, &err) == -1)
        return kiln_usage_error (ctx, "%s", err->message);
      break;
    case OPT_COPY: o.copy = true; break;
    case OPT_FORCE: o.force = true; break;
    case OPT_UNSAFE_WRITE: unsafe_write = true; break;
    case OPT_SYSPREP:
      if (sel == NULL)
        sel = kiln_sysprep_sel_new ();
      if (arg && kiln_sysprep_sel_operations (sel, arg, &err) == -1)
        return kiln_usage_error (ctx, "--sysprep: %s", err->message);
      break;
    case OPT_CHECKSUM: fo.checksum = arg; break;
    case OPT_SUMS: fo.sums_url = arg; break;
    case OPT_INSECURE: fo.insecure = true; break;
    case OPT_MAX_SIZE:
      if (kiln_parse_size (arg, &fo.max_size, &err) == -1)
        return kiln_usage_error (ctx, "--max-size: %s", err->message);
      break;
    case OPT_TRACE: kiln_guest_trace_calls (true); break;
    default:
      if (kiln_customize_add (custom, opt, arg, &err) == -1)
        return err->code == KILN_ERROR_USAGE ? kiln_usage_error (ctx, "%s", err->message)
                                             : kiln_fail (err);
      break;
    }
  }
  o.sysprep = sel;
  i = kiln_opts_operand_index (p);
  for (int k = i; k < argc; k++) {
    const char *opt = kiln_opts_detached_value (p, argv[k]);

    if (opt && argc - i != 1)
      return kiln_usage_error (ctx, "'%s' after --%s is read as a source: --%s takes its value "
                               "attached, as --%s=%s", argv[k], opt, opt, opt, argv[k]);
  }
  if (argc - i != 1)
    return kiln_usage_error (ctx, argc - i == 0 ? "which source? (kiln create SOURCE -o OUT)"
                                                : "one source at a time");
  source = argv[i];
  if (o.output == NULL)
    return kiln_usage_error (ctx, "-o OUT is required");
  if (strcmp (o.format, "raw") == 0)
    o.copy = true;              /* a raw file cannot have a backing file */
  if (kiln_image_opts_check (&o, &err) == -1)
    return kiln_usage_error (ctx, "%s", err->message);
  /* Refused before the download too, not only when the image is done. */
  if (!o.force && g_file_test (o.output, G_FILE_TEST_EXISTS)) {
    g_set_error (&err, KILN_ERROR, KILN_ERROR_EXISTS,
                 "%s already exists (use --force to replace it)", o.output);
    return kiln_fail (err);
  }
  /* Replacing an image that linked clones are backed by corrupts them. */
  if (o.force && !unsafe_write && kiln_image_check_writable (ctx, o.output, &err) == -1)
    return kiln_fail (err);
  if (o.force && unsafe_write && g_file_test (o.output, G_FILE_TEST_EXISTS))
    kiln_warn (KILN_UNSAFE_WRITE_OPTION ": replacing %s without checking for linked clones "
               "backed by it or running domains using it", o.output);

  if (kiln_fetch (ctx, source, &fo, &fr, &err) == -1)
    return kiln_fail (err);
  if (!fr.verified && fo.insecure)
    kiln_warn ("%s was not verified: %s", fr.source, fr.verification);
  o.base = fr.path;
  o.base_format = fr.format;
  if (kiln_image_build (ctx, &o, &res, &err) == -1) {
    kiln_fetch_result_clear (&fr);
    return kiln_fail (err);
  }
  kiln_info ("Finished: %s", o.output);
  for (guint k = 0; k < res.passwords->len; k++) {
    const struct kiln_customize_password *pw = res.passwords->pdata[k];

    printf ("%s's password: %s\n", pw->user, pw->password);
  }
  printf ("%s\n", o.output);
  kiln_image_result_clear (&res);
  kiln_fetch_result_clear (&fr);
  return KILN_EXIT_OK;
}
