/* test-storage.c: the locality rule (lib/virt.c) and the storage layer
 * (lib/storage.c) on libvirt's test:///default driver, whose pool
 * "default-pool" keeps its volumes in memory: nothing here touches a
 * file, as nothing may on a remote host. */
#include <stdlib.h>
#include <string.h>
#include <libvirt/libvirt.h>

#include "tap.h"
#include "clone.h"
#include "domain.h"
#include "storage.h"
#include "virt.h"
#include "writable.h"

static void
test_locality (void)
{
  static const struct { const char *uri; bool local; } cases[] = {
    { "qemu:///system", true },
    { "qemu:///session", true },
    { "qemu+unix:///system", true },
    { "qemu+unix:///system?socket=/run/x.sock", true },
    { "test:///default", true },
    { "qemu+ssh://root@localhost/system", false },
    { "qemu+ssh://localhost/system?keyfile=/k&no_verify=1", false },
    { "qemu://127.0.0.1/system", false },
    { "qemu+tcp://localhost/system", false },
    { "qemu+tls://host.example/system", false },
    { "qemu+ext:///system?command=/bin/x", false },
    { "xen://host/", false },
    { "nonsense", false },
  };

  g_unsetenv ("KILN_LIBVIRT_REMOTE");
  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    ok (kiln_virt_uri_is_local (cases[i].uri) == cases[i].local, "%s is %s", cases[i].uri,
        cases[i].local ? "local" : "remote");
  ok (!kiln_virt_uri_is_local (NULL), "an unknown URI is remote");
  g_setenv ("KILN_LIBVIRT_REMOTE", "1", TRUE);
  ok (!kiln_virt_uri_is_local ("qemu:///system"), "KILN_LIBVIRT_REMOTE=1: qemu:///system is remote");
  g_setenv ("KILN_LIBVIRT_REMOTE", "no", TRUE);
  ok (kiln_virt_uri_is_local ("qemu+ssh://root@localhost/system"),
      "KILN_LIBVIRT_REMOTE=no: qemu+ssh://root@localhost is local");
  g_unsetenv ("KILN_LIBVIRT_REMOTE");
}

static void
test_volumes (virConnectPtr conn)
{
  g_autoptr (GError) err = NULL;
  g_autoptr (GPtrArray) chain = NULL;
  struct kiln_vol_info vi = { 0 };
  virStoragePoolPtr pool = virStoragePoolLookupByName (conn, "default-pool");
  virStorageVolPtr base = NULL, over = NULL, over2 = NULL, copy = NULL, v;

  ok (kiln_virt_is_local (conn), "test:///default is local by the rule");
  if (!ok (pool != NULL, "the test driver's default-pool"))
    return;
  base = kiln_storage_create_raw (pool, "base.img", 8 * 1024 * 1024, &err);
  ok (base != NULL, "a raw volume: %s", err ? err->message : "");
  g_clear_error (&err);
  ok (kiln_storage_create_raw (pool, "base.img", 1024, &err) == NULL &&
      g_error_matches (err, KILN_ERROR, KILN_ERROR_EXISTS), "a second volume of that name: EXISTS");
  g_clear_error (&err);
  if (base == NULL)
    goto out;
  ok (kiln_storage_vol_info (base, &vi, &err) == 0, "its XML reads");
  is_str (vi.name, "base.img", "its name");
  is_str (vi.pool, "default-pool", "its pool");
  is_str (vi.format, "raw", "its format");
  ok (vi.capacity == 8 * 1024 * 1024, "its capacity in bytes (%" G_GUINT64_FORMAT ")", vi.capacity);
  ok (vi.backing == NULL, "no backing store");
  ok (vi.path && g_str_has_suffix (vi.path, "/base.img"), "its path %s", vi.path);

  v = kiln_storage_vol_of_path (conn, vi.path, &err);
  ok (v != NULL, "found by its path");
  if (v)
    virStorageVolFree (v);
  g_clear_error (&err);
  ok (kiln_storage_vol_of_path (conn, "/nowhere/x.qcow2", &err) == NULL &&
      g_error_matches (err, KILN_ERROR, KILN_ERROR_NOT_FOUND) &&
      strstr (err->message, "not a volume of an active storage pool"),
      "a path that is no volume: NOT_FOUND, saying so");
  g_clear_error (&err);

  over = kiln_storage_create_overlay (pool, "clone.qcow2", base, NULL, &err);
  ok (over != NULL, "an overlay volume: %s", err ? err->message : "");
  g_clear_error (&err);
  if (over) {
    struct kiln_vol_info oi = { 0 };

    ok (kiln_storage_vol_info (over, &oi, &err) == 0, "its XML reads");
    is_str (oi.format, "qcow2", "it is qcow2");
    is_str (oi.backing, vi.path, "its backing store is the base volume");
    is_str (oi.backing_format, "raw", "with the base's format");
    ok (oi.capacity == vi.capacity, "the base's capacity");
    over2 = kiln_storage_create_overlay (pool, "clone2.qcow2", over, "qcow2", &err);
    ok (over2 != NULL, "an overlay on the overlay");
    g_clear_error (&err);
    if (over2) {
      g_autofree char *p = virStorageVolGetPath (over2);

      chain = kiln_storage_chain (conn, p, &err);
      ok (chain && chain->len == 3, "its chain has 3 volumes");
      if (chain && chain->len == 3) {
        is_str (chain->pdata[1], oi.path, "the overlay");
        is_str (chain->pdata[2], vi.path, "then the base");
      }
      g_clear_error (&err);
    }
    kiln_vol_info_clear (&oi);
  }

  /* The caller's format (the domain XML's) wins over the volume's probe. */
  {
    virStorageVolPtr f = kiln_storage_create_overlay (pool, "forced.qcow2", base, "qcow2", &err);
    struct kiln_vol_info fi = { 0 };

    ok (f && kiln_storage_vol_info (f, &fi, NULL) == 0 &&
        g_strcmp0 (fi.backing_format, "qcow2") == 0,
        "the backing format given is the one recorded, not the volume's (raw)");
    kiln_vol_info_clear (&fi);
    g_clear_error (&err);
    if (f) {
      virStorageVolDelete (f, 0);
      virStorageVolFree (f);
    }
  }

  /* A backing file outside the pools: the chain cannot be followed. */
  {
    virStorageVolPtr lost;
    g_autofree char *xml = g_strdup (
      "<volume><name>lost.qcow2</name><capacity>1048576</capacity><target><format "
      "type='qcow2'/></target><backingStore><path>/elsewhere/base.img</path><format "
      "type='raw'/></backingStore></volume>");

    lost = virStorageVolCreateXML (pool, xml, 0);
    if (lost) {
      g_autofree char *p = virStorageVolGetPath (lost);
      g_autoptr (GPtrArray) c = kiln_storage_chain (conn, p, &err);

      ok (c == NULL && err && strstr (err->message, "/elsewhere/base.img"),
          "a backing file that is no volume: the chain fails closed, naming it (%s)",
          err ? err->message : "no error");
      g_clear_error (&err);
      virStorageVolDelete (lost, 0);
      virStorageVolFree (lost);
    } else {
      ok (0, "a volume with a backing store outside the pools");
    }
  }

  copy = kiln_storage_copy (pool, "full.img", NULL, base, &err);
  ok (copy != NULL, "a full copy: %s", err ? err->message : "");
  g_clear_error (&err);
  if (copy) {
    struct kiln_vol_info ci = { 0 };

    ok (kiln_storage_vol_info (copy, &ci, NULL) == 0 && ci.backing == NULL &&
        ci.capacity == vi.capacity, "it has the source's capacity and no backing store");
    kiln_vol_info_clear (&ci);
    ok (kiln_storage_delete (copy, &err) == 0, "deleted");
    v = virStorageVolLookupByName (pool, "full.img");
    ok (v == NULL, "and gone");
    if (v)
      virStorageVolFree (v);
  }
out:
  if (over2) {
    virStorageVolDelete (over2, 0);
    virStorageVolFree (over2);
  }
  if (over) {
    virStorageVolDelete (over, 0);
    virStorageVolFree (over);
  }
  if (base) {
    virStorageVolDelete (base, 0);
    virStorageVolFree (base);
  }
  if (copy)
    virStorageVolFree (copy);
  kiln_vol_info_clear (&vi);
  virStoragePoolFree (pool);
}

/* Volumes of default-pool whose name starts with PREFIX. */
static guint
count_volumes (virStoragePoolPtr pool, const char *prefix)
{
  virStorageVolPtr *vols = NULL;
  int n = virStoragePoolListAllVolumes (pool, &vols, 0);
  guint c = 0;

  for (int i = 0; i < n; i++) {
    if (g_str_has_prefix (virStorageVolGetName (vols[i]), prefix))
      c++;
    virStorageVolFree (vols[i]);
  }
  free (vols);
  return c;
}

static GPtrArray *
run_clone (const struct kiln_ctx *ctx, const char *name, unsigned count, enum kiln_clone_mode mode,
           GError **err)
{
  struct kiln_clone_spec spec = { .original = "rtmpl", .name = name, .count = count, .mode = mode };
  GPtrArray *made = NULL;

  if (kiln_clone_domains (ctx, &spec, &made, err) == -1) {
    g_ptr_array_unref (made);
    return NULL;
  }
  return made;
}

/* kiln clone on a connection treated as remote: the clones' disks are
 * volumes of the template's pool made through the storage API, the
 * dependents check reads their chains from the volumes' XML, a failure
 * leaves no volume. */
static void
test_remote_clone (virConnectPtr conn)
{
  struct kiln_ctx ctx = { .connect_uri = "test:///default" };
  g_autoptr (GError) err = NULL;
  g_autoptr (GPtrArray) made = NULL, deps = NULL;
  virStoragePoolPtr pool = virStoragePoolLookupByName (conn, "default-pool");
  virStorageVolPtr base = NULL;
  virDomainPtr tmpl = NULL;
  g_autofree char *xml = NULL;

  g_setenv ("KILN_LIBVIRT_REMOTE", "1", TRUE);
  ok (!kiln_virt_is_local (conn), "KILN_LIBVIRT_REMOTE=1: the connection is remote");
  base = pool ? kiln_storage_create_raw (pool, "rtmpl.img", 16 * 1024 * 1024, &err) : NULL;
  xml = g_strdup (
    "<domain type='test'><name>rtmpl</name><memory>65536</memory><vcpu>1</vcpu>"
    "<os><type>hvm</type></os><devices><disk type='volume' device='disk'>"
    "<driver name='qemu' type='raw'/><source pool='default-pool' volume='rtmpl.img'/>"
    "<target dev='vda' bus='virtio'/></disk></devices></domain>");
  tmpl = base ? virDomainDefineXML (conn, xml) : NULL;
  if (!ok (tmpl != NULL, "a template whose disk is a volume of default-pool"))
    goto out;

  made = run_clone (&ctx, "rweb", 3, KILN_CLONE_LINKED, &err);
  ok (made && made->len == 3, "3 linked clones: %s", err ? err->message : "made");
  g_clear_error (&err);
  ok (count_volumes (pool, "rweb-") == 3, "each disk a new volume of the template's pool");
  {
    virStorageVolPtr v = virStorageVolLookupByName (pool, "rweb-2.qcow2");
    struct kiln_vol_info vi = { 0 };

    ok (v && kiln_storage_vol_info (v, &vi, NULL) == 0 &&
        g_strcmp0 (vi.backing, "/default-pool/rtmpl.img") == 0 &&
        g_strcmp0 (vi.format, "qcow2") == 0,
        "rweb-2.qcow2 is qcow2 backed by the template's volume (%s)", vi.backing ? vi.backing : "none");
    kiln_vol_info_clear (&vi);
    if (v)
      virStorageVolFree (v);
  }
  if (made && made->len == 3) {
    const struct kiln_clone_made *m = made->pdata[0];

    ok (strstr (m->xml, "pool=\"default-pool\"") && strstr (m->xml, "volume=\"rweb-1.qcow2\""),
        "the clone's XML names its volume and pool");
  } else {
    ok (0, "the clone's XML names its volume and pool");
  }

  /* The driver's own domain "test" has a disk that is no volume: its
   * chain cannot be read there, and the check refuses to guess. */
  deps = kiln_clone_dependents (&ctx, "rtmpl", &err);
  ok (deps == NULL && err && strstr (err->message, "domain 'test'") &&
      strstr (err->message, "not a volume"),
      "a domain whose disk is no volume: the dependents scan fails closed: %s",
      err ? err->message : "no error");
  g_clear_error (&err);
  g_clear_pointer (&deps, g_ptr_array_unref);
  {
    virDomainPtr t = virDomainLookupByName (conn, "test");

    if (t) {
      virDomainDestroy (t);
      virDomainUndefine (t);
      virDomainFree (t);
    }
  }
  deps = kiln_clone_dependents (&ctx, "rtmpl", &err);
  ok (deps && deps->len == 3, "--list-dependents: 3, from the volumes' chains: %s",
      err ? err->message : "");
  g_clear_error (&err);
  {
    int r = kiln_image_check_writable (&ctx, "/default-pool/rtmpl.img", &err);

    ok (r == -1 && g_error_matches (err, KILN_ERROR, KILN_ERROR_BUSY) &&
        strstr (err->message, "rweb-1"), "the template's volume is protected: %s",
        err ? err->message : "no error");
  }
  g_clear_error (&err);
  {
    struct kiln_clone_spec spec = { .name = "rtmpl", .replace = true };
    GPtrArray *m2 = NULL;

    /* The dependents check of --replace, on the template itself. */
    int r;

    spec.original = "rweb-3";
    r = kiln_clone_domains (&ctx, &spec, &m2, &err);
    ok (r == -1 && err && strstr (err->message, "linked clones depend on its disks"),
        "--replace of the template refused: %s", err ? err->message : "no error");
    g_clear_error (&err);
    g_ptr_array_unref (m2);
  }

  /* A failure at the first define, after all three volumes: none left. */
  g_setenv ("KILN_FAULT", "clone-define", TRUE);
  g_clear_pointer (&made, g_ptr_array_unref);
  made = run_clone (&ctx, "rfail", 3, KILN_CLONE_LINKED, &err);
  g_unsetenv ("KILN_FAULT");
  ok (made == NULL && err, "an injected failure at define fails the run");
  g_clear_error (&err);
  ok (count_volumes (pool, "rfail-") == 0, "and leaves no volume behind");
  ok (!kiln_domain_exists (conn, "rfail-1"), "nor a domain");

  made = run_clone (&ctx, "rfull", 0, KILN_CLONE_FULL, &err);
  ok (made && made->len == 1, "a full clone: %s", err ? err->message : "made");
  g_clear_error (&err);
  {
    virStorageVolPtr v = virStorageVolLookupByName (pool, "rfull.img");
    struct kiln_vol_info vi = { 0 };

    ok (v && kiln_storage_vol_info (v, &vi, NULL) == 0 && vi.backing == NULL &&
        g_strcmp0 (vi.format, "raw") == 0, "its volume rfull.img is a raw copy, no backing store");
    kiln_vol_info_clear (&vi);
    if (v)
      virStorageVolFree (v);
  }
  {
    g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
    g_autoptr (GPtrArray) formats = g_ptr_array_new_with_free_func (g_free);
    int r = kiln_domain_disks_for_edit (&ctx, "rfull", paths, formats, &err);

    ok (r == -1 && g_error_matches (err, KILN_ERROR, KILN_ERROR_USAGE) && paths->len == 0,
        "-d (customize, sysprep) refused on a remote connection: %s",
        err ? err->message : "no error");
    g_clear_error (&err);
  }
  {
    struct kiln_clone_spec spec = { .original = "rtmpl", .name = "rx" };
    const char *files[] = { "/tmp/rx.qcow2" };
    GPtrArray *m2 = NULL;

    spec.files = files;
    spec.n_files = 1;
    ok (kiln_clone_domains (&ctx, &spec, &m2, &err) == -1 &&
        g_error_matches (err, KILN_ERROR, KILN_ERROR_USAGE), "--file is refused on a remote connection");
    g_clear_error (&err);
    g_ptr_array_unref (m2);
  }
out:
  g_unsetenv ("KILN_LIBVIRT_REMOTE");
  if (tmpl)
    virDomainFree (tmpl);
  if (base)
    virStorageVolFree (base);
  if (pool)
    virStoragePoolFree (pool);
}

int
main (void)
{
  virConnectPtr conn;

  kiln_virt_quiet ();
  test_locality ();
  conn = virConnectOpen ("test:///default");
  if (ok (conn != NULL, "test:///default opens")) {
    test_volumes (conn);
    test_remote_clone (conn);
    virConnectClose (conn);
  }
  return done_testing ();
}
