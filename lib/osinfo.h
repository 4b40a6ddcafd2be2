/* osinfo.h: mapping what inspection found to an id of the local libosinfo
 * database, with the nearest-release fallback that old databases need
 * (Debian 12's osinfo-db has no debian12). */
#ifndef KILN_OSINFO_H
#define KILN_OSINFO_H

#include <osinfo/osinfo.h>
#include "kiln.h"

struct kiln_osinfo_match {
  char *id;           /* the short id chosen, e.g. "debian11" */
  char *wanted;       /* what was asked for, e.g. "debian12" */
  bool exact;         /* id == wanted */
  char *note;         /* why another id was chosen; NULL when exact */
  OsinfoOs *os;       /* owned by the database; NULL if nothing fits */
};

/* The default database, loaded once per process. */
OsinfoDb *kiln_osinfo_db (GError **err);

/* The database's version (its VERSION file), or "unknown". */
const char *kiln_osinfo_db_version (void);

/* Resolve SHORT_ID (may be NULL) for an OS of DISTRO MAJOR.MINOR and
 * FAMILY ("linux", "windows"...).  Never fails when the database loads:
 * the last resort is a generic id of the family, and then "unknown". */
int kiln_osinfo_resolve (OsinfoDb *db, const char *short_id,
                         const char *distro, int major, int minor,
                         const char *family,
                         struct kiln_osinfo_match *out, GError **err);
void kiln_osinfo_match_clear (struct kiln_osinfo_match *m);

#endif
