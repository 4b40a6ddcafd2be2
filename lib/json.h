/* json.h: --json output through json-glib. */
#ifndef KILN_JSON_H
#define KILN_JSON_H

#include <json-glib/json-glib.h>

/* Print NODE on stdout, pretty, with a newline; takes ownership. */
void kiln_json_print (JsonNode *node);
/* Finish BUILDER's root and print it. */
void kiln_json_print_builder (JsonBuilder *b);
/* Add MEMBER: VALUE, or MEMBER: null when VALUE is NULL. */
void kiln_json_add_string (JsonBuilder *b, const char *member, const char *value);

#endif
