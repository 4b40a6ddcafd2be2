/* fuzz.h: what the libFuzzer targets of tests/fuzz/ share.  Each target
 * is one fuzz-NAME.c defining LLVMFuzzerTestOneInput (and, when it needs
 * the sandbox, LLVMFuzzerInitialize); `make fuzz` builds them with clang
 * against lib/ compiled for fuzzing (build-fuzz/). */
#ifndef KILN_FUZZ_H
#define KILN_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "kiln.h"

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* DATA as a NUL-terminated string (a NUL inside it ends it early, as it
 * would for a C string read from argv or a file).  Free with g_free. */
char *kiln_fuzz_text (const uint8_t *data, size_t size);

/* The target's private directory, made once on a tmpfs (/dev/shm, else
 * $TMPDIR) and removed at exit; $HOME is set to it and the environment is
 * emptied, so ~ and ${VAR} in an input reach nothing of the host's.  (The
 * working directory stays libFuzzer's: relative corpus and artifact
 * paths.) */
const char *kiln_fuzz_dir (void);

/* Write DATA to NAME in kiln_fuzz_dir (replacing it); the path, owned by
 * the harness, valid until the next call.  Aborts on a write error (the
 * harness, not the code under test, is broken then). */
const char *kiln_fuzz_file (const char *name, const uint8_t *data, size_t size);

/* For targets whose code reads host files named by the input (recipe
 * extends:, upload:, password file:...): restrict this process with
 * Landlock to reading the system's libraries, its own /proc entry, the
 * private directory and the directories named in ARGV (libFuzzer's
 * corpus and artifact directories), so that no input makes kiln read the
 * host's files (a device, a FIFO, a disk).  Returns true when the sandbox
 * is in place; false when the kernel has no Landlock: the target must
 * then skip inputs that could name a host path (kiln_fuzz_names_host). */
bool kiln_fuzz_sandbox (int argc, char **argv);

/* Without the sandbox: could TEXT name a path outside kiln_fuzz_dir
 * (holds a '/', a '\\' escape, a '$' variable or a '~')? */
bool kiln_fuzz_names_host (const uint8_t *data, size_t size);

#endif
