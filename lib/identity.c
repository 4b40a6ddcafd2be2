/* identity.c: a clone's identity as SMBIOS OEM strings (see identity.h). */
#include <errno.h>
#include <string.h>
#include <sys/xattr.h>
#include <arpa/inet.h>

#include "identity.h"
#include "value.h"

struct kiln_identity *
kiln_identity_new (void)
{
  struct kiln_identity *id = g_new0 (struct kiln_identity, 1);

  id->keys = g_ptr_array_new_with_free_func (g_free);
  return id;
}

void
kiln_identity_free (struct kiln_identity *id)
{
  if (id == NULL)
    return;
  g_free (id->hostname);
  g_ptr_array_unref (id->keys);
  g_free (id->ip);
  g_free (id);
}

bool
kiln_identity_is_empty (const struct kiln_identity *id)
{
  return id == NULL || (id->hostname == NULL && id->keys->len == 0 && id->ip == NULL);
}

static int
usage (GError **err, const char *fmt, ...) G_GNUC_PRINTF (2, 3);
static int
usage (GError **err, const char *fmt, ...)
{
  va_list ap;
  g_autofree char *msg = NULL;

  va_start (ap, fmt);
  msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error_literal (err, KILN_ERROR, KILN_ERROR_USAGE, msg);
  return -1;
}

#define WHY_PUBLIC "the domain XML is readable by anyone who can read the domain " \
  "(virsh dumpxml, libvirt's logs, the qemu command line)"

int
kiln_identity_check_value (const char *value, const char *what, GError **err)
{
  static const char *const secret_words[] = {
    "password", "passwd", "passphrase", "secret", "token", "api_key", "apikey", NULL,
  };
  g_autofree char *low = NULL;

  for (const char *p = value; *p; p++)
    if (*p < 0x20 || *p > 0x7e)
      return usage (err, "%s: only printable ASCII fits in an SMBIOS OEM string "
                    "(no newline or control character)", what);
  if (strstr (value, "PRIVATE KEY") != NULL)
    return usage (err, "%s: this is a private key; kiln clone passes only public keys "
                  "(%s)", what, WHY_PUBLIC);
  low = g_ascii_strdown (value, -1);
  for (const char *const *w = secret_words; *w; w++) {
    const char *hit = strstr (low, *w);

    /* "password=...", "token: ..." and the like: an assignment of a secret. */
    if (hit) {
      hit += strlen (*w);
      while (*hit == ' ')
        hit++;
      if (*hit == '=' || *hit == ':')
        return usage (err, "%s: refusing what looks like a %s: secrets never go into a "
                      "clone's identity, because %s; set passwords in the template "
                      "(kiln customize --password) or use SSH keys", what, *w, WHY_PUBLIC);
    }
  }
  return 0;
}

int
kiln_identity_set_hostname (struct kiln_identity *id, const char *pattern, GError **err)
{
  const char *pct = strchr (pattern, '%');

  if (pct && (pct[1] != 'd' || strchr (pct + 2, '%') != NULL))
    return usage (err, "--hostname %s: the only pattern is one %%d (the clone's number)", pattern);
  g_free (id->hostname);
  id->hostname = g_strdup (pattern);
  return 0;
}

/* A public key line: TYPE BASE64 [COMMENT], TYPE one OpenSSH knows. */
static bool
public_key_line (const char *line)
{
  static const char *const types[] = {
    "ssh-ed25519", "ssh-rsa", "ssh-dss", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com", NULL,
  };
  g_auto (GStrv) f = g_strsplit_set (line, " \t", 3);

  if (f[0] == NULL || f[1] == NULL || !g_strv_contains (types, f[0]) || strlen (f[1]) < 16)
    return false;
  for (const char *p = f[1]; *p; p++)
    if (!g_ascii_isalnum (*p) && strchr ("+/=", *p) == NULL)
      return false;
  return true;
}

static int
add_key (struct kiln_identity *id, const char *user, const char *key, GError **err)
{
  g_autofree char *entry = NULL;

  if (kiln_identity_check_value (key, "--ssh-inject", err) == -1)
    return -1;
  if (!public_key_line (key))
    return usage (err, "--ssh-inject: '%.40s%s' is not an OpenSSH public key line "
                  "(TYPE BASE64 [COMMENT], e.g. from a .pub file)", key, strlen (key) > 40 ? "..." : "");
  entry = g_strdup_printf ("%s:%s", user, key);
  g_ptr_array_add (id->keys, g_steal_pointer (&entry));
  return 0;
}

int
kiln_identity_add_ssh_inject (struct kiln_identity *id, const char *arg, GError **err)
{
  g_auto (GStrv) a = g_strsplit (arg, ":", 3);
  g_autofree char *data = NULL;
  g_auto (GStrv) lines = NULL;
  g_autoptr (GError) e = NULL;
  guint before = id->keys->len;

  if (a[0] == NULL || a[1] == NULL || a[2] == NULL ||
      (strcmp (a[1], "file") != 0 && strcmp (a[1], "string") != 0))
    return usage (err, "--ssh-inject takes USER:file:KEYFILE or USER:string:KEY");
  if (!kiln_user_name_valid (a[0]))
    return usage (err, "--ssh-inject: '%s' is not a user name", a[0]);
  if (strcmp (a[1], "string") == 0)
    return add_key (id, a[0], g_strstrip (a[2]), err);
  if (!g_file_get_contents (a[2], &data, NULL, &e))
    return usage (err, "--ssh-inject: %s", e->message);
  if (strstr (data, "PRIVATE KEY") != NULL)
    return usage (err, "--ssh-inject: %s is a private key; give the .pub file (%s)",
                  a[2], WHY_PUBLIC);
  lines = g_strsplit (data, "\n", -1);
  for (char **l = lines; *l; l++) {
    g_strstrip (*l);
    if ((*l)[0] == '\0' || (*l)[0] == '#')
      continue;
    if (add_key (id, a[0], *l, err) == -1) {
      g_prefix_error (err, "%s: ", a[2]);
      return -1;
    }
  }
  if (id->keys->len == before)
    return usage (err, "--ssh-inject: %s holds no public key", a[2]);
  return 0;
}

int
kiln_identity_set_ip (struct kiln_identity *id, const char *arg, GError **err)
{
  g_auto (GStrv) parts = g_strsplit (arg, ",", 3);
  g_auto (GStrv) ap = NULL;
  unsigned char buf[sizeof (struct in6_addr)];
  guint64 prefix;
  int family;

  if (parts[0] == NULL || (parts[1] && parts[2]))
    goto bad;
  ap = g_strsplit (parts[0], "/", 3);
  if (ap[0] == NULL || ap[1] == NULL || ap[2] != NULL)
    goto bad;
  family = strchr (ap[0], ':') ? AF_INET6 : AF_INET;
  if (inet_pton (family, ap[0], buf) != 1 ||
      !g_ascii_string_to_unsigned (ap[1], 10, 1, family == AF_INET ? 32 : 128, &prefix, NULL))
    goto bad;
  if (parts[1] && inet_pton (strchr (parts[1], ':') ? AF_INET6 : AF_INET, parts[1], buf) != 1)
    goto bad;
  g_free (id->ip);
  id->ip = g_strdup (arg);
  return 0;

bad:
  return usage (err, "--ip %s: give ADDRESS/PREFIX[,GATEWAY] (e.g. 192.168.122.10/24,192.168.122.1)", arg);
}

GPtrArray *
kiln_identity_oem_strings (const struct kiln_identity *id, unsigned n, unsigned count,
                           GError **err)
{
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func (g_free);

  if (id->hostname) {
    const char *pct = strstr (id->hostname, "%d");
    g_autofree char *name = NULL;

    if (count > 1 && pct == NULL) {
      usage (err, "--hostname %s with --count %u: every clone would have the same host "
             "name; put %%d where the clone's number goes (e.g. web-%%d)", id->hostname, count);
      return NULL;
    }
    name = pct ? g_strdup_printf ("%.*s%u%s", (int) (pct - id->hostname), id->hostname,
                                  n ? n : 1, pct + 2)
               : g_strdup (id->hostname);
    if (!kiln_hostname_valid (name)) {
      usage (err, "--hostname: '%s' is not a valid host name (letters, digits and inner "
             "'-' in dot-separated labels of at most 63)", name);
      return NULL;
    }
    g_ptr_array_add (out, g_strconcat (KILN_IDENTITY_HOSTNAME, name, NULL));
  }
  for (guint i = 0; i < id->keys->len; i++)
    g_ptr_array_add (out, g_strconcat (KILN_IDENTITY_SSH_KEY, (char *) id->keys->pdata[i], NULL));
  if (id->ip)
    g_ptr_array_add (out, g_strconcat (KILN_IDENTITY_IP, id->ip, NULL));
  for (guint i = 0; i < out->len; i++)
    if (kiln_identity_check_value (out->pdata[i], "identity", err) == -1)
      return NULL;
  return g_steal_pointer (&out);
}

int
kiln_identity_mark_image (const char *path, GError **err)
{
  if (setxattr (path, KILN_IDENTITY_XATTR, KILN_IDENTITY_VERSION,
                strlen (KILN_IDENTITY_VERSION), 0) == -1) {
    int e = errno;

    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                 "%s: cannot record that it has the first-boot identity unit "
                 "(extended attribute %s): %s", path, KILN_IDENTITY_XATTR, g_strerror (e));
    return -1;
  }
  return 0;
}

bool
kiln_identity_image_marked (const char *path)
{
  char v[16];
  ssize_t n = getxattr (path, KILN_IDENTITY_XATTR, v, sizeof v - 1);

  return n > 0;
}

bool
kiln_identity_chain_marked (GPtrArray *chain)
{
  for (guint i = 0; chain && i < chain->len; i++)
    if (kiln_identity_image_marked (chain->pdata[i]))
      return true;
  return false;
}
