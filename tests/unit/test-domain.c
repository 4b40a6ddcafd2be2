/* test-domain.c: the dependents scan of lib/domain.c fails closed, on
 * libvirt's test:///default driver.  A linked clone is found through its
 * backing chain; a domain whose disk file does not exist depends on
 * nothing; but a domain whose chain loops or whose volume cannot be found
 * might be a clone, so kiln_domain_dependents, kiln_domain_users and
 * kiln_domain_disks_for_edit refuse, naming the domain and the file,
 * instead of answering "no dependents". */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <libvirt/libvirt.h>

#include "tap.h"
#include "template-fixture.h"
#include "kiln.h"
#include "domain.h"
#include "qcow2.h"
#include "virt.h"

static bool
define (virConnectPtr conn, const char *name, const char *disk_xml)
{
  g_autofree char *xml = g_strdup_printf (
    "<domain type='test'><name>%s</name><memory>65536</memory>"
    "<os><type>hvm</type></os><devices>%s</devices></domain>", name, disk_xml);
  virDomainPtr d = virDomainDefineXML (conn, xml);

  if (d)
    virDomainFree (d);
  return d != NULL;
}

static bool
define_file (virConnectPtr conn, const char *name, const char *file)
{
  g_autofree char *disk = g_strdup_printf (
    "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
    "<source file='%s'/><target dev='vda' bus='virtio'/></disk>", file);

  return define (conn, name, disk);
}

static void
undefine (virConnectPtr conn, const char *name)
{
  virDomainPtr d = virDomainLookupByName (conn, name);

  if (d) {
    virDomainUndefine (d);
    virDomainFree (d);
  }
}

/* A qcow2 overlay at PATH recording BACKING as given, checked by nobody. */
static bool
raw_overlay (const char *path, const char *backing)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  bool good = fd >= 0 && kiln_qcow2_write_overlay (fd, 4 << 20, backing, "qcow2", NULL) == 0;

  if (fd >= 0)
    close (fd);
  return good;
}

static GPtrArray *
one (const char *path)
{
  GPtrArray *a = g_ptr_array_new_with_free_func (g_free);

  g_ptr_array_add (a, kiln_path_canonical (path));
  return a;
}

static int
count_one (const char *name, struct kiln_domxml *dx, void *opaque, GError **err)
{
  (*(int *) opaque)++;
  return 0;
}

/* The names FN saw, in order; stops (-1) at the name STOP_AT. */
struct seen {
  GPtrArray *names;
  const char *stop_at;
};

static int
record_one (const char *name, struct kiln_domxml *dx, void *opaque, GError **err)
{
  struct seen *s = opaque;
  g_autofree char *xname = kiln_domxml_get (dx, "/domain/name");

  /* The document handed over is that domain's own. */
  g_ptr_array_add (s->names, g_strcmp0 (xname, name) == 0 ? g_strdup (name) : g_strdup ("MISMATCH"));
  if (s->stop_at && strcmp (name, s->stop_at) == 0) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "stopped at %s", name);
    return -1;
  }
  return 0;
}

/* kiln_domain_foreach parses in its fetching threads but calls FN in
 * libvirt's order, each name with its own document, and stops at FN's
 * first failure even with fetchers waiting on a full window. */
static void
test_foreach_order (virConnectPtr conn, int many)
{
  virDomainPtr *doms = NULL;
  int n = virConnectListAllDomains (conn, &doms, 0);
  g_autoptr (GPtrArray) want = g_ptr_array_new_with_free_func (g_free);
  struct seen s = { g_ptr_array_new_with_free_func (g_free), NULL };
  g_autoptr (GError) err = NULL;
  bool same;
  int r;

  for (int i = 0; i < n; i++) {
    g_ptr_array_add (want, g_strdup (virDomainGetName (doms[i])));
    virDomainFree (doms[i]);
  }
  free (doms);
  r = kiln_domain_foreach (conn, record_one, &s, &err);
  same = r == 0 && s.names->len == want->len;
  for (guint i = 0; same && i < want->len; i++)
    same = strcmp (s.names->pdata[i], want->pdata[i]) == 0;
  ok (n >= many && same, "foreach gives all %d domains in libvirt's order, each with its own XML", n);
  g_ptr_array_set_size (s.names, 0);
  s.stop_at = want->len > 200 ? want->pdata[200] : NULL;
  r = kiln_domain_foreach (conn, record_one, &s, &err);
  ok (s.stop_at && r == -1 && s.names->len == 201 && err && strstr (err->message, "stopped at"),
      "FN failing at the 201st domain stops the scan there (%u calls)%s%s", s.names->len,
      err ? ": " : "", err ? err->message : "");
  g_ptr_array_unref (s.names);
}

/* The domain index (kiln clone --count): one listing answers every
 * question as the one-off scans do, sees what the caller adds, and the
 * listing reads every domain even past one batch of parallel reads. */
static void
test_index (virConnectPtr conn, GPtrArray *files)
{
  enum { MANY = 300 };
  g_autoptr (GError) err = NULL;
  g_autoptr (GPtrArray) deps = NULL, one_off = NULL;
  struct kiln_domain_index *ix;
  int listed = 0, before = 0, r;
  bool defined = true;

  kiln_domain_foreach (conn, count_one, &before, NULL);
  for (int i = 0; i < MANY && defined; i++) {
    g_autofree char *name = g_strdup_printf ("many-%d", i);
    g_autofree char *nic = g_strdup_printf (
      "<interface type='user'><mac address='52:54:00:AA:%02X:%02X'/></interface>",
      i >> 8, i & 255);

    defined = define (conn, name, nic);
  }
  ok (defined, "%d more domains with a NIC each", MANY);
  r = kiln_domain_foreach (conn, count_one, &listed, &err);
  ok (r == 0 && listed == before + MANY,
      "foreach reads all %d domains (%d), past one batch", before + MANY, listed);
  test_foreach_order (conn, MANY);

  ix = kiln_domain_index_new (conn, &err);
  ok (ix != NULL, "the index is built%s%s", err ? ": " : "", err ? err->message : "");
  if (ix == NULL)
    return;
  ok (g_hash_table_size (kiln_domain_index_macs (ix)) >= MANY &&
      g_hash_table_contains (kiln_domain_index_macs (ix), "52:54:00:aa:01:2b"),
      "it holds every domain's MAC, in lower case");
  deps = kiln_domain_index_dependents (ix, files, NULL, "tmpl", &err);
  one_off = kiln_domain_dependents (conn, files, NULL, "tmpl", &err);
  ok (deps && one_off && deps->len == 1 && one_off->len == 1 &&
      strcmp (deps->pdata[0], one_off->pdata[0]) == 0,
      "its dependents are the one-off scan's (%s)", deps && deps->len ? (char *) deps->pdata[0] : "none");
  g_clear_pointer (&deps, g_ptr_array_unref);
  deps = kiln_domain_index_dependents (ix, files, NULL, "tmpl", &err);
  ok (deps && deps->len == 1, "asked again (chains kept), the same answer");
  g_clear_pointer (&deps, g_ptr_array_unref);

  /* A clone the caller is about to define: linked to tmpl, a new MAC. */
  {
    g_autoptr (kiln_domxml) dx = kiln_domxml_parse (
      "<domain type='test'><name>new</name><memory>65536</memory><os><type>hvm</type></os>"
      "<devices><interface type='user'><mac address='52:54:00:BB:00:01'/></interface>"
      "</devices></domain>", NULL);
    struct kiln_meta m = { .original = (char *) "tmpl", .linked = true };

    kiln_domxml_set_meta (dx, &m);
    kiln_domain_index_add (ix, "new", dx);
  }
  ok (g_hash_table_contains (kiln_domain_index_macs (ix), "52:54:00:bb:00:01"),
      "an added domain's MAC is taken");
  deps = kiln_domain_index_dependents (ix, files, "tmpl", "tmpl", &err);
  ok (deps && deps->len == 2 && strcmp (deps->pdata[1], "new") == 0,
      "and it is a dependent of its template by its metadata");
  g_clear_pointer (&deps, g_ptr_array_unref);
  kiln_domain_index_free (ix);

  /* The fail-closed refusal holds through the index too. */
  ok (define (conn, "vol", "<disk type='volume' device='disk'><driver name='qemu' type='qcow2'/>"
              "<source pool='no-such-pool' volume='v.qcow2'/><target dev='vda' bus='virtio'/>"
              "</disk>"), "domain vol on a volume of a pool that does not exist");
  ix = kiln_domain_index_new (conn, &err);
  deps = ix ? kiln_domain_index_users (ix, files, NULL, &err) : NULL;
  ok (deps == NULL && err && strstr (err->message, "'vol'"), "index users: a refusal: %s",
      err ? err->message : "(none)");
  kiln_domain_index_free (ix);
  undefine (conn, "vol");
  for (int i = 0; i < MANY; i++) {
    g_autofree char *name = g_strdup_printf ("many-%d", i);
    undefine (conn, name);
  }
}

int
main (void)
{
  g_autofree char *dir = g_dir_make_tmp ("kiln-domain-XXXXXX", NULL);
  g_autofree char *tmpl = g_build_filename (dir, "tmpl.qcow2", NULL);
  g_autofree char *clone = g_build_filename (dir, "clone.qcow2", NULL);
  g_autofree char *missing = g_build_filename (dir, "missing.qcow2", NULL);
  g_autofree char *la = g_build_filename (dir, "loop-a.qcow2", NULL);
  g_autofree char *lb = g_build_filename (dir, "loop-b.qcow2", NULL);
  g_autoptr (GPtrArray) files = NULL, deps = NULL;
  g_autoptr (GError) err = NULL;
  struct kiln_ctx ctx = { .connect_uri = "test:///default" };
  g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) formats = g_ptr_array_new_with_free_func (g_free);
  int r;
  virConnectPtr conn;

  conn = template_fixture (dir, (const char *[]) { "tmpl.qcow2", NULL });
  if (conn == NULL)
    return done_testing ();
  files = one (tmpl);
  ok (kiln_disk_create_overlay (clone, tmpl, "qcow2", false, &err) == 0, "a clone's overlay");
  ok (define_file (conn, "tmpl", tmpl) && define_file (conn, "clone", clone) &&
      define_file (conn, "gone", missing), "domains tmpl, clone and gone (its disk does not exist)");

  deps = kiln_domain_dependents (conn, files, NULL, "tmpl", &err);
  ok (deps && deps->len == 1 && strcmp (deps->pdata[0], "clone") == 0,
      "the clone is found through its backing chain; a missing disk depends on nothing%s%s",
      err ? ": " : "", err ? err->message : "");
  g_clear_error (&err);
  g_clear_pointer (&deps, g_ptr_array_unref);

  /* loop-a -> loop-b -> loop-a: a chain nobody can follow. */
  ok (raw_overlay (la, "loop-b.qcow2") && raw_overlay (lb, "loop-a.qcow2"), "a looping chain");
  ok (define_file (conn, "loop", la), "domain loop on it");
  deps = kiln_domain_dependents (conn, files, NULL, "tmpl", &err);
  ok (deps == NULL && err != NULL, "dependents: a chain that cannot be read is a refusal, "
      "not \"no dependents\"");
  ok (err && strstr (err->message, "'loop'") && strstr (err->message, "loop-a.qcow2") &&
      strstr (err->message, "refuses"), "the error names the domain and the file and says "
      "what kiln did: %s", err ? err->message : "(none)");
  g_clear_error (&err);
  g_clear_pointer (&deps, g_ptr_array_unref);
  deps = kiln_domain_users (conn, files, NULL, &err);
  ok (deps == NULL && err && strstr (err->message, "'loop'"), "users: the same refusal");
  g_clear_error (&err);
  g_clear_pointer (&deps, g_ptr_array_unref);
  r = kiln_domain_disks_for_edit (&ctx, "clone", paths, formats, &err);
  ok (r == -1 && paths->len == 0 && err && strstr (err->message, "'loop'"),
      "an edit of a domain is refused while the scan cannot decide%s%s",
      err ? ": " : "", err ? err->message : "");
  g_clear_error (&err);
  undefine (conn, "loop");

  /* A volume whose pool does not exist: its file is unknown. */
  ok (define (conn, "vol", "<disk type='volume' device='disk'><driver name='qemu' type='qcow2'/>"
              "<source pool='no-such-pool' volume='v.qcow2'/><target dev='vda' bus='virtio'/>"
              "</disk>"), "domain vol on a volume of a pool that does not exist");
  deps = kiln_domain_dependents (conn, files, NULL, "tmpl", &err);
  ok (deps == NULL && err && strstr (err->message, "'vol'") && strstr (err->message, "no-such-pool"),
      "dependents: a volume that cannot be found is a refusal: %s", err ? err->message : "(none)");
  g_clear_error (&err);
  g_clear_pointer (&deps, g_ptr_array_unref);
  undefine (conn, "vol");

  deps = kiln_domain_dependents (conn, files, NULL, "tmpl", &err);
  ok (deps && deps->len == 1, "with those domains gone the scan answers again%s%s",
      err ? ": " : "", err ? err->message : "");
  r = kiln_domain_disks_for_edit (&ctx, "clone", paths, formats, &err);
  ok (r == 0 && paths->len == 1 && formats->len == 1,
      "and a clone with no clones of its own can be edited");

  /* A domain undefined between the listing and the read of its XML (by
   * another program: the scan races with everyone) is no domain, and
   * libvirt's own error survives the virDomainGetName of the message. */
  {
    virDomainPtr stale = virDomainLookupByName (conn, "gone");
    g_autoptr (kiln_domxml) dx = NULL;

    undefine (conn, "gone");
    dx = stale ? kiln_domain_xml (stale, &err) : NULL;
    ok (stale && dx == NULL && g_error_matches (err, KILN_ERROR, KILN_ERROR_NOT_FOUND) &&
        strstr (err->message, "'gone'") && !strstr (err->message, "unknown libvirt error"),
        "a domain undefined meanwhile is NOT_FOUND, with libvirt's message: %s",
        err ? err->message : "");
    g_clear_error (&err);
    if (stale)
      virDomainFree (stale);
  }
  test_index (conn, files);
  undefine (conn, "tmpl");
  undefine (conn, "clone");
  virConnectClose (conn);
  for (const char *const *f = (const char *const[]) { "base.raw", "tmpl.qcow2", "clone.qcow2",
                                                       "loop-a.qcow2", "loop-b.qcow2", NULL }; *f; f++) {
    g_autofree char *p = g_build_filename (dir, *f, NULL);
    unlink (p);
  }
  rmdir (dir);
  return done_testing ();
}
