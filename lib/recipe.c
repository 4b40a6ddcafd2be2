/* recipe.c: loading a kiln recipe.  libyaml's document API gives a tree
 * with a mark on every node; we copy it into a small tree of our own that
 * remembers the file of each node, so that a recipe and the recipes it
 * extends can be merged and still report errors in the right file.  Then
 * the merged tree is checked key by key and turned into struct
 * kiln_recipe, expanding ${VAR} on the way. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>
#include <gio/gio.h>
#include <openssl/evp.h>

#include "customize.h"
#include "event.h"
#include "password.h"
#include "secret.h"
#include "recipe.h"
#include "value.h"

enum ytype { Y_NULL, Y_SCALAR, Y_SEQ, Y_MAP };

struct ynode {
  enum ytype type;
  const char *file;           /* interned */
  int line, col;              /* 1-based */
  char *value;                /* Y_SCALAR */
  GPtrArray *items;           /* Y_SEQ: nodes; Y_MAP: key, value, key, value... (not owned) */
  GHashTable *index;          /* Y_MAP: key -> its position in items + 1 (keys not owned) */
};

/* A variable declared under vars:. */
struct var_decl {
  const struct ynode *node;   /* the declaration's value (for messages) */
  const struct ynode *value;  /* NAME: VALUE, or NULL */
  char *file;                 /* NAME: {file: F}: F made absolute */
  bool secret;
};

/* Nodes live in the loader's arena: merged trees share them. */
struct loader {
  GPtrArray *arena;
  GPtrArray *files;           /* struct kiln_recipe_file * */
  GPtrArray *stack;           /* canonical paths being loaded, for cycles */
  const char *const *cli_vars;
  const struct ynode *vars;   /* merged vars mapping, or NULL */
  GHashTable *decls;          /* name -> struct var_decl * */
  GHashTable *secret_names;   /* names of variables that hold secrets */
  GHashTable *file_values;    /* name -> value read from its file (wiped when freed) */
  GHashTable *warned;         /* names already warned about */
  GPtrArray *reads;           /* struct kiln_recipe_read *: the recipe's */
  unsigned nodes;             /* converted so far in this file, aliases expanded */
};

static void
ynode_free (gpointer p)
{
  struct ynode *n = p;

  g_free (n->value);
  if (n->items)
    g_ptr_array_unref (n->items);
  if (n->index)
    g_hash_table_unref (n->index);
  g_free (n);
}

static struct ynode *
ynode_new (struct loader *l, enum ytype type, const char *file, int line, int col)
{
  struct ynode *n = g_new0 (struct ynode, 1);

  n->type = type;
  n->file = file;
  n->line = line;
  n->col = col;
  if (type == Y_SEQ || type == Y_MAP)
    n->items = g_ptr_array_new ();
  if (type == Y_MAP)
    n->index = g_hash_table_new (g_str_hash, g_str_equal);
  g_ptr_array_add (l->arena, n);
  return n;
}

/* Add K: V to the mapping M (K not there yet). */
static void
map_add (struct ynode *m, const struct ynode *k, const struct ynode *v)
{
  g_ptr_array_add (m->items, (gpointer) k);
  g_ptr_array_add (m->items, (gpointer) v);
  g_hash_table_insert (m->index, k->value, GUINT_TO_POINTER (m->items->len - 1));
}

static void G_GNUC_PRINTF (3, 4)
set_err (GError **err, const struct ynode *n, const char *fmt, ...)
{
  va_list ap;
  g_autofree char *msg = NULL;

  va_start (ap, fmt);
  msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE, "%s:%d:%d: %s", n->file, n->line, n->col, msg);
}

static const char *
type_name (const struct ynode *n)
{
  switch (n->type) {
  case Y_NULL: return "nothing";
  case Y_SCALAR: return "a string";
  case Y_SEQ: return "a list";
  case Y_MAP: return "a mapping";
  }
  return "?";
}

static char *
accepted (const char *const *names)
{
  g_autoptr (GString) s = g_string_new (NULL);

  for (size_t i = 0; names[i]; i++)
    g_string_append_printf (s, "%s%s", i ? ", " : "", names[i]);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

/* Temporaries that may hold an expanded secret. */
typedef char *secret_str;
typedef char **secret_strv;
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (secret_str, kiln_secret_free, NULL)
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (secret_strv, kiln_secret_strv_free, NULL)

static void
var_decl_free (gpointer p)
{
  struct var_decl *d = p;

  g_free (d->file);
  g_free (d);
}

static void
read_free (gpointer p)
{
  struct kiln_recipe_read *rd = p;

  g_free (rd->path);
  g_free (rd->what);
  g_free (rd->where);
  g_free (rd);
}

/* Note that the recipe reads the host file PATH (for WHAT), named at AT. */
static void
add_read (const struct loader *l, const char *path, const char *what, const struct ynode *at)
{
  struct kiln_recipe_read *rd = g_new0 (struct kiln_recipe_read, 1);

  rd->path = g_strdup (path);
  rd->what = g_strdup (what);
  rd->where = g_strdup_printf ("%s:%d:%d", at->file, at->line, at->col);
  g_ptr_array_add (l->reads, rd);
}

/* ------------------------------------------------------------ YAML -> tree */

/* A recipe is small; these bound what a hostile one can cost (time and
 * memory stay linear in KILN_RECIPE_MAX_BYTES).  An alias (*name) repeats
 * everything its anchor (&name) holds: nodes are counted with aliases
 * expanded, so "billion laughs" stops at KILN_RECIPE_MAX_NODES. */

static void
syntax_error (yaml_parser_t *parser, const char *file, GError **err)
{
  struct ynode at = { .file = file,
                      .line = parser->problem_mark.line + 1,
                      .col = parser->problem_mark.column + 1 };

  if (parser->context)
    set_err (err, &at, "YAML syntax: %s %s", parser->problem, parser->context);
  else
    set_err (err, &at, "YAML syntax: %s", parser->problem ? parser->problem : "error");
}

/* The size of a node: nodes (aliases expanded) and levels of lists and
 * mappings (0 for a scalar). */
struct extent {
  unsigned nodes, levels;
};

/* An open list or mapping. */
struct frame {
  char *anchor;               /* its &name, or NULL */
  unsigned start;             /* nodes counted before it */
  unsigned levels;            /* the deepest child's */
  unsigned children;
  bool map;
};

/* One pass over the events of the first document, before libyaml builds
 * its tree: refuse a document nested deeper than KILN_RECIPE_MAX_DEPTH,
 * with more than KILN_RECIPE_MAX_NODES nodes (aliases expanded), or with
 * a mapping of more than KILN_RECIPE_MAX_KEYS keys, at the node where
 * the limit is passed; and a second document, which would be silently
 * ignored. */
static int
check_extent (const char *file, const char *text, size_t len, GError **err)
{
  yaml_parser_t parser;
  g_autoptr (GHashTable) anchors = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  struct frame stack[KILN_RECIPE_MAX_DEPTH + 1];
  unsigned depth = 0, total = 0;
  bool first_done = false;
  int r = -1;

  if (!yaml_parser_initialize (&parser)) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "%s: out of memory", file);
    return -1;
  }
  yaml_parser_set_input_string (&parser, (const unsigned char *) text, len);
  for (;;) {
    yaml_event_t ev;
    struct ynode at = { .file = file };
    struct extent done = { 0, 0 };
    const char *anchor = NULL;
    bool complete = false;

    if (!yaml_parser_parse (&parser, &ev)) {
      syntax_error (&parser, file, err);
      goto out;
    }
    at.line = ev.start_mark.line + 1;
    at.col = ev.start_mark.column + 1;
    if (first_done && (ev.type == YAML_SCALAR_EVENT || ev.type == YAML_ALIAS_EVENT ||
                       ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT)) {
      set_err (err, &at, "a recipe is one YAML document; this is a second one");
      goto fail;
    }
    switch (ev.type) {
    case YAML_SCALAR_EVENT:
      total++;
      done = (struct extent) { 1, 0 };
      anchor = (const char *) ev.data.scalar.anchor;
      complete = true;
      break;
    case YAML_ALIAS_EVENT: {
      const struct extent *a = g_hash_table_lookup (anchors, ev.data.alias.anchor);

      /* An undefined alias: libyaml's loader says so. */
      done = a ? *a : (struct extent) { 1, 0 };
      if (depth + done.levels > KILN_RECIPE_MAX_DEPTH) {
        set_err (err, &at, "the alias *%s nests lists and mappings deeper than %d levels (the limit)",
                 (const char *) ev.data.alias.anchor, KILN_RECIPE_MAX_DEPTH);
        goto fail;
      }
      total = done.nodes > KILN_RECIPE_MAX_NODES ? done.nodes : total + done.nodes;
      if (total > KILN_RECIPE_MAX_NODES) {
        set_err (err, &at, "the alias *%s makes the recipe more than %d nodes (the limit; "
                 "an alias repeats everything its anchor holds)",
                 (const char *) ev.data.alias.anchor, KILN_RECIPE_MAX_NODES);
        goto fail;
      }
      complete = true;
      break;
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
      if (depth >= KILN_RECIPE_MAX_DEPTH) {
        set_err (err, &at, "lists and mappings nested deeper than %d levels (the limit)",
                 KILN_RECIPE_MAX_DEPTH);
        goto fail;
      }
      anchor = (const char *) (ev.type == YAML_SEQUENCE_START_EVENT ? ev.data.sequence_start.anchor
                                                                     : ev.data.mapping_start.anchor);
      stack[depth++] = (struct frame) {
        .anchor = g_strdup (anchor), .start = total, .map = ev.type == YAML_MAPPING_START_EVENT,
      };
      total++;
      anchor = NULL;
      break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT: {
      struct frame *f = &stack[--depth];

      done = (struct extent) { total - f->start, f->levels + 1 };
      if (f->anchor)
        g_hash_table_insert (anchors, g_steal_pointer (&f->anchor), g_memdup2 (&done, sizeof done));
      complete = true;
      break;
    }
    case YAML_DOCUMENT_END_EVENT:
      /* After an empty document, the loader says "empty recipe". */
      first_done = total > 0;
      if (!first_done) {
        r = 0;
        yaml_event_delete (&ev);
        goto out;
      }
      break;
    case YAML_STREAM_END_EVENT:
      r = 0;
      yaml_event_delete (&ev);
      goto out;
    default:
      break;
    }
    if (total > KILN_RECIPE_MAX_NODES) {
      set_err (err, &at, "more than %d nodes in the recipe (the limit)", KILN_RECIPE_MAX_NODES);
      goto fail;
    }
    if (anchor)
      g_hash_table_insert (anchors, g_strdup (anchor), g_memdup2 (&done, sizeof done));
    if (complete && depth > 0) {
      struct frame *p = &stack[depth - 1];

      p->levels = MAX (p->levels, done.levels);
      p->children++;
      if (p->map && p->children % 2 == 1 && p->children / 2 + 1 > KILN_RECIPE_MAX_KEYS) {
        set_err (err, &at, "more than %d keys in one mapping (the limit)", KILN_RECIPE_MAX_KEYS);
        goto fail;
      }
    }
    yaml_event_delete (&ev);
    continue;
  fail:
    yaml_event_delete (&ev);
    goto out;
  }
 out:
  while (depth > 0)
    g_free (stack[--depth].anchor);
  yaml_parser_delete (&parser);
  return r;
}

static struct ynode *
convert (struct loader *l, yaml_document_t *doc, yaml_node_t *yn, const char *file,
         int depth, GError **err)
{
  struct ynode *n;
  int line = yn->start_mark.line + 1, col = yn->start_mark.column + 1;

  /* check_extent bounds both already; this keeps convert safe alone. */
  if (depth > KILN_RECIPE_MAX_DEPTH || ++l->nodes > KILN_RECIPE_MAX_NODES) {
    struct ynode at = { .file = file, .line = line, .col = col };
    set_err (err, &at, "nested deeper than %d levels or more than %d nodes (the limits)",
             KILN_RECIPE_MAX_DEPTH, KILN_RECIPE_MAX_NODES);
    return NULL;
  }
  switch (yn->type) {
  case YAML_SCALAR_NODE: {
    const char *v = (const char *) yn->data.scalar.value;
    size_t len = yn->data.scalar.length;
    bool plain = yn->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;

    if (plain && (len == 0 || strcmp (v, "~") == 0 || strcmp (v, "null") == 0 ||
                  strcmp (v, "Null") == 0 || strcmp (v, "NULL") == 0))
      return ynode_new (l, Y_NULL, file, line, col);
    if (memchr (v, '\0', len) != NULL) {
      struct ynode at = { .file = file, .line = line, .col = col };
      set_err (err, &at, "a string contains a NUL character");
      return NULL;
    }
    n = ynode_new (l, Y_SCALAR, file, line, col);
    n->value = g_strndup (v, len);
    return n;
  }
  case YAML_SEQUENCE_NODE:
    n = ynode_new (l, Y_SEQ, file, line, col);
    for (yaml_node_item_t *it = yn->data.sequence.items.start;
         it < yn->data.sequence.items.top; it++) {
      struct ynode *c = convert (l, doc, yaml_document_get_node (doc, *it), file, depth + 1, err);

      if (c == NULL)
        return NULL;
      g_ptr_array_add (n->items, c);
    }
    return n;
  case YAML_MAPPING_NODE:
    n = ynode_new (l, Y_MAP, file, line, col);
    for (yaml_node_pair_t *p = yn->data.mapping.pairs.start;
         p < yn->data.mapping.pairs.top; p++) {
      struct ynode *k = convert (l, doc, yaml_document_get_node (doc, p->key), file, depth + 1, err);
      struct ynode *v;
      gpointer at;

      if (k == NULL)
        return NULL;
      if (k->type != Y_SCALAR) {
        set_err (err, k, "a key must be a name, not %s", type_name (k));
        return NULL;
      }
      /* The index makes this linear in the number of keys. */
      if ((at = g_hash_table_lookup (n->index, k->value)) != NULL) {
        const struct ynode *o = n->items->pdata[GPOINTER_TO_UINT (at) - 1];

        set_err (err, k, "duplicate key '%s' (first given at line %d)", k->value, o->line);
        return NULL;
      }
      v = convert (l, doc, yaml_document_get_node (doc, p->value), file, depth + 1, err);
      if (v == NULL)
        return NULL;
      map_add (n, k, v);
    }
    return n;
  default:
    break;
  }
  {
    struct ynode at = { .file = file, .line = line, .col = col };
    set_err (err, &at, "unexpected YAML node");
  }
  return NULL;
}

static struct ynode *
parse_yaml (struct loader *l, const char *file, const char *text, size_t len, GError **err)
{
  yaml_parser_t parser;
  yaml_document_t doc;
  yaml_node_t *root;
  struct ynode *n = NULL;

  if (check_extent (file, text, len, err) == -1)
    return NULL;
  if (!yaml_parser_initialize (&parser)) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "%s: out of memory", file);
    return NULL;
  }
  yaml_parser_set_input_string (&parser, (const unsigned char *) text, len);
  if (!yaml_parser_load (&parser, &doc)) {
    syntax_error (&parser, file, err);
    yaml_parser_delete (&parser);
    return NULL;
  }
  root = yaml_document_get_root_node (&doc);
  if (root == NULL) {
    struct ynode at = { .file = file, .line = 1, .col = 1 };
    set_err (err, &at, "empty recipe (it starts with recipe: %d)", KILN_RECIPE_VERSION);
  } else {
    l->nodes = 0;             /* the limits are per file */
    n = convert (l, &doc, root, file, 0, err);
  }
  yaml_document_delete (&doc);
  yaml_parser_delete (&parser);
  return n;
}

/* ------------------------------------------------------------ tree helpers */

static const struct ynode *
map_get (const struct ynode *map, const char *key, const struct ynode **keynode)
{
  gpointer at = g_hash_table_lookup (map->index, key);
  guint i;

  if (at == NULL)
    return NULL;
  i = GPOINTER_TO_UINT (at) - 1;
  if (keynode)
    *keynode = map->items->pdata[i];
  return map->items->pdata[i + 1];
}

/* An unknown key is most often a typo: list what is accepted. */
static int
check_keys (const struct ynode *map, const char *what, const char *const *allowed, GError **err)
{
  for (guint i = 0; i < map->items->len; i += 2) {
    const struct ynode *k = map->items->pdata[i];

    if (!g_strv_contains (allowed, k->value)) {
      g_autofree char *acc = accepted (allowed);

      set_err (err, k, "unknown key '%s' in %s (accepted: %s)", k->value, what, acc);
      return -1;
    }
  }
  return 0;
}

static int
want_type (const struct ynode *n, enum ytype type, const char *what, GError **err)
{
  static const char *const names[] = { "nothing", "a string", "a list", "a mapping" };

  if (n->type == type)
    return 0;
  set_err (err, n, "%s: expected %s, got %s", what, names[type], type_name (n));
  return -1;
}

static bool
valid_var_name (const char *s, size_t len)
{
  if (len == 0 || !(g_ascii_isalpha (s[0]) || s[0] == '_'))
    return false;
  for (size_t i = 1; i < len; i++)
    if (!(g_ascii_isalnum (s[i]) || s[i] == '_'))
      return false;
  return true;
}

bool
kiln_recipe_var_valid (const char *assignment)
{
  const char *eq = strchr (assignment, '=');

  return eq != NULL && valid_var_name (assignment, eq - assignment);
}

/* NAME is a secret: say once if --var gives it. */
static void
warn_cli_secret (const struct loader *l, const char *name)
{
  size_t len = strlen (name);

  for (size_t i = 0; l->cli_vars && l->cli_vars[i]; i++)
    if (strncmp (l->cli_vars[i], name, len) == 0 && l->cli_vars[i][len] == '=' &&
        !g_hash_table_contains (l->warned, name)) {
      g_hash_table_add (l->warned, g_strdup (name));
      kiln_event_warning ("recipe", "--var %s: the secret is on the command line, where other users "
                          "of this machine can read it (ps); give it in the environment or a file "
                          "(kiln-recipe(5), VARIABLES)", name);
    }
}

/* A variable's value: --var wins over the environment, which wins over
 * vars: (a value, or a file's first line).  *SECRET: the variable holds
 * a secret (declared so, or named in a password selector); its value is
 * registered for redaction (secret.h).  NULL and an error about node AT
 * when it has no value. */
static const char *
lookup_var (const struct loader *l, const struct ynode *at, const char *name, GError **err)
{
  size_t len = strlen (name);
  const struct var_decl *d = l->decls ? g_hash_table_lookup (l->decls, name) : NULL;
  bool secret = (d && d->secret) || g_hash_table_contains (l->secret_names, name);
  const char *found = NULL;

  for (size_t i = 0; l->cli_vars && l->cli_vars[i]; i++)
    if (strncmp (l->cli_vars[i], name, len) == 0 && l->cli_vars[i][len] == '=')
      found = l->cli_vars[i] + len + 1;           /* the last one given wins */
  if (found && secret)
    warn_cli_secret (l, name);
  if (found == NULL)
    found = g_getenv (name);
  if (found == NULL && d && d->file) {
    found = g_hash_table_lookup (l->file_values, name);
    if (found == NULL) {
      g_autoptr (GError) e = NULL;
      g_autofree char *what = g_strdup_printf ("variable %s: file", name);
      char *v = kiln_secret_read_line (what, d->file, NULL, &e);

      if (v == NULL) {
        set_err (err, d->node, "%s", e->message);
        return NULL;
      }
      g_hash_table_insert (l->file_values, g_strdup (name), v);
      add_read (l, d->file, "a secret variable's value", d->node);
      found = v;
    }
  }
  if (found == NULL && d && d->value)
    found = d->value->type == Y_SCALAR ? d->value->value : "";
  if (found == NULL && d && d->file == NULL && d->value == NULL) {
    set_err (err, at, "variable '%s' has no value: it is declared without one (%s:%d), so give it "
             "in the environment (export %s=...) or read it from a file (%s: {secret: true, file: PATH})",
             name, d->node->file, d->node->line, name, name);
    return NULL;
  }
  if (found == NULL) {
    set_err (err, at, "undefined variable '%s' (define it under vars:, in the environment, or with --var %s=VALUE)",
             name, name);
    return NULL;
  }
  if (secret)
    kiln_secret_register (found);
  return found;
}

/* ${NAME} -> its value; $${ -> a literal ${.  Two passes, so that the
 * result (which may hold a secret) is allocated once, at its size, and
 * leaves no copy behind in freed memory. */
static char *
expand (const struct loader *l, const struct ynode *n, GError **err)
{
  char *out = NULL;
  size_t need = 0;

  for (int pass = 0; pass < 2; pass++) {
    const char *s = n->value;
    size_t len = 0;

    if (pass == 1)
      out = g_malloc (need + 1);
    while (*s) {
      const char *piece = s;
      size_t plen = 1;

      if (s[0] == '$' && s[1] == '$' && s[2] == '{') {
        piece = "${";
        plen = 2;
        s += 3;
      } else if (s[0] == '$' && s[1] == '{') {
        const char *end = strchr (s + 2, '}');
        g_autofree char *name = NULL;

        if (end == NULL) {
          set_err (err, n, "unterminated ${ (write $${ for a literal ${)");
          return NULL;
        }
        name = g_strndup (s + 2, end - (s + 2));
        if (!valid_var_name (name, strlen (name))) {
          set_err (err, n, "'${%s}': not a variable name (letters, digits and _)", name);
          return NULL;
        }
        piece = lookup_var (l, n, name, err);
        if (piece == NULL) {
          g_free (out);
          return NULL;
        }
        plen = strlen (piece);
        s = end + 1;
      } else {
        s++;
      }
      if (pass == 1)
        memcpy (out + len, piece, plen);
      len += plen;
    }
    if (pass == 0)
      need = len;
    else
      out[len] = '\0';
  }
  return out;
}

/* A scalar's expanded value; NULL with *ERR unset when N is NULL or null. */
static char *
scalar (const struct loader *l, const struct ynode *n, const char *what, GError **err)
{
  if (n == NULL || n->type == Y_NULL)
    return NULL;
  if (want_type (n, Y_SCALAR, what, err) == -1)
    return NULL;
  return expand (l, n, err);
}

/* A required string: missing key, null value and empty string are errors. */
static char *
required (const struct loader *l, const struct ynode *map, const char *key,
          const char *what, const char *hint, GError **err)
{
  const struct ynode *v = map_get (map, key, NULL);
  char *s;

  if (v == NULL || v->type == Y_NULL) {
    set_err (err, v ? v : map, "%s: missing required key '%s' (%s)", what, key, hint);
    return NULL;
  }
  s = scalar (l, v, key, err);
  if (s && *s == '\0') {
    set_err (err, v, "%s: '%s' is empty", what, key);
    g_free (s);
    return NULL;
  }
  return s;
}

/* An optional string: 0 and *OUT NULL when absent. */
static int
optional (const struct loader *l, const struct ynode *map, const char *key, char **out, GError **err)
{
  const struct ynode *v = map_get (map, key, NULL);

  *out = NULL;
  if (v == NULL || v->type == Y_NULL)
    return 0;
  *out = scalar (l, v, key, err);
  return *out ? 0 : -1;
}

static int
optional_int (const struct loader *l, const struct ynode *map, const char *key,
              int min, int max, int *out, GError **err)
{
  const struct ynode *v = map_get (map, key, NULL);
  g_autofree char *s = NULL;
  char *end;
  long long x;

  if (v == NULL || v->type == Y_NULL)
    return 0;
  s = scalar (l, v, key, err);
  if (s == NULL)
    return -1;
  errno = 0;
  x = strtoll (s, &end, 10);
  if (*s == '\0' || *end != '\0' || errno || x < min || x > max) {
    set_err (err, v, "%s: expected a whole number from %d to %d, got '%s'", key, min, max, s);
    return -1;
  }
  *out = x;
  return 0;
}

/* KEY of MAP as a time (kiln_parse_duration: 90, 90s, 5m, 1h). */
static int
optional_duration (const struct loader *l, const struct ynode *map, const char *key,
                   unsigned min, unsigned max, unsigned *out, GError **err)
{
  const struct ynode *v = map_get (map, key, NULL);
  g_autofree char *s = NULL, *what = NULL;
  g_autoptr (GError) e = NULL;

  if (v == NULL || v->type == Y_NULL)
    return 0;
  s = scalar (l, v, key, err);
  if (s == NULL)
    return -1;
  what = g_strdup_printf ("%s '%s'", key, s);
  if (kiln_parse_duration (s, what, min, max, out, &e) == -1) {
    set_err (err, v, "%s", e->message);
    return -1;
  }
  return 0;
}

static int
optional_bool (const struct loader *l, const struct ynode *map, const char *key,
               bool *out, GError **err)
{
  const struct ynode *v = map_get (map, key, NULL);
  g_autofree char *s = NULL;

  if (v == NULL || v->type == Y_NULL)
    return 0;
  s = scalar (l, v, key, err);
  if (s == NULL)
    return -1;
  if (g_ascii_strcasecmp (s, "true") == 0 || g_ascii_strcasecmp (s, "yes") == 0)
    *out = true;
  else if (g_ascii_strcasecmp (s, "false") == 0 || g_ascii_strcasecmp (s, "no") == 0)
    *out = false;
  else {
    set_err (err, v, "%s: expected true or false, got '%s'", key, s);
    return -1;
  }
  return 0;
}

/* A list of names, as a YAML list or a comma-separated string, joined with
 * commas (the command line's form). */
static char *
name_list (const struct loader *l, const struct ynode *n, const char *what, GError **err)
{
  g_autoptr (GString) s = g_string_new (NULL);

  if (n->type == Y_SCALAR) {
    g_autofree char *v = expand (l, n, err);
    g_auto (GStrv) parts = NULL;

    if (v == NULL)
      return NULL;
    parts = g_strsplit (v, ",", -1);
    for (guint i = 0; parts[i]; i++) {
      g_strstrip (parts[i]);
      if (*parts[i] == '\0') {
        set_err (err, n, "%s: %s", what, parts[1] ? "an empty name in the list" : "the list is empty");
        return NULL;
      }
      g_string_append_printf (s, "%s%s", i ? "," : "", parts[i]);
    }
    return g_string_free (g_steal_pointer (&s), FALSE);
  }
  if (n->type != Y_SEQ) {
    set_err (err, n, "%s: expected a list or a comma-separated string, got %s", what, type_name (n));
    return NULL;
  }
  if (n->items->len == 0) {
    set_err (err, n, "%s: the list is empty", what);
    return NULL;
  }
  for (guint i = 0; i < n->items->len; i++) {
    const struct ynode *it = n->items->pdata[i];
    g_autofree char *v = NULL;

    if (it->type != Y_SCALAR) {
      set_err (err, it, "%s: each item is a name, not %s", what, type_name (it));
      return NULL;
    }
    v = expand (l, it, err);
    if (v == NULL)
      return NULL;
    if (*v == '\0' || strchr (v, ',') != NULL) {
      set_err (err, it, "%s: '%s' is not a name (one name per item)", what, v);
      return NULL;
    }
    g_string_append_printf (s, "%s%s", i ? "," : "", v);
  }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

/* A local file named in FILE is relative to FILE's directory. */
static char *
local_path (const char *file, const char *path)
{
  g_autofree char *dir = NULL;
  g_autofree char *joined = NULL;

  if (g_path_is_absolute (path))
    return g_strdup (path);
  dir = g_path_get_dirname (file);
  joined = g_build_filename (dir, path, NULL);
  return g_canonicalize_filename (joined, NULL);
}

/* ------------------------------------------------------------ loading files */

static void
recipe_file_free (gpointer p)
{
  struct kiln_recipe_file *f = p;

  g_free (f->path);
  g_free (f->digest);
  g_free (f);
}

static char *
sha256 (const char *data, size_t len)
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  g_autoptr (GString) s = g_string_new ("sha256:");

  if (!EVP_Digest (data, len, md, &mdlen, EVP_sha256 (), NULL))
    return NULL;
  for (unsigned int i = 0; i < mdlen; i++)
    g_string_append_printf (s, "%02x", md[i]);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static const char *const top_keys[] = {
  "recipe", "name", "extends", "vars", "base", "output", "customize",
  "sysprep", "networks", "template", "clones", "test", NULL
};

/* What an extending recipe does to a key of what it extends: customize
 * steps are appended; base and clones are replaced whole (a checksum
 * belongs to its source, a count does not mix with names); other
 * mappings are merged key by key; anything else is replaced. */
static struct ynode *
merge (struct loader *l, const struct ynode *a, const struct ynode *b, bool top)
{
  struct ynode *m = ynode_new (l, Y_MAP, b->file, b->line, b->col);

  for (guint i = 0; i < a->items->len; i += 2) {
    const struct ynode *k = a->items->pdata[i];
    const struct ynode *av = a->items->pdata[i + 1];
    const struct ynode *bk = NULL;
    const struct ynode *bv = map_get (b, k->value, &bk);

    if (top && (strcmp (k->value, "extends") == 0 || strcmp (k->value, "recipe") == 0))
      continue;
    if (bv == NULL) {
      map_add (m, k, av);
    } else if (top && strcmp (k->value, "customize") == 0 &&
               av->type == Y_SEQ && bv->type == Y_SEQ) {
      struct ynode *seq = ynode_new (l, Y_SEQ, bv->file, bv->line, bv->col);

      g_ptr_array_extend (seq->items, av->items, NULL, NULL);
      g_ptr_array_extend (seq->items, bv->items, NULL, NULL);
      map_add (m, bk, seq);
    } else if (av->type == Y_MAP && bv->type == Y_MAP &&
               !(top && (strcmp (k->value, "base") == 0 || strcmp (k->value, "clones") == 0))) {
      map_add (m, bk, merge (l, av, bv, false));
    } else {
      map_add (m, bk, bv);
    }
  }
  for (guint i = 0; i < b->items->len; i += 2) {
    const struct ynode *k = b->items->pdata[i];

    if (map_get (a, k->value, NULL) == NULL)
      map_add (m, k, b->items->pdata[i + 1]);
  }
  return m;
}

/* PATH's bytes, at most KILN_RECIPE_MAX_BYTES + 1 of them (so that a
 * recipe named /dev/zero costs nothing), NUL-terminated. */
static char *
read_bounded (const char *path, size_t *lenp, GError **err)
{
  g_autofree char *buf = g_malloc (KILN_RECIPE_MAX_BYTES + 2);
  size_t len = 0;
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

  if (fd == -1) {
    g_set_error (err, G_FILE_ERROR, g_file_error_from_errno (errno), "cannot read %s: %s",
                 path, g_strerror (errno));
    return NULL;
  }
  while (len <= KILN_RECIPE_MAX_BYTES) {
    ssize_t n = read (fd, buf + len, KILN_RECIPE_MAX_BYTES + 1 - len);

    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      g_set_error (err, G_FILE_ERROR, g_file_error_from_errno (errno), "cannot read %s: %s",
                   path, g_strerror (errno));
      close (fd);
      return NULL;
    }
    if (n == 0)
      break;
    len += (size_t) n;
  }
  close (fd);
  buf[len] = '\0';
  *lenp = len;
  return g_steal_pointer (&buf);
}

/* Where in TEXT the byte at OFFSET is, for a message. */
static struct ynode
position (const char *file, const char *text, size_t offset)
{
  struct ynode at = { .file = file, .line = 1, .col = 1 };

  for (size_t i = 0; i < offset; i++) {
    if (text[i] == '\n') {
      at.line++;
      at.col = 1;
    } else {
      at.col++;
    }
  }
  return at;
}

static struct ynode *
load_file (struct loader *l, const char *path, const struct ynode *from, GError **err)
{
  g_autofree char *canon = g_canonicalize_filename (path, NULL);
  g_autofree char *text = NULL;
  g_autoptr (GError) ferr = NULL;
  const char *file = g_intern_string (path);
  const struct ynode *v, *ext;
  struct kiln_recipe_file *rf;
  struct ynode *root;
  size_t len;

  for (guint i = 0; i < l->stack->len; i++) {
    if (strcmp (l->stack->pdata[i], canon) == 0) {
      g_autoptr (GString) chain = g_string_new (NULL);

      for (guint j = i; j < l->stack->len; j++) {
        g_autofree char *b = g_path_get_basename (l->stack->pdata[j]);
        g_string_append_printf (chain, "%s -> ", b);
      }
      {
        g_autofree char *b = g_path_get_basename (canon);
        g_string_append (chain, b);
      }
      set_err (err, from, "extends cycle: %s", chain->str);
      return NULL;
    }
  }
  if ((text = read_bounded (path, &len, &ferr)) == NULL) {
    if (from && !g_file_test (path, G_FILE_TEST_EXISTS))
      set_err (err, from, "extends %s: no such file (a relative path is relative to this recipe)", path);
    else if (from)
      set_err (err, from, "extends %s: %s", path, ferr->message);
    else
      g_set_error (err, KILN_ERROR, KILN_ERROR_NOT_FOUND, "%s", ferr->message);
    return NULL;
  }
  if (len > KILN_RECIPE_MAX_BYTES) {
    struct ynode at = position (file, text, KILN_RECIPE_MAX_BYTES);

    set_err (err, &at, "the recipe goes on past %d bytes (1 MiB), the limit of a recipe file",
             KILN_RECIPE_MAX_BYTES);
    return NULL;
  }
  root = parse_yaml (l, file, text, len, err);
  if (root == NULL)
    return NULL;
  if (root->type != Y_MAP) {
    set_err (err, root, "a recipe is a mapping of keys (recipe:, name:, base:, output:, ...), not %s",
             type_name (root));
    return NULL;
  }
  if (check_keys (root, "the recipe", top_keys, err) == -1)
    return NULL;
  v = map_get (root, "recipe", NULL);
  if (v == NULL) {
    set_err (err, root, "missing required key 'recipe' (the format version: recipe: %d)",
             KILN_RECIPE_VERSION);
    return NULL;
  }
  if (v->type != Y_SCALAR || strcmp (v->value, "1") != 0) {
    set_err (err, v, "unsupported recipe format version '%s' (this kiln reads recipe: %d)",
             v->type == Y_SCALAR ? v->value : type_name (v), KILN_RECIPE_VERSION);
    return NULL;
  }
  rf = g_new0 (struct kiln_recipe_file, 1);
  rf->path = g_strdup (path);
  rf->digest = sha256 (text, len);
  g_ptr_array_add (l->files, rf);

  ext = map_get (root, "extends", NULL);
  if (ext == NULL || ext->type == Y_NULL)
    return root;
  if (want_type (ext, Y_SCALAR, "extends", err) == -1)
    return NULL;
  {
    g_autofree char *dir = g_path_get_dirname (path);
    g_autofree char *parent_path = g_path_is_absolute (ext->value)
      ? g_strdup (ext->value) : g_build_filename (dir, ext->value, NULL);
    struct ynode *parent;

    g_ptr_array_add (l->stack, g_strdup (canon));
    parent = load_file (l, parent_path, ext, err);
    g_ptr_array_remove_index (l->stack, l->stack->len - 1);
    if (parent == NULL)
      return NULL;
    return merge (l, parent, root, true);
  }
}

/* ------------------------------------------------------------ sections */

static const char *const base_keys[] = { "source", "sums", "checksum", "insecure", NULL };
static const char *const output_keys[] = { "path", "format", "mode", "size", NULL };
static const char *const sysprep_keys[] = { "operations", "enable", NULL };
static const char *const network_keys[] = { "name", "bridge", "address", "dhcp", "forward", NULL };
static const char *const template_keys[] = { "name", "os-variant", "memory", "vcpus", "network", "disks",
                                              "connect", "pool", NULL };
static const char *const disk_keys[] = { "size", "target", NULL };
static const char *const clones_keys[] = { "names", "count", "prefix", NULL };
static const char *const test_keys[] = { "timeout", "user", "password", "commands", NULL };
static const char *const check_keys_[] = { "run", "expect", "match", NULL };

/* A name kiln makes domains and files from (value.h's one rule). */
static int
check_name (const struct ynode *at, const char *name, const char *what, GError **err)
{
  g_autoptr (GError) e = NULL;

  if (kiln_name_valid (name, what, &e))
    return 0;
  set_err (err, at, "%s", e->message);
  return -1;
}

/* A size (value.h: a bare number is bytes). */
static int
check_disk_size (const struct ynode *at, const char *size, const char *what, uint64_t *bytes,
                 GError **err)
{
  g_autoptr (GError) e = NULL;

  if (kiln_parse_disk_size (size, what, bytes, &e) == 0)
    return 0;
  set_err (err, at, "%s", e->message);
  return -1;
}

static int
load_base (const struct loader *l, const struct ynode *n, struct kiln_recipe *r, GError **err)
{
  g_autofree char *source = NULL;

  if (want_type (n, Y_MAP, "base", err) == -1 || check_keys (n, "base", base_keys, err) == -1)
    return -1;
  source = required (l, n, "source", "base", "the image to start from: a repository template, a URL or a path", err);
  if (source == NULL ||
      optional (l, n, "sums", &r->base_sums, err) == -1 ||
      optional (l, n, "checksum", &r->base_checksum, err) == -1 ||
      optional_bool (l, n, "insecure", &r->base_insecure, err) == -1)
    return -1;
  /* A bare word is a repository template; a path is relative to the recipe. */
  if (strstr (source, "://") == NULL && strchr (source, '/') != NULL)
    r->base_source = local_path (map_get (n, "source", NULL)->file, source);
  else
    r->base_source = g_steal_pointer (&source);
  if (g_path_is_absolute (r->base_source))
    add_read (l, r->base_source, "base image", map_get (n, "source", NULL));
  else if (g_str_has_prefix (r->base_source, "file://"))
    add_read (l, r->base_source + strlen ("file://"), "base image", map_get (n, "source", NULL));
  if (r->base_sums && r->base_checksum) {
    const struct ynode *k = NULL;

    map_get (n, "checksum", &k);
    set_err (err, k, "base: give sums or checksum, not both");
    return -1;
  }
  if (r->base_checksum) {
    const char *c = r->base_checksum;
    const char *hex = strchr (c, ':');
    size_t want = g_str_has_prefix (c, "sha256:") ? 64 : g_str_has_prefix (c, "sha512:") ? 128 : 0;
    bool good = want && hex && strlen (hex + 1) == want;

    for (const char *p = hex ? hex + 1 : ""; good && *p; p++)
      good = g_ascii_isxdigit (*p);
    if (!good) {
      set_err (err, map_get (n, "checksum", NULL),
               "base: checksum is sha256:HEX (64 digits) or sha512:HEX (128 digits), not '%s'", c);
      return -1;
    }
  }
  return 0;
}

static int
load_output (struct loader *l, const struct ynode *n, struct kiln_recipe *r, GError **err)
{
  if (want_type (n, Y_MAP, "output", err) == -1 || check_keys (n, "output", output_keys, err) == -1)
    return -1;
  r->output_path = required (l, n, "path", "output", "the image to write, e.g. path: debian-12.qcow2", err);
  if (r->output_path == NULL ||
      optional (l, n, "format", &r->output_format, err) == -1 ||
      optional (l, n, "mode", &r->output_mode, err) == -1 ||
      optional (l, n, "size", &r->output_size, err) == -1)
    return -1;
  if (r->output_format == NULL)
    r->output_format = g_strdup ("qcow2");
  if (r->output_mode == NULL)
    r->output_mode = g_strdup ("overlay");
  if (strcmp (r->output_format, "qcow2") != 0 && strcmp (r->output_format, "raw") != 0) {
    set_err (err, map_get (n, "format", NULL), "output: format is qcow2 or raw, not '%s'", r->output_format);
    return -1;
  }
  if (strcmp (r->output_mode, "overlay") != 0 && strcmp (r->output_mode, "copy") != 0) {
    set_err (err, map_get (n, "mode", NULL), "output: mode is overlay or copy, not '%s'", r->output_mode);
    return -1;
  }
  if (strcmp (r->output_mode, "overlay") == 0 && strcmp (r->output_format, "raw") == 0) {
    const struct ynode *at = map_get (n, "mode", NULL);

    set_err (err, at ? at : map_get (n, "format", NULL),
             "output: an overlay is a qcow2 file; for a raw image write mode: copy");
    return -1;
  }
  if (r->output_size &&
      check_disk_size (map_get (n, "size", NULL), r->output_size, "output.size", &r->output_bytes, err) == -1)
    return -1;
  return 0;
}

/* A password selector, checked by password.h's one parser: file: made
 * relative to the recipe (node N), and password:P only as
 * password:${NAME}, RAW being the selector as written (before
 * expansion), with NAME's value from outside the recipe (the
 * environment, --var or a file), so that a password never sits in a
 * recipe file.  NAME becomes a secret.  The error never repeats what was
 * written. */
static char *
recipe_selector (const struct loader *l, const struct ynode *n, const char *raw, const char *sel,
                 GError **err)
{
  struct kiln_password_selector ps;

  if (!kiln_password_selector_parse (sel, &ps, NULL)) {
    set_err (err, n, "not a password selector (accepted: file:PATH, password:${VARIABLE}, random, disabled, locked)");
    return NULL;
  }
  if (ps.secret) {
    size_t rlen = raw ? strlen (raw) : 0;
    g_autofree char *name = NULL;
    const struct var_decl *d;

    if (rlen > strlen ("password:${}") && g_str_has_prefix (raw, "password:${") && raw[rlen - 1] == '}')
      name = g_strndup (raw + strlen ("password:${"), rlen - strlen ("password:${}"));
    if (name == NULL || !valid_var_name (name, strlen (name))) {
      set_err (err, n, "a password written in a recipe ends up in version control and logs: "
               "use file:PATH, or password:${VARIABLE} with the variable's value from the environment "
               "or a file (kiln-recipe(5), VARIABLES)");
      return NULL;
    }
    d = g_hash_table_lookup (l->decls, name);
    if (d && d->value && d->value->type != Y_NULL) {
      set_err (err, n, "the password variable %s has a value in the recipe (%s:%d), which ends up in "
               "version control and logs: declare it %s: {secret: true} and give it in the "
               "environment, or read it from a file (%s: {file: PATH})",
               name, d->value->file, d->value->line, name, name);
      return NULL;
    }
    g_hash_table_add (l->secret_names, g_strdup (name));
    kiln_secret_register (ps.secret);
    warn_cli_secret (l, name);
  }
  if (ps.file) {
    g_autofree char *p = local_path (n->file, ps.file);

    add_read (l, p, "password file", n);
    return g_strconcat (ps.locked ? "locked:" : "", "file:", p, NULL);
  }
  return g_strdup (sel);
}

static void
step_free (gpointer p)
{
  struct kiln_recipe_step *s = p;

  g_free (s->op);
  kiln_secret_strv_free (s->args);
  kiln_secret_free (s->display);
  g_free (s->where);
  g_free (s);
}

/* Plans and logs show a step on one line: newlines and tabs escaped. */
static char *
one_line (const char *s)
{
  GString *out = g_string_new (NULL);

  for (; *s; s++) {
    if (*s == '\n')
      g_string_append (out, "\\n");
    else if (*s == '\t')
      g_string_append (out, "\\t");
    else
      g_string_append_c (out, *s);
  }
  return g_string_free (out, FALSE);
}

/* The mapping keys of OP as "k0: ..., k1: ...", for messages. */
static char *
keys_hint (const struct kiln_customize_op *op)
{
  g_autoptr (GString) s = g_string_new (NULL);

  for (size_t i = 0; i < G_N_ELEMENTS (op->keys) && op->keys[i]; i++)
    g_string_append_printf (s, "%s%s: ...", i ? ", " : "", op->keys[i]);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

/* The parts of a PAIR, HEAD_LIST or USER_KEY step written as a mapping:
 * each part is given apart, so it may hold any character (':' too).
 * *LAST: the node of the last part. */
static bool
mapping_parts (const struct loader *l, const struct kiln_customize_op *op, const struct ynode *v,
               GPtrArray *args, const struct ynode **last, GError **err)
{
  const char *const keys[] = { op->keys[0], op->keys[1], op->keys[2], NULL };
  g_autofree char *hint = keys_hint (op);
  g_autofree char *full = g_strdup_printf ("%s: {%s}", op->name, hint);
  const struct ynode *bn;
  char *a;

  if (check_keys (v, op->name, keys, err) == -1)
    return false;
  a = required (l, v, op->keys[0], op->name, full, err);
  if (a == NULL)
    return false;
  g_ptr_array_add (args, a);
  if (op->shape == KILN_CUSTOMIZE_USER_KEY) {
    g_autofree char *file = NULL, *key = NULL;

    if (optional (l, v, op->keys[1], &file, err) == -1 || optional (l, v, op->keys[2], &key, err) == -1)
      return false;
    if (file && key) {
      set_err (err, v, "%s: give %s or %s, not both", op->name, op->keys[1], op->keys[2]);
      return false;
    }
    if (file || key) {
      g_ptr_array_add (args, g_strdup (file ? "file" : "string"));
      g_ptr_array_add (args, g_steal_pointer (file ? &file : &key));
    }
    return true;
  }
  bn = map_get (v, op->keys[1], NULL);
  if (bn == NULL) {
    set_err (err, v, "%s: missing required key '%s' (%s)", op->name, op->keys[1], full);
    return false;
  }
  *last = bn;
  if (op->shape == KILN_CUSTOMIZE_HEAD_LIST && bn->type == Y_SEQ) {
    for (guint i = 0; i < bn->items->len; i++) {
      char *x = scalar (l, bn->items->pdata[i], op->keys[1], err);

      if (x == NULL) {
        if (err && *err == NULL)
          set_err (err, bn->items->pdata[i], "%s: an empty %s", op->name, op->keys[1]);
        return false;
      }
      g_ptr_array_add (args, x);
    }
    return true;
  }
  /* content and line may be empty strings. */
  a = bn->type == Y_NULL ? g_strdup ("") : scalar (l, bn, op->keys[1], err);
  if (a == NULL)
    return false;
  g_ptr_array_add (args, a);
  return true;
}

/* One customize step: "- NAME: ARGUMENT", in the shape the operation's
 * row gives (customize.h), turned into the operation's typed parts. */
static struct kiln_recipe_step *
load_step (struct loader *l, const struct ynode *item, GError **err)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new_with_free_func ((GDestroyNotify) kiln_secret_free);
  const struct kiln_customize_op *op = NULL;
  const struct ynode *k, *v, *last;
  g_autofree char *text = NULL, *display = NULL;
  struct kiln_recipe_step *s;

  if (item->type == Y_SCALAR) {
    k = item;                 /* "- update": an operation without argument */
    v = NULL;
  } else if (item->type == Y_MAP && item->items->len == 2) {
    k = item->items->pdata[0];
    v = item->items->pdata[1];
  } else if (item->type == Y_MAP) {
    set_err (err, item, "customize: a step has exactly one operation, this one has %u (give each its own '- ')",
             item->items->len / 2);
    return NULL;
  } else {
    set_err (err, item, "customize: a step is a mapping of one operation to its argument, like '- install: [nginx]', not %s",
             type_name (item));
    return NULL;
  }
  for (const struct kiln_customize_op *o = kiln_customize_ops; o->name; o++)
    if (strcmp (o->name, k->value) == 0)
      op = o;
  if (op == NULL) {
    g_autoptr (GString) acc = g_string_new (NULL);

    for (const struct kiln_customize_op *o = kiln_customize_ops; o->name; o++)
      g_string_append_printf (acc, "%s%s", o == kiln_customize_ops ? "" : ", ", o->name);
    set_err (err, k, "unknown customize operation '%s' (accepted: %s)", k->value, acc->str);
    return NULL;
  }
  if (v == NULL && op->shape != KILN_CUSTOMIZE_NONE) {
    set_err (err, k, "%s needs an argument: '- %s: VALUE'", op->name, op->name);
    return NULL;
  }
  last = v;

  switch (op->shape) {
  case KILN_CUSTOMIZE_NONE:
    if (v != NULL) {
      g_autofree char *t = v->type == Y_NULL ? g_strdup ("true") : scalar (l, v, op->name, err);

      if (t == NULL)
        return NULL;
      if (g_ascii_strcasecmp (t, "true") != 0 && g_ascii_strcasecmp (t, "yes") != 0) {
        set_err (err, v, "%s takes no argument: write '- %s' or '- %s: true'", op->name, op->name, op->name);
        return NULL;
      }
    }
    break;
  case KILN_CUSTOMIZE_STRING: {
    char *a;

    if (v->type == Y_NULL) {
      set_err (err, v, "%s needs an argument", op->name);
      return NULL;
    }
    a = scalar (l, v, op->name, err);
    if (a == NULL)
      return NULL;
    g_ptr_array_add (args, a);
    break;
  }
  case KILN_CUSTOMIZE_LIST: {
    g_autofree char *joined = name_list (l, v, op->name, err);
    g_auto (GStrv) parts = NULL;

    if (joined == NULL)
      return NULL;
    parts = g_strsplit (joined, ",", -1);
    for (char **p = parts; *p; p++)
      g_ptr_array_add (args, g_strdup (*p));
    break;
  }
  case KILN_CUSTOMIZE_PAIR:
  case KILN_CUSTOMIZE_HEAD_LIST:
  case KILN_CUSTOMIZE_USER_KEY:
    if (v->type == Y_MAP) {
      if (!mapping_parts (l, op, v, args, &last, err))
        return NULL;
    } else if (v->type == Y_SCALAR) {
      /* The command line's form, split as the command line splits it. */
      g_auto (secret_str) whole = expand (l, v, err);
      g_auto (secret_strv) parts = NULL;

      if (whole == NULL)
        return NULL;
      parts = kiln_customize_split (op, whole, NULL);
      if (parts == NULL) {
        g_autofree char *hint = keys_hint (op);

        set_err (err, v, "%s takes %s, or a mapping {%s}", op->name, op->metavar, hint);
        return NULL;
      }
      for (char **p = parts; *p; p++)
        g_ptr_array_add (args, g_strdup (*p));
    } else {
      g_autofree char *hint = keys_hint (op);

      set_err (err, v, "%s: expected a string %s or a mapping {%s}, got %s", op->name,
               op->metavar, hint, type_name (v));
      return NULL;
    }
    break;
  }

  /* Local files are relative to the recipe that names them; each is
   * noted as read (recipes are code: kiln-recipe(5)). */
  if (op->flags & KILN_CUSTOMIZE_LOCAL) {
    char *p = local_path (v->file, args->pdata[0]);

    g_free (args->pdata[0]);
    args->pdata[0] = p;
    add_read (l, p, op->name, v);
  }
  if (op->shape == KILN_CUSTOMIZE_USER_KEY && args->len == 3 && strcmp (args->pdata[1], "file") == 0) {
    char *p = local_path (v->file, args->pdata[2]);

    g_free (args->pdata[2]);
    args->pdata[2] = p;
    add_read (l, p, "ssh-inject key", v);
  } else if (op->shape == KILN_CUSTOMIZE_USER_KEY && args->len == 1) {
    g_autofree char *keys = g_build_filename (g_get_home_dir (), ".ssh", "id*.pub", NULL);

    add_read (l, keys, "ssh-inject key (the newest of these)", v);
  }
  if (op->flags & KILN_CUSTOMIZE_SELECTOR) {
    /* The selector as written: the string form USER:SELECTOR splits at
     * the first ':', as the command line does. */
    const char *raw = last->type == Y_SCALAR ? last->value : NULL;
    char *sel;

    if (raw && last == v && op->shape == KILN_CUSTOMIZE_PAIR)
      raw = strchr (raw, ':') ? strchr (raw, ':') + 1 : NULL;
    sel = recipe_selector (l, last, raw, args->pdata[args->len - 1], err);
    if (sel == NULL)
      return NULL;
    kiln_secret_free (args->pdata[args->len - 1]);
    args->pdata[args->len - 1] = sel;
  }
  g_ptr_array_add (args, NULL);
  /* Guest paths as the operation will use them: "//" is "/" (customize.h). */
  {
    g_autoptr (GError) e = NULL;

    if (kiln_customize_normalize_paths (op, (char **) args->pdata, &e) == -1) {
      set_err (err, v ? v : k, "%s", e->message);
      return NULL;
    }
  }

  s = g_new0 (struct kiln_recipe_step, 1);
  s->op = g_strdup (op->name);
  s->row = op;
  s->args = (char **) g_ptr_array_steal (args, NULL);
  text = kiln_customize_args_text (op, (const char *const *) s->args);
  display = g_strconcat (op->name, text[0] ? " " : "", text, NULL);
  s->display = one_line (display);
  s->where = g_strdup_printf ("%s:%d:%d", item->file, item->line, item->col);
  kiln_secret_free (g_steal_pointer (&text));
  kiln_secret_free (g_steal_pointer (&display));
  return s;
}

static int
load_customize (struct loader *l, const struct ynode *n, struct kiln_recipe *r, GError **err)
{
  if (n->type == Y_NULL)
    return 0;
  if (n->type != Y_SEQ) {
    set_err (err, n, "customize: expected a list of steps ('- install: [nginx]'), got %s", type_name (n));
    return -1;
  }
  for (guint i = 0; i < n->items->len; i++) {
    struct kiln_recipe_step *s = load_step (l, n->items->pdata[i], err);

    if (s == NULL)
      return -1;
    g_ptr_array_add (r->steps, s);
  }
  return 0;
}

static int
load_sysprep (struct loader *l, const struct ynode *n, struct kiln_recipe *r, GError **err)
{
  const struct ynode *ops, *en;

  r->sysprep = true;
  if (n->type == Y_NULL)
    return 0;
  if (want_type (n, Y_MAP, "sysprep", err) == -1 || check_keys (n, "sysprep", sysprep_keys, err) == -1)
    return -1;
  ops = map_get (n, "operations", NULL);
  en = map_get (n, "enable", NULL);
  if (ops && ops->type != Y_NULL && en && en->type != Y_NULL) {
    set_err (err, en, "sysprep: give operations (changes the default selection) or enable (exactly these), not both");
    return -1;
  }
  if (ops && ops->type != Y_NULL && (r->sysprep_operations = name_list (l, ops, "operations", err)) == NULL)
    return -1;
  if (en && en->type != Y_NULL && (r->sysprep_enable = name_list (l, en, "enable", err)) == NULL)
    return -1;
  return 0;
}

static void
network_free (gpointer p)
{
  struct kiln_recipe_network *n = p;

  g_free (n->name);
  g_free (n->bridge);
  g_free (n->address);
  g_free (n->dhcp);
  g_free (n->forward);
  g_free (n);
}

/* "10.11.12.1/24": a host address with its prefix (libvirt's form, host
 * bits set, which GInetAddressMask refuses). */
static GInetAddress *
parse_cidr (const char *s, guint *prefix)
{
  g_auto (GStrv) parts = g_strsplit (s, "/", 2);
  g_autoptr (GInetAddress) a = NULL;
  char *end;
  unsigned long p;

  if (parts[0] == NULL || parts[1] == NULL || !g_ascii_isdigit (parts[1][0]))
    return NULL;
  a = g_inet_address_new_from_string (parts[0]);
  p = strtoul (parts[1], &end, 10);
  if (a == NULL || *end != '\0' || p == 0 || p > g_inet_address_get_native_size (a) * 8)
    return NULL;
  *prefix = p;
  return g_steal_pointer (&a);
}

static bool
in_network (GInetAddress *net, guint prefix, GInetAddress *a)
{
  const guint8 *x = g_inet_address_to_bytes (net), *y = g_inet_address_to_bytes (a);

  if (g_inet_address_get_family (net) != g_inet_address_get_family (a))
    return false;
  for (guint bit = 0; bit < prefix; bit++) {
    guint8 m = 0x80 >> (bit % 8);

    if ((x[bit / 8] & m) != (y[bit / 8] & m))
      return false;
  }
  return true;
}

static int
load_network (struct loader *l, const struct ynode *n, struct kiln_recipe *r, GError **err)
{
  struct kiln_recipe_network *net;
  g_autoptr (GInetAddress) host = NULL;
  guint prefix = 0;

  if (want_type (n, Y_MAP, "networks", err) == -1 || check_keys (n, "a network", network_keys, err) == -1)
    return -1;
  net = g_new0 (struct kiln_recipe_network, 1);
  g_ptr_array_add (r->networks, net);
  net->name = required (l, n, "name", "network", "the libvirt network's name", err);
  if (net->name == NULL ||
      optional (l, n, "bridge", &net->bridge, err) == -1 ||
      optional (l, n, "address", &net->address, err) == -1 ||
      optional (l, n, "dhcp", &net->dhcp, err) == -1 ||
      optional (l, n, "forward", &net->forward, err) == -1)
    return -1;
  if (check_name (map_get (n, "name", NULL), net->name, "networks.name", err) == -1)
    return -1;
  if (net->address) {
    host = parse_cidr (net->address, &prefix);
    if (host == NULL) {
      set_err (err, map_get (n, "address", NULL), "network: address is ADDRESS/PREFIX, like 10.11.12.1/24, not '%s'",
               net->address);
      return -1;
    }
  }
  if (net->dhcp) {
    g_auto (GStrv) ends = g_strsplit (net->dhcp, "-", 2);
    g_autoptr (GInetAddress) a = ends[0] ? g_inet_address_new_from_string (ends[0]) : NULL;
    g_autoptr (GInetAddress) b = ends[0] && ends[1] ? g_inet_address_new_from_string (ends[1]) : NULL;
    const struct ynode *at = map_get (n, "dhcp", NULL);

    if (a == NULL || b == NULL) {
      set_err (err, at, "network: dhcp is a range FIRST-LAST, like 10.11.12.2-10.11.12.128, not '%s'", net->dhcp);
      return -1;
    }
    if (host == NULL) {
      set_err (err, at, "network: a dhcp range needs the network's address (address: 10.11.12.1/24)");
      return -1;
    }
    if (!in_network (host, prefix, a) || !in_network (host, prefix, b)) {
      set_err (err, at, "network: the dhcp range %s is not inside %s", net->dhcp, net->address);
      return -1;
    }
  }
  if (net->forward) {
    static const char *const modes[] = { "none", "nat", "route", "open", NULL };

    if (!g_strv_contains (modes, net->forward)) {
      g_autofree char *acc = accepted (modes);

      set_err (err, map_get (n, "forward", NULL), "network: forward is one of %s, not '%s'", acc, net->forward);
      return -1;
    }
  }
  return 0;
}

static void
disk_free (gpointer p)
{
  struct kiln_recipe_disk *d = p;

  g_free (d->size);
  g_free (d->target);
  g_free (d);
}

static int
load_template (struct loader *l, const struct ynode *n, struct kiln_recipe *r, GError **err)
{
  const struct ynode *disks;

  r->template = true;
  if (n->type != Y_NULL &&
      (want_type (n, Y_MAP, "template", err) == -1 || check_keys (n, "template", template_keys, err) == -1))
    return -1;
  if (n->type == Y_MAP &&
      (optional (l, n, "name", &r->template_name, err) == -1 ||
       optional (l, n, "os-variant", &r->os_variant, err) == -1 ||
       optional_int (l, n, "memory", 64, 16 * 1024 * 1024, &r->memory, err) == -1 ||
       optional_int (l, n, "vcpus", 1, 4096, &r->vcpus, err) == -1 ||
       optional (l, n, "network", &r->template_network, err) == -1 ||
       optional (l, n, "connect", &r->template_connect, err) == -1 ||
       optional (l, n, "pool", &r->template_pool, err) == -1))
    return -1;
  /* A remote host cannot use the built image where it lies: it goes up
   * into one of that host's pools (kiln_virt_is_local decides at the
   * build, when the URI is opened; a local URI with a pool uploads too). */
  if (r->template_connect && r->template_connect[0] == '\0') {
    set_err (err, map_get (n, "connect", NULL), "template.connect is empty (a libvirt URI, "
             "like qemu+ssh://HOST/system)");
    return -1;
  }
  if (r->template_pool && !kiln_name_valid (r->template_pool, "template.pool", NULL)) {
    set_err (err, map_get (n, "pool", NULL), "template.pool: '%s' is not a storage pool's name",
             r->template_pool);
    return -1;
  }
  if (r->template_connect && r->template_pool == NULL) {
    set_err (err, map_get (n, "connect", NULL), "template.connect needs template.pool: the "
             "storage pool on that host the image is uploaded into");
    return -1;
  }
  if (r->template_name == NULL)
    r->template_name = g_strdup (r->name);
  else if (check_name (map_get (n, "name", NULL), r->template_name, "template.name", err) == -1)
    return -1;
  if (r->os_variant == NULL)
    r->os_variant = g_strdup ("auto");
  if (r->template_network == NULL)
    r->template_network = g_strdup ("default");
  disks = n->type == Y_MAP ? map_get (n, "disks", NULL) : NULL;
  if (disks == NULL || disks->type == Y_NULL)
    return 0;
  if (want_type (disks, Y_SEQ, "disks", err) == -1)
    return -1;
  for (guint i = 0; i < disks->items->len; i++) {
    const struct ynode *dn = disks->items->pdata[i];
    struct kiln_recipe_disk *d;

    if (want_type (dn, Y_MAP, "a disk", err) == -1 || check_keys (dn, "a disk", disk_keys, err) == -1)
      return -1;
    d = g_new0 (struct kiln_recipe_disk, 1);
    g_ptr_array_add (r->disks, d);
    d->size = required (l, dn, "size", "disk", "its size, like 2G", err);
    if (d->size == NULL || optional (l, dn, "target", &d->target, err) == -1)
      return -1;
    {
      g_autofree char *what = g_strdup_printf ("template.disks[%u].size", i);

      if (check_disk_size (map_get (dn, "size", NULL), d->size, what, &d->bytes, err) == -1)
        return -1;
    }
    if (d->target) {
      bool good = (g_str_has_prefix (d->target, "vd") || g_str_has_prefix (d->target, "sd")) &&
                  d->target[2] != '\0' && strcmp (d->target, "vda") != 0 && strcmp (d->target, "sda") != 0;

      for (const char *p = d->target + 2; good && *p; p++)
        good = g_ascii_islower (*p);
      if (!good) {
        set_err (err, map_get (dn, "target", NULL),
                 "disk: target is a device name after the system disk, like vdb or sdb, not '%s'", d->target);
        return -1;
      }
      for (guint j = 0; j + 1 < r->disks->len; j++) {
        const struct kiln_recipe_disk *o = r->disks->pdata[j];

        if (o->target && strcmp (o->target, d->target) == 0) {
          set_err (err, map_get (dn, "target", NULL), "disk: target %s is given twice", d->target);
          return -1;
        }
      }
    }
  }
  return 0;
}

static int
load_clones (struct loader *l, const struct ynode *n, const struct ynode *key,
             struct kiln_recipe *r, GError **err)
{
  const struct ynode *names;
  g_autoptr (GPtrArray) list = g_ptr_array_new_with_free_func (g_free);

  if (n->type == Y_NULL)
    return 0;
  if (!r->template) {
    set_err (err, key, "clones are made from the template domain: add a template section");
    return -1;
  }
  if (want_type (n, Y_MAP, "clones", err) == -1 || check_keys (n, "clones", clones_keys, err) == -1)
    return -1;
  names = map_get (n, "names", NULL);
  if (names && map_get (n, "count", NULL)) {
    set_err (err, n, "clones: give names, or count and prefix, not both");
    return -1;
  }
  if (names) {
    if (want_type (names, Y_SEQ, "names", err) == -1)
      return -1;
    if (names->items->len == 0) {
      set_err (err, names, "clones: names is empty");
      return -1;
    }
    for (guint i = 0; i < names->items->len; i++) {
      const struct ynode *it = names->items->pdata[i];
      char *s = scalar (l, it, "a clone's name", err);

      if (s == NULL) {
        if (err && *err == NULL)
          set_err (err, it, "clones: a name is missing");
        return -1;
      }
      g_ptr_array_add (list, s);
    }
  } else {
    int count = 0;
    g_autofree char *prefix = NULL;

    if (optional_int (l, n, "count", 1, 1000, &count, err) == -1 ||
        optional (l, n, "prefix", &prefix, err) == -1)
      return -1;
    if (count == 0) {
      set_err (err, n, "clones: missing required key 'names' or 'count'");
      return -1;
    }
    if (prefix == NULL)
      prefix = g_strconcat (r->template_name, "-", NULL);
    for (int i = 1; i <= count; i++)
      g_ptr_array_add (list, g_strdup_printf ("%s%d", prefix, i));
  }
  for (guint i = 0; i < list->len; i++) {
    const char *s = list->pdata[i];
    const struct ynode *at = names ? names->items->pdata[i] : map_get (n, "prefix", NULL);

    if (at == NULL)
      at = n;
    if (check_name (at, s, "clones", err) == -1)
      return -1;
    if (strcmp (s, r->template_name) == 0) {
      set_err (err, at, "clones: '%s' is the template's own name", s);
      return -1;
    }
    for (guint j = 0; j < i; j++)
      if (strcmp (list->pdata[j], s) == 0) {
        set_err (err, at, "clones: '%s' is given twice", s);
        return -1;
      }
  }
  g_ptr_array_add (list, NULL);
  r->clones = (char **) g_ptr_array_free (g_steal_pointer (&list), FALSE);
  return 0;
}

static void
check_free (gpointer p)
{
  struct kiln_recipe_check *c = p;

  g_free (c->run);
  g_free (c->expect);
  g_free (c->where);
  g_free (c);
}

/* test: {timeout, user, password, commands: [{run, expect | match}]}.
 * The password is a selector of the same parser as customize's, limited
 * to file:PATH and password:${VARIABLE}: never a password in the file. */
static int
load_test (struct loader *l, const struct ynode *n, const struct ynode *key,
           struct kiln_recipe *r, GError **err)
{
  const struct ynode *cmds, *pw;
  unsigned timeout = KILN_RECIPE_TEST_DEFAULT_TIMEOUT;

  if (!r->template) {
    set_err (err, key, "test: the boot check boots a clone of the template: add a template section");
    return -1;
  }
  r->test = true;
  r->test_timeout = KILN_RECIPE_TEST_DEFAULT_TIMEOUT;
  if (n->type == Y_NULL)
    return 0;
  if (want_type (n, Y_MAP, "test", err) == -1 || check_keys (n, "test", test_keys, err) == -1 ||
      optional_duration (l, n, "timeout", 10, 86400, &timeout, err) == -1 ||
      optional (l, n, "user", &r->test_user, err) == -1)
    return -1;
  r->test_timeout = timeout;
  if (r->test_user && !kiln_name_valid (r->test_user, "test.user", NULL)) {
    set_err (err, map_get (n, "user", NULL), "test: user '%s' is not a user name", r->test_user);
    return -1;
  }
  pw = map_get (n, "password", NULL);
  if (pw && pw->type != Y_NULL) {
    g_autofree char *sel = NULL;
    struct kiln_password_selector ps;

    if (r->test_user == NULL) {
      set_err (err, pw, "test: a password needs a user to log in as");
      return -1;
    }
    if (want_type (pw, Y_SCALAR, "password", err) == -1 || (sel = expand (l, pw, err)) == NULL)
      return -1;
    if (!kiln_password_selector_parse (sel, &ps, NULL) || ps.locked || (!ps.file && !ps.secret)) {
      kiln_secret_free (g_steal_pointer (&sel));
      set_err (err, pw, "test: password is file:PATH or password:${VARIABLE}");
      return -1;
    }
    r->test_password = recipe_selector (l, pw, pw->value, sel, err);
    kiln_secret_free (g_steal_pointer (&sel));
    if (r->test_password == NULL)
      return -1;
  }
  cmds = map_get (n, "commands", NULL);
  if (cmds == NULL || cmds->type == Y_NULL)
    return 0;
  if (want_type (cmds, Y_SEQ, "commands", err) == -1)
    return -1;
  if (r->test_user == NULL) {
    set_err (err, cmds, "test: commands run after a login: give the user (and its password)");
    return -1;
  }
  if (cmds->items->len > KILN_RECIPE_MAX_CHECKS) {
    set_err (err, cmds, "test: more than %d commands (the limit)", KILN_RECIPE_MAX_CHECKS);
    return -1;
  }
  for (guint i = 0; i < cmds->items->len; i++) {
    const struct ynode *cn = cmds->items->pdata[i];
    const struct ynode *ex, *ma;
    struct kiln_recipe_check *c;

    if (want_type (cn, Y_MAP, "a test command", err) == -1 ||
        check_keys (cn, "a test command", check_keys_, err) == -1)
      return -1;
    c = g_new0 (struct kiln_recipe_check, 1);
    g_ptr_array_add (r->test_checks, c);
    c->where = g_strdup_printf ("%s:%d:%d", cn->file, cn->line, cn->col);
    c->run = required (l, cn, "run", "a test command", "the shell command to run in the guest", err);
    if (c->run == NULL)
      return -1;
    if (strchr (c->run, '\n') || strchr (c->run, '\r')) {
      set_err (err, map_get (cn, "run", NULL), "test: run is one line of shell");
      return -1;
    }
    ex = map_get (cn, "expect", NULL);
    ma = map_get (cn, "match", NULL);
    if ((ex && ma) || (!ex && !ma)) {
      set_err (err, cn, "test: give expect (the exact output) or match (a regular expression), one of them");
      return -1;
    }
    c->regex = ma != NULL;
    c->expect = scalar (l, c->regex ? ma : ex, c->regex ? "match" : "expect", err);
    if (c->expect == NULL) {
      if (err && *err == NULL)
        c->expect = g_strdup ("");
      else
        return -1;
    }
    if (c->regex) {
      g_autoptr (GError) e = NULL;
      g_autoptr (GRegex) re = g_regex_new (c->expect, G_REGEX_MULTILINE, 0, &e);

      if (re == NULL) {
        set_err (err, ma, "test: match: %s", e->message);
        return -1;
      }
    }
  }
  return 0;
}

static int
load_vars (struct loader *l, const struct ynode *n, GError **err)
{
  if (n == NULL || n->type == Y_NULL)
    return 0;
  if (want_type (n, Y_MAP, "vars", err) == -1)
    return -1;
  for (guint i = 0; i < n->items->len; i += 2) {
    const struct ynode *k = n->items->pdata[i];
    const struct ynode *v = n->items->pdata[i + 1];
    struct var_decl *d;

    if (!valid_var_name (k->value, strlen (k->value))) {
      set_err (err, k, "vars: '%s' is not a variable name (letters, digits and _, not starting with a digit)", k->value);
      return -1;
    }
    if (v->type == Y_MAP) {
      /* NAME: {secret: BOOL, file: PATH}, taken literally. */
      static const char *const keys[] = { "secret", "file", NULL };
      const struct ynode *sn = map_get (v, "secret", NULL), *fn = map_get (v, "file", NULL);
      g_autofree char *what = g_strdup_printf ("the declaration of %s", k->value);

      if (check_keys (v, what, keys, err) == -1)
        return -1;
      d = g_new0 (struct var_decl, 1);
      d->node = v;
      d->secret = true;
      g_hash_table_insert (l->decls, k->value, d);
      if (sn && (sn->type != Y_SCALAR ||
                 !(g_ascii_strcasecmp (sn->value, "true") == 0 || g_ascii_strcasecmp (sn->value, "yes") == 0 ||
                   g_ascii_strcasecmp (sn->value, "false") == 0 || g_ascii_strcasecmp (sn->value, "no") == 0))) {
        set_err (err, sn, "vars: %s: secret is true or false", k->value);
        return -1;
      }
      if (sn)
        d->secret = g_ascii_strcasecmp (sn->value, "true") == 0 || g_ascii_strcasecmp (sn->value, "yes") == 0;
      if (fn && (fn->type != Y_SCALAR || fn->value[0] == '\0')) {
        set_err (err, fn, "vars: %s: file is the path of a file whose first line is the value", k->value);
        return -1;
      }
      if (fn)
        d->file = local_path (fn->file, fn->value);
      continue;
    }
    if (v->type != Y_SCALAR && v->type != Y_NULL) {
      set_err (err, v, "vars: %s: expected a string or a mapping {secret: true, file: PATH}, got %s",
               k->value, type_name (v));
      return -1;
    }
    d = g_new0 (struct var_decl, 1);
    d->node = d->value = v;
    g_hash_table_insert (l->decls, k->value, d);
  }
  l->vars = n;
  return 0;
}

struct kiln_recipe *
kiln_recipe_load (const char *path, const char *const *vars, GError **err)
{
  struct loader l = { 0 };
  g_autoptr (kiln_recipe) r = g_new0 (struct kiln_recipe, 1);
  g_autoptr (GPtrArray) arena = g_ptr_array_new_with_free_func (ynode_free);
  g_autoptr (GPtrArray) stack = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GHashTable) decls = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, var_decl_free);
  g_autoptr (GHashTable) secret_names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GHashTable) file_values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) kiln_secret_free);
  g_autoptr (GHashTable) warned = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  const struct ynode *root, *v, *k = NULL;

  r->path = g_strdup (path);
  r->reads = g_ptr_array_new_with_free_func (read_free);
  r->files = g_ptr_array_new_with_free_func (recipe_file_free);
  r->steps = g_ptr_array_new_with_free_func (step_free);
  r->networks = g_ptr_array_new_with_free_func (network_free);
  r->disks = g_ptr_array_new_with_free_func (disk_free);
  r->test_checks = g_ptr_array_new_with_free_func (check_free);
  l.arena = arena;
  l.files = r->files;
  l.stack = stack;
  l.cli_vars = vars;
  l.decls = decls;
  l.secret_names = secret_names;
  l.file_values = file_values;
  l.warned = warned;
  l.reads = r->reads;

  for (size_t i = 0; vars && vars[i]; i++)
    if (!kiln_recipe_var_valid (vars[i])) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE, "--var %s: expected NAME=VALUE", vars[i]);
      return NULL;
    }

  root = load_file (&l, path, NULL, err);
  if (root == NULL || load_vars (&l, map_get (root, "vars", NULL), err) == -1)
    return NULL;
  r->name = required (&l, root, "name", "the recipe", "what it builds, e.g. name: debian-12-base", err);
  if (r->name == NULL)
    return NULL;
  if (check_name (map_get (root, "name", NULL), r->name, "name", err) == -1)
    return NULL;
  v = map_get (root, "base", NULL);
  if (v == NULL || v->type == Y_NULL) {
    set_err (err, root, "missing required key 'base' (the image to start from: base: {source: debian-12})");
    return NULL;
  }
  if (load_base (&l, v, r, err) == -1)
    return NULL;
  v = map_get (root, "output", NULL);
  if (v == NULL || v->type == Y_NULL) {
    set_err (err, root, "missing required key 'output' (the image to write: output: {path: NAME.qcow2})");
    return NULL;
  }
  if (load_output (&l, v, r, err) == -1)
    return NULL;
  if ((v = map_get (root, "customize", NULL)) && load_customize (&l, v, r, err) == -1)
    return NULL;
  if ((v = map_get (root, "sysprep", NULL)) && load_sysprep (&l, v, r, err) == -1)
    return NULL;
  if ((v = map_get (root, "networks", NULL)) && v->type != Y_NULL) {
    if (want_type (v, Y_SEQ, "networks", err) == -1)
      return NULL;
    for (guint i = 0; i < v->items->len; i++) {
      if (load_network (&l, v->items->pdata[i], r, err) == -1)
        return NULL;
      for (guint j = 0; j < i; j++)
        if (strcmp (((struct kiln_recipe_network *) r->networks->pdata[j])->name,
                    ((struct kiln_recipe_network *) r->networks->pdata[i])->name) == 0) {
          set_err (err, v->items->pdata[i], "networks: '%s' is given twice",
                   ((struct kiln_recipe_network *) r->networks->pdata[i])->name);
          return NULL;
        }
    }
  }
  if ((v = map_get (root, "template", NULL)) && load_template (&l, v, r, err) == -1)
    return NULL;
  if ((v = map_get (root, "clones", &k)) && load_clones (&l, v, k, r, err) == -1)
    return NULL;
  if ((v = map_get (root, "test", &k)) && load_test (&l, v, k, r, err) == -1)
    return NULL;
  if (r->template_pool && r->disks->len > 0) {
    set_err (err, map_get (map_get (root, "template", NULL), "disks", NULL),
             "template.disks with template.pool: not supported yet (extra disks are made as "
             "local files)");
    return NULL;
  }
  if (r->template_connect && r->test) {
    set_err (err, k, "test with template.connect: not supported yet (the boot check reads "
             "the clone's serial log as a local file)");
    return NULL;
  }
  /* A step may use a variable before a later password selector makes it
   * a secret: its display is redacted once all are known. */
  for (guint i = 0; i < r->steps->len; i++) {
    struct kiln_recipe_step *s = r->steps->pdata[i];

    if (kiln_secret_in (s->display)) {
      char *shown = kiln_secret_redact (s->display);

      kiln_secret_free (s->display);
      s->display = shown;
    }
  }
  return g_steal_pointer (&r);
}

void
kiln_recipe_free (struct kiln_recipe *r)
{
  if (r == NULL)
    return;
  g_free (r->path);
  g_free (r->name);
  if (r->files)
    g_ptr_array_unref (r->files);
  kiln_secret_free (r->base_source);      /* a URL may hold a token */
  kiln_secret_free (r->base_sums);
  g_free (r->base_checksum);
  g_free (r->output_path);
  g_free (r->output_format);
  g_free (r->output_mode);
  g_free (r->output_size);
  if (r->steps)
    g_ptr_array_unref (r->steps);
  g_free (r->sysprep_operations);
  g_free (r->sysprep_enable);
  if (r->networks)
    g_ptr_array_unref (r->networks);
  g_free (r->template_name);
  g_free (r->os_variant);
  g_free (r->template_network);
  g_free (r->template_connect);
  g_free (r->template_pool);
  if (r->disks)
    g_ptr_array_unref (r->disks);
  g_strfreev (r->clones);
  g_free (r->test_user);
  kiln_secret_free (r->test_password);
  if (r->test_checks)
    g_ptr_array_unref (r->test_checks);
  if (r->reads)
    g_ptr_array_unref (r->reads);
  g_free (r);
}
