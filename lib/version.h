/* version.h: the versions of kiln and of the libraries it runs on, read
 * at run time where the library can say (kiln --version prints them, a
 * build manifest records them). */
#ifndef KILN_VERSION_H
#define KILN_VERSION_H

struct kiln_versions {
  const char *kiln;
  const char *libguestfs;       /* NULL when unknown */
  const char *libvirt;          /* NULL when unknown */
  const char *libosinfo;
  const char *osinfo_db;        /* NULL when unknown */
  const char *qemu;             /* the qemu libguestfs runs; NULL when unknown */
};

const char *kiln_version (void);
/* Computed once per process (thread-safe); never freed. */
const struct kiln_versions *kiln_versions (void);

#endif
