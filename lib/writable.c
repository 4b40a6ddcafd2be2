/* writable.c: the precondition of every in-place write to an image. */
#include <errno.h>
#include <sys/stat.h>

#include "writable.h"
#include "cache.h"
#include "domain.h"
#include "qcow2.h"
#include "virt.h"

/* Which of NAMES (domains on CONN) are running or paused?  A domain
 * undefined meanwhile is not. */
static GPtrArray *
running_of (virConnectPtr conn, GPtrArray *names)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < names->len; i++) {
    virDomainPtr d = virDomainLookupByName (conn, names->pdata[i]);

    if (d == NULL)
      continue;
    if (virDomainIsActive (d) != 0)      /* 1 active; -1 unknown: refuse */
      g_ptr_array_add (out, g_strdup (names->pdata[i]));
    virDomainFree (d);
  }
  return out;
}

static int
refuse (GError **err, const char *path, const char *what, GPtrArray *names)
{
  g_autofree char *list = kiln_domain_name_list (names);

  g_set_error (err, KILN_ERROR, KILN_ERROR_BUSY,
               "%s: %s %s %s: writing to it would corrupt %s; refused (make a new image "
               "or a full clone, or give " KILN_UNSAFE_WRITE_OPTION " if %s can be lost)",
               path, what, names->len == 1 ? "domain" : "domains", list,
               names->len == 1 ? "it" : "them", names->len == 1 ? "it" : "they");
  return -1;
}

/* A check that cannot decide refuses, saying why. */
static int
undecided (GError **err, const char *path, const char *why)
{
  g_set_error (err, KILN_ERROR, KILN_ERROR_BUSY,
               "%s: cannot tell whether linked clones are backed by it: %s; refused "
               "(give " KILN_UNSAFE_WRITE_OPTION " to write without the check)", path, why);
  return -1;
}

int
kiln_image_check_writable (const struct kiln_ctx *ctx, const char *path, GError **err)
{
  g_autofree char *canon = NULL, *cached = NULL;
  g_autoptr (GPtrArray) files = NULL, deps = NULL, users = NULL, running = NULL;
  g_autoptr (GError) e = NULL;
  struct stat st;
  virConnectPtr conn;
  bool remote;

  /* On a remote connection PATH is a path on the other host: the scan
   * below reads the chains there, through the storage API (failing
   * closed on a disk that is no volume); the local filesystem says
   * nothing about it. */
  remote = !kiln_virt_uri_is_local (kiln_default_uri (ctx));
  if (!remote && stat (path, &st) != 0 && errno == ENOENT)
    return 0;                   /* nothing can use what does not exist */
  canon = remote ? g_strdup (path) : kiln_path_canonical (path);
  cached = remote ? NULL : kiln_cache_digest_of (canon);
  if (cached) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_BUSY,
                 "%s is an image of kiln's cache (%s): overlays and templates are "
                 "backed by it and it is never changed; write an overlay of it "
                 "(kiln create) instead", path, cached);
    return -1;
  }
  conn = kiln_virt_open (ctx, NULL, &e);
  if (conn == NULL) {
    return undecided (err, path, e->message);
  }
  files = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (files, g_strdup (canon));
  deps = kiln_domain_dependents (conn, files, NULL, NULL, &e);
  if (deps)
    users = kiln_domain_users (conn, files, NULL, &e);
  if (users) {
    /* A template domain's own disk: clones recorded in kiln's metadata
     * depend on it even when their chain could not be followed. */
    for (guint i = 0; i < users->len && deps; i++) {
      g_autoptr (GPtrArray) more = kiln_domain_dependents (conn, NULL, users->pdata[i],
                                                           users->pdata[i], &e);

      if (more == NULL)
        g_clear_pointer (&deps, g_ptr_array_unref);
      for (guint j = 0; more && j < more->len; j++)
        if (!g_ptr_array_find_with_equal_func (deps, more->pdata[j], g_str_equal, NULL))
          g_ptr_array_add (deps, g_strdup (more->pdata[j]));
    }
    running = running_of (conn, users);
  }
  virConnectClose (conn);
  if (deps == NULL || users == NULL) {
    return undecided (err, path, e ? e->message : "the domains could not be scanned");
  }
  if (deps->len > 0)
    return refuse (err, path, "linked clones are backed by it (their disks are overlays on it):", deps);
  if (running->len > 0)
    return refuse (err, path, "it is a disk of the running", running);
  return 0;
}
