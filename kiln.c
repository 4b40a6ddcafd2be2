/* kiln.c: the front end's entry point: global options, the handler that
 * turns lib/'s events into messages, the signal handler that removes
 * temporaries, then the verb (cli/verbs.c) that returns the exit status. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kiln.h"
#include "event.h"
#include "fileio.h"
#include "msg.h"
#include "opts.h"

int
main (int argc, char **argv)
{
  struct kiln_ctx ctx = { .verbosity = 1 };
  int i;

  kiln_elapsed ();
  kiln_event_set_handler (kiln_msg_event_handler, NULL);
  /* The global options in front of the verb. */
  {
    g_autoptr (kiln_opts) p = kiln_opts_new (&ctx, argc, argv);

    while (kiln_opts_next (p, NULL) != 0)
      ;
    i = kiln_opts_operand_index (p);
  }
  if (i >= argc) {
    kiln_opts_print_help (NULL, stderr);
    return KILN_EXIT_USAGE;
  }
  ctx.verb = kiln_verb_find (argv[i]);
  if (ctx.verb == NULL)
    return kiln_usage_error (&ctx, "unknown verb '%s'", argv[i]);
  /* Interrupted or killed: no temporary file (a half-made image, a
   * partial download) stays behind, whatever the verb. */
  kiln_temps_remove_on_signals ();
  return ctx.verb->run (&ctx, argc - i, argv + i);
}
