/* json.c: small helpers over json-glib for the verbs' --json output. */
#include <stdarg.h>
#include <stdio.h>

#include "json.h"
#include "secret.h"

void
kiln_json_print (JsonNode *node)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autofree char *text = NULL;

  kiln_secret_redact_json (node);
  json_generator_set_pretty (gen, TRUE);
  json_generator_set_root (gen, node);
  text = json_generator_to_data (gen, NULL);
  printf ("%s\n", text);
  fflush (stdout);
  json_node_unref (node);
}

void
kiln_json_print_builder (JsonBuilder *b)
{
  kiln_json_print (json_builder_get_root (b));
}

void
kiln_json_add_string (JsonBuilder *b, const char *member, const char *value)
{
  json_builder_set_member_name (b, member);
  if (value && kiln_secret_in (value)) {
    g_autofree char *shown = kiln_secret_redact (value);

    json_builder_add_string_value (b, shown);
  } else if (value)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

void
kiln_json_add_strings (JsonBuilder *b, const char *member, ...)
{
  va_list ap;

  va_start (ap, member);
  for (const char *m = member; m; m = va_arg (ap, const char *))
    kiln_json_add_string (b, m, va_arg (ap, const char *));
  va_end (ap);
}

void
kiln_json_add_int (JsonBuilder *b, const char *member, gint64 value)
{
  json_builder_set_member_name (b, member);
  json_builder_add_int_value (b, value);
}

void
kiln_json_add_bool (JsonBuilder *b, const char *member, bool value)
{
  json_builder_set_member_name (b, member);
  json_builder_add_boolean_value (b, value);
}

void
kiln_json_add_strv (JsonBuilder *b, const char *member, const char *const *values)
{
  json_builder_set_member_name (b, member);
  json_builder_begin_array (b);
  for (const char *const *v = values; v && *v; v++)
    json_builder_add_string_value (b, *v);
  json_builder_end_array (b);
}
