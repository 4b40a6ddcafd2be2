/* json.c: small helpers over json-glib for the verbs' --json output. */
#include <stdio.h>

#include "json.h"

void
kiln_json_print (JsonNode *node)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autofree char *text = NULL;

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
  if (value)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}
