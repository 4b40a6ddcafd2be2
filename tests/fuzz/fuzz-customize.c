/* fuzz-customize.c: customize arguments (lib/customize.c) as the command
 * line gives them: the input's first byte picks the operation (its high
 * bit: no argument), the rest is the argument, split by the operation's
 * shape and checked (kiln_customize_add_by_name), then described as
 * plans and manifests show it.  Some operations read the local file they
 * name (run, upload, ssh-inject file:, password file:): the target runs
 * in fuzz.c's Landlock sandbox. */
#include "fuzz.h"
#include "customize.h"

static bool sandboxed;
static size_t n_ops;

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  while (kiln_customize_ops[n_ops].name)
    n_ops++;
  sandboxed = kiln_fuzz_sandbox (*argc, *argv);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (kiln_customize) c = kiln_customize_new ();
  g_autoptr (GError) err = NULL;
  g_auto (GStrv) parts = NULL;
  g_autofree char *arg = NULL;
  const struct kiln_customize_op *op;

  if (size == 0)
    return -1;
  if (!sandboxed && kiln_fuzz_names_host (data + 1, size - 1))
    return -1;
  op = &kiln_customize_ops[(data[0] & 0x7f) % n_ops];
  arg = data[0] & 0x80 ? NULL : kiln_fuzz_text (data + 1, size - 1);

  parts = kiln_customize_split (op, arg, &err);
  if (parts) {
    g_autofree char *text = kiln_customize_args_text (op, (const char *const *) parts);
    g_assert (text != NULL);
  }
  g_clear_error (&err);
  if (kiln_customize_add_by_name (c, op->name, arg, &err) == 0) {
    for (guint i = 0;; i++) {
      g_autofree char *d = kiln_customize_describe (c, i);
      if (d == NULL)
        break;
    }
    (void) kiln_customize_needs_network (c);
  } else {
    g_assert (err != NULL);
  }
  return 0;
}
