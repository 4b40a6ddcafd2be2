/* json.h: --json output through json-glib. */
#ifndef KILN_JSON_H
#define KILN_JSON_H

#include <stdbool.h>
#include <json-glib/json-glib.h>

/* Print NODE on stdout, pretty, with a newline; takes ownership. */
void kiln_json_print (JsonNode *node);
/* Finish BUILDER's root and print it. */
void kiln_json_print_builder (JsonBuilder *b);
/* Add MEMBER: VALUE, or MEMBER: null when VALUE is NULL. */
void kiln_json_add_string (JsonBuilder *b, const char *member, const char *value);
/* kiln_json_add_string for each MEMBER, VALUE pair; a NULL member ends
 * the list. */
void kiln_json_add_strings (JsonBuilder *b, const char *member, ...) G_GNUC_NULL_TERMINATED;
void kiln_json_add_int (JsonBuilder *b, const char *member, gint64 value);
void kiln_json_add_bool (JsonBuilder *b, const char *member, bool value);
/* MEMBER: [VALUES...] (VALUES NULL-terminated; NULL: []). */
void kiln_json_add_strv (JsonBuilder *b, const char *member, const char *const *values);

#endif
