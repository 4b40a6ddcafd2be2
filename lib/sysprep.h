/* sysprep.h: generalizing a guest: the table of operations (sysprep/) and
 * how to select and run them on one launched guest, so that kiln create
 * --sysprep and kiln sysprep share one appliance launch with customize. */
#ifndef KILN_SYSPREP_H
#define KILN_SYSPREP_H

#include "kiln.h"
#include "guest.h"
#include "customize.h"

typedef struct kiln_sysprep_sel kiln_sysprep_sel;

/* The default selection ("defaults"). */
struct kiln_sysprep_sel *kiln_sysprep_sel_new (void);
void kiln_sysprep_sel_free (struct kiln_sysprep_sel *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (kiln_sysprep_sel, kiln_sysprep_sel_free)

/* virt-sysprep's --operations LIST (replaces the selection: "defaults",
 * "all", NAME, -NAME) and --enable LIST (exactly these).  Unknown names:
 * -1 and an error naming them. */
int kiln_sysprep_sel_operations (struct kiln_sysprep_sel *s, const char *list, GError **err);
int kiln_sysprep_sel_enable (struct kiln_sysprep_sel *s, const char *list, GError **err);

/* Is operation NAME selected? */
bool kiln_sysprep_sel_has (const struct kiln_sysprep_sel *s, const char *name);
/* The selected names, in run order, comma-separated (for messages and
 * manifests). */
char *kiln_sysprep_sel_to_string (const struct kiln_sysprep_sel *s);

/* Run the selected operations on GU (launched, inspected, mounted), in
 * the documented order; CUSTOM (may be NULL) runs in the customize slot.
 * Each operation that changed something sends an info event (topic
 * "sysprep").  DRY_RUN: GU is read-only; what would be removed or changed
 * goes out as result events, one "OPERATION: ACTION PATH" each (the
 * front end prints them on stdout).  On success GU is mounted again, even
 * when a disk-level operation (lvm-uuids, fs-uuids) unmounted it. */
int kiln_sysprep_run (const struct kiln_sysprep_sel *s, struct kiln_guest *gu,
                      struct kiln_customize *custom, bool dry_run, GError **err);

/* ---- For the operations in sysprep/ ---- */

/* When an operation runs.  Identity comes after the customize slot so
 * that nothing customize does (installing openssh-server or systemd, a
 * --run-command) can leave host keys or a machine-id in the template;
 * disk-level operations come last, with the filesystems unmounted. */
enum kiln_sysprep_phase {
  KILN_SYSPREP_FILES,
  KILN_SYSPREP_CUSTOMIZE,
  KILN_SYSPREP_IDENTITY,
  KILN_SYSPREP_DISK,
};

/* What one operation is working on. */
struct kiln_sysprep_job {
  struct kiln_guest *gu;
  guestfs_h *g;
  struct kiln_customize *custom;
  bool dry_run;
  const char *op;               /* the running operation's name */
  unsigned changes;             /* by the running operation */
  /* Paths removed so far (in a dry run: that would be), so that two
   * operations never both list or remove one file. */
  GHashTable *gone;
  GHashTable *listings;         /* guest directory -> its entries, cached */
  GHashTable *realpaths;        /* guest symlink -> its realpath ("" dangling), cached */
};

typedef int (*kiln_sysprep_fn) (struct kiln_sysprep_job *j, GError **err);

struct kiln_sysprep_op {
  const char *name;
  bool default_on;
  enum kiln_sysprep_phase phase;
  const char *description;      /* one line, for --list-operations */
  kiln_sysprep_fn run;
};

/* The one table (sysprep/ops.c), in run order within each phase;
 * terminated by a row with name NULL. */
extern const struct kiln_sysprep_op kiln_sysprep_ops[];
size_t kiln_sysprep_n_ops (void);

/* Helpers the operations share.  Each one lists the path (dry run) or
 * does the change and counts it.  Paths are resolved inside the guest, so
 * a symlinked directory (/var/run -> /run) never leads outside it. */

/* Remove (recursively) every path matching each glob of PATTERNS
 * (NULL-terminated). */
int kiln_sysprep_remove_globs (struct kiln_sysprep_job *j, const char *const *patterns,
                               GError **err);
/* The same, but keep the matches for which KEEP (J, PATH) is true. */
typedef bool (*kiln_sysprep_keep_fn) (struct kiln_sysprep_job *j, const char *path);
int kiln_sysprep_remove_globs_unless (struct kiln_sysprep_job *j, const char *const *patterns,
                                      kiln_sysprep_keep_fn keep, GError **err);
/* Remove every entry of directory DIR (dotfiles too), keeping DIR. */
int kiln_sysprep_empty_dir (struct kiln_sysprep_job *j, const char *dir, GError **err);
/* Remove PATH (a file or a symlink) when it exists. */
int kiln_sysprep_remove (struct kiln_sysprep_job *j, const char *path, GError **err);
/* Remove every entry of directory DIR (if it exists) but those named in
 * KEEP (NULL-terminated; may be NULL). */
int kiln_sysprep_empty_dir_except (struct kiln_sysprep_job *j, const char *dir,
                                   const char *const *keep, GError **err);
/* Empty file PATH when it exists and is not empty already. */
int kiln_sysprep_truncate (struct kiln_sysprep_job *j, const char *path, GError **err);
/* Write CONTENT to PATH (mode 0644) unless it holds exactly that already. */
int kiln_sysprep_write (struct kiln_sysprep_job *j, const char *path, const char *content,
                        GError **err);
/* Replace the existing file PATH's content by CONTENT (its mode and owner
 * stay), counted as a change; the caller has seen that it differs. */
int kiln_sysprep_rewrite (struct kiln_sysprep_job *j, const char *path, const GString *content,
                          GError **err);
/* Drop the lines of file PATH that start with one of PREFIXES, unless it
 * has none. */
int kiln_sysprep_drop_lines (struct kiln_sysprep_job *j, const char *path,
                             const char *const *prefixes, GError **err);
/* The same for every file matching the guest glob PATTERN. */
int kiln_sysprep_drop_lines_glob (struct kiln_sysprep_job *j, const char *pattern,
                                  const char *const *prefixes, GError **err);
/* Editing a file: FN gets the file's PATH and its TEXT (LEN bytes, with a
 * NUL after them) and DATA, and says what to do: keep it, change it (*OUT
 * then holds the new content, which the helper frees with g_free) or
 * remove it; -1 with ERR leaves the file as it is, with a warning that
 * names it (a file the guest's own tool would refuse too). */
enum kiln_sysprep_edit {
  KILN_SYSPREP_EDIT_KEEP,
  KILN_SYSPREP_EDIT_CHANGE,
  KILN_SYSPREP_EDIT_REMOVE,
};
typedef int (*kiln_sysprep_edit_fn) (const char *path, const char *text, size_t len, char **out,
                                     void *data, GError **err);
/* Files larger than this many bytes are not configuration files: the edit
 * helpers leave them as they are, with a warning. */
#define KILN_SYSPREP_EDIT_MAX (1024 * 1024)
/* Edit the regular file PATH (not a symbolic link) with FN, if it exists;
 * changes and removals are counted and listed (kiln_sysprep_note). */
int kiln_sysprep_edit (struct kiln_sysprep_job *j, const char *path, kiln_sysprep_edit_fn fn,
                       void *data, GError **err);
/* The same for every file matching the guest glob PATTERN. */
int kiln_sysprep_edit_glob (struct kiln_sysprep_job *j, const char *pattern,
                            kiln_sysprep_edit_fn fn, void *data, GError **err);
/* Enable the systemd unit at UNIT_PATH (/etc/systemd/system/NAME): a
 * symlink in multi-user.target.wants, unless it is there already. */
int kiln_sysprep_enable_unit (struct kiln_sysprep_job *j, const char *unit_path, GError **err);
/* Count ACTION on WHAT and report it: a result event in a dry run, a
 * debug event otherwise. */
void kiln_sysprep_note (struct kiln_sysprep_job *j, const char *action, const char *what);
/* What an edit changed, line by line, for the dry run's plan: the lines of
 * OLD that NEW lacks, as "- LINE", then those NEW adds, as "+ LINE"
 * (compared as multisets of lines with their blanks trimmed; blank lines
 * ignored).  A line that may hold a secret is shown as "- (a line
 * holding a secret)": its text contains "pass", "psk", "secret", "key",
 * "pin", "token", "private", "shared", "cred" or "auth" (any case), or it
 * lies in an INI group whose name says secret, security, 802-1x,
 * wireguard or vpn, or it is indented below such a line (YAML).  More than MAX such lines give the single entry
 * "N lines removed, M added" (a file written back in another layout).
 * Returns a new NULL-terminated vector (g_strfreev); empty if the lines
 * are the same. */
char **kiln_sysprep_line_diff (const char *old, const char *new, guint max);
/* Is there a file, directory or symlink at PATH? */
bool kiln_sysprep_exists (struct kiln_sysprep_job *j, const char *path);
/* Unmount the guest's filesystems (disk-level operations need them so). */
int kiln_sysprep_unmount (struct kiln_sysprep_job *j, GError **err);

#endif
