/* test-sbom.c: the SPDX 2.3 document kiln_sbom_json makes from an
 * inspected guest's packages: the required fields, the ids SPDX allows,
 * the versions as dpkg prints them, the base image with its digest, and
 * what it refuses.  Reading a real guest's package database is
 * tests/integration/52-sbom.sh. */
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <glib.h>
#include <json-glib/json-glib.h>

#include "tap.h"
#include "guest.h"
#include "sbom.h"

static JsonObject *
parse (const char *text, JsonParser *p)
{
  if (!json_parser_load_from_data (p, text, -1, NULL))
    return NULL;
  return json_node_get_object (json_parser_get_root (p));
}

static JsonObject *
package_named (JsonObject *doc, const char *name, guint nth)
{
  JsonArray *pkgs = json_object_get_array_member (doc, "packages");

  for (guint i = 0; i < json_array_get_length (pkgs); i++) {
    JsonObject *o = json_array_get_object_element (pkgs, i);

    if (strcmp (json_object_get_string_member (o, "name"), name) == 0 && nth-- == 0)
      return o;
  }
  return NULL;
}

static const char *
purl_of (JsonObject *pkg)
{
  JsonArray *refs;

  if (pkg == NULL || !json_object_has_member (pkg, "externalRefs"))
    return NULL;
  refs = json_object_get_array_member (pkg, "externalRefs");
  return json_object_get_string_member (json_array_get_object_element (refs, 0), "referenceLocator");
}

static bool
has_relationship (JsonObject *doc, const char *from, const char *type, const char *to)
{
  JsonArray *rels = json_object_get_array_member (doc, "relationships");

  for (guint i = 0; i < json_array_get_length (rels); i++) {
    JsonObject *r = json_array_get_object_element (rels, i);

    if (strcmp (json_object_get_string_member (r, "spdxElementId"), from) == 0 &&
        strcmp (json_object_get_string_member (r, "relationshipType"), type) == 0 &&
        strcmp (json_object_get_string_member (r, "relatedSpdxElement"), to) == 0)
      return true;
  }
  return false;
}

static bool
ids_valid_and_unique (JsonObject *doc)
{
  JsonArray *pkgs = json_object_get_array_member (doc, "packages");
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GRegex) re = g_regex_new ("^SPDXRef-[A-Za-z0-9.-]+$", 0, 0, NULL);

  for (guint i = 0; i < json_array_get_length (pkgs); i++) {
    const char *id = json_object_get_string_member (json_array_get_object_element (pkgs, i), "SPDXID");

    if (!g_regex_match (re, id, 0, NULL) || !g_hash_table_add (seen, (gpointer) id))
      return false;
  }
  return true;
}

#define SHA256 "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define SHA512 "sha512:" "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff" \
                         "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

int
main (void)
{
  g_autoptr (kiln_sbom_guest) sg = kiln_sbom_guest_new ();
  g_autoptr (GError) err = NULL;
  g_autoptr (JsonParser) p = json_parser_new ();
  g_autoptr (JsonParser) p2 = json_parser_new ();
  g_autofree char *text = NULL, *text2 = NULL, *bad = NULL, *path = NULL;
  struct kiln_sbom_doc d = {
    .image = "/srv/images/web.qcow2", .image_digest = SHA256, .guest = sg,
    .base = "/var/cache/kiln/sha512-0011.qcow2",
    .base_source = "https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.qcow2",
    .base_digest = SHA512, .base_verified = true, .created = "2024-05-01T12:00:00Z",
  };
  JsonObject *doc, *ci, *o;
  const char *ns;

  plan (44);

  sg->distro = g_strdup ("debian");
  sg->type = g_strdup ("linux");
  sg->product_name = g_strdup ("Debian GNU/Linux 12 (bookworm)");
  sg->package_format = g_strdup ("deb");
  sg->major = 12;
  sg->minor = 5;
  kiln_sbom_guest_add (sg, "bash", 0, "5.2.15", "3", "amd64", NULL);
  kiln_sbom_guest_add (sg, "libstdc++6", 0, "12.2.0", "14", "amd64", "gcc-12");
  kiln_sbom_guest_add (sg, "libc6", 0, "2.36", "9+deb12u7", "amd64", "glibc");
  kiln_sbom_guest_add (sg, "libc6", 0, "2.36", "9+deb12u7", "i386", "glibc");
  kiln_sbom_guest_add (sg, "ca-certificates", 0, "20230311", "", "all", "");
  kiln_sbom_guest_add (sg, "isc-dhcp-client", 1, "4.4.3-P1", "2", "amd64", "isc-dhcp");

  text = kiln_sbom_json (&d, &err);
  ok (text != NULL, "a document for an image with packages and a base");
  doc = text ? parse (text, p) : NULL;
  ok (doc != NULL, "it is JSON");
  if (doc == NULL)
    return done_testing ();
  is_str (json_object_get_string_member (doc, "spdxVersion"), "SPDX-2.3", "spdxVersion");
  is_str (json_object_get_string_member (doc, "dataLicense"), "CC0-1.0", "dataLicense");
  is_str (json_object_get_string_member (doc, "SPDXID"), "SPDXRef-DOCUMENT", "the document's SPDXID");
  is_str (json_object_get_string_member (doc, "name"), "web.qcow2", "named after the image");
  ns = json_object_get_string_member (doc, "documentNamespace");
  ok (g_str_has_prefix (ns, "https://kiln.invalid/spdx/web.qcow2-") && strchr (ns, '#') == NULL,
      "documentNamespace is a URI without '#': %s", ns);
  ci = json_object_get_object_member (doc, "creationInfo");
  is_str (json_object_get_string_member (ci, "created"), "2024-05-01T12:00:00Z", "creationInfo.created");
  ok (g_str_has_prefix (json_array_get_string_element (json_object_get_array_member (ci, "creators"), 0),
                        "Tool: kiln-"), "creators name kiln as a Tool");
  is_int (json_array_get_length (json_object_get_array_member (doc, "packages")), 3 + 6,
          "image, base, OS and the 6 packages");
  ok (ids_valid_and_unique (doc), "every SPDXID matches ^SPDXRef-[A-Za-z0-9.-]+$ and is unique");

  o = package_named (doc, "libstdc++6", 0);
  ok (o && g_str_has_prefix (json_object_get_string_member (o, "SPDXID"), "SPDXRef-Package-"),
      "libstdc++6 has a valid id (%s)", o ? json_object_get_string_member (o, "SPDXID") : "none");
  is_str (o ? json_object_get_string_member (o, "sourceInfo") : NULL, "built package from: gcc-12",
          "the source package in sourceInfo");
  is_str (purl_of (o), "pkg:deb/debian/libstdc%2B%2B6@12.2.0-14?arch=amd64&distro=debian-12",
          "its purl gives name, version and architecture");
  o = package_named (doc, "isc-dhcp-client", 0);
  is_str (o ? json_object_get_string_member (o, "versionInfo") : NULL, "1:4.4.3-P1-2",
          "an epoch and a release as dpkg-query prints them");
  o = package_named (doc, "ca-certificates", 0);
  ok (o && strcmp (json_object_get_string_member (o, "versionInfo"), "20230311") == 0 &&
      !json_object_has_member (o, "sourceInfo"),
      "no release, no source package: version alone, no sourceInfo");
  ok (package_named (doc, "libc6", 1) && strstr (purl_of (package_named (doc, "libc6", 1)), "arch=i386"),
      "two architectures of one package are two packages");

  o = package_named (doc, "debian", 0);
  ok (o && strcmp (json_object_get_string_member (o, "primaryPackagePurpose"), "OPERATING-SYSTEM") == 0 &&
      strcmp (json_object_get_string_member (o, "versionInfo"), "12.5") == 0,
      "the operating system is a package of its own, with its version");
  o = package_named (doc, "debian-12-genericcloud-amd64.qcow2", 0);
  ok (o && strcmp (json_object_get_string_member (o, "downloadLocation"), d.base_source) == 0,
      "the base image, with where it was fetched from");
  {
    JsonObject *c = o ? json_array_get_object_element (json_object_get_array_member (o, "checksums"), 0) : NULL;

    ok (c && strcmp (json_object_get_string_member (c, "algorithm"), "SHA512") == 0 &&
        strcmp (json_object_get_string_member (c, "checksumValue"), strchr (SHA512, ':') + 1) == 0,
        "and its verified digest as an SPDX checksum");
  }
  ok (has_relationship (doc, "SPDXRef-DOCUMENT", "DESCRIBES", "SPDXRef-Image") &&
      has_relationship (doc, "SPDXRef-Image", "DESCENDANT_OF", "SPDXRef-BaseImage") &&
      has_relationship (doc, "SPDXRef-Image", "CONTAINS", "SPDXRef-OperatingSystem") &&
      has_relationship (doc, "SPDXRef-Image", "CONTAINS",
                        json_object_get_string_member (package_named (doc, "bash", 0), "SPDXID")),
      "relationships: DESCRIBES the image, which CONTAINS the OS and packages, DESCENDANT_OF the base");

  /* A local base verified with a sha512 and digested with sha256: one
   * file, two checksums. */
  {
    g_autoptr (JsonParser) p3 = json_parser_new ();
    struct kiln_sbom_doc d3 = d;
    g_autofree char *text3 = NULL;
    JsonObject *doc3, *b3;
    JsonArray *sums;

    d3.base_source = d3.base;
    d3.base_digest = SHA256;
    d3.base_source_digest = SHA512;
    text3 = kiln_sbom_json (&d3, NULL);
    doc3 = text3 ? parse (text3, p3) : NULL;
    b3 = doc3 ? package_named (doc3, "sha512-0011.qcow2", 0) : NULL;
    sums = b3 ? json_object_get_array_member (b3, "checksums") : NULL;
    ok (sums && json_array_get_length (sums) == 2 &&
        strcmp (json_object_get_string_member (json_array_get_object_element (sums, 1), "algorithm"), "SHA512") == 0 &&
        strcmp (json_object_get_string_member (b3, "downloadLocation"), "NOASSERTION") == 0,
        "a local base: its digest and the verified one as two checksums, no download location");
  }

  /* No launch: the image and its base only. */
  d.guest = NULL;
  d.created = NULL;
  text2 = kiln_sbom_json (&d, NULL);
  doc = text2 ? parse (text2, p2) : NULL;
  ok (doc && json_array_get_length (json_object_get_array_member (doc, "packages")) == 2 &&
      json_object_has_member (json_object_get_object_member (doc, "creationInfo"), "comment"),
      "not inspected: the image and the base, and a comment saying so");
  ok (doc && g_regex_match_simple ("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$",
                                   json_object_get_string_member (json_object_get_object_member (doc, "creationInfo"), "created"), 0, 0),
      "created defaults to now, in SPDX's format");

  d.image_digest = "md5:0123";
  bad = kiln_sbom_json (&d, &err);
  ok (bad == NULL && err && err->code == KILN_ERROR_USAGE, "a digest kiln does not know is refused");
  g_clear_error (&err);
  d.image_digest = NULL;
  d.image = NULL;
  ok (kiln_sbom_json (&d, &err) == NULL && err, "a document without an image is refused");
  g_clear_error (&err);

  {
    g_autofree char *dir = g_dir_make_tmp ("kiln-sbom-XXXXXX", NULL);
    g_autofree char *file = g_build_filename (dir, "x.spdx.json", NULL);
    g_autofree char *back = NULL;
    struct kiln_sbom_doc w = { .image = "/x.qcow2", .guest = sg };
    struct stat st;

    ok (kiln_sbom_write (file, &w, NULL) == 0 && stat (file, &st) == 0 && (st.st_mode & 07777) == 0644 &&
        g_file_get_contents (file, &back, NULL, NULL) && strstr (back, "\"SPDX-2.3\""),
        "kiln_sbom_write writes the document, mode 0644");
    unlink (file);
    rmdir (dir);
  }

  path = kiln_sbom_path ("/srv/images/web.qcow2");
  is_str (path, "/srv/images/web.qcow2.spdx.json", "the SBOM sits beside the image");
  {
    g_autoptr (GError) e = NULL;

    ok (kiln_sbom_read_guest (&(struct kiln_guest) { 0 }, &e) == NULL && e != NULL,
        "reading packages from a guest that is not open is an error, not a crash");
  }
  /* apk: libguestfs splits "1.36.1-r15" at "-r"; the SBOM says it as apk does. */
  {
    g_autoptr (kiln_sbom_guest) ag = kiln_sbom_guest_new ();
    struct kiln_sbom_package *pkg;

    ag->package_format = g_strdup ("apk");
    kiln_sbom_guest_add (ag, "busybox", 0, "1.36.1", "15", "x86_64", NULL);
    pkg = ag->packages->pdata[0];
    is_str (pkg->version, "1.36.1-r15", "an apk package's version keeps apk's -rN");
  }
  /* rpm -qa in the guest, when libguestfs cannot read the rpm database. */
  {
    g_autoptr (kiln_sbom_guest) rg = kiln_sbom_guest_new ();
    g_autoptr (GError) e = NULL;
    struct kiln_sbom_package *a, *b;

    rg->package_format = g_strdup ("rpm");
    ok (kiln_sbom_add_rpm_qa (rg, "bash\t0\t5.2.26\t3.fc40\tx86_64\tbash-5.2.26-3.fc40.src.rpm\n"
                              "openssh-server\t1\t9.6p1\t1.fc40.4\tx86_64\topenssh-9.6p1-1.fc40.4.src.rpm\n"
                              "gpg-pubkey\t(none)\ta15b79cc\t63d04c2c\t(none)\t(none)\n\n", &e) == 0,
        "rpm -qa output is read");
    is_int (rg->packages->len, 3, "three packages");
    a = rg->packages->pdata[1];
    is_str (a->version, "1:9.6p1-1.fc40.4", "epoch, version and release as rpm -q prints them");
    is_str (a->source, "openssh", "the source package from SOURCERPM");
    b = rg->packages->pdata[2];
    ok (b->arch == NULL && b->source == NULL && strcmp (b->version, "a15b79cc-63d04c2c") == 0,
        "(none) is no arch and no source");
    ok (kiln_sbom_add_rpm_qa (rg, "bash 5.2\n", &e) == -1 && e != NULL &&
        strstr (e->message, "bash 5.2") != NULL, "a line without six fields is an error naming it");
  }
  /* A Debian guest's /var/lib/dpkg/status, read as dpkg-query would. */
  {
    static const char status[] =
      "Package: adduser\n"
      "Status: install ok installed\n"
      "Priority: important\n"
      "Architecture: all\n"
      "Version: 3.134\n"
      "Description: add and remove users and groups\n"
      " This package includes the 'adduser' and 'deluser' commands.\n"
      " .\n"
      " Package: not-a-field (a continuation line)\n"
      "\n"
      "Package: libc6\n"
      "Status: hold ok installed\n"
      "Architecture: amd64\n"
      "Multi-Arch: same\n"
      "Source: glibc\n"
      "Version: 2.36-9+deb12u10\n"
      "\n"
      "Package: libgcc-s1\n"
      "Status: install ok installed\n"
      "Architecture: amd64\n"
      "Source: gcc-12 (12.2.0-14)\n"
      "Version: 1:12.2.0-14\n"
      "\n"
      "Package: cloud-init\n"
      "Status: deinstall ok config-files\n"
      "Architecture: all\n"
      "Version: 22.4.2-1\n"
      "\n"
      "Package: half\n"
      "Status: install reinstreq half-installed\n"
      "Version: 1.0\n"
      "\n"
      "Package: noversion\n"
      "Status: install ok installed\n"
      "\n\n\n"
      "package: lowercase\n"
      "status: install ok installed\n"
      "version: 2.0\n";
    g_autoptr (kiln_sbom_guest) dg = kiln_sbom_guest_new ();
    g_autoptr (GError) e = NULL;
    struct kiln_sbom_package *a, *c;

    dg->package_format = g_strdup ("deb");
    ok (kiln_sbom_add_dpkg_status (dg, status, strlen (status), &e) == 0, "a dpkg status file is read");
    is_int (dg->packages->len, 4, "four installed packages (config-files, half-installed and no Version skipped)");
    a = dg->packages->pdata[0];
    ok (strcmp (a->name, "adduser") == 0 && strcmp (a->version, "3.134") == 0 &&
        strcmp (a->arch, "all") == 0 && strcmp (a->source, "adduser") == 0,
        "a package without Source is its own source (as ${source:Package})");
    is_str (((struct kiln_sbom_package *) dg->packages->pdata[1])->source, "glibc", "Source names the source package");
    c = dg->packages->pdata[2];
    is_str (c->version, "1:12.2.0-14", "the version as written, epoch included");
    is_str (c->source, "gcc-12", "a Source with its version in parentheses gives the name");
    is_str (((struct kiln_sbom_package *) dg->packages->pdata[3])->name, "lowercase",
            "field names are case-insensitive (deb822)");
    ok (kiln_sbom_add_dpkg_status (dg, "Package: a\0b\n", 12, &e) == -1 && e != NULL,
        "a NUL byte is an error");
  }
  return done_testing ();
}
