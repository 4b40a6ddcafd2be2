/* buildreg.c: the last stages of kiln build: libvirt networks a recipe
 * names, the template domain, and its clones, through the same library
 * calls as kiln register and kiln clone. */
#include <string.h>
#include <libxml/tree.h>

#include "build.h"
#include "clone.h"
#include "domain.h"
#include "event.h"
#include "recipe.h"
#include "register.h"
#include "virt.h"

/* The seed article's network XML, built from the recipe's fields:
 * {name, bridge, address: A.B.C.D/NN, dhcp: FIRST-LAST, forward: none|nat}. */
static char *
network_xml (const struct kiln_recipe_network *n, GError **err)
{
  xmlDocPtr doc = xmlNewDoc (BAD_CAST "1.0");
  xmlNodePtr net = xmlNewNode (NULL, BAD_CAST "network");
  xmlChar *buf = NULL;
  int len = 0;
  char *out;

  xmlDocSetRootElement (doc, net);
  xmlNewTextChild (net, NULL, BAD_CAST "name", BAD_CAST n->name);
  if (n->forward && strcmp (n->forward, "none") != 0) {
    xmlNodePtr fwd = xmlNewChild (net, NULL, BAD_CAST "forward", NULL);

    xmlNewProp (fwd, BAD_CAST "mode", BAD_CAST n->forward);
  }
  if (n->bridge) {
    xmlNodePtr br = xmlNewChild (net, NULL, BAD_CAST "bridge", NULL);

    xmlNewProp (br, BAD_CAST "name", BAD_CAST n->bridge);
    xmlNewProp (br, BAD_CAST "stp", BAD_CAST "on");
    xmlNewProp (br, BAD_CAST "delay", BAD_CAST "0");
  }
  if (n->address) {
    g_auto (GStrv) parts = g_strsplit (n->address, "/", 2);
    xmlNodePtr ip = xmlNewChild (net, NULL, BAD_CAST "ip", NULL);

    if (parts[0] == NULL || parts[1] == NULL) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE,
                   "network %s: address '%s' is not ADDRESS/PREFIX", n->name, n->address);
      xmlFreeDoc (doc);
      return NULL;
    }
    xmlNewProp (ip, BAD_CAST "address", BAD_CAST parts[0]);
    xmlNewProp (ip, BAD_CAST "prefix", BAD_CAST parts[1]);
    if (n->dhcp) {
      g_auto (GStrv) range = g_strsplit (n->dhcp, "-", 2);
      xmlNodePtr dhcp, r;

      if (range[0] == NULL || range[1] == NULL) {
        g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE,
                     "network %s: dhcp '%s' is not FIRST-LAST", n->name, n->dhcp);
        xmlFreeDoc (doc);
        return NULL;
      }
      dhcp = xmlNewChild (ip, NULL, BAD_CAST "dhcp", NULL);
      r = xmlNewChild (dhcp, NULL, BAD_CAST "range", NULL);
      xmlNewProp (r, BAD_CAST "start", BAD_CAST range[0]);
      xmlNewProp (r, BAD_CAST "end", BAD_CAST range[1]);
    }
  }
  xmlDocDumpFormatMemory (doc, &buf, &len, 1);
  out = g_strndup ((const char *) buf, len);
  xmlFree (buf);
  xmlFreeDoc (doc);
  return out;
}

/* Define and start the networks the recipe names that do not exist yet;
 * an existing network of that name is used as it is. */
static int
ensure_networks (virConnectPtr conn, const struct kiln_recipe *r, GError **err)
{
  for (guint i = 0; i < r->networks->len; i++) {
    const struct kiln_recipe_network *n = r->networks->pdata[i];
    virNetworkPtr net = virNetworkLookupByName (conn, n->name);
    g_autofree char *xml = NULL;

    if (net) {
      kiln_event_info ("network", "network %s exists; using it as it is", n->name);
      if (!virNetworkIsActive (net) && virNetworkCreate (net) < 0) {
        kiln_virt_set_error (err, "cannot start network %s", n->name);
        virNetworkFree (net);
        return -1;
      }
      virNetworkFree (net);
      continue;
    }
    xml = network_xml (n, err);
    if (xml == NULL)
      return -1;
    net = virNetworkDefineXML (conn, xml);
    if (net == NULL) {
      kiln_virt_set_error (err, "cannot define network %s", n->name);
      return -1;
    }
    if (virNetworkCreate (net) < 0 || virNetworkSetAutostart (net, 1) < 0) {
      kiln_virt_set_error (err, "cannot start network %s", n->name);
      virNetworkUndefine (net);
      virNetworkFree (net);
      return -1;
    }
    kiln_event_info ("network", "defined and started network %s", n->name);
    virNetworkFree (net);
  }
  return 0;
}

/* An existing domain of the template's name goes only with --force, and
 * never while linked clones depend on it. */
static int
clear_old_template (const struct kiln_ctx *ctx, virConnectPtr conn, const char *name,
                    bool force, GError **err)
{
  virDomainPtr old = virDomainLookupByName (conn, name);
  g_autoptr (GPtrArray) deps = NULL;
  int r;

  if (old == NULL)
    return 0;
  if (!force) {
    virDomainFree (old);
    g_set_error (err, KILN_ERROR, KILN_ERROR_EXISTS,
                 "a domain named '%s' exists already (kiln build --force replaces it)", name);
    return -1;
  }
  deps = kiln_clone_dependents (ctx, name, err);
  if (deps == NULL) {
    virDomainFree (old);
    return -1;
  }
  if (deps->len > 0) {
    g_autofree char *list = kiln_domain_name_list (deps);

    g_set_error (err, KILN_ERROR, KILN_ERROR_BUSY,
                 "template '%s' has linked clones (%s); remove them before rebuilding it",
                 name, list);
    virDomainFree (old);
    return -1;
  }
  r = kiln_virt_undefine (old, err);
  virDomainFree (old);
  return r;
}

int
kiln_build_register (const struct kiln_ctx *ctx, const struct kiln_recipe *r,
                     const char *image, const struct kiln_image_result *built,
                     bool force, GError **err)
{
  virConnectPtr conn;
  g_autofree struct kiln_register_disk *extra = NULL;
  struct kiln_register_spec spec = { 0 };
  struct kiln_register_result res = { 0 };
  g_autofree char *abs_image = NULL;
  const char *tname;
  int ret = -1;

  if (!r->template && r->clones == NULL && r->networks->len == 0)
    return 0;
  conn = kiln_virt_open (ctx, NULL, err);
  if (conn == NULL)
    return -1;
  if (ensure_networks (conn, r, err) == -1)
    goto out;
  if (!r->template && r->clones == NULL) {
    ret = 0;
    goto out;
  }
  tname = r->template_name ? r->template_name : r->name;
  if (clear_old_template (ctx, conn, tname, force, err) == -1)
    goto out;

  abs_image = g_canonicalize_filename (image, NULL);
  extra = g_new0 (struct kiln_register_disk, r->disks->len + 1);
  for (guint i = 0; i < r->disks->len; i++) {
    const struct kiln_recipe_disk *d = r->disks->pdata[i];

    extra[i].size = (gint64) d->bytes;
    extra[i].target = d->target;
  }
  spec.disk = abs_image;
  spec.name = tname;
  spec.os_variant = r->os_variant;
  if (built && built->launched && built->distro) {
    spec.inspected_distro = built->distro;
    spec.inspected_osinfo = built->osinfo;
    spec.inspected_type = built->type;
    spec.inspected_major = built->major;
    spec.inspected_minor = built->minor;
  }
  spec.network = g_strcmp0 (r->template_network, "none") == 0 ? NULL
               : r->template_network ? r->template_network : "default";
  spec.recipe = r->path;
  spec.memory_mib = r->memory > 0 ? (guint64) r->memory : 0;
  spec.vcpus = r->vcpus > 0 ? (unsigned) r->vcpus : 0;
  spec.extra = extra;
  spec.n_extra = r->disks->len;
  if (kiln_register_template (ctx, &spec, &res, err) == -1)
    goto out;
  kiln_event_info ("register", "registered template %s (%s, %s, %" G_GUINT64_FORMAT " MiB, %u vCPU)",
                   tname, res.osinfo, res.type, res.memory_mib, res.vcpus);
  if (res.osinfo_note)
    kiln_event_warning ("register", "%s", res.osinfo_note);

  for (char **c = r->clones; c && *c; c++) {
    struct kiln_clone_spec cs = {
      .original = tname, .name = *c, .count = 1, .mode = KILN_CLONE_LINKED, .replace = force,
    };
    g_autoptr (GPtrArray) made = NULL;

    if (kiln_clone_domains (ctx, &cs, &made, err) == -1)
      goto out;
    kiln_event_info ("clone", "cloned %s (linked)", *c);
  }
  ret = 0;
 out:
  kiln_register_result_clear (&res);
  virConnectClose (conn);
  return ret;
}
