/* test-storage.c: the locality rule (lib/virt.c) and the storage layer
 * (lib/storage.c) on libvirt's test:///default driver, whose pool
 * "default-pool" keeps its volumes in memory: nothing here touches a
 * file, as nothing may on a remote host. */
#include <string.h>
#include <libvirt/libvirt.h>

#include "tap.h"
#include "storage.h"
#include "virt.h"

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

  over = kiln_storage_create_overlay (pool, "clone.qcow2", base, &err);
  ok (over != NULL, "an overlay volume: %s", err ? err->message : "");
  g_clear_error (&err);
  if (over) {
    struct kiln_vol_info oi = { 0 };

    ok (kiln_storage_vol_info (over, &oi, &err) == 0, "its XML reads");
    is_str (oi.format, "qcow2", "it is qcow2");
    is_str (oi.backing, vi.path, "its backing store is the base volume");
    is_str (oi.backing_format, "raw", "with the base's format");
    ok (oi.capacity == vi.capacity, "the base's capacity");
    over2 = kiln_storage_create_overlay (pool, "clone2.qcow2", over, &err);
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

int
main (void)
{
  virConnectPtr conn;

  kiln_virt_quiet ();
  test_locality ();
  conn = virConnectOpen ("test:///default");
  if (ok (conn != NULL, "test:///default opens")) {
    test_volumes (conn);
    virConnectClose (conn);
  }
  return done_testing ();
}
