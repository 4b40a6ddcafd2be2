/* customize.c: placeholder until the customize operations land; it keeps
 * the shared interface linkable and refuses every operation. */
#include "customize.h"

const struct kiln_option kiln_customize_options[] = {
  KILN_OPTION_END
};

struct kiln_customize {
  GPtrArray *ops;
};

struct kiln_customize *
kiln_customize_new (void)
{
  struct kiln_customize *c = g_new0 (struct kiln_customize, 1);

  c->ops = g_ptr_array_new_with_free_func (g_free);
  return c;
}

void
kiln_customize_free (struct kiln_customize *c)
{
  if (c == NULL)
    return;
  g_ptr_array_unref (c->ops);
  g_free (c);
}

int
kiln_customize_add (struct kiln_customize *c, int id, const char *arg, GError **err)
{
  g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE, "customize operations are not implemented yet");
  return -1;
}

int
kiln_customize_add_by_name (struct kiln_customize *c, const char *name,
                            const char *arg, GError **err)
{
  g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE, "customize operation '%s' is not implemented yet", name);
  return -1;
}

bool
kiln_customize_is_empty (const struct kiln_customize *c)
{
  return c->ops->len == 0;
}

bool
kiln_customize_needs_network (const struct kiln_customize *c)
{
  return false;
}

int
kiln_customize_apply (struct kiln_customize *c, struct kiln_guest *gu,
                      bool dry_run, GError **err)
{
  return 0;
}
