/* test-sysprep.c: the sysprep operation table, virt-sysprep's
 * --operations / --enable selection grammar, and how an operation's
 * changes are reported (events, never prints). */
#include <string.h>

#include "tap.h"
#include "event.h"
#include "sysprep.h"
#include "../../sysprep/ops.h"

static enum kiln_event_level last_level;
static char *last_topic, *last_message;

static void
keep_event (const struct kiln_event *ev, void *opaque)
{
  last_level = ev->level;
  g_free (last_topic);
  g_free (last_message);
  last_topic = g_strdup (ev->topic);
  last_message = g_strdup (ev->message);
}

static void
notes_are_events (void)
{
  struct kiln_sysprep_job j = { .op = "tmp-files", .dry_run = true };

  kiln_event_set_handler (keep_event, NULL);
  kiln_sysprep_note (&j, "remove", "/tmp/junk");
  ok (last_level == KILN_EVENT_RESULT && g_strcmp0 (last_topic, "sysprep") == 0,
      "a dry run's plan line is a result event (stdout), topic sysprep");
  is_str (last_message, "tmp-files: remove /tmp/junk", "in the OPERATION: ACTION PATH form");
  j.dry_run = false;
  kiln_sysprep_note (&j, "remove", "/tmp/other");
  ok (last_level == KILN_EVENT_DEBUG, "a real run's change is a debug event (-v)");
  is_int (j.changes, 2, "both were counted as changes");
  kiln_event_set_handler (NULL, NULL);
  g_clear_pointer (&last_topic, g_free);
  g_clear_pointer (&last_message, g_free);
}

/* A btrfs root on subvolumes: list_filesystems gives the device and each
 * subvolume as btrfsvol: mountables, all of one filesystem (one UUID). */
static void
fs_uuid_devices_skip_subvolumes (void)
{
  char *fs[] = {
    "/dev/sda1", "btrfs", "btrfsvol:/dev/sda1/@", "btrfs", "btrfsvol:/dev/sda1/@home", "btrfs",
    "/dev/sda2", "swap", "/dev/sda3", "vfat", "/dev/sda4", "ext4", "/dev/sda1", "btrfs", NULL,
  };
  g_autoptr (GPtrArray) d = kiln_sysprep_fs_uuid_devices (fs);
  g_autofree char *joined = NULL;

  g_ptr_array_add (d, NULL);
  joined = g_strjoinv (" ", (char **) d->pdata);
  is_str (joined, "/dev/sda1 /dev/sda2 /dev/sda4",
          "fs-uuids: a btrfs filesystem once, by its device, not per subvolume; no vfat");
}

/* The dry run says what an edit changes, not only which file. */
static void
line_diffs (void)
{
  g_auto (GStrv) d = kiln_sysprep_line_diff ("[Match]\nMACAddress=52:54:00:0b:7f:5e\n\n[Network]\nDHCP=yes\n",
                                             "[Match]\nType=ether\n\n[Network]\nDHCP=yes\n", 8);
  g_auto (GStrv) same = kiln_sysprep_line_diff ("a\nb\n", "  a\nb", 8);
  g_auto (GStrv) secret = kiln_sysprep_line_diff ("[wifi-security]\npsk=hunter22\n[wifi]\nmac-address=52:54:00:00:00:01\n",
                                                  "[wifi-security]\npsk=hunter2\n[wifi]\n", 8);
  g_auto (GStrv) many = kiln_sysprep_line_diff ("a\nb\nc\nd\n", "w\nx\ny\nz\n", 3);
  g_autofree char *j1 = g_strjoinv ("|", d), *j2 = g_strjoinv ("|", secret);

  is_str (j1, "- MACAddress=52:54:00:0b:7f:5e|+ Type=ether", "a networkd unbinding: the MAC line out, Type=ether in");
  is_int (g_strv_length (same), 0, "blanks around lines and a missing last newline are no change");
  is_str (j2, "- (a line holding a secret)|- mac-address=52:54:00:00:00:01|+ (a line holding a secret)",
          "a changed line that may hold a secret is not shown");
  ok (g_strv_length (many) == 1 && strcmp (many[0], "4 lines removed, 4 added") == 0,
      "more lines than the limit: counted, not listed");
  {
    /* GKeyFile writes "key = value" back as "key=value": every such line
     * changes, secrets among them, whatever their key is called. */
    static const char *const keyfile =
      "[ethernet]\nmac-address=52:54:00:00:00:01\n\n[wifi-security]\nwep-key0 = 0123456789\n"
      "[wireguard-peer.AbC=]\npreshared-key = c2VjcmV0\n[vpn-secrets]\nXauth = hunter2\n"
      "[802-1x]\npin = 1234\n";
    g_auto (GStrv) kd = kiln_sysprep_line_diff (keyfile,
                                                "[ethernet]\n\n[wifi-security]\nwep-key0=0123456789\n"
                                                "[wireguard-peer.AbC=]\npreshared-key=c2VjcmV0\n"
                                                "[vpn-secrets]\nXauth=hunter2\n[802-1x]\npin=1234\n", 16);
    /* A secret in a YAML block or nested under a secret key. */
    g_auto (GStrv) yd = kiln_sysprep_line_diff ("wg0:\n  keys:\n    private: \"cHJpdmF0ZQ==\"\n"
                                                "wlan0:\n  auth:\n    password: |\n      hunter2x\n",
                                                "wg0:\n  keys:\n    private: cHJpdmF0ZQ==\n"
                                                "wlan0:\n  auth:\n    password: |\n      hunter2y\n", 16);
    g_autofree char *jk = g_strjoinv ("|", kd), *jy = g_strjoinv ("|", yd);

    ok (!strstr (jk, "0123456789") && !strstr (jk, "c2VjcmV0") && !strstr (jk, "hunter2") &&
        !strstr (jk, "1234"), "no WEP key, WireGuard key, VPN secret or PIN in the diff: %s", jk);
    ok (strstr (jk, "- mac-address=52:54:00:00:00:01") != NULL, "the MAC line is still shown");
    ok (!strstr (jy, "cHJpdmF0ZQ") && !strstr (jy, "hunter2"),
        "no YAML key nested under keys: or in a password block: %s", jy);
  }
}

static const char *const virt_sysprep_linux[] = {
  "abrt-data", "backup-files", "bash-history", "blkid-tab", "ca-certificates",
  "crash-data", "cron-spool", "dhcp-client-state", "dhcp-server-state",
  "dovecot-data", "firewall-rules", "flag-reconfiguration", "fs-uuids",
  "ipa-client", "kerberos-data", "kerberos-hostkeytab", "logfiles", "lvm-uuids",
  "machine-id", "mail-spool", "net-hostname", "net-hwaddr", "net-nmconn",
  "pacct-log", "package-manager-cache", "pam-data", "passwd-backups",
  "puppet-data-log", "rh-subscription-manager", "rhn-systemid", "rpm-db",
  "samba-db-log", "smolt-uuid", "ssh-hostkeys", "ssh-userdir", "sssd-db-log",
  "tmp-files", "udev-persistent-net", "user-account", "utmp", "yum-uuid",
  "zsh-history", "customize", "cloud-init", NULL,
};

static const char *const off_by_default[] = {
  "ca-certificates", "firewall-rules", "flag-reconfiguration", "fs-uuids",
  "kerberos-data", "user-account", NULL,
};

static const struct kiln_sysprep_op *
find (const char *name)
{
  for (size_t i = 0; kiln_sysprep_ops[i].name; i++)
    if (strcmp (kiln_sysprep_ops[i].name, name) == 0)
      return &kiln_sysprep_ops[i];
  return NULL;
}

static char *
sel_after (const char *const *lists, bool enable, GError **err)
{
  g_autoptr (kiln_sysprep_sel) s = kiln_sysprep_sel_new ();

  for (const char *const *l = lists; *l; l++)
    if ((enable ? kiln_sysprep_sel_enable (s, *l, err)
                : kiln_sysprep_sel_operations (s, *l, err)) == -1)
      return NULL;
  return kiln_sysprep_sel_to_string (s);
}

int
main (void)
{
  size_t n = kiln_sysprep_n_ops ();
  bool all_known = true, defaults_right = true, described = true, unique = true;
  bool ordered = true;
  g_autoptr (GError) err = NULL;
  g_autofree char *defaults = NULL, *all = NULL, *s = NULL;

  plan (39);

  /* The table. */
  for (const char *const *p = virt_sysprep_linux; *p; p++) {
    const struct kiln_sysprep_op *op = find (*p);

    if (op == NULL) {
      all_known = false;
      printf ("# missing operation %s\n", *p);
      continue;
    }
    if (op->default_on == g_strv_contains (off_by_default, *p)) {
      defaults_right = false;
      printf ("# %s: default %s\n", *p, op->default_on ? "on" : "off");
    }
  }
  ok (all_known, "every Linux operation of virt-sysprep, and cloud-init, is in the table");
  ok (defaults_right, "the off-by-default ones are off, the others on");
  for (size_t i = 0; i < n; i++) {
    const struct kiln_sysprep_op *op = &kiln_sysprep_ops[i];

    if (op->description == NULL || strlen (op->description) < 10 || strchr (op->description, '\n')
        || op->run == NULL)
      described = false;
    for (size_t k = i + 1; k < n; k++)
      if (strcmp (op->name, kiln_sysprep_ops[k].name) == 0)
        unique = false;
    if (i > 0 && op->phase < kiln_sysprep_ops[i - 1].phase)
      ordered = false;
  }
  ok (described, "every operation has a one-line description and a function");
  ok (unique, "operation names are unique");
  ok (ordered, "the table is in phase order");
  ok (find ("customize")->phase == KILN_SYSPREP_CUSTOMIZE, "customize is the customize slot");
  ok (find ("machine-id")->phase == KILN_SYSPREP_IDENTITY &&
      find ("ssh-hostkeys")->phase == KILN_SYSPREP_IDENTITY,
      "machine-id and ssh-hostkeys run after the customize slot");
  ok (find ("lvm-uuids")->phase == KILN_SYSPREP_DISK && find ("fs-uuids")->phase == KILN_SYSPREP_DISK,
      "lvm-uuids and fs-uuids run last, at disk level");

  /* Selection. */
  {
    g_autoptr (kiln_sysprep_sel) d = kiln_sysprep_sel_new ();

    defaults = kiln_sysprep_sel_to_string (d);
    ok (kiln_sysprep_sel_has (d, "ssh-hostkeys") && !kiln_sysprep_sel_has (d, "user-account"),
        "a new selection holds the defaults");
  }
  {
    const char *l[] = { "defaults", NULL };

    s = sel_after (l, false, &err);
    is_str (s, defaults, "--operations defaults is the default selection");
    g_clear_pointer (&s, g_free);
  }
  {
    const char *l[] = { "all", NULL };
    g_auto (GStrv) names = NULL;

    all = sel_after (l, false, &err);
    names = g_strsplit (all, ",", -1);
    is_int ((int) g_strv_length (names), (int) n, "--operations all selects every operation");
  }
  {
    const char *l[] = { "defaults,-ssh-userdir", NULL };

    s = sel_after (l, false, &err);
    ok (s && strstr (s, "ssh-userdir") == NULL && strstr (s, "ssh-hostkeys") != NULL,
        "defaults,-ssh-userdir drops ssh-userdir only");
    is_int ((int) strlen (s), (int) (strlen (defaults) - strlen ("ssh-userdir,")),
            "... and keeps every other default");
    g_clear_pointer (&s, g_free);
  }
  {
    const char *l[] = { "ssh-hostkeys,tmp-files", NULL };

    s = sel_after (l, false, &err);
    is_str (s, "tmp-files,ssh-hostkeys", "names alone select only those, in run order");
    g_clear_pointer (&s, g_free);
  }
  {
    const char *l[] = { "ssh-hostkeys", "tmp-files", NULL };

    s = sel_after (l, false, &err);
    is_str (s, "tmp-files,ssh-hostkeys", "repeated --operations accumulate");
    g_clear_pointer (&s, g_free);
  }
  {
    const char *l[] = { "all,-user-account, -fs-uuids", NULL };

    s = sel_after (l, false, &err);
    ok (s && strstr (s, "user-account") == NULL && strstr (s, "fs-uuids") == NULL &&
        strstr (s, "firewall-rules") != NULL, "all,-a,-b (spaces allowed) removes a and b");
    g_clear_pointer (&s, g_free);
  }
  {
    const char *l[] = { "-defaults,user-account", NULL };

    s = sel_after (l, false, &err);
    is_str (s, "user-account", "-defaults removes the defaults");
    g_clear_pointer (&s, g_free);
  }
  {
    const char *l[] = { "machine-id,ssh-hostkeys", NULL };

    s = sel_after (l, true, &err);
    is_str (s, "machine-id,ssh-hostkeys", "--enable selects exactly the names");
    g_clear_pointer (&s, g_free);
  }

  /* Errors. */
  {
    const char *l[] = { "defaults,bogus,-nope,ssh-hostkeys", NULL };

    s = sel_after (l, false, &err);
    ok (s == NULL, "unknown names are refused");
    ok (err && err->code == KILN_ERROR_USAGE, "... as a usage error");
    ok (err && strstr (err->message, "'bogus'") && strstr (err->message, "'nope'"),
        "... naming each of them: %s", err ? err->message : "(none)");
    g_clear_error (&err);
  }
  {
    g_autoptr (kiln_sysprep_sel) sel = kiln_sysprep_sel_new ();
    g_autofree char *before = kiln_sysprep_sel_to_string (sel), *after = NULL;

    ok (kiln_sysprep_sel_operations (sel, "tmp-files,bogus", &err) == -1, "a bad list fails");
    g_clear_error (&err);
    after = kiln_sysprep_sel_to_string (sel);
    is_str (after, before, "... and leaves the selection as it was");
  }
  {
    const char *l[] = { "defaults,,tmp-files", NULL };

    s = sel_after (l, false, &err);
    ok (s == NULL && err && strstr (err->message, "empty"), "an empty name is refused");
    g_clear_error (&err);
  }
  {
    const char *l[] = { "", NULL };

    s = sel_after (l, false, &err);
    ok (s == NULL && err, "an empty list is refused");
    g_clear_error (&err);
  }
  {
    const char *l[] = { "-tmp-files", NULL };

    s = sel_after (l, true, &err);
    ok (s == NULL && err && strstr (err->message, "'-tmp-files'"),
        "--enable takes names only (no -NAME)");
    g_clear_error (&err);
  }
  {
    const char *l[] = { "all", NULL };

    s = sel_after (l, true, &err);
    ok (s == NULL && err, "--enable takes names only (no all)");
    g_clear_error (&err);
  }
  notes_are_events ();
  fs_uuid_devices_skip_subvolumes ();
  line_diffs ();
  return done_testing ();
}
