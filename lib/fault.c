/* fault.c: KILN_FAULT=STEP, the failure a test asks for (see fault.h). */
#include <stdlib.h>
#include <string.h>

#include "fault.h"

bool
kiln_fault (const char *step)
{
  const char *want = getenv ("KILN_FAULT");

  return want && step && strcmp (want, step) == 0;
}

int
kiln_fault_check (const char *step, GError **err)
{
  if (!kiln_fault (step))
    return 0;
  g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "injected fault at %s", step);
  return -1;
}
