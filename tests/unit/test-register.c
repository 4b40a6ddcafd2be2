/* test-register.c: kiln_register_template (lib/register.c) on libvirt's
 * test:///default driver, which parses and validates domain XML as
 * libvirtd does: names checked before anything is made, refusals, the
 * XML of --print-xml, a real definition with an extra disk and the base's
 * digest in the metadata, and a failure half-way leaving nothing.  The OS
 * is named (no appliance launch); KILN_ACCEL=tcg (no KVM probe). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/xattr.h>
#include <libvirt/libvirt.h>

#include "tap.h"
#include "template-fixture.h"
#include "kiln.h"
#include "digest.h"
#include "diskfile.h"
#include "domain.h"
#include "domxml.h"
#include "identity.h"
#include "register.h"
#include "virt.h"

static int
reg (const struct kiln_ctx *ctx, const char *disk, const char *name,
     const struct kiln_register_disk *extra, size_t n_extra, bool print_xml,
     struct kiln_register_result *res, GError **err)
{
  struct kiln_register_spec s = {
    .disk = disk, .name = name, .os_variant = "debian11", .network = "user",
    .extra = extra, .n_extra = n_extra, .print_xml = print_xml,
  };

  return kiln_register_template (ctx, &s, res, err);
}

int
main (void)
{
  g_autofree char *dir = g_dir_make_tmp ("kiln-register-XXXXXX", NULL);
  g_autofree char *base = g_build_filename (dir, "base.raw", NULL);
  g_autofree char *disk = g_build_filename (dir, "tmpl.qcow2", NULL);
  g_autofree char *disk2 = g_build_filename (dir, "other.qcow2", NULL);
  g_autofree char *px_extra = g_build_filename (dir, "px-disk1.qcow2", NULL);
  g_autofree char *tpl_extra = g_build_filename (dir, "tpl-disk1.qcow2", NULL);
  g_autofree char *rb_extra1 = g_build_filename (dir, "rb-disk1.qcow2", NULL);
  g_autofree char *rb_extra2 = g_build_filename (dir, "rb-disk2.qcow2", NULL);
  g_autofree char *digest = NULL;
  g_autoptr (GError) err = NULL;
  struct kiln_ctx ctx = { .connect_uri = "test:///default", .verbosity = 0 };
  struct kiln_register_result res = { 0 };
  struct kiln_register_disk one_mib = { .size = 1024 * 1024, .target = "vdc" };
  struct kiln_register_disk two[2] = { { .size = 1024 * 1024 }, { .size = 1024 * 1024 } };
  virConnectPtr conn;

  conn = template_fixture (dir, (const char *[]) { "tmpl.qcow2", "other.qcow2", NULL });
  if (conn == NULL)
    return done_testing ();

  /* ---- names: checked before anything is looked at or made ---- */
  ok (reg (&ctx, disk, "../evil", &one_mib, 1, false, &res, &err) == -1 &&
      g_error_matches (err, KILN_ERROR, KILN_ERROR_USAGE),
      "a name with '/' is refused as a usage error%s%s", err ? ": " : "", err ? err->message : "");
  ok (err && strstr (err->message, "template name"), "the error says which name");
  g_clear_error (&err);
  ok (reg (&ctx, disk, "two words", NULL, 0, false, &res, &err) == -1 &&
      g_error_matches (err, KILN_ERROR, KILN_ERROR_USAGE), "a name with a space is refused");
  g_clear_error (&err);
  ok (reg (&ctx, disk, ".hidden", NULL, 0, false, &res, &err) == -1 &&
      g_error_matches (err, KILN_ERROR, KILN_ERROR_USAGE), "a name starting with '.' is refused");
  g_clear_error (&err);
  ok (!kiln_domain_exists (conn, "two words") && !kiln_domain_exists (conn, ".hidden"),
      "and nothing is defined");

  ok (reg (&ctx, disk, "test", NULL, 0, false, &res, &err) == -1 &&
      g_error_matches (err, KILN_ERROR, KILN_ERROR_EXISTS),
      "the name of an existing domain is refused%s%s", err ? ": " : "", err ? err->message : "");
  g_clear_error (&err);

  /* ---- --print-xml: the XML, and nothing made ---- */
  ok (reg (&ctx, disk, "px", &one_mib, 1, true, &res, &err) == 0,
      "print-xml succeeds%s%s", err ? ": " : "", err ? err->message : "");
  ok (res.xml && strstr (res.xml, "<name>px</name>"), "the XML names the domain");
  ok (res.xml && strstr (res.xml, "<target dev=\"vdc\" bus=\"virtio\"/>"), "and has the extra disk");
  is_str (res.type, "qemu", "domain type qemu under TCG");
  ok (!kiln_domain_exists (conn, "px"), "print-xml defines nothing");
  ok (access (px_extra, F_OK) == -1, "and creates no extra disk");
  ok (res.xml && strstr (res.xml, "firstboot-identity") == NULL,
      "an image without the first-boot identity mark: none in the metadata");
  kiln_register_result_clear (&res);

  /* Issue 17: the image's mark (an xattr, lost by copies and uploads)
   * recorded in the template's metadata, which clone accepts too. */
  ok (kiln_identity_mark_image (disk, NULL) == 0, "the image marked as having the unit");
  ok (reg (&ctx, disk, "px", &one_mib, 1, true, &res, &err) == 0 && res.xml &&
      strstr (res.xml, "<kiln:firstboot-identity version=\"" KILN_IDENTITY_VERSION "\"/>"),
      "recorded in the metadata%s%s", err ? ": " : "", err ? err->message : "");
  g_clear_error (&err);
  kiln_register_result_clear (&res);
  removexattr (disk, KILN_IDENTITY_XATTR);

  /* ---- a real registration ---- */
  ok (reg (&ctx, disk, "tpl", &one_mib, 1, false, &res, &err) == 0,
      "register tpl%s%s", err ? ": " : "", err ? err->message : "");
  ok (kiln_domain_exists (conn, "tpl"), "tpl is defined");
  ok (access (tpl_extra, F_OK) == 0, "its extra disk is made beside the image");
  is_str (res.disk, disk, "the result names the absolute disk path");
  ok (res.memory_mib > 0 && res.vcpus > 0, "memory and vCPUs from libosinfo");
  digest = kiln_digest_file (base, "sha512", NULL);
  {
    virDomainPtr d = virDomainLookupByName (conn, "tpl");
    g_autoptr (kiln_domxml) dx = d ? kiln_domain_xml (d, NULL) : NULL;
    struct kiln_meta m = { 0 };

    ok (dx && kiln_domxml_get_meta (dx, &m) == 1 && m.is_template, "kiln template metadata");
    is_str (m.base, base, "the metadata records the base");
    ok (digest && g_str_has_prefix (digest, "sha512:"), "the base's digest is computed");
    is_str (m.base_digest, digest, "and recorded (kiln_digest_file's, whatever the file's name)");
    ok (m.firstboot_identity == NULL, "no first-boot identity unit recorded");
    kiln_meta_clear (&m);
    if (d)
      virDomainFree (d);
  }
  kiln_register_result_clear (&res);

  ok (reg (&ctx, disk, "again", NULL, 0, false, &res, &err) == -1 &&
      g_error_matches (err, KILN_ERROR, KILN_ERROR_BUSY),
      "a disk that is already a domain's is refused%s%s", err ? ": " : "", err ? err->message : "");
  ok (err && strstr (err->message, "tpl"), "naming the domain");
  g_clear_error (&err);

  /* ---- a failure half-way leaves nothing: the second extra disk's
   *      file exists, the first was made and must go again ---- */
  ok (g_file_set_contents (rb_extra2, "in the way", -1, NULL), "a file in the second disk's place");
  ok (reg (&ctx, disk2, "rb", two, 2, false, &res, &err) == -1,
      "register fails on it%s%s", err ? ": " : "", err ? err->message : "");
  g_clear_error (&err);
  ok (!kiln_domain_exists (conn, "rb"), "no domain is left");
  ok (access (rb_extra1, F_OK) == -1, "the first extra disk is removed");
  unlink (rb_extra2);

  virConnectClose (conn);
  unlink (px_extra);
  unlink (tpl_extra);
  unlink (disk);
  unlink (disk2);
  unlink (base);
  rmdir (dir);
  return done_testing ();
}
