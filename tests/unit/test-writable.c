/* test-writable.c: kiln_image_check_writable (lib/writable.c), and the
 * formats kiln_domain_disks_for_edit takes from a domain's XML, on
 * libvirt's test:///default driver (its state lives while CONN is open,
 * so the library's own connections see the domains defined here). */
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <libvirt/libvirt.h>

#include "tap.h"
#include "diskfile.h"
#include "domain.h"
#include "virt.h"
#include "writable.h"

static virDomainPtr
define (virConnectPtr conn, const char *name, const char *disk, const char *format)
{
  g_autofree char *drv = format ? g_strdup_printf ("<driver name='qemu' type='%s'/>", format)
                                : g_strdup ("");
  g_autofree char *xml = g_strdup_printf (
    "<domain type='test'><name>%s</name><memory>65536</memory><vcpu>1</vcpu>"
    "<os><type>hvm</type></os><devices><disk type='file' device='disk'>%s"
    "<source file='%s'/><target dev='vda' bus='virtio'/></disk></devices></domain>",
    name, drv, disk);

  return virDomainDefineXML (conn, xml);
}

static void
test_edit_formats (const struct kiln_ctx *ctx, virConnectPtr conn, const char *dir)
{
  g_autofree char *lie = g_build_filename (dir, "guest-raw.img", NULL);
  g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) formats = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) err = NULL;
  virDomainPtr d1, d2;

  /* What a guest owning a raw disk can write into its sector 0. */
  ok (kiln_disk_create_empty (lie, "qcow2", 4 * 1024 * 1024, &err) == 0,
      "a file that starts with a qcow2 header");
  d1 = define (conn, "kiln-unit-raw", lie, "raw");
  d2 = define (conn, "kiln-unit-nofmt", lie, NULL);
  ok (d1 && d2, "domains with it as a raw disk and with no <driver type>");
  ok (kiln_domain_disks_for_edit (ctx, "kiln-unit-raw", paths, formats, &err) == 0,
      "-d: the raw domain's disks%s%s", err ? ": " : "", err ? err->message : "");
  is_int (formats->len, 1, "one disk");
  is_str (formats->len ? formats->pdata[0] : NULL, "raw",
          "opened as raw, as its XML says, not as the qcow2 its header claims");
  is_str (paths->len ? paths->pdata[0] : NULL, lie, "its path");
  g_clear_error (&err);
  ok (kiln_domain_disks_for_edit (ctx, "kiln-unit-nofmt", paths, formats, &err) == -1,
      "-d: a disk without <driver type> is refused, not probed");
  ok (err && strstr (err->message, "no <driver type=...>") && strstr (err->message, "virsh edit"),
      "and the error says to add the type: %s", err ? err->message : "");
  is_int (paths->len, 1, "nothing appended on a refusal");
  for (virDomainPtr *d = (virDomainPtr[]) { d1, d2, NULL }; *d; d++) {
    virDomainUndefine (*d);
    virDomainFree (*d);
  }
}

static void
test_check_writable (const struct kiln_ctx *ctx, virConnectPtr conn, const char *dir)
{
  g_autofree char *base = g_build_filename (dir, "tmpl.qcow2", NULL);
  g_autofree char *ov = g_build_filename (dir, "clone.qcow2", NULL);
  g_autofree char *lone = g_build_filename (dir, "lone.qcow2", NULL);
  g_autofree char *missing = g_build_filename (dir, "missing.qcow2", NULL);
  g_autofree char *cdir = g_build_filename (dir, "images", NULL);
  g_autofree char *cached = g_build_filename (cdir, "sha256-0123456789abcdef0123456789abcdef"
                                              "0123456789abcdef0123456789abcdef", NULL);
  struct kiln_ctx nowhere = *ctx;
  g_autoptr (GError) err = NULL;
  virDomainPtr t, c, r;

  ok (kiln_disk_create_empty (base, "qcow2", 4 * 1024 * 1024, &err) == 0 &&
      kiln_disk_create_overlay (ov, base, "qcow2", false, &err) == 0 &&
      kiln_disk_create_empty (lone, "qcow2", 4 * 1024 * 1024, &err) == 0,
      "a template disk, a linked clone's overlay on it, a lone disk");
  t = define (conn, "kiln-unit-tmpl", base, "qcow2");
  c = define (conn, "kiln-unit-clone", ov, "qcow2");
  r = define (conn, "kiln-unit-run", lone, "qcow2");
  ok (t && c && r, "their domains defined");

  ok (kiln_image_check_writable (ctx, base, &err) == -1 && err &&
      err->code == KILN_ERROR_BUSY, "the template's disk is refused (busy)");
  ok (err && strstr (err->message, "kiln-unit-clone") &&
      strstr (err->message, KILN_UNSAFE_WRITE_OPTION) && !strstr (err->message, "kiln-unit-tmpl"),
      "naming the clone and the override: %s", err ? err->message : "");
  g_clear_error (&err);
  ok (kiln_image_check_writable (ctx, ov, &err) == 0,
      "the clone's own disk (shut off, nothing on it) may be written");
  ok (kiln_image_check_writable (ctx, lone, &err) == 0, "a shut-off domain's disk may be written");
  ok (virDomainCreate (r) == 0, "that domain started");
  ok (kiln_image_check_writable (ctx, lone, &err) == -1, "a running domain's disk is refused");
  ok (err && strstr (err->message, "running") && strstr (err->message, "kiln-unit-run"),
      "naming it: %s", err ? err->message : "");
  g_clear_error (&err);
  virDomainDestroy (r);
  ok (kiln_image_check_writable (ctx, missing, &err) == 0, "a file that does not exist passes");

  g_mkdir (cdir, 0755);
  ok (g_file_set_contents (cached, "x", 1, NULL), "a file named like a cached image");
  ok (kiln_image_check_writable (ctx, cached, &err) == -1 && err &&
      strstr (err->message, "kiln's cache"), "an image of kiln's cache is refused");
  g_clear_error (&err);

  nowhere.connect_uri = "qemu+unix:///system?socket=/nonexistent/kiln-no-such.sock";
  ok (kiln_image_check_writable (&nowhere, lone, &err) == -1,
      "a connection that cannot be opened refuses, not passes");
  ok (err && strstr (err->message, "cannot tell") && strstr (err->message, KILN_UNSAFE_WRITE_OPTION),
      "saying so and naming the override: %s", err ? err->message : "");
  g_clear_error (&err);

  for (virDomainPtr *d = (virDomainPtr[]) { t, c, r, NULL }; *d; d++) {
    virDomainUndefine (*d);
    virDomainFree (*d);
  }
  unlink (cached);
  rmdir (cdir);
}

int
main (void)
{
  g_autofree char *dir = g_dir_make_tmp ("kiln-unit-XXXXXX", NULL);
  struct kiln_ctx ctx = { .connect_uri = "test:///default" };
  virConnectPtr conn;
  virDomainPtr dflt;

  plan (24);
  kiln_virt_quiet ();
  conn = virConnectOpen ("test:///default");
  if (!ok (conn != NULL, "test:///default opens"))
    return done_testing ();
  /* The driver's own domain has a disk that does not exist: out of the way. */
  if ((dflt = virDomainLookupByName (conn, "test"))) {
    virDomainDestroy (dflt);
    virDomainUndefine (dflt);
    virDomainFree (dflt);
  }
  test_edit_formats (&ctx, conn, dir);
  test_check_writable (&ctx, conn, dir);
  virConnectClose (conn);
  {
    g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
    const char *n;

    while (d && (n = g_dir_read_name (d))) {
      g_autofree char *f = g_build_filename (dir, n, NULL);

      g_unlink (f);
    }
  }
  rmdir (dir);
  return done_testing ();
}
