/* secret.h: secrets that are not passwords (recipe variables marked
 * secret, values read from secret files): reading one from a file with
 * bounds, and redacting every registered value from the text kiln writes.
 *
 * The register is process-wide, like the event handler: a value
 * registered once is replaced by "<redacted>" in every event message
 * (event.c), every message on stderr (msg.c), every --json document
 * printed through json.h and whatever a verb passes through
 * kiln_secret_redact (plans, manifests).  Thread-safe. */
#ifndef KILN_SECRET_H
#define KILN_SECRET_H

#include <stdbool.h>
#include <json-glib/json-glib.h>
#include "kiln.h"

/* The longest first line kiln reads from a secret file, in bytes. */
#define KILN_SECRET_LINE_MAX 4096

/* What a redacted value is shown as. */
#define KILN_SECRET_SHOWN "<redacted>"

/* The first line of the regular file PATH, without its newline (and a
 * '\r' before it), in a new string the caller frees with kiln_secret_free
 * (password.h).  The file is opened without blocking and must be a
 * regular file (not a FIFO, a device or a directory); at most
 * KILN_SECRET_LINE_MAX bytes are read, and the read buffer is wiped
 * whole.  *EXPOSED (may be NULL): true when group or others may read the
 * file.  NULL and an error "WHAT PATH: ..." (KILN_ERROR_NOT_FOUND when it
 * cannot be opened, KILN_ERROR_USAGE otherwise: not a regular file, line
 * too long, first line empty or holding a NUL) on failure; the error never
 * holds the file's contents. */
char *kiln_secret_read_line (const char *what, const char *path, bool *exposed, GError **err);

/* Free a NULL-terminated vector of strings that may hold secrets,
 * wiping each first (as kiln_secret_free, password.h, does); NULL is fine. */
void kiln_secret_strv_free (char **v);

/* Register VALUE (copied; NULL and "" are ignored) as a secret for the
 * rest of the process. */
void kiln_secret_register (const char *value);

/* TEXT with every registered secret replaced by KILN_SECRET_SHOWN (the
 * longest match first), as a new string; NULL for NULL. */
char *kiln_secret_redact (const char *text);

/* True when TEXT holds a registered secret. */
bool kiln_secret_in (const char *text);

/* Redact every string value in the JSON tree NODE, in place (NULL: nothing). */
void kiln_secret_redact_json (JsonNode *node);

/* Forget (and wipe) every registered secret: for tests. */
void kiln_secret_forget_all (void);

#endif
