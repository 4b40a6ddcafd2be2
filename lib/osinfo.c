/* osinfo.c: libosinfo lookups. */
#include <stdlib.h>
#include <string.h>

#include "osinfo.h"

static OsinfoLoader *loader;
G_LOCK_DEFINE_STATIC (loader);

/* Loaded once; threads (kiln build -j, kiln register -c A -c B) share it. */
OsinfoDb *
kiln_osinfo_db (GError **err)
{
  OsinfoDb *db = NULL;

  G_LOCK (loader);
  if (loader == NULL) {
    GError *e = NULL;

    loader = osinfo_loader_new ();
    osinfo_loader_process_default_path (loader, &e);
    if (e) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                   "cannot load the osinfo database: %s (is osinfo-db installed?)",
                   e->message);
      g_error_free (e);
      g_clear_object (&loader);
      goto out;
    }
  }
  db = osinfo_loader_get_db (loader);
out:
  G_UNLOCK (loader);
  return db;
}

const char *
kiln_osinfo_db_version (void)
{
  static char *version;
  const char *paths[] = { "/usr/share/osinfo/VERSION", "/usr/local/share/osinfo/VERSION" };

  for (size_t i = 0; version == NULL && i < G_N_ELEMENTS (paths); i++) {
    if (g_file_get_contents (paths[i], &version, NULL, NULL))
      g_strstrip (version);
  }
  return version ? version : "unknown";
}

/* "12.5" -> 12, 5; false for "testing", "unknown" and the like. */
static bool
parse_version (const char *v, int *major, int *minor)
{
  char *end;
  long a, b = 0;

  if (v == NULL || !g_ascii_isdigit (v[0]))
    return false;
  a = strtol (v, &end, 10);
  if (*end == '.') {
    if (!g_ascii_isdigit (end[1]))
      return false;
    b = strtol (end + 1, &end, 10);
  }
  if (*end != '\0')
    return false;
  *major = (int) a;
  *minor = (int) b;
  return true;
}

static int
vcmp (int a1, int b1, int a2, int b2)
{
  return a1 != a2 ? (a1 > a2) - (a1 < a2) : (b1 > b2) - (b1 < b2);
}

static OsinfoOs *
find_by_short_id (OsinfoDb *db, const char *id)
{
  g_autoptr (OsinfoOsList) list = osinfo_db_get_os_list (db);
  int n = osinfo_list_get_length (OSINFO_LIST (list));

  for (int i = 0; id && i < n; i++) {
    OsinfoOs *os = OSINFO_OS (osinfo_list_get_nth (OSINFO_LIST (list), i));
    g_autoptr (GList) ids = osinfo_product_get_short_id_list (OSINFO_PRODUCT (os));

    for (GList *l = ids; l; l = l->next)
      if (strcmp (l->data, id) == 0)
        return os;
  }
  return NULL;
}

/* The release of DISTRO nearest to MAJOR.MINOR: the newest one not newer
 * than it (an image is usually newer than the database), else the oldest
 * newer one. */
static OsinfoOs *
find_nearest (OsinfoDb *db, const char *distro, int major, int minor)
{
  g_autoptr (OsinfoOsList) list = osinfo_db_get_os_list (db);
  int n = osinfo_list_get_length (OSINFO_LIST (list));
  OsinfoOs *below = NULL, *above = NULL;
  int bmaj = 0, bmin = 0, amaj = 0, amin = 0;

  for (int i = 0; distro && i < n; i++) {
    OsinfoOs *os = OSINFO_OS (osinfo_list_get_nth (OSINFO_LIST (list), i));
    int ma, mi;

    if (g_strcmp0 (osinfo_os_get_distro (os), distro) != 0)
      continue;
    if (!parse_version (osinfo_product_get_version (OSINFO_PRODUCT (os)), &ma, &mi))
      continue;
    if (vcmp (ma, mi, major, minor) <= 0) {
      if (below == NULL || vcmp (ma, mi, bmaj, bmin) > 0) {
        below = os; bmaj = ma; bmin = mi;
      }
    } else if (above == NULL || vcmp (ma, mi, amaj, amin) < 0) {
      above = os; amaj = ma; amin = mi;
    }
  }
  return below ? below : above;
}

/* The newest generic entry of FAMILY (libosinfo.org's linux2022...). */
static OsinfoOs *
find_generic (OsinfoDb *db, const char *family)
{
  g_autoptr (OsinfoOsList) list = osinfo_db_get_os_list (db);
  int n = osinfo_list_get_length (OSINFO_LIST (list));
  OsinfoOs *best = NULL;
  int best_v = -1;

  for (int i = 0; family && i < n; i++) {
    OsinfoOs *os = OSINFO_OS (osinfo_list_get_nth (OSINFO_LIST (list), i));
    const char *id = osinfo_product_get_short_id (OSINFO_PRODUCT (os));
    int ma, mi;

    if (id == NULL || !g_str_has_prefix (id, family))
      continue;
    if (!parse_version (id + strlen (family), &ma, &mi))
      continue;
    if (ma > best_v) {
      best = os;
      best_v = ma;
    }
  }
  return best;
}

int
kiln_osinfo_resolve (OsinfoDb *db, const char *short_id,
                     const char *distro, int major, int minor,
                     const char *family,
                     struct kiln_osinfo_match *out, GError **err)
{
  OsinfoOs *os;

  (void) err;
  memset (out, 0, sizeof *out);
  out->wanted = g_strdup (short_id ? short_id : "unknown");
  os = find_by_short_id (db, short_id);
  if (os) {
    out->id = g_strdup (short_id);
    out->exact = true;
    out->os = os;
    return 0;
  }
  os = find_nearest (db, distro, major, minor);
  if (os) {
    out->os = os;
    out->id = g_strdup (osinfo_product_get_short_id (OSINFO_PRODUCT (os)));
    out->note = g_strdup_printf ("%s is not in the osinfo database %s; using %s, the nearest known %s release",
                                 out->wanted, kiln_osinfo_db_version (), out->id, distro);
    return 0;
  }
  os = find_generic (db, family);
  if (os) {
    out->os = os;
    out->id = g_strdup (osinfo_product_get_short_id (OSINFO_PRODUCT (os)));
    out->note = g_strdup_printf ("%s is not in the osinfo database %s and it knows no %s release; using the generic %s",
                                 out->wanted, kiln_osinfo_db_version (),
                                 distro ? distro : "such", out->id);
    return 0;
  }
  out->id = g_strdup ("unknown");
  out->note = g_strdup_printf ("%s is not in the osinfo database %s; nothing similar is known",
                               out->wanted, kiln_osinfo_db_version ());
  return 0;
}

void
kiln_osinfo_match_clear (struct kiln_osinfo_match *m)
{
  g_clear_pointer (&m->id, g_free);
  g_clear_pointer (&m->wanted, g_free);
  g_clear_pointer (&m->note, g_free);
  m->os = NULL;
}
