/* fault.h: fault injection for tests.  KILN_FAULT=STEP in the environment
 * makes kiln_fault (STEP) true; the code that guards a step with it then
 * fails there as if the call it guards had failed, so that a test can
 * check that the step's undo restores the previous state.  Steps are
 * named UNIT-WHAT ("clone-define"); each unit's header or man page lists
 * its steps.  Unset, it costs one getenv per step. */
#ifndef KILN_FAULT_H
#define KILN_FAULT_H

#include <stdbool.h>

/* True when KILN_FAULT names STEP. */
bool kiln_fault (const char *step);

#endif
