/* test-fault.c: KILN_FAULT=STEP (lib/fault.c), the hook the transaction
 * tests use. */
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "tap.h"
#include "fault.h"

int
main (void)
{
  g_autoptr (GError) err = NULL;

  unsetenv ("KILN_FAULT");
  ok (!kiln_fault ("publish"), "no KILN_FAULT: no fault");
  ok (kiln_fault_check ("publish", &err) == 0 && err == NULL, "and the check passes");
  setenv ("KILN_FAULT", "clone-2", 1);
  ok (!kiln_fault ("clone-1"), "another step does not fail");
  ok (!kiln_fault ("clone"), "nor a prefix of the step");
  ok (!kiln_fault (NULL), "nor no step");
  ok (kiln_fault ("clone-2"), "the named step fails");
  ok (kiln_fault_check ("clone-2", &err) == -1, "its check returns -1");
  ok (err && err->code == KILN_ERROR_FAILED && strcmp (err->message, "injected fault at clone-2") == 0,
      "with \"injected fault at clone-2\"");
  unsetenv ("KILN_FAULT");
  return done_testing ();
}
