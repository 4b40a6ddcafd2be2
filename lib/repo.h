/* repo.h: repositories of templates: the repos.d configuration, the
 * virt-builder "native" index format, checksum ("sums") files, and the
 * classification of a SOURCE operand. */
#ifndef KILN_REPO_H
#define KILN_REPO_H

#include <stdint.h>
#include "kiln.h"

enum kiln_source_kind {
  KILN_SOURCE_INVALID,
  KILN_SOURCE_HTTPS,
  KILN_SOURCE_HTTP,
  KILN_SOURCE_FILE_URL,
  KILN_SOURCE_PATH,
  KILN_SOURCE_TEMPLATE,
};

/* What SOURCE is: "scheme://" URLs by scheme (others are INVALID), a name
 * of letters, digits, '.', '_', '-' and '+' that is not an existing file
 * is a TEMPLATE, anything else a PATH. */
enum kiln_source_kind kiln_source_classify (const char *source);

/* One template of a repository index. */
struct kiln_template {
  char *repo;               /* the repository's id */
  char *name;               /* the section name */
  char *display_name;       /* name= */
  char *url;                /* file= resolved against the index's URL */
  char *file;               /* file= as written */
  char *checksum;           /* "sha512:HEX" of the file as downloaded, or NULL */
  char *format;             /* format= */
  char *osinfo, *arch, *revision, *notes;
  char **aliases;           /* aliases=, NULL-terminated, may be NULL */
  uint64_t size, compressed_size;
  bool hidden;
  int line;                 /* of its [section] in the index; 0 for sums */
  char *error;              /* why it cannot be used ("INDEX line N: ..."), or NULL;
                             * fields that could be read are filled all the same */
};
typedef struct kiln_template kiln_template;
void kiln_template_free (struct kiln_template *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (kiln_template, kiln_template_free)

/* Parse a native (virt-builder) index: TEXT of LEN bytes, named ORIGIN in
 * errors, with file= resolved relative to BASE_URL (the URL of the index's
 * directory, ending in '/').  Returns an array of struct kiln_template *
 * in the index's order.  An entry is identified by (name, arch): one name
 * may have a section per architecture.  What is wrong with one entry (a
 * malformed checksum or size, a missing or unsafe file=, a repeated key,
 * a junk line, the same (name, arch) twice, a name that is not a template
 * name) sets that entry's ->error and leaves the others usable.  NULL with
 * ERR naming the line only for what spoils the whole text: binary data, a
 * malformed [section] header, lines before the first header. */
GPtrArray *kiln_index_parse (const char *text, size_t len, const char *origin,
                             const char *base_url, GError **err);

/* NAME as a template name: letters, digits, '.', '_', '-' and '+',
 * starting with a letter or a digit (what kiln_source_classify takes for
 * a TEMPLATE, and what virt-builder's section names allow, plus '+'). */
bool kiln_template_name_valid (const char *name);

/* A valid template name made from STEM (a file name without its image
 * extension): every run of other characters (blanks, brackets, '=', '#',
 * non-ASCII letters...) becomes one '-', and what is not a letter or a
 * digit is dropped from both ends.  NULL when nothing is left.  Newly
 * allocated. */
char *kiln_template_name_make (const char *stem);

/* FILE as an index's file= may be: a relative path inside the repository
 * (no URL, no absolute path, no "." or ".." or empty component, no ':' or
 * '\\') without control characters. */
bool kiln_index_file_valid (const char *file);

/* One line of a checksum file. */
struct kiln_sum {
  char *name;
  char *checksum;           /* "sha256:HEX" / "sha512:HEX" */
};
void kiln_sum_free (struct kiln_sum *s);

/* Parse GNU ("HEX  name", "HEX *name") and BSD ("SHA512 (name) = HEX")
 * lines, as in SHA512SUMS, SHA256SUMS and Fedora's (clearsigned) CHECKSUM.
 * Returns an array of struct kiln_sum *, or NULL with ERR naming the line. */
GPtrArray *kiln_sums_parse (const char *text, size_t len, const char *origin, GError **err);
/* The entry for NAME (compared with and without a leading "./"), or NULL. */
const struct kiln_sum *kiln_sums_lookup (GPtrArray *sums, const char *name);

/* One [section] of a repos.d file (NAME.conf). */
struct kiln_repo {
  char *id;
  char *uri;                /* ends in '/' */
  char *format;             /* "native" or "sums" */
  char *pubkey;             /* Ed25519 public key (PEM file), or NULL */
  char *gpgkey;             /* OpenPGP public key file, or NULL */
  char *conf;               /* the file it came from */
  char *name;               /* name=, a description, or NULL */
  char **aliases;           /* sums: "ALIAS=TEMPLATE" pairs */
  bool enabled;
};
void kiln_repo_free (struct kiln_repo *r);

/* The directories searched for *.conf: $KILN_REPOS_DIR alone when set,
 * else $XDG_CONFIG_HOME/kiln/repos.d then SYSCONFDIR/kiln/repos.d. */
char **kiln_repos_dirs (void);
/* Every enabled repository, in search order; an id already seen is
 * skipped (the user's configuration overrides the system's). */
GPtrArray *kiln_repos_load (GError **err);
/* Parse one .conf file's text; appended to REPOS. */
int kiln_repos_parse (const char *text, size_t len, const char *origin,
                      GPtrArray *repos, GError **err);

/* The templates REPO offers, every architecture: fetches (and checks the
 * signature of) its index or checksum file.  Unusable entries are
 * included, with ->error set (see kiln_index_parse). */
GPtrArray *kiln_repo_templates (const struct kiln_ctx *ctx, const struct kiln_repo *repo,
                                GError **err);

/* Find NAME (or an alias) for ARCH in the configured repositories; ARCH
 * NULL: the host's.  NOT_FOUND when no repository has it; FAILED naming
 * the entry and its problem when the first match is unusable (->error). */
struct kiln_template *kiln_repo_find (const struct kiln_ctx *ctx, const char *name,
                                      const char *arch, GError **err);

/* The host's architecture as the indexes write it ("x86_64"). */
const char *kiln_host_arch (void);

#endif
