/* virt.c: libvirt connection and error plumbing. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libvirt/virterror.h>

#include "virt.h"

const char *
kiln_default_uri (const struct kiln_ctx *ctx)
{
  if (ctx->connect_uri)
    return ctx->connect_uri;
  return geteuid () == 0 ? "qemu:///system" : "qemu:///session";
}

/* KILN_LIBVIRT_REMOTE: 1 remote, 0 local, -1 unset (the URI decides). */
static int
forced_remote (void)
{
  const char *v = g_getenv ("KILN_LIBVIRT_REMOTE");

  if (v == NULL || *v == '\0')
    return -1;
  if (strcmp (v, "1") == 0 || g_ascii_strcasecmp (v, "yes") == 0)
    return 1;
  if (strcmp (v, "0") == 0 || g_ascii_strcasecmp (v, "no") == 0)
    return 0;
  return -1;
}

bool
kiln_virt_uri_is_local (const char *uri)
{
  const char *colon, *plus, *rest;
  int forced = forced_remote ();

  if (forced != -1)
    return forced == 0;
  if (uri == NULL || (colon = strchr (uri, ':')) == NULL)
    return false;
  /* DRIVER[+TRANSPORT]:[//[USER@]HOST[:PORT]]/PATH[?PARAMS] */
  plus = memchr (uri, '+', colon - uri);
  if (plus && !(colon - plus - 1 == 4 && strncmp (plus + 1, "unix", 4) == 0))
    return false;
  rest = colon + 1;
  if (strncmp (rest, "//", 2) == 0) {
    rest += 2;
    /* An authority (user, host, port) before the path: another host. */
    if (*rest != '/' && *rest != '\0' && *rest != '?')
      return false;
  }
  return true;
}

const char *
kiln_virt_remote_why (void)
{
  return forced_remote () == 1 ? "KILN_LIBVIRT_REMOTE says so" : "its URI names a host or a transport";
}

bool
kiln_virt_is_local (virConnectPtr conn)
{
  char *uri = virConnectGetURI (conn);
  bool local = kiln_virt_uri_is_local (uri);

  free (uri);
  return local;
}

static void
quiet_handler (void *opaque, virErrorPtr e)
{
  /* libvirt keeps the error for virGetLastError; kiln reports it. */
}

void
kiln_virt_quiet (void)
{
  static gsize once;

  if (g_once_init_enter (&once)) {
    virSetErrorFunc (NULL, quiet_handler);
    g_once_init_leave (&once, 1);
  }
}

/* ERR from libvirt's error E (may be NULL) with context CTX. */
static void
set_from (GError **err, virErrorPtr e, const char *ctx)
{
  int code = KILN_ERROR_LIBVIRT;

  if (e && (e->code == VIR_ERR_NO_DOMAIN || e->code == VIR_ERR_NO_STORAGE_POOL ||
            e->code == VIR_ERR_NO_STORAGE_VOL || e->code == VIR_ERR_NO_NETWORK))
    code = KILN_ERROR_NOT_FOUND;
  g_set_error (err, KILN_ERROR, code, "%s: %s", ctx,
               e && e->message ? e->message : "unknown libvirt error");
}

void
kiln_virt_set_domain_error (GError **err, virDomainPtr dom, const char *what)
{
  /* virDomainGetName, like every libvirt call, resets the thread's last
   * error: keep a copy across the call. */
  virErrorPtr saved = virSaveLastError ();
  const char *name = virDomainGetName (dom);
  g_autofree char *ctx = g_strdup_printf ("%s domain '%s'", what, name ? name : "?");

  set_from (err, saved, ctx);
  if (saved)
    virFreeError (saved);
}

void
kiln_virt_set_error (GError **err, const char *fmt, ...)
{
  virErrorPtr e = virGetLastError ();
  g_autofree char *ctx = NULL;
  va_list ap;

  va_start (ap, fmt);
  ctx = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  set_from (err, e, ctx);
}

virConnectPtr
kiln_virt_open (const struct kiln_ctx *ctx, const char *uri, GError **err)
{
  virConnectPtr conn;

  kiln_virt_quiet ();
  if (uri == NULL)
    uri = kiln_default_uri (ctx);
  conn = virConnectOpen (uri);
  if (conn == NULL)
    kiln_virt_set_error (err, "cannot connect to %s (is libvirtd running? -c selects another URI)", uri);
  return conn;
}

virDomainPtr
kiln_virt_lookup (virConnectPtr conn, const char *name, GError **err)
{
  virDomainPtr dom = virDomainLookupByName (conn, name);

  if (dom == NULL) {
    /* Read the error before another call resets it. */
    int code = virGetLastErrorCode ();
    g_autofree char *u = code == VIR_ERR_NO_DOMAIN ? virConnectGetURI (conn) : NULL;

    if (code == VIR_ERR_NO_DOMAIN)
      g_set_error (err, KILN_ERROR, KILN_ERROR_NOT_FOUND,
                   "no domain named '%s' on %s (virsh -c %s list --all shows them)",
                   name, u ? u : "?", u ? u : "?");
    else
      kiln_virt_set_error (err, "cannot look up domain '%s'", name);
  }
  return dom;
}

int
kiln_virt_undefine (virDomainPtr dom, GError **err)
{
  unsigned int flags = VIR_DOMAIN_UNDEFINE_NVRAM | VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
                       VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA |
                       VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA;

  if (virDomainUndefineFlags (dom, flags) == 0)
    return 0;
  /* Drivers without NVRAM or checkpoints refuse the flags they lack. */
  if (virDomainUndefine (dom) == 0)
    return 0;
  kiln_virt_set_domain_error (err, dom, "cannot undefine");
  return -1;
}
