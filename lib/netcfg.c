/* netcfg.c: network configuration without the template's MAC address
 * (netcfg.h).  systemd-networkd files are edited line by line, keeping
 * everything else as it was; netplan files are YAML and go through
 * libyaml's document API, the parser netplan itself uses. */
#include <string.h>
#include <yaml.h>

#include "netcfg.h"

/* ---- systemd-networkd ---- */

/* The key of an "Key=Value" line (LINE without leading blanks), or NULL
 * for a section header, a comment or a blank line; the caller frees. */
static char *
ini_key (const char *line)
{
  const char *eq = strchr (line, '=');

  if (*line == '\0' || *line == '#' || *line == ';' || *line == '[' || eq == NULL)
    return NULL;
  return g_strstrip (g_strndup (line, eq - line));
}

enum kiln_netcfg_change
kiln_netcfg_networkd (const char *name, const char *text, size_t len, char **out)
{
  g_autofree char *copy = g_strndup (text, len);
  g_auto (GStrv) lines = g_strsplit (copy, "\n", -1);
  g_autoptr (GString) s = g_string_new (NULL);
  g_autofree char *section = NULL;
  bool dropped = false, dropped_match = false;
  unsigned match_keys = 0;
  gssize first_match = -1;      /* where the first [Match]'s keys begin in S */

  *out = NULL;
  for (char **l = lines; *l; l++) {
    const char *t = *l + strspn (*l, " \t");
    g_autofree char *key = ini_key (t);

    if (*t == '[') {
      const char *end = strchr (t, ']');

      g_free (section);
      section = g_strndup (t + 1, end ? (size_t) (end - t - 1) : strlen (t + 1));
    }
    if (key && (strcmp (key, "MACAddress") == 0 || strcmp (key, "PermanentMACAddress") == 0)) {
      dropped = true;
      if (section && strcmp (section, "Match") == 0)
        dropped_match = true;
      continue;
    }
    if (key && section && strcmp (section, "Match") == 0)
      match_keys++;
    g_string_append (s, *l);
    if (l[1] != NULL)
      g_string_append_c (s, '\n');
    if (*t == '[' && first_match < 0 && section && strcmp (section, "Match") == 0)
      first_match = (gssize) s->len;
  }
  if (!dropped)
    return KILN_NETCFG_SAME;
  if (dropped_match && match_keys == 0) {
    if (g_str_has_suffix (name, ".link"))
      return KILN_NETCFG_REMOVE;
    if (g_str_has_suffix (name, ".network") && first_match >= 0) {
      /* A [Match] header on the last line has no newline after it yet. */
      if (first_match == (gssize) s->len && (s->len == 0 || s->str[s->len - 1] != '\n'))
        g_string_append_c (s, '\n');
      g_string_insert (s, first_match, "Type=ether\n");
    }
  }
  *out = g_string_free (g_steal_pointer (&s), false);
  return KILN_NETCFG_CHANGED;
}

/* ---- netplan ---- */

static yaml_node_t *
node (yaml_document_t *d, int i)
{
  return yaml_document_get_node (d, i);
}

static bool
scalar_is (yaml_document_t *d, int i, const char *want)
{
  yaml_node_t *n = node (d, i);

  return n && n->type == YAML_SCALAR_NODE && n->data.scalar.length == strlen (want) &&
         memcmp (n->data.scalar.value, want, n->data.scalar.length) == 0;
}

/* The value of KEY in mapping node M, or 0. */
static int
map_get (yaml_document_t *d, int m, const char *key)
{
  yaml_node_t *n = node (d, m);

  if (n == NULL || n->type != YAML_MAPPING_NODE)
    return 0;
  for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++)
    if (scalar_is (d, p->key, key))
      return p->value;
  return 0;
}

/* Remove every KEY of mapping node M; true if there was one. */
static bool
map_remove (yaml_document_t *d, int m, const char *key)
{
  yaml_node_t *n = node (d, m);
  bool removed = false;

  if (n == NULL || n->type != YAML_MAPPING_NODE)
    return false;
  for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;) {
    if (scalar_is (d, p->key, key)) {
      memmove (p, p + 1, (size_t) (n->data.mapping.pairs.top - p - 1) * sizeof *p);
      n->data.mapping.pairs.top--;
      removed = true;
    }
    else
      p++;
  }
  return removed;
}

static bool
map_empty (yaml_document_t *d, int m)
{
  yaml_node_t *n = node (d, m);

  return n && n->type == YAML_MAPPING_NODE && n->data.mapping.pairs.top == n->data.mapping.pairs.start;
}

/* Unbind device DEV (a mapping node) from its MAC; true if it changed. */
static bool
netplan_device (yaml_document_t *d, int dev)
{
  bool changed = map_remove (d, dev, "macaddress");
  int match = map_get (d, dev, "match");

  if (match && map_remove (d, match, "macaddress")) {
    changed = true;
    if (map_empty (d, match)) {
      int set_name = map_get (d, dev, "set-name");
      yaml_node_t *sn = set_name ? node (d, set_name) : NULL;

      if (sn && sn->type == YAML_SCALAR_NODE) {
        g_autofree char *value = g_strndup ((const char *) sn->data.scalar.value, sn->data.scalar.length);
        int k = yaml_document_add_scalar (d, NULL, (yaml_char_t *) "name", -1, YAML_PLAIN_SCALAR_STYLE);
        int v = yaml_document_add_scalar (d, NULL, (yaml_char_t *) value, -1, YAML_ANY_SCALAR_STYLE);

        if (k && v)
          yaml_document_append_mapping_pair (d, match, k, v);
        map_remove (d, dev, "set-name");
      }
      else
        map_remove (d, dev, "match");
    }
  }
  return changed;
}

static int
write_string (void *data, unsigned char *buffer, size_t size)
{
  g_string_append_len (data, (const char *) buffer, (gssize) size);
  return 1;
}

int
kiln_netcfg_netplan (const char *text, size_t len, char **out, GError **err)
{
  yaml_parser_t parser;
  yaml_document_t doc;
  int root, network;
  bool changed = false;
  yaml_node_t *n;

  *out = NULL;
  yaml_parser_initialize (&parser);
  yaml_parser_set_input_string (&parser, (const unsigned char *) text, len);
  if (!yaml_parser_load (&parser, &doc)) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE, "not valid YAML: %s at line %zu",
                 parser.problem ? parser.problem : "cannot parse", parser.problem_mark.line + 1);
    yaml_parser_delete (&parser);
    return -1;
  }
  yaml_parser_delete (&parser);
  root = yaml_document_get_root_node (&doc) ? 1 : 0;
  network = root ? map_get (&doc, root, "network") : 0;
  n = network ? node (&doc, network) : NULL;
  if (n && n->type == YAML_MAPPING_NODE) {
    /* Copy the pairs: adding nodes may move the document's arrays. */
    size_t nk = (size_t) (n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    g_autofree yaml_node_pair_t *kinds = g_memdup2 (n->data.mapping.pairs.start, nk * sizeof *kinds);

    for (size_t i = 0; i < nk; i++) {
      yaml_node_t *kind = node (&doc, kinds[i].value);
      size_t nd;
      g_autofree yaml_node_pair_t *devs = NULL;

      if (kind == NULL || kind->type != YAML_MAPPING_NODE)
        continue;
      nd = (size_t) (kind->data.mapping.pairs.top - kind->data.mapping.pairs.start);
      devs = g_memdup2 (kind->data.mapping.pairs.start, nd * sizeof *devs);
      for (size_t j = 0; j < nd; j++) {
        yaml_node_t *dev = node (&doc, devs[j].value);

        if (dev && dev->type == YAML_MAPPING_NODE && netplan_device (&doc, devs[j].value))
          changed = true;
      }
    }
  }
  if (!changed) {
    yaml_document_delete (&doc);
    return KILN_NETCFG_SAME;
  }
  {
    yaml_emitter_t emitter;
    g_autoptr (GString) s = g_string_new (NULL);
    int ok;

    yaml_emitter_initialize (&emitter);
    yaml_emitter_set_output (&emitter, write_string, s);
    yaml_emitter_set_unicode (&emitter, 1);
    ok = yaml_emitter_open (&emitter) && yaml_emitter_dump (&emitter, &doc) && yaml_emitter_close (&emitter);
    /* yaml_emitter_dump deletes the document, whatever it returns. */
    if (!ok) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "cannot write YAML: %s",
                   emitter.problem ? emitter.problem : "emitter error");
      yaml_emitter_delete (&emitter);
      return -1;
    }
    yaml_emitter_delete (&emitter);
    *out = g_string_free (g_steal_pointer (&s), false);
  }
  return KILN_NETCFG_CHANGED;
}

/* ---- NetworkManager keyfiles ----
 *
 * GKeyFile, not a line editor: NetworkManager reads keyfiles with it, so
 * what it calls a group, a key, a comment or an escape is what
 * NetworkManager calls one, and a file it would refuse is refused here
 * too (and left alone).  The cost is cosmetic: "key = value" comes back
 * as "key=value". */

int
kiln_netcfg_nmconnection (const char *text, size_t len, char **out, GError **err)
{
  /* The settings that bind a profile to a device's permanent MAC. */
  static const char *const bound[] = { "ethernet", "802-3-ethernet", "wifi", "802-11-wireless", NULL };
  g_autofree char *cur = NULL;
  bool dropped = false;

  *out = NULL;
  if (memchr (text, '\0', len) != NULL) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE, "not a keyfile: it holds a NUL byte");
    return -1;
  }
  /* A key repeated in a group (or in a repeated group) is one entry of
   * GKeyFile's index, the last, but every copy is written back: remove,
   * write and read again until no copy is left.  Each round removes at
   * least one line, so this ends. */
  for (;;) {
    g_autoptr (GKeyFile) kf = g_key_file_new ();
    g_autoptr (GError) e = NULL;
    bool removed = false;

    if (!g_key_file_load_from_data (kf, cur ? cur : text, cur ? strlen (cur) : len,
                                    G_KEY_FILE_KEEP_COMMENTS | G_KEY_FILE_KEEP_TRANSLATIONS, &e)) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE, "not a valid keyfile: %s", e->message);
      return -1;
    }
    for (const char *const *g = bound; *g; g++)
      while (g_key_file_remove_key (kf, *g, "mac-address", NULL))
        removed = true;
    if (!removed)
      break;
    dropped = true;
    g_free (cur);
    cur = g_key_file_to_data (kf, NULL, NULL);
  }
  if (!dropped)
    return KILN_NETCFG_SAME;
  *out = g_steal_pointer (&cur);
  return KILN_NETCFG_CHANGED;
}
