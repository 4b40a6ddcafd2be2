/* secret.c: reading a secret from a file with bounds, and the process's
 * register of secrets that every text kiln writes is redacted against
 * (secret.h). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secret.h"

char *
kiln_secret_read_line (const char *what, const char *path, bool *exposed, GError **err)
{
  /* One byte more than a line may have, and the newline. */
  char buf[KILN_SECRET_LINE_MAX + 2];
  size_t len = 0;
  struct stat st;
  char *nl = NULL, *line = NULL;
  int fd;

  /* O_NONBLOCK: opening a FIFO with no writer must not hang; it is
   * refused below anyway. */
  fd = open (path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd == -1) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_NOT_FOUND, "%s %s: %s", what, path, g_strerror (errno));
    return NULL;
  }
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode)) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE,
                 "%s %s: not a regular file (a secret is read from the first line of a regular file)",
                 what, path);
    close (fd);
    return NULL;
  }
  if (exposed)
    *exposed = (st.st_mode & (S_IRWXG | S_IRWXO)) != 0;
  while (len < sizeof buf && nl == NULL) {
    ssize_t n = read (fd, buf + len, sizeof buf - len);

    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "%s %s: %s", what, path, g_strerror (errno));
      goto out;
    }
    if (n == 0)
      break;
    nl = memchr (buf + len, '\n', (size_t) n);
    len += (size_t) n;
  }
  if (nl)
    len = (size_t) (nl - buf);
  if (len > 0 && buf[len - 1] == '\r')
    len--;
  if (len > KILN_SECRET_LINE_MAX) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE, "%s %s: the first line is longer than %d bytes",
                 what, path, KILN_SECRET_LINE_MAX);
  } else if (len == 0) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE, "%s %s: the first line is empty", what, path);
  } else if (memchr (buf, '\0', len) != NULL) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE, "%s %s: the first line holds a NUL byte", what, path);
  } else {
    line = g_strndup (buf, len);
  }
 out:
  explicit_bzero (buf, sizeof buf);
  close (fd);
  return line;
}

/* kiln_secret_free's work (password.h, which depends on this unit). */
static void
wipe_free (gpointer p)
{
  if (p == NULL)
    return;
  explicit_bzero (p, strlen (p));
  g_free (p);
}

void
kiln_secret_strv_free (char **v)
{
  for (char **p = v; p && *p; p++)
    wipe_free (*p);
  g_free (v);
}

/* ------------------------------------------------------------ the register */

static GMutex lock;
static GPtrArray *secrets;            /* char *, longest first */

static gint
longer_first (gconstpointer a, gconstpointer b)
{
  size_t la = strlen (*(char *const *) a), lb = strlen (*(char *const *) b);

  return la < lb ? 1 : la > lb ? -1 : 0;
}

void
kiln_secret_register (const char *value)
{
  if (value == NULL || value[0] == '\0')
    return;
  g_mutex_lock (&lock);
  if (secrets == NULL)
    secrets = g_ptr_array_new_with_free_func (wipe_free);
  for (guint i = 0; i < secrets->len; i++)
    if (strcmp (secrets->pdata[i], value) == 0)
      goto out;
  g_ptr_array_add (secrets, g_strdup (value));
  g_ptr_array_sort (secrets, longer_first);
 out:
  g_mutex_unlock (&lock);
}

/* The longest secret at P, or 0.  Called with the lock held. */
static size_t
match_at (const char *p)
{
  for (guint i = 0; i < secrets->len; i++) {
    const char *s = secrets->pdata[i];
    size_t n = strlen (s);

    if (strncmp (p, s, n) == 0)
      return n;
  }
  return 0;
}

char *
kiln_secret_redact (const char *text)
{
  GString *out;

  if (text == NULL)
    return NULL;
  g_mutex_lock (&lock);
  if (secrets == NULL || secrets->len == 0) {
    g_mutex_unlock (&lock);
    return g_strdup (text);
  }
  out = g_string_sized_new (strlen (text));
  for (const char *p = text; *p;) {
    size_t n = match_at (p);

    if (n) {
      g_string_append (out, KILN_SECRET_SHOWN);
      p += n;
    } else {
      g_string_append_c (out, *p++);
    }
  }
  g_mutex_unlock (&lock);
  return g_string_free (out, FALSE);
}

bool
kiln_secret_in (const char *text)
{
  bool found = false;

  if (text == NULL)
    return false;
  g_mutex_lock (&lock);
  for (const char *p = text; secrets && *p && !found; p++)
    found = match_at (p) != 0;
  g_mutex_unlock (&lock);
  return found;
}

static void redact_member (JsonObject *o, const char *name, JsonNode *node, gpointer data);
static void redact_element (JsonArray *a, guint i, JsonNode *node, gpointer data);

void
kiln_secret_redact_json (JsonNode *node)
{
  if (node == NULL)
    return;
  switch (JSON_NODE_TYPE (node)) {
  case JSON_NODE_OBJECT:
    json_object_foreach_member (json_node_get_object (node), redact_member, NULL);
    break;
  case JSON_NODE_ARRAY:
    json_array_foreach_element (json_node_get_array (node), redact_element, NULL);
    break;
  case JSON_NODE_VALUE:
    if (json_node_get_value_type (node) == G_TYPE_STRING) {
      const char *s = json_node_get_string (node);

      if (kiln_secret_in (s)) {
        g_autofree char *r = kiln_secret_redact (s);

        json_node_set_string (node, r);
      }
    }
    break;
  case JSON_NODE_NULL:
    break;
  }
}

static void
redact_member (JsonObject *o G_GNUC_UNUSED, const char *name G_GNUC_UNUSED, JsonNode *node,
               gpointer data G_GNUC_UNUSED)
{
  kiln_secret_redact_json (node);
}

static void
redact_element (JsonArray *a G_GNUC_UNUSED, guint i G_GNUC_UNUSED, JsonNode *node,
                gpointer data G_GNUC_UNUSED)
{
  kiln_secret_redact_json (node);
}

void
kiln_secret_forget_all (void)
{
  g_mutex_lock (&lock);
  if (secrets)
    g_ptr_array_set_size (secrets, 0);
  g_mutex_unlock (&lock);
}
