/* fault.h: fault injection for the transaction tests.  KILN_FAULT=STEP in
 * the environment makes the step of that name fail as if the call it
 * stands for had failed, so that a test can prove the undo of every step.
 * Compiled in always: without KILN_FAULT, a check is one getenv.
 *
 * Steps: kiln build: fetch, image, publish, networks, template-define,
 * clone-N (the Nth clone of the recipe, from 1), manifest; kiln clone
 * --replace: see lib/clone.c. */
#ifndef KILN_FAULT_H
#define KILN_FAULT_H

#include "kiln.h"

/* True when KILN_FAULT names STEP. */
bool kiln_fault (const char *step);

/* 0, or -1 with ERR (KILN_ERROR_FAILED, "injected fault at STEP") when
 * kiln_fault (STEP): for `if (kiln_fault_check ("x", err) == -1) goto fail;`. */
int kiln_fault_check (const char *step, GError **err);

#endif
