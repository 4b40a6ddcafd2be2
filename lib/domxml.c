/* domxml.c: domain XML through libxml2 trees and XPath. */
#include <string.h>
#include <libxml/parser.h>
#include <libxml/xpathInternals.h>

#include "domxml.h"

#define X(s) ((const xmlChar *) (s))

static struct kiln_domxml *
wrap (xmlDocPtr doc)
{
  struct kiln_domxml *dx = g_new0 (struct kiln_domxml, 1);

  dx->doc = doc;
  dx->xp = xmlXPathNewContext (doc);
  xmlXPathRegisterNs (dx->xp, X ("kiln"), X (KILN_XMLNS_TEMPLATE));
  xmlXPathRegisterNs (dx->xp, X ("libosinfo"), X (KILN_XMLNS_LIBOSINFO));
  return dx;
}

struct kiln_domxml *
kiln_domxml_parse (const char *xml, GError **err)
{
  xmlDocPtr doc;
  xmlNodePtr root;

  doc = xmlReadMemory (xml, (int) strlen (xml), "domain.xml", NULL,
                       XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                       XML_PARSE_NOBLANKS);
  if (doc == NULL) {
    const xmlError *e = xmlGetLastError ();
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "malformed domain XML: %s",
                 e && e->message ? g_strchomp (e->message) : "parse error");
    return NULL;
  }
  root = xmlDocGetRootElement (doc);
  if (root == NULL || !xmlStrEqual (root->name, X ("domain"))) {
    xmlFreeDoc (doc);
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "not a domain XML (no <domain> root)");
    return NULL;
  }
  return wrap (doc);
}

void
kiln_domxml_free (struct kiln_domxml *dx)
{
  if (dx == NULL)
    return;
  xmlXPathFreeContext (dx->xp);
  xmlFreeDoc (dx->doc);
  g_free (dx);
}

char *
kiln_domxml_format (struct kiln_domxml *dx)
{
  xmlBufferPtr buf = xmlBufferCreate ();
  char *s;

  xmlNodeDump (buf, dx->doc, xmlDocGetRootElement (dx->doc), 0, 1);
  s = g_strconcat ((const char *) xmlBufferContent (buf), "\n", NULL);
  xmlBufferFree (buf);
  return s;
}

static xmlXPathObjectPtr
eval (struct kiln_domxml *dx, xmlNodePtr at, const char *xpath)
{
  dx->xp->node = at ? at : xmlDocGetRootElement (dx->doc);
  return xmlXPathEvalExpression (X (xpath), dx->xp);
}

char *
kiln_domxml_get (struct kiln_domxml *dx, const char *xpath)
{
  g_autofree char *expr = g_strdup_printf ("string(%s)", xpath);
  xmlXPathObjectPtr o = eval (dx, NULL, expr);
  char *s = NULL;

  if (o && o->type == XPATH_STRING && o->stringval && o->stringval[0])
    s = g_strdup ((const char *) o->stringval);
  xmlXPathFreeObject (o);
  return s;
}

GPtrArray *
kiln_domxml_nodes (struct kiln_domxml *dx, const char *xpath)
{
  GPtrArray *a = g_ptr_array_new ();
  xmlXPathObjectPtr o = eval (dx, NULL, xpath);

  if (o && o->type == XPATH_NODESET && o->nodesetval) {
    for (int i = 0; i < o->nodesetval->nodeNr; i++)
      g_ptr_array_add (a, o->nodesetval->nodeTab[i]);
  }
  xmlXPathFreeObject (o);
  return a;
}

static char *
node_string (xmlNodePtr n)
{
  xmlChar *c = xmlNodeGetContent (n);
  char *s = g_strdup ((const char *) c);

  xmlFree (c);
  return s;
}

GPtrArray *
kiln_domxml_strings (struct kiln_domxml *dx, const char *xpath)
{
  g_autoptr (GPtrArray) nodes = kiln_domxml_nodes (dx, xpath);
  GPtrArray *a = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < nodes->len; i++)
    g_ptr_array_add (a, node_string (nodes->pdata[i]));
  return a;
}

/* The first child element of PARENT called NAME (no namespace), or NULL. */
static xmlNodePtr
child (xmlNodePtr parent, const char *name)
{
  for (xmlNodePtr c = parent ? parent->children : NULL; c; c = c->next)
    if (c->type == XML_ELEMENT_NODE && c->ns == NULL && xmlStrEqual (c->name, X (name)))
      return c;
  return NULL;
}

static xmlNodePtr
child_or_new (xmlNodePtr parent, const char *name)
{
  xmlNodePtr c = child (parent, name);

  return c ? c : xmlNewChild (parent, NULL, X (name), NULL);
}

static void
set_child_text (xmlNodePtr parent, const char *name, const char *text)
{
  xmlNodePtr c = child_or_new (parent, name);
  xmlChar *enc = xmlEncodeSpecialChars (c->doc, X (text));

  xmlNodeSetContent (c, enc);
  xmlFree (enc);
}

static char *
prop (xmlNodePtr n, const char *name)
{
  xmlChar *v = n ? xmlGetProp (n, X (name)) : NULL;
  char *s = v ? g_strdup ((const char *) v) : NULL;

  xmlFree (v);
  return s;
}

void
kiln_domxml_set_name (struct kiln_domxml *dx, const char *name)
{
  set_child_text (xmlDocGetRootElement (dx->doc), "name", name);
}

void
kiln_domxml_set_uuid (struct kiln_domxml *dx, const char *uuid)
{
  /* libvirt refuses an SMBIOS system uuid that differs from <uuid>. */
  g_autoptr (GPtrArray) sys = kiln_domxml_nodes (
    dx, "/domain/sysinfo[@type='smbios']/system/entry[@name='uuid']");
  xmlChar *enc = xmlEncodeSpecialChars (dx->doc, X (uuid));

  set_child_text (xmlDocGetRootElement (dx->doc), "uuid", uuid);
  for (guint i = 0; i < sys->len; i++)
    xmlNodeSetContent (sys->pdata[i], enc);
  xmlFree (enc);
}

static void
disk_free (gpointer p)
{
  struct kiln_domxml_disk *d = p;

  g_free (d->type);
  g_free (d->device);
  g_free (d->path);
  g_free (d->pool);
  g_free (d->volume);
  g_free (d->format);
  g_free (d->target);
  g_free (d);
}

GPtrArray *
kiln_domxml_disks (struct kiln_domxml *dx)
{
  g_autoptr (GPtrArray) nodes = kiln_domxml_nodes (dx, "/domain/devices/disk");
  GPtrArray *a = g_ptr_array_new_with_free_func (disk_free);

  for (guint i = 0; i < nodes->len; i++) {
    xmlNodePtr n = nodes->pdata[i], src = child (n, "source");
    struct kiln_domxml_disk *d = g_new0 (struct kiln_domxml_disk, 1);

    d->node = n;
    d->type = prop (n, "type");
    d->device = prop (n, "device");
    if (d->device == NULL)
      d->device = g_strdup ("disk");
    d->path = prop (src, "file");
    if (d->path == NULL)
      d->path = prop (src, "dev");
    d->pool = prop (src, "pool");
    d->volume = prop (src, "volume");
    d->format = prop (child (n, "driver"), "type");
    d->target = prop (child (n, "target"), "dev");
    d->readonly = child (n, "readonly") != NULL;
    d->shareable = child (n, "shareable") != NULL;
    g_ptr_array_add (a, d);
  }
  return a;
}

bool
kiln_domxml_disk_is_cloned (const struct kiln_domxml_disk *d)
{
  if (g_strcmp0 (d->device, "disk") != 0 && g_strcmp0 (d->device, "lun") != 0)
    return false;
  if (d->readonly || d->shareable)
    return false;
  /* Any writable source is the domain's own: a network, block, NVMe or
   * vhost-user disk is "cloned" too, which clone refuses with a message
   * instead of sharing it.  Only an empty drive has nothing to clone. */
  return child (d->node, "source") != NULL;
}

void
kiln_domxml_disk_set_file (struct kiln_domxml_disk *d, const char *path_in, const char *format_in)
{
  xmlNodePtr src = child (d->node, "source"), drv;
  /* Copies: the caller may pass D's own fields, which are freed below. */
  g_autofree char *path = g_strdup (path_in), *format = g_strdup (format_in);

  xmlSetProp (d->node, X ("type"), X ("file"));
  if (src) {
    /* The old source's attributes (pool=, volume=, dev=, startupPolicy...)
     * and children (<seclabel>, <reservations>) belonged to the old disk. */
    xmlUnlinkNode (src);
    xmlFreeNode (src);
  }
  src = xmlNewNode (NULL, X ("source"));
  xmlSetProp (src, X ("file"), X (path));
  /* <source> first among the disk's children, where virsh puts it. */
  if (d->node->children)
    xmlAddPrevSibling (d->node->children, src);
  else
    xmlAddChild (d->node, src);
  /* A backing chain recorded for the old source does not hold for the new. */
  for (xmlNodePtr bs; (bs = child (d->node, "backingStore")) != NULL;) {
    xmlUnlinkNode (bs);
    xmlFreeNode (bs);
  }
  drv = child_or_new (d->node, "driver");
  if (xmlHasProp (drv, X ("name")) == NULL)
    xmlSetProp (drv, X ("name"), X ("qemu"));
  if (format)
    xmlSetProp (drv, X ("type"), X (format));
  g_free (d->path);
  d->path = g_strdup (path);
  g_clear_pointer (&d->pool, g_free);
  g_clear_pointer (&d->volume, g_free);
  g_free (d->type);
  d->type = g_strdup ("file");
  if (format) {
    g_free (d->format);
    d->format = g_strdup (format);
  }
}

void
kiln_domxml_disk_set_volume (struct kiln_domxml_disk *d, const char *pool_in,
                             const char *volume_in, const char *format)
{
  xmlNodePtr src;
  /* Copies: the caller may pass D's own fields (d->pool), which
   * kiln_domxml_disk_set_file frees. */
  g_autofree char *pool = g_strdup (pool_in), *volume = g_strdup (volume_in);

  kiln_domxml_disk_set_file (d, volume, format);
  src = child (d->node, "source");
  xmlUnsetProp (src, X ("file"));
  xmlSetProp (src, X ("pool"), X (pool));
  xmlSetProp (src, X ("volume"), X (volume));
  xmlSetProp (d->node, X ("type"), X ("volume"));
  g_clear_pointer (&d->path, g_free);
  d->pool = g_strdup (pool);
  d->volume = g_strdup (volume);
  g_free (d->type);
  d->type = g_strdup ("volume");
}

GPtrArray *
kiln_domxml_interfaces (struct kiln_domxml *dx)
{
  return kiln_domxml_nodes (dx, "/domain/devices/interface");
}

void
kiln_domxml_interface_set_mac (xmlNodePtr iface, const char *mac)
{
  xmlSetProp (child_or_new (iface, "mac"), X ("address"), X (mac));
}

void
kiln_domxml_reset_graphics (struct kiln_domxml *dx)
{
  g_autoptr (GPtrArray) gs = kiln_domxml_nodes (dx, "/domain/devices/graphics");

  for (guint i = 0; i < gs->len; i++) {
    xmlNodePtr g = gs->pdata[i];
    g_autofree char *type = prop (g, "type");

    if (g_strcmp0 (type, "vnc") != 0 && g_strcmp0 (type, "spice") != 0)
      continue;
    xmlUnsetProp (g, X ("port"));
    xmlUnsetProp (g, X ("tlsPort"));
    xmlUnsetProp (g, X ("websocket"));
    xmlSetProp (g, X ("autoport"), X ("yes"));
  }
}

char *
kiln_domxml_nvram (struct kiln_domxml *dx)
{
  char *s = kiln_domxml_get (dx, "/domain/os/nvram/source/@file");

  return s ? s : kiln_domxml_get (dx, "/domain/os/nvram[not(source)]");
}

void
kiln_domxml_set_nvram (struct kiln_domxml *dx, const char *path)
{
  xmlNodePtr os = child_or_new (xmlDocGetRootElement (dx->doc), "os");
  xmlNodePtr src = child (child (os, "nvram"), "source");

  if (src)
    xmlSetProp (src, X ("file"), X (path));
  else
    set_child_text (os, "nvram", path);
}

char *
kiln_domxml_own_path (const char *path, const char *original, const char *name)
{
  g_autofree char *dir = g_path_get_dirname (path), *base = g_path_get_basename (path);
  g_autofree char *nb = NULL;
  size_t n = strlen (original);
  const char *dot = strrchr (base, '.');

  if (strncmp (base, original, n) == 0 && !g_ascii_isalnum (base[n]))
    nb = g_strconcat (name, base + n, NULL);
  else if (dot && dot != base && strlen (dot) <= 8)
    nb = g_strdup_printf ("%.*s-%s%s", (int) (dot - base), base, name, dot);
  else
    nb = g_strdup_printf ("%s-%s", base, name);
  return g_build_filename (dir, nb, NULL);
}

/* The attributes holding a path that belongs to one domain and that
 * libvirt or QEMU create or write at start (a clone must not share them):
 * the output file of a serial, console, parallel or channel device, a
 * device's log, a unix socket QEMU listens on (mode='bind', and a
 * vhost-user NIC in server mode), a graphics socket, an audio file.
 * Sockets QEMU connects to (mode='connect'/'client'), shared folders, a
 * shmem server, firmware, kernels and ROMs are inputs shared on purpose. */
static const char *const own_path_xpaths[] = {
  "/domain/devices//*[@type='file']/source/@path",
  "/domain/devices//log/@file",
  "/domain/devices//source[@mode='bind']/@path",
  "/domain/devices/interface[@type='vhostuser']/source[@mode='server']/@path",
  "/domain/devices/graphics/@socket",
  "/domain/devices/graphics/listen/@socket",
  "/domain/devices/audio[@type='file']/@path",
};

int
kiln_domxml_make_own (struct kiln_domxml *dx, const char *original, const char *name)
{
  g_autoptr (GPtrArray) attrs = g_ptr_array_new ();
  int n = 0;

  /* Collected first: one attribute may match two expressions, and is
   * renamed once. */
  for (size_t i = 0; i < G_N_ELEMENTS (own_path_xpaths); i++) {
    g_autoptr (GPtrArray) a = kiln_domxml_nodes (dx, own_path_xpaths[i]);

    for (guint k = 0; k < a->len; k++)
      if (!g_ptr_array_find (attrs, a->pdata[k], NULL))
        g_ptr_array_add (attrs, a->pdata[k]);
  }
  for (guint i = 0; i < attrs->len; i++) {
    xmlAttrPtr at = attrs->pdata[i];
    g_autofree char *old = node_string ((xmlNodePtr) at), *own = NULL;

    if (old == NULL || old[0] == '\0')
      continue;
    own = kiln_domxml_own_path (old, original, name);
    xmlSetProp (at->parent, at->name, X (own));
    n++;
  }
  {
    /* A fixed tap device name (libvirt names the others at start) and a
     * fixed vsock CID are one domain's too. */
    g_autoptr (GPtrArray) taps = kiln_domxml_nodes (
      dx, "/domain/devices/interface[not(@type='ethernet' and target/@managed='no')]/target");
    g_autoptr (GPtrArray) cids = kiln_domxml_nodes (dx, "/domain/devices/vsock/cid");

    for (guint i = 0; i < taps->len; i++) {
      xmlUnlinkNode (taps->pdata[i]);
      xmlFreeNode (taps->pdata[i]);
    }
    for (guint i = 0; i < cids->len; i++) {
      xmlUnsetProp (cids->pdata[i], X ("address"));
      xmlSetProp (cids->pdata[i], X ("auto"), X ("yes"));
    }
  }
  kiln_domxml_reset_graphics (dx);
  return n;
}

char *
kiln_domxml_unclonable (struct kiln_domxml *dx)
{
  g_autoptr (GPtrArray) mem = kiln_domxml_strings (dx, "/domain/devices/memory/source/path");

  if (mem->len > 0)
    return g_strdup_printf ("its memory device is backed by %s, which a clone would share "
                            "(kiln does not copy memory devices)",
                            (const char *) mem->pdata[0]);
  return NULL;
}

void
kiln_meta_clear (struct kiln_meta *m)
{
  g_clear_pointer (&m->original, g_free);
  g_clear_pointer (&m->base, g_free);
  g_clear_pointer (&m->base_digest, g_free);
  g_clear_pointer (&m->recipe, g_free);
  g_clear_pointer (&m->created, g_free);
  g_clear_pointer (&m->firstboot_identity, g_free);
  m->is_template = m->linked = false;
}

int
kiln_domxml_get_meta (struct kiln_domxml *dx, struct kiln_meta *m)
{
  g_autofree char *tmpl = NULL, *linked = NULL;
  g_autoptr (GPtrArray) el = kiln_domxml_nodes (dx, "/domain/metadata/kiln:template");

  memset (m, 0, sizeof *m);
  if (el->len == 0)
    return 0;
  tmpl = kiln_domxml_get (dx, "/domain/metadata/kiln:template/@template");
  m->is_template = g_strcmp0 (tmpl, "yes") == 0;
  m->original = kiln_domxml_get (dx, "/domain/metadata/kiln:template/kiln:original");
  linked = kiln_domxml_get (dx, "/domain/metadata/kiln:template/kiln:original/@linked");
  m->linked = g_strcmp0 (linked, "yes") == 0;
  m->base = kiln_domxml_get (dx, "/domain/metadata/kiln:template/kiln:base");
  m->base_digest = kiln_domxml_get (dx, "/domain/metadata/kiln:template/kiln:base/@digest");
  m->recipe = kiln_domxml_get (dx, "/domain/metadata/kiln:template/kiln:recipe");
  m->created = kiln_domxml_get (dx, "/domain/metadata/kiln:template/kiln:created");
  m->firstboot_identity =
    kiln_domxml_get (dx, "/domain/metadata/kiln:template/kiln:firstboot-identity/@version");
  return 1;
}

static xmlNodePtr
ns_text_child (xmlNodePtr parent, xmlNsPtr ns, const char *name, const char *text)
{
  return xmlNewTextChild (parent, ns, X (name), X (text));
}

void
kiln_domxml_set_meta (struct kiln_domxml *dx, const struct kiln_meta *m)
{
  xmlNodePtr md = child_or_new (xmlDocGetRootElement (dx->doc), "metadata"), el;
  g_autoptr (GPtrArray) old = kiln_domxml_nodes (dx, "/domain/metadata/kiln:template");
  xmlNsPtr ns;

  for (guint i = 0; i < old->len; i++) {
    xmlUnlinkNode (old->pdata[i]);
    xmlFreeNode (old->pdata[i]);
  }
  el = xmlNewChild (md, NULL, X ("template"), NULL);
  ns = xmlNewNs (el, X (KILN_XMLNS_TEMPLATE), X ("kiln"));
  xmlSetNs (el, ns);
  xmlSetProp (el, X ("template"), X (m->is_template ? "yes" : "no"));
  if (m->original) {
    xmlNodePtr o = ns_text_child (el, ns, "original", m->original);
    xmlSetProp (o, X ("linked"), X (m->linked ? "yes" : "no"));
  }
  if (m->base) {
    xmlNodePtr b = ns_text_child (el, ns, "base", m->base);
    if (m->base_digest)
      xmlSetProp (b, X ("digest"), X (m->base_digest));
  }
  if (m->recipe)
    ns_text_child (el, ns, "recipe", m->recipe);
  if (m->created)
    ns_text_child (el, ns, "created", m->created);
  if (m->firstboot_identity) {
    xmlNodePtr f = xmlNewChild (el, ns, X ("firstboot-identity"), NULL);
    xmlSetProp (f, X ("version"), X (m->firstboot_identity));
  }
}

static xmlNodePtr
text_child (xmlNodePtr parent, const char *name, const char *text)
{
  return xmlNewTextChild (parent, NULL, X (name), text ? X (text) : NULL);
}

static xmlNodePtr
elem (xmlNodePtr parent, const char *name, ...)
{
  xmlNodePtr n = xmlNewChild (parent, NULL, X (name), NULL);
  va_list ap;
  const char *k;

  va_start (ap, name);
  while ((k = va_arg (ap, const char *)) != NULL)
    xmlSetProp (n, X (k), X (va_arg (ap, const char *)));
  va_end (ap);
  return n;
}

struct kiln_domxml *
kiln_domxml_new_domain (const struct kiln_domxml_spec *s)
{
  xmlDocPtr doc = xmlNewDoc (X ("1.0"));
  xmlNodePtr dom = xmlNewNode (NULL, X ("domain")), n, devs;
  g_autofree char *mem = g_strdup_printf ("%llu", s->memory_mib);
  g_autofree char *vcpus = g_strdup_printf ("%u", s->vcpus);

  xmlDocSetRootElement (doc, dom);
  xmlSetProp (dom, X ("type"), X (s->type));
  text_child (dom, "name", s->name);
  if (s->uuid)
    text_child (dom, "uuid", s->uuid);
  if (s->osinfo_id) {
    xmlNodePtr md = elem (dom, "metadata", NULL), lo, os;
    xmlNsPtr ns;

    lo = xmlNewChild (md, NULL, X ("libosinfo"), NULL);
    ns = xmlNewNs (lo, X (KILN_XMLNS_LIBOSINFO), X ("libosinfo"));
    xmlSetNs (lo, ns);
    os = xmlNewChild (lo, ns, X ("os"), NULL);
    xmlSetProp (os, X ("id"), X (s->osinfo_id));
  }
  n = text_child (dom, "memory", mem);
  xmlSetProp (n, X ("unit"), X ("MiB"));
  n = text_child (dom, "currentMemory", mem);
  xmlSetProp (n, X ("unit"), X ("MiB"));
  text_child (dom, "vcpu", vcpus);
  n = elem (dom, "os", NULL);
  xmlSetProp (text_child (n, "type", "hvm"), X ("arch"), X (s->arch ? s->arch : "x86_64"));
  elem (n, "boot", "dev", "hd", NULL);
  n = elem (dom, "features", NULL);
  elem (n, "acpi", NULL);
  elem (n, "apic", NULL);
  if (g_strcmp0 (s->type, "kvm") == 0)
    elem (dom, "cpu", "mode", "host-passthrough", NULL);
  elem (dom, "clock", "offset", "utc", NULL);
  text_child (dom, "on_poweroff", "destroy");
  text_child (dom, "on_reboot", "restart");
  text_child (dom, "on_crash", "destroy");

  devs = elem (dom, "devices", NULL);
  for (size_t i = 0; i < s->n_disks; i++) {
    const struct kiln_domxml_disk_spec *d = &s->disks[i];
    xmlNodePtr disk = elem (devs, "disk", "type", d->volume ? "volume" : "file",
                            "device", "disk", NULL);

    elem (disk, "driver", "name", "qemu", "type", d->format ? d->format : "raw",
          "discard", "unmap", NULL);
    if (d->volume)
      elem (disk, "source", "pool", d->pool, "volume", d->volume, NULL);
    else
      elem (disk, "source", "file", d->path, NULL);
    elem (disk, "target", "dev", d->target, "bus", d->bus ? d->bus : "virtio", NULL);
  }
  if (s->network) {
    bool user = strcmp (s->network, "user") == 0;
    xmlNodePtr nic = elem (devs, "interface", "type", user ? "user" : "network", NULL);

    if (s->mac)
      elem (nic, "mac", "address", s->mac, NULL);
    if (!user)
      elem (nic, "source", "network", s->network, NULL);
    elem (nic, "model", "type", s->nic_model ? s->nic_model : "virtio", NULL);
  }
  /* The serial console is how kiln's users (and tests) reach a guest
   * that has no network of its own: Debian's cloud images log in there. */
  n = elem (devs, "serial", "type", "pty", NULL);
  elem (n, "target", "port", "0", NULL);
  n = elem (devs, "console", "type", "pty", NULL);
  elem (n, "target", "type", "serial", "port", "0", NULL);
  if (s->virtio_rng) {
    n = elem (devs, "rng", "model", "virtio", NULL);
    text_child (n, "backend", "/dev/urandom");
    xmlSetProp (child (n, "backend"), X ("model"), X ("random"));
  }
  return wrap (doc);
}

void
kiln_domxml_set_oem_strings (struct kiln_domxml *dx, const char *prefix,
                             const char *const *entries, size_t n)
{
  xmlNodePtr root = xmlDocGetRootElement (dx->doc);
  g_autoptr (GPtrArray) sys = kiln_domxml_nodes (dx, "/domain/sysinfo[@type='smbios']");
  g_autoptr (GPtrArray) old = NULL;
  xmlNodePtr si, oem, os, smbios;

  if (sys->len > 0) {
    si = sys->pdata[0];
  } else {
    si = xmlNewChild (root, NULL, X ("sysinfo"), NULL);
    xmlSetProp (si, X ("type"), X ("smbios"));
  }
  oem = child_or_new (si, "oemStrings");
  /* Entries of PREFIX are this function's: a clone of a clone gets its
   * own, not its original's and its own. */
  old = kiln_domxml_nodes (dx, "/domain/sysinfo[@type='smbios']/oemStrings/entry");
  for (guint i = 0; i < old->len; i++) {
    xmlNodePtr e = old->pdata[i];
    xmlChar *t = xmlNodeGetContent (e);

    if (t && g_str_has_prefix ((const char *) t, prefix)) {
      xmlUnlinkNode (e);
      xmlFreeNode (e);
    }
    xmlFree (t);
  }
  for (size_t i = 0; i < n; i++) {
    xmlChar *enc = xmlEncodeSpecialChars (dx->doc, X (entries[i]));

    xmlNewChild (oem, NULL, X ("entry"), enc);
    xmlFree (enc);
  }
  if (oem->children == NULL) {
    xmlUnlinkNode (oem);
    xmlFreeNode (oem);
  }
  if (si->children == NULL) {
    xmlUnlinkNode (si);
    xmlFreeNode (si);
    return;
  }
  /* The guest sees <sysinfo> only with <smbios mode='sysinfo'/>. */
  os = child_or_new (root, "os");
  smbios = child_or_new (os, "smbios");
  xmlSetProp (smbios, X ("mode"), X ("sysinfo"));
}

bool
kiln_domxml_set_serial_log (struct kiln_domxml *dx, const char *path)
{
  g_autoptr (GPtrArray) ser = kiln_domxml_nodes (dx, "/domain/devices/serial[@type='pty']");
  xmlNodePtr log;

  if (ser->len == 0)
    return false;
  log = child_or_new (ser->pdata[0], "log");
  xmlSetProp (log, X ("file"), X (path));
  xmlSetProp (log, X ("append"), X ("off"));
  return true;
}
