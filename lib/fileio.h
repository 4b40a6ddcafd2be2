/* fileio.h: the one place where kiln writes a file under a final name.
 *
 * Every file kiln makes (an image, an overlay, a manifest, a cache entry,
 * a copy) is written under a temporary name beside its final one, synced,
 * and renamed into place in one step, so that a crash or a failure never
 * leaves a half-written file under a name somebody reads (as libvirt's
 * virFileRewrite and systemd's WRITE_STRING_FILE_ATOMIC do).  Temporary
 * names are ".BASE.kiln-XXXXXX" in the final file's directory (same
 * filesystem, so the rename is atomic) and are registered, so that a
 * verb's signal handler can remove them with kiln_temps_remove_all. */
#ifndef KILN_FILEIO_H
#define KILN_FILEIO_H

#include <sys/types.h>
#include "kiln.h"

/* A new empty file beside FINAL with permission bits MODE (not masked by
 * the umask), registered for kiln_temps_remove_all.  Returns its path
 * (the caller owns the string and, until it publishes or discards it,
 * the file), or NULL with ERR (KILN_ERROR_FAILED) when the directory
 * cannot be written. */
char *kiln_temp_beside (const char *final, mode_t mode, GError **err);

/* Remove temporary file TMP (NULL is accepted) and forget it. */
void kiln_temp_discard (const char *tmp);

/* Make TMP (from kiln_temp_beside) FINAL: fsync TMP, rename it over
 * FINAL only when REPLACE (else renameat2 RENAME_NOREPLACE: an existing
 * FINAL is KILN_ERROR_EXISTS), then fsync FINAL's directory.  On failure
 * TMP is removed and ERR says why; FINAL is then as it was. */
int kiln_temp_publish (const char *tmp, const char *final, bool replace, GError **err);

/* LEN bytes of DATA written to a new temporary beside FINAL (as
 * kiln_temp_beside, mode MODE), not yet published: for a caller whose
 * commit publishes several files at one point.  Returns the temporary's
 * path (the caller's, to kiln_temp_publish or kiln_temp_discard), or NULL
 * with ERR (nothing left). */
char *kiln_temp_write (const char *final, const void *data, size_t len, mode_t mode,
                       GError **err);

/* Write LEN bytes of DATA to PATH with permission bits MODE, atomically
 * (kiln_temp_beside + kiln_temp_publish).  -1 with ERR on failure, PATH
 * untouched. */
int kiln_file_write_atomic (const char *path, const void *data, size_t len, mode_t mode,
                            bool replace, GError **err);

/* Copy SRC to DST with permission bits MODE, atomically: a reflink
 * (FICLONE, sharing every block) where the filesystem can, else only the
 * data extents (SEEK_DATA/SEEK_HOLE + copy_file_range, in 32 MiB chunks
 * whose write-back starts as each is copied), so holes stay holes; DST is
 * fsync'd before it appears.  An existing DST is KILN_ERROR_EXISTS unless REPLACE.  SRC
 * unreadable: KILN_ERROR_NOT_FOUND. */
int kiln_file_copy_sparse (const char *src, const char *dst, mode_t mode, bool replace,
                           GError **err);

/* Write LEN bytes of BUF at the current offset of FD, seeking over blocks
 * of zeros instead of writing them (the file must be ftruncate'd to its
 * final size by the caller). */
int kiln_write_sparse (int fd, const void *buf, size_t len, GError **err);

/* Make directory PATH and its missing parents, each one it creates with
 * exactly permission bits MODE, whatever the umask (a cache made under
 * umask 077 must still be searchable by the hypervisor's user).  Existing
 * directories are left as they are.  -1 with ERR on failure. */
int kiln_mkdir_p (const char *path, mode_t mode, GError **err);

/* PATH made absolute and canonical (symlinks resolved) when it exists,
 * else made absolute only (g_canonicalize_filename).  Newly allocated. */
char *kiln_path_canonical (const char *path);

/* fsync the directory holding PATH, so that a rename in it is durable. */
int kiln_fsync_dir_of (const char *path, GError **err);

/* Remove every registered temporary file.  Async-signal-safe: for a
 * verb's SIGINT/SIGTERM/SIGHUP handler. */
void kiln_temps_remove_all (void);

/* For a verb that writes files: on SIGINT, SIGTERM and SIGHUP, remove
 * every registered temporary file, then die of the signal as if no
 * handler were there (exit status 128+N for the shell). */
void kiln_temps_remove_on_signals (void);

#endif
