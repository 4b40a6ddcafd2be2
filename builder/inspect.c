/* inspect.c: kiln inspect DISK, what virt-inspector tells, plus the
 * libosinfo id that kiln register will use for the image; --sbom FILE
 * writes the image's SBOM (lib/sbom.h), as kiln build writes it beside
 * the images it makes, in the same launch. */
#include <stdio.h>

#include "kiln.h"
#include "digest.h"
#include "guest.h"
#include "json.h"
#include "msg.h"
#include "opts.h"
#include "osinfo.h"
#include "sbom.h"

enum { OPT_FORMAT = 1, OPT_TRACE, OPT_SBOM };

const struct kiln_option kiln_inspect_options[] = {
  { "format", 0, KILN_ARG_REQUIRED, "raw|qcow2", "the disk's format (default: detected by qemu-img)", OPT_FORMAT },
  { "trace", 'x', KILN_ARG_NONE, NULL, "trace libguestfs calls on stderr (passwords and /etc/shadow left out)", OPT_TRACE },
  { "sbom", 0, KILN_ARG_REQUIRED, "FILE", "write the image's SBOM (SPDX 2.3 JSON: OS and installed packages) to FILE", OPT_SBOM },
  KILN_OPTION_END
};

static void
print_text (const char *disk, const struct kiln_guest *gu, const struct kiln_osinfo_match *m)
{
  printf ("%-17s %s\n", "disk:", disk);
  printf ("%-17s %s\n", "type:", gu->type ? gu->type : "unknown");
  printf ("%-17s %s\n", "distro:", gu->distro ? gu->distro : "unknown");
  printf ("%-17s %d.%d\n", "version:", gu->major, gu->minor);
  printf ("%-17s %s\n", "product:", gu->product_name ? gu->product_name : "unknown");
  printf ("%-17s %s\n", "hostname:", gu->hostname ? gu->hostname : "unknown");
  printf ("%-17s %s\n", "arch:", gu->arch ? gu->arch : "unknown");
  printf ("%-17s %s\n", "root:", gu->root);
  printf ("%-17s %s\n", "package format:", gu->package_format ? gu->package_format : "unknown");
  printf ("%-17s %s\n", "package manager:", gu->package_management ? gu->package_management : "unknown");
  if (m->exact)
    printf ("%-17s %s\n", "osinfo:", m->id);
  else
    printf ("%-17s %s (fallback: %s)\n", "osinfo:", m->id, m->note);
}

static void
print_json (const char *disk, const struct kiln_guest *gu, const struct kiln_osinfo_match *m)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autofree char *version = g_strdup_printf ("%d.%d", gu->major, gu->minor);

  json_builder_begin_object (b);
  kiln_json_add_strings (b, "disk", disk, "type", gu->type, "distro", gu->distro,
                         "version", version, NULL);
  kiln_json_add_int (b, "major", gu->major);
  kiln_json_add_int (b, "minor", gu->minor);
  kiln_json_add_strings (b, "product", gu->product_name, "hostname", gu->hostname,
                         "arch", gu->arch, "root", gu->root,
                         "package_format", gu->package_format,
                         "package_manager", gu->package_management,
                         "osinfo", m->id, "osinfo_wanted", m->wanted, NULL);
  kiln_json_add_bool (b, "osinfo_fallback", !m->exact);
  kiln_json_add_strings (b, "osinfo_note", m->note,
                         "accel", gu->accel == KILN_ACCEL_TCG ? "tcg" : "kvm", NULL);
  json_builder_end_object (b);
  kiln_json_print_builder (b);
}

/* The SBOM of DISK (inspected in GU) in FILE: mounts GU read-only for
 * the package database. */
static int
write_sbom (const char *file, const char *disk, struct kiln_guest *gu, GError **err)
{
  g_autoptr (kiln_sbom_guest) sg = NULL;
  g_autofree char *digest = NULL;
  struct kiln_sbom_doc d = { .image = disk };

  if (kiln_guest_mount (gu, err) == -1 || (sg = kiln_sbom_read_guest (gu, err)) == NULL ||
      (digest = kiln_digest_file (disk, "sha256", err)) == NULL)
    return -1;
  d.image_digest = digest;
  d.guest = sg;
  return kiln_sbom_write (file, &d, err);
}

int
kiln_cmd_inspect (struct kiln_ctx *ctx, int argc, char **argv)
{
  g_autoptr (kiln_opts) p = kiln_opts_new (ctx, argc, argv);
  g_autoptr (kiln_guest) gu = kiln_guest_new (true);
  g_autoptr (GError) err = NULL;
  struct kiln_osinfo_match m = { 0 };
  const char *format = NULL, *arg = NULL, *disk, *sbom = NULL;
  OsinfoDb *db;
  int c, i;

  while ((c = kiln_opts_next (p, &arg)) != 0) {
    switch (c) {
    case OPT_FORMAT:
      if (g_strcmp0 (arg, "raw") != 0 && g_strcmp0 (arg, "qcow2") != 0)
        return kiln_usage_error (ctx, "--format takes raw or qcow2, not '%s'", arg);
      format = arg;
      break;
    case OPT_TRACE:
      kiln_guest_trace_calls (true);
      break;
    case OPT_SBOM:
      sbom = arg;
      break;
    }
  }
  i = kiln_opts_operand_index (p);
  if (argc - i != 1)
    return kiln_usage_error (ctx, argc - i == 0 ? "which disk? (kiln inspect DISK)"
                                                : "one disk at a time");
  disk = argv[i];

  if (kiln_guest_add_disk (gu, disk, format, &err) == -1 ||
      kiln_guest_launch (gu, &err) == -1 ||
      kiln_guest_inspect (gu, &err) == -1)
    return kiln_fail (err);
  db = kiln_osinfo_db (&err);
  if (db == NULL ||
      kiln_osinfo_resolve (db, gu->osinfo, gu->distro, gu->major, gu->minor,
                           gu->type, &m, &err) == -1)
    return kiln_fail (err);
  if (ctx->json)
    print_json (disk, gu, &m);
  else
    print_text (disk, gu, &m);
  kiln_osinfo_match_clear (&m);
  if (sbom && write_sbom (sbom, disk, gu, &err) == -1)
    return kiln_fail (err);
  if (kiln_guest_close (gu, &err) == -1)
    return kiln_fail (err);
  return KILN_EXIT_OK;
}
