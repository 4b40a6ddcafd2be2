/* disks.c: -a DISK / -d DOMAIN / --format, as kiln customize and kiln
 * sysprep take them (virt-customize's and virt-sysprep's options). */
#include "kiln.h"
#include "domain.h"
#include "guest.h"
#include "msg.h"
#include "writable.h"
#include "opts.h"

void
kiln_disk_args_init (struct kiln_disk_args *a)
{
  *a = (struct kiln_disk_args) {
    .disks = g_ptr_array_new_with_free_func (g_free),
    .formats = g_ptr_array_new_with_free_func (g_free),
  };
}

void
kiln_disk_args_clear (struct kiln_disk_args *a)
{
  g_clear_pointer (&a->disks, g_ptr_array_unref);
  g_clear_pointer (&a->formats, g_ptr_array_unref);
}

int
kiln_disk_args_take (struct kiln_disk_args *a, const struct kiln_ctx *ctx, char what,
                     const char *arg)
{
  switch (what) {
  case 'a':
    g_ptr_array_add (a->disks, g_strdup (arg));
    g_ptr_array_add (a->formats, g_strdup (a->format));
    return 0;
  case 'd':
    if (a->domain)
      return kiln_usage_error (ctx, "-d/--domain given twice");
    a->domain = arg;
    return 0;
  case 'f':
    if (g_strcmp0 (arg, "raw") != 0 && g_strcmp0 (arg, "qcow2") != 0 &&
        g_strcmp0 (arg, "auto") != 0)
      return kiln_usage_error (ctx, "--format takes raw, qcow2 or auto, not '%s'", arg);
    a->format = g_strcmp0 (arg, "auto") == 0 ? NULL : arg;
    return 0;
  }
  g_return_val_if_reached (KILN_EXIT_USAGE);
}

int
kiln_disk_args_check (const struct kiln_disk_args *a, const struct kiln_ctx *ctx)
{
  if (a->disks->len == 0 && a->domain == NULL)
    return kiln_usage_error (ctx, "which image? (kiln %s -a DISK or -d DOMAIN)",
                             ctx->verb ? ctx->verb->name : "VERB");
  if (a->disks->len > 0 && a->domain)
    return kiln_usage_error (ctx, "-a and -d cannot be used together");
  return 0;
}

int
kiln_disk_args_add_to_guest (struct kiln_disk_args *a, const struct kiln_ctx *ctx,
                             struct kiln_guest *gu, GError **err)
{
  if (!gu->readonly && !a->unsafe_write)
    for (guint i = 0; i < a->disks->len; i++)
      if (kiln_image_check_writable (ctx, a->disks->pdata[i], err) == -1)
        return -1;
  if (a->unsafe_write && !gu->readonly && a->disks->len > 0)
    kiln_warn (KILN_UNSAFE_WRITE_OPTION ": writing %s without checking for linked clones "
               "backed by it or running domains using it", kiln_disk_args_name (a));
  if (a->domain &&
      kiln_domain_disks_for_edit (ctx, a->domain, a->disks, a->formats, err) == -1)
    return -1;
  for (guint i = 0; i < a->disks->len; i++)
    if (kiln_guest_add_disk (gu, a->disks->pdata[i], a->formats->pdata[i], err) == -1)
      return -1;
  return 0;
}

const char *
kiln_disk_args_name (const struct kiln_disk_args *a)
{
  if (a->domain)
    return a->domain;
  return a->disks->len ? a->disks->pdata[0] : "the image";
}
