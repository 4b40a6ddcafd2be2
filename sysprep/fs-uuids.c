/* fs-uuids.c: new random UUIDs for the guest's filesystems, so clones
 * attached to one host never share one.  virt-sysprep leaves /etc/fstab
 * and the bootloader naming the old UUIDs, which makes the guest
 * unbootable; here the files that name filesystems by UUID are updated
 * to match (off by default all the same: an initramfs or a bootloader
 * configuration outside these files may still name the old ones). */
#include <string.h>
#include "ops.h"

static const char *const fs_types[] = { "ext2", "ext3", "ext4", "xfs", "btrfs", "swap", NULL };

/* Files that name filesystems by UUID. */
static const char *const refs[] = {
  "/etc/fstab",
  "/etc/crypttab",
  "/etc/initramfs-tools/conf.d/resume",
  "/etc/kernel/cmdline",
  "/etc/default/grub",
  "/boot/grub/grub.cfg",
  "/boot/grub2/grub.cfg",
  "/boot/extlinux/extlinux.conf",
  "/boot/extlinux.conf",
  "/boot/syslinux/syslinux.cfg",
  "/boot/syslinux/extlinux.conf",
  "/boot/loader/entries/*.conf",
  NULL,
};

static char *
vfs_uuid (struct kiln_sysprep_job *j, const char *dev)
{
  char *u = guestfs_vfs_uuid (j->g, dev);
  char *r = (u && *u) ? g_strdup (u) : NULL;

  free (u);
  return r;
}

static int
update_refs (struct kiln_sysprep_job *j, GHashTable *map, GError **err)
{
  for (const char *const *pat = refs; *pat; pat++) {
    char **files = guestfs_glob_expand (j->g, *pat);

    if (files == NULL) {
      kiln_guest_set_error (j->gu, err, "%s: cannot expand %s", j->op, *pat);
      return -1;
    }
    for (char **f = files; *f; f++) {
      size_t len = 0;
      char *text = guestfs_is_file (j->g, *f) > 0 ? guestfs_read_file (j->g, *f, &len) : NULL;

      if (text) {
        g_autofree char *s = g_strndup (text, len);
        GHashTableIter it;
        gpointer old, new;
        bool changed = false;

        free (text);
        g_hash_table_iter_init (&it, map);
        while (g_hash_table_iter_next (&it, &old, &new)) {
          if (strstr (s, old)) {
            g_auto (GStrv) parts = g_strsplit (s, old, -1);

            g_free (s);
            s = g_strjoinv (new, parts);
            changed = true;
          }
        }
        if (changed) {
          kiln_sysprep_note (j, "change", *f);
          if (guestfs_write (j->g, *f, s, strlen (s)) == -1) {
            kiln_guest_set_error (j->gu, err, "%s: cannot write %s", j->op, *f);
            for (char **p = f; *p; p++)
              free (*p);
            free (files);
            return -1;
          }
        }
      }
      free (*f);
    }
    free (files);
  }
  return 0;
}

GPtrArray *
kiln_sysprep_fs_uuid_devices (char *const *fs)
{
  GPtrArray *devs = g_ptr_array_new_with_free_func (g_free);

  for (char *const *p = fs; p[0] && p[1]; p += 2)
    if (g_strv_contains (fs_types, p[1]) && !g_str_has_prefix (p[0], "btrfsvol:") &&
        !g_ptr_array_find_with_equal_func (devs, p[0], g_str_equal, NULL))
      g_ptr_array_add (devs, g_strdup (p[0]));
  return devs;
}

int
kiln_sysprep_op_fs_uuids (struct kiln_sysprep_job *j, GError **err)
{
  char **fs = guestfs_list_filesystems (j->g);
  g_autoptr (GPtrArray) devs = NULL;
  g_autoptr (GHashTable) map = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  bool was_mounted = j->gu->mounted;

  if (fs == NULL) {
    kiln_guest_set_error (j->gu, err, "%s: cannot list the filesystems", j->op);
    return -1;
  }
  devs = kiln_sysprep_fs_uuid_devices (fs);
  for (char **p = fs; *p; p++)
    free (*p);
  free (fs);
  for (guint i = 0; i < devs->len; i++)
    kiln_sysprep_note (j, "new UUID for", devs->pdata[i]);
  if (j->dry_run || devs->len == 0)
    return 0;
  if (kiln_sysprep_unmount (j, err) == -1)
    return -1;
  for (guint i = 0; i < devs->len; i++) {
    const char *dev = devs->pdata[i];
    g_autofree char *type = guestfs_vfs_type (j->g, dev);
    char *old = vfs_uuid (j, dev), *new;

    /* tune2fs -U wants a freshly checked ext filesystem. */
    if (type && g_str_has_prefix (type, "ext") &&
        guestfs_e2fsck (j->g, dev, GUESTFS_E2FSCK_CORRECT, 1, -1) == -1) {
      kiln_guest_set_error (j->gu, err, "%s: %s needs checking before its UUID changes", j->op, dev);
      g_free (old);
      return -1;
    }
    if (guestfs_set_uuid_random (j->g, dev) == -1) {
      kiln_guest_set_error (j->gu, err, "%s: cannot give %s a new UUID", j->op, dev);
      g_free (old);
      return -1;
    }
    new = vfs_uuid (j, dev);
    if (old && new)
      g_hash_table_insert (map, old, new);
    else {
      g_free (old);
      g_free (new);
    }
  }
  if (!was_mounted || g_hash_table_size (map) == 0)
    return 0;
  /* Mount again (inspection maps mountpoints to devices, not UUIDs). */
  if (kiln_guest_mount (j->gu, err) == -1)
    return -1;
  return update_refs (j, map, err);
}
