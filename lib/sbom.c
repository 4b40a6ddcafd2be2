/* sbom.c: an image's software bill of materials as SPDX 2.3 JSON (see
 * sbom.h).  The package list comes from libguestfs inspection, which
 * reads the guest's own package database (dpkg status, rpmdb, apk,
 * pacman), so the SBOM says what the package manager inside would say.
 *
 * Document layout: the image is the package the document DESCRIBES; it
 * CONTAINS the operating system and each installed package, and is a
 * DESCENDANT_OF the base image, which carries the digest kiln verified
 * it with.  Each installed package carries a purl (pkg:deb/debian/NAME@
 * VERSION?arch=ARCH), SPDX 2.3's way to name a distribution package and
 * its architecture, and its source package in sourceInfo. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <guestfs.h>
#include <json-glib/json-glib.h>

#include "sbom.h"
#include "digest.h"
#include "event.h"
#include "fileio.h"
#include "guest.h"
#include "json.h"
#include "packages.h"
#include "secret.h"
#include "version.h"

static void
package_free (gpointer p)
{
  struct kiln_sbom_package *pkg = p;

  g_free (pkg->name);
  g_free (pkg->version);
  g_free (pkg->arch);
  g_free (pkg->source);
  g_free (pkg);
}

struct kiln_sbom_guest *
kiln_sbom_guest_new (void)
{
  struct kiln_sbom_guest *sg = g_new0 (struct kiln_sbom_guest, 1);

  sg->packages = g_ptr_array_new_with_free_func (package_free);
  return sg;
}

void
kiln_sbom_guest_free (struct kiln_sbom_guest *sg)
{
  if (sg == NULL)
    return;
  g_free (sg->type);
  g_free (sg->distro);
  g_free (sg->product_name);
  g_free (sg->arch);
  g_free (sg->osinfo);
  g_free (sg->package_format);
  g_ptr_array_unref (sg->packages);
  g_free (sg);
}

static char *
nonempty (const char *s)
{
  return s && *s ? g_strdup (s) : NULL;
}

void
kiln_sbom_guest_add (struct kiln_sbom_guest *sg, const char *name, int epoch,
                     const char *version, const char *release, const char *arch,
                     const char *source)
{
  struct kiln_sbom_package *pkg = g_new0 (struct kiln_sbom_package, 1);
  GString *v = g_string_new (NULL);

  /* dpkg-query and rpm -q print the epoch only when it is not 0. */
  if (epoch > 0)
    g_string_append_printf (v, "%d:", epoch);
  g_string_append (v, version ? version : "");
  /* libguestfs splits apk's "1.36.1-r15" at "-r": apk says "-r15". */
  if (release && *release)
    g_string_append_printf (v, g_strcmp0 (sg->package_format, "apk") == 0 ? "-r%s" : "-%s", release);
  pkg->name = g_strdup (name);
  pkg->version = g_string_free (v, FALSE);
  pkg->arch = nonempty (arch);
  pkg->source = nonempty (source);
  g_ptr_array_add (sg->packages, pkg);
}

static char *
known (const char *s)
{
  return s && strcmp (s, "unknown") != 0 ? g_strdup (s) : NULL;
}

/* The fields kiln_sbom_add_rpm_qa reads, in its order. */
#define RPM_QA_FORMAT "%{NAME}\\t%{EPOCHNUM}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\t%{SOURCERPM}\\n"

/* "(none)" is rpm's word for a tag a package does not have. */
static const char *
rpm_tag (const char *s)
{
  return s && *s && strcmp (s, "(none)") != 0 ? s : NULL;
}

int
kiln_sbom_add_rpm_qa (struct kiln_sbom_guest *sg, const char *text, GError **err)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);

  for (char **l = lines; *l; l++) {
    g_auto (GStrv) f = NULL;
    g_autofree char *source = NULL;
    char *dash;

    if (**l == '\0')
      continue;
    f = g_strsplit (*l, "\t", -1);
    if (g_strv_length (f) != 6 || f[0][0] == '\0') {
      g_set_error (err, KILN_ERROR, KILN_ERROR_GUEST,
                   "rpm -qa printed a line kiln cannot read: %.80s", *l);
      return -1;
    }
    /* SOURCERPM is NAME-VERSION-RELEASE.src.rpm: the source package is NAME. */
    if (rpm_tag (f[5]) && g_str_has_suffix (f[5], ".src.rpm")) {
      source = g_strndup (f[5], strlen (f[5]) - strlen (".src.rpm"));
      for (int i = 0; i < 2 && (dash = strrchr (source, '-')) != NULL; i++)
        *dash = '\0';
    }
    kiln_sbom_guest_add (sg, f[0], rpm_tag (f[1]) ? atoi (f[1]) : 0, f[2], f[3], rpm_tag (f[4]),
                         source);
  }
  return 0;
}

/* One stanza's fields, for kiln_sbom_add_dpkg_status. */
struct dpkg_stanza {
  char *package, *status, *version, *arch, *source;
};

static void
dpkg_stanza_add (struct kiln_sbom_guest *sg, struct dpkg_stanza *st)
{
  const char *last = st->status ? strrchr (st->status, ' ') : NULL;
  g_autofree char *source = NULL;

  last = last ? last + 1 : st->status;
  if (st->package && *st->package && st->version && *st->version &&
      g_strcmp0 (last, "installed") == 0) {
    /* "Source: NAME (VERSION)" when the source's version differs. */
    if (st->source) {
      size_t n = strcspn (st->source, " \t(");

      source = g_strndup (st->source, n);
    }
    kiln_sbom_guest_add (sg, st->package, 0, st->version, NULL, st->arch,
                         source && *source ? source : st->package);
  }
  g_clear_pointer (&st->package, g_free);
  g_clear_pointer (&st->status, g_free);
  g_clear_pointer (&st->version, g_free);
  g_clear_pointer (&st->arch, g_free);
  g_clear_pointer (&st->source, g_free);
}

int
kiln_sbom_add_dpkg_status (struct kiln_sbom_guest *sg, const char *text, size_t len,
                           GError **err)
{
  static const char *const names[] = { "Package", "Status", "Version", "Architecture", "Source" };
  struct dpkg_stanza st = { 0 };
  const char *p = text, *end = text + len;

  if (memchr (text, '\0', len) != NULL) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_GUEST,
                 "the guest's dpkg status file holds a NUL byte: not a status file");
    return -1;
  }
  while (p < end) {
    const char *nl = memchr (p, '\n', end - p), *colon;
    size_t n = (nl ? nl : end) - p;

    if (n == 0 || (n == 1 && p[0] == '\r')) {          /* a blank line ends a stanza */
      dpkg_stanza_add (sg, &st);
    } else if (p[0] != ' ' && p[0] != '\t' && (colon = memchr (p, ':', n)) != NULL) {
      /* "Field: value"; continuation lines (leading blank) are skipped:
       * none of the fields read here has any. */
      size_t klen = colon - p;
      char **slot[] = { &st.package, &st.status, &st.version, &st.arch, &st.source };

      for (size_t i = 0; i < G_N_ELEMENTS (names); i++)
        if (klen == strlen (names[i]) && g_ascii_strncasecmp (p, names[i], klen) == 0) {
          g_autofree char *v = g_strndup (colon + 1, n - klen - 1);

          g_free (*slot[i]);
          *slot[i] = g_strdup (g_strstrip (v));
          break;
        }
    }
    p += n + 1;
  }
  dpkg_stanza_add (sg, &st);
  return 0;
}

/* The guest's /var/lib/dpkg/status, through a file on the host (a status
 * file can pass read_file's 4 MiB message limit), into SG. */
static int
read_dpkg_status (struct kiln_guest *gu, struct kiln_sbom_guest *sg, GError **err)
{
  g_autofree char *tmp = NULL, *text = NULL;
  g_autoptr (GError) e = NULL;
  gsize len = 0;
  int fd = g_file_open_tmp ("kiln-dpkg-status-XXXXXX", &tmp, &e), r = -1;

  if (fd == -1) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "cannot list the installed packages: %s",
                 e->message);
    return -1;
  }
  close (fd);
  if (guestfs_download (gu->g, "/var/lib/dpkg/status", tmp) == -1)
    kiln_guest_set_error (gu, err, "cannot list the installed packages: cannot read /var/lib/dpkg/status");
  else if (!g_file_get_contents (tmp, &text, &len, &e))
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "cannot list the installed packages: %s",
                 e->message);
  else
    r = kiln_sbom_add_dpkg_status (sg, text, len, err);
  unlink (tmp);
  return r;
}

static int
read_rpm_qa (struct kiln_guest *gu, struct kiln_sbom_guest *sg, GError **err)
{
  char *argv[] = { (char *) "rpm", (char *) "-qa", (char *) "--qf", (char *) RPM_QA_FORMAT, NULL };
  g_autofree char *out = NULL;
  int status;

  if (kiln_guest_command (gu->g, argv, &out, &status, err) == -1)
    return -1;
  if (status != 0) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_GUEST,
                 "cannot list the installed packages: libguestfs cannot read the rpm database, "
                 "and rpm -qa in the guest failed (exit status %d): %s",
                 status, kiln_text_tail (out, 3));
    return -1;
  }
  return kiln_sbom_add_rpm_qa (sg, out, err);
}

struct kiln_sbom_guest *
kiln_sbom_read_guest (struct kiln_guest *gu, GError **err)
{
  g_autoptr (kiln_sbom_guest) sg = NULL;
  struct guestfs_application2_list *apps;

  if (gu->g == NULL || gu->root == NULL || !gu->mounted) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_GUEST,
                 "the packages are read from an inspected, mounted guest");
    return NULL;
  }
  sg = kiln_sbom_guest_new ();
  sg->type = known (gu->type);
  sg->distro = known (gu->distro);
  sg->product_name = known (gu->product_name);
  sg->arch = known (gu->arch);
  sg->osinfo = known (gu->osinfo);
  sg->package_format = known (gu->package_format);
  sg->major = gu->major;
  sg->minor = gu->minor;
  if (g_strcmp0 (gu->package_format, "deb") == 0) {
    if (read_dpkg_status (gu, sg, err) == -1)
      return NULL;
    return g_steal_pointer (&sg);
  }
  /* An inspection from kiln's cache is not libguestfs' own: it cannot
   * list applications (kiln_guest_inspect uses the cache for rpm guests
   * only, whose list rpm -qa gives). */
  apps = gu->cached ? NULL : guestfs_inspect_list_applications2 (gu->g, gu->root);
  if (apps == NULL && g_strcmp0 (gu->package_format, "rpm") == 0) {
    /* Debian's appliance has librpm but not rpm's macros, so libguestfs
     * finds no rpm database (rpmtsInitIterator fails): ask the guest's own
     * rpm, which reads the database wherever the guest keeps it. */
    kiln_event_debug ("sbom", "libguestfs cannot read the rpm database (%s); asking the guest's rpm",
                      gu->cached ? "inspection from kiln's cache" : guestfs_last_error (gu->g));
    if (read_rpm_qa (gu, sg, err) == -1)
      return NULL;
    return g_steal_pointer (&sg);
  }
  if (apps == NULL) {
    kiln_guest_set_error (gu, err, "cannot list the installed packages");
    return NULL;
  }
  for (uint32_t i = 0; i < apps->len; i++) {
    const struct guestfs_application2 *a = &apps->val[i];

    kiln_sbom_guest_add (sg, a->app2_name, a->app2_epoch, a->app2_version, a->app2_release,
                         a->app2_arch, a->app2_source_package);
  }
  guestfs_free_application2_list (apps);
  return g_steal_pointer (&sg);
}

char *
kiln_sbom_path (const char *image)
{
  return g_strconcat (image, ".spdx.json", NULL);
}

/* ------------------------------------------------------------ SPDX */

/* "SPDXRef-" PREFIX "-" N "-" NAME, NAME's characters outside SPDX's
 * [A-Za-z0-9.-] made '-' (libstdc++6 -> libstdc--6); N keeps two
 * packages of one name (multiarch) apart. */
static char *
spdx_id (const char *prefix, guint n, const char *name)
{
  GString *id = g_string_new ("SPDXRef-");

  g_string_append_printf (id, "%s-%u-", prefix, n);
  for (const char *p = name; *p; p++)
    g_string_append_c (id, g_ascii_isalnum (*p) || *p == '.' || *p == '-' ? *p : '-');
  return g_string_free (id, FALSE);
}

/* "checksums": [ { "algorithm": "SHA256", "checksumValue": HEX }, ... ]
 * for each of the N digests (NULLs skipped) of one file;
 * a second digest of the same algorithm is left out. */
static int
add_checksums (JsonBuilder *b, const char *const *digests, size_t n, GError **err)
{
  const char *seen = NULL;

  json_builder_set_member_name (b, "checksums");
  json_builder_begin_array (b);
  for (size_t i = 0; i < n; i++) {
    const char *alg;
    g_autofree char *norm = NULL, *upper = NULL;

    if (digests[i] == NULL)
      continue;
    norm = kiln_checksum_parse (digests[i], &alg, err);
    if (norm == NULL)
      return -1;
    if (seen && strcmp (seen, alg) == 0)
      continue;
    seen = alg;
    upper = g_ascii_strup (alg, -1);
    json_builder_begin_object (b);
    kiln_json_add_strings (b, "algorithm", upper, "checksumValue", strchr (norm, ':') + 1, NULL);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
  return 0;
}

/* The members every package has: what SPDX requires (SPDXID, name,
 * downloadLocation) and what kiln cannot know (licenses, copyright),
 * said as NOASSERTION rather than left out. */
static void
begin_package (JsonBuilder *b, const char *id, const char *name, const char *version,
               const char *download)
{
  json_builder_begin_object (b);
  kiln_json_add_strings (b, "SPDXID", id, "name", name, NULL);
  if (version)
    kiln_json_add_string (b, "versionInfo", version);
  kiln_json_add_string (b, "downloadLocation", download ? download : "NOASSERTION");
  kiln_json_add_bool (b, "filesAnalyzed", false);
  kiln_json_add_strings (b, "licenseConcluded", "NOASSERTION", "licenseDeclared", "NOASSERTION",
                         "copyrightText", "NOASSERTION", NULL);
}

/* The purl type of a package format (purl-spec's types). */
static const char *
purl_type (const char *package_format)
{
  static const char *const map[][2] = {
    { "deb", "deb" }, { "rpm", "rpm" }, { "apk", "apk" }, { "pacman", "alpm" },
  };

  for (size_t i = 0; package_format && i < G_N_ELEMENTS (map); i++)
    if (strcmp (package_format, map[i][0]) == 0)
      return map[i][1];
  return NULL;
}

static void
add_purl (JsonBuilder *b, const struct kiln_sbom_guest *sg, const struct kiln_sbom_package *pkg)
{
  const char *type = purl_type (sg->package_format);
  g_autofree char *name = NULL, *version = NULL, *purl = NULL;
  GString *q = g_string_new (NULL);

  if (type == NULL) {
    g_string_free (q, TRUE);
    return;
  }
  name = g_uri_escape_string (pkg->name, NULL, FALSE);
  version = g_uri_escape_string (pkg->version, ":", FALSE);
  if (pkg->arch)
    g_string_append_printf (q, "%carch=%s", q->len ? '&' : '?', pkg->arch);
  if (sg->distro)
    g_string_append_printf (q, "%cdistro=%s-%d", q->len ? '&' : '?', sg->distro, sg->major);
  purl = g_strdup_printf ("pkg:%s/%s/%s@%s%s", type, sg->distro ? sg->distro : "unknown",
                          name, version, q->str);
  g_string_free (q, TRUE);
  json_builder_set_member_name (b, "externalRefs");
  json_builder_begin_array (b);
  json_builder_begin_object (b);
  kiln_json_add_strings (b, "referenceCategory", "PACKAGE-MANAGER", "referenceType", "purl",
                         "referenceLocator", purl, NULL);
  json_builder_end_object (b);
  json_builder_end_array (b);
}

static void
add_relationship (JsonBuilder *b, const char *from, const char *type, const char *to)
{
  json_builder_begin_object (b);
  kiln_json_add_strings (b, "spdxElementId", from, "relationshipType", type,
                         "relatedSpdxElement", to, NULL);
  json_builder_end_object (b);
}

static bool
is_url (const char *s)
{
  return g_str_has_prefix (s, "https://") || g_str_has_prefix (s, "http://") ||
         g_str_has_prefix (s, "ftp://");
}

char *
kiln_sbom_json (const struct kiln_sbom_doc *d, GError **err)
{
  const struct kiln_sbom_guest *sg = d->guest;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (GPtrArray) contained = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *image_name = NULL, *uuid = g_uuid_string_random ();
  g_autofree char *ns = NULL, *created = NULL, *tool = NULL, *text = NULL;

  if (d->image == NULL) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE, "an SBOM describes an image");
    return NULL;
  }
  image_name = g_path_get_basename (d->image);
  ns = g_strdup_printf ("https://kiln.invalid/spdx/%s-%s", image_name, uuid);
  if (d->created) {
    created = g_strdup (d->created);
  } else {
    g_autoptr (GDateTime) now = g_date_time_new_now_utc ();

    created = g_date_time_format (now, "%Y-%m-%dT%H:%M:%SZ");
  }
  tool = g_strdup_printf ("Tool: kiln-%s", kiln_version ());

  json_builder_begin_object (b);
  kiln_json_add_strings (b, "spdxVersion", "SPDX-2.3", "dataLicense", "CC0-1.0",
                         "SPDXID", "SPDXRef-DOCUMENT", "name", image_name,
                         "documentNamespace", ns, NULL);
  json_builder_set_member_name (b, "creationInfo");
  json_builder_begin_object (b);
  kiln_json_add_string (b, "created", created);
  json_builder_set_member_name (b, "creators");
  json_builder_begin_array (b);
  json_builder_add_string_value (b, tool);
  json_builder_end_array (b);
  if (sg == NULL)
    kiln_json_add_string (b, "comment", "The image was not opened (nothing was done inside "
                          "it): its packages are its base's.");
  json_builder_end_object (b);

  json_builder_set_member_name (b, "packages");
  json_builder_begin_array (b);

  begin_package (b, "SPDXRef-Image", image_name, NULL, NULL);
  kiln_json_add_string (b, "primaryPackagePurpose", "OTHER");
  kiln_json_add_string (b, "description", "virtual machine disk image");
  if (d->image_digest && add_checksums (b, &d->image_digest, 1, err) == -1)
    return NULL;
  json_builder_end_object (b);

  if (d->base) {
    g_autofree char *base_name = g_path_get_basename (d->base_source ? d->base_source : d->base);
    bool same_file = d->base_source && strcmp (d->base_source, d->base) == 0;
    const char *digests[] = { d->base_digest, same_file ? d->base_source_digest : NULL };
    g_autofree char *verified = d->base_verified && d->base_source_digest
      ? g_strdup_printf ("verified against its published checksum %s", d->base_source_digest)
      : g_strdup (d->base_verified ? "verified against its published checksum"
                                   : "not verified: the digest is of the file as kiln found it");
    g_autofree char *comment = g_strdup_printf ("base image %s (%s), %s", d->base,
                                                d->base_source ? d->base_source : "local file",
                                                verified);

    begin_package (b, "SPDXRef-BaseImage", base_name, NULL,
                   d->base_source && is_url (d->base_source) ? d->base_source : NULL);
    kiln_json_add_string (b, "primaryPackagePurpose", "OTHER");
    kiln_json_add_string (b, "comment", comment);
    if ((d->base_digest || digests[1]) && add_checksums (b, digests, G_N_ELEMENTS (digests), err) == -1)
      return NULL;
    json_builder_end_object (b);
  }

  if (sg) {
    g_autofree char *os_version = g_strdup_printf ("%d.%d", sg->major, sg->minor);

    begin_package (b, "SPDXRef-OperatingSystem", sg->distro ? sg->distro : sg->type ? sg->type : "unknown",
                   os_version, NULL);
    kiln_json_add_string (b, "primaryPackagePurpose", "OPERATING-SYSTEM");
    if (sg->product_name)
      kiln_json_add_string (b, "description", sg->product_name);
    json_builder_end_object (b);
    g_ptr_array_add (contained, g_strdup ("SPDXRef-OperatingSystem"));

    for (guint i = 0; i < sg->packages->len; i++) {
      const struct kiln_sbom_package *pkg = sg->packages->pdata[i];
      g_autofree char *id = spdx_id ("Package", i + 1, pkg->name);

      begin_package (b, id, pkg->name, pkg->version, NULL);
      if (pkg->source) {
        g_autofree char *info = g_strdup_printf ("built package from: %s", pkg->source);

        kiln_json_add_string (b, "sourceInfo", info);
      }
      add_purl (b, sg, pkg);
      json_builder_end_object (b);
      g_ptr_array_add (contained, g_steal_pointer (&id));
    }
  }
  json_builder_end_array (b);

  json_builder_set_member_name (b, "relationships");
  json_builder_begin_array (b);
  add_relationship (b, "SPDXRef-DOCUMENT", "DESCRIBES", "SPDXRef-Image");
  if (d->base)
    add_relationship (b, "SPDXRef-Image", "DESCENDANT_OF", "SPDXRef-BaseImage");
  for (guint i = 0; i < contained->len; i++)
    add_relationship (b, "SPDXRef-Image", "CONTAINS", contained->pdata[i]);
  json_builder_end_array (b);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  kiln_secret_redact_json (root);           /* written 0644: no secret variable's value */
  json_generator_set_pretty (gen, TRUE);
  json_generator_set_root (gen, root);
  text = json_generator_to_data (gen, NULL);
  return g_strconcat (text, "\n", NULL);
}

int
kiln_sbom_write (const char *path, const struct kiln_sbom_doc *d, GError **err)
{
  g_autofree char *text = kiln_sbom_json (d, err);

  if (text == NULL)
    return -1;
  if (kiln_file_write_atomic (path, text, strlen (text), 0644, true, err) == -1) {
    g_prefix_error (err, "%s: ", path);
    return -1;
  }
  return 0;
}
