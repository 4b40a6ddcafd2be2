/* test-identity.c: the per-clone identity of kiln clone (lib/identity.c):
 * what --hostname, --ssh-inject and --ip accept and refuse (private keys
 * and passwords never go into the domain XML), the OEM strings of clone
 * N of COUNT, their place in the domain XML (kiln_domxml_set_oem_strings,
 * checked by libvirt's test:///default driver, a template's own sysinfo
 * kept), and the guest script of the firstboot-identity sysprep operation
 * run on the host against a fake SMBIOS table and root: it applies every
 * string, and a second run changes nothing. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "tap.h"
#include "kiln.h"
#include "domxml.h"
#include "identity.h"
#include "../../sysprep/ops.h"

#define KEY "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKilnTestKey user@host"

static void
test_values (const char *dir)
{
  g_autoptr (kiln_identity) id = kiln_identity_new ();
  g_autoptr (GError) err = NULL;
  g_autoptr (GPtrArray) oem = NULL;
  g_autofree char *priv = g_build_filename (dir, "id_ed25519", NULL);
  g_autofree char *pub = g_build_filename (dir, "id_ed25519.pub", NULL);
  g_autofree char *arg = NULL;

  ok (kiln_identity_is_empty (id), "a new identity is empty");
  ok (kiln_identity_set_hostname (id, "web-%s", &err) == -1, "--hostname web-%%s refused");
  g_clear_error (&err);
  ok (kiln_identity_set_hostname (id, "a%d-%d", &err) == -1, "two %%d refused");
  g_clear_error (&err);
  ok (kiln_identity_set_hostname (id, "web-%d", &err) == 0, "web-%%d taken");
  oem = kiln_identity_oem_strings (id, 3, 5, &err);
  is_str (oem && oem->len ? (char *) oem->pdata[0] : NULL, "kiln.hostname=web-3", "clone 3 is web-3");
  g_clear_pointer (&oem, g_ptr_array_unref);
  kiln_identity_set_hostname (id, "web", NULL);
  ok ((oem = kiln_identity_oem_strings (id, 1, 5, &err)) == NULL &&
      g_error_matches (err, KILN_ERROR, KILN_ERROR_USAGE) && strstr (err->message, "%d"),
      "one name for 5 clones is refused, pointing at %%d");
  g_clear_error (&err);
  kiln_identity_set_hostname (id, "-bad%d", NULL);
  ok ((oem = kiln_identity_oem_strings (id, 1, 1, &err)) == NULL, "an invalid host name refused");
  g_clear_error (&err);
  kiln_identity_set_hostname (id, "web-%d.example.org", NULL);

  ok (kiln_identity_add_ssh_inject (id, "root:string:" KEY, &err) == 0, "a public key string");
  ok (kiln_identity_add_ssh_inject (id, "root:string:hunter2", &err) == -1, "not a key: refused");
  g_clear_error (&err);
  ok (kiln_identity_add_ssh_inject (id, "ro ot:string:" KEY, &err) == -1, "a bad user refused");
  g_clear_error (&err);
  ok (kiln_identity_add_ssh_inject (id, "root:" KEY, &err) == -1, "no file:/string: refused");
  g_clear_error (&err);
  g_file_set_contents (priv, "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA\n"
                       "-----END OPENSSH PRIVATE KEY-----\n", -1, NULL);
  arg = g_strdup_printf ("root:file:%s", priv);
  ok (kiln_identity_add_ssh_inject (id, arg, &err) == -1 && strstr (err->message, "private key") &&
      strstr (err->message, "readable by anyone"), "a private key file refused, saying why%s%s",
      err ? ": " : "", err ? err->message : "");
  g_clear_error (&err);
  ok (kiln_identity_add_ssh_inject (id, "root:string:-----BEGIN RSA PRIVATE KEY----- abc", &err) == -1 &&
      strstr (err->message, "private key"), "a private key string refused");
  g_clear_error (&err);
  g_file_set_contents (pub, "# two keys\n" KEY "\n\nssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAB second\n", -1, NULL);
  g_free (arg);
  arg = g_strdup_printf ("admin:file:%s", pub);
  ok (kiln_identity_add_ssh_inject (id, arg, &err) == 0, "a .pub file with two keys%s%s",
      err ? ": " : "", err ? err->message : "");
  g_clear_error (&err);

  ok (kiln_identity_check_value ("kiln.x=password=hunter2", "x", &err) == -1 &&
      strstr (err->message, "readable by anyone"), "a password assignment refused, saying why");
  g_clear_error (&err);
  ok (kiln_identity_check_value ("token: abc", "x", &err) == -1, "a token refused");
  g_clear_error (&err);
  ok (kiln_identity_check_value ("a\nb", "x", &err) == -1, "a newline refused");
  g_clear_error (&err);

  ok (kiln_identity_set_ip (id, "10.0.0.300/24", &err) == -1, "a bad address refused");
  g_clear_error (&err);
  ok (kiln_identity_set_ip (id, "10.0.0.3", &err) == -1, "an address without a prefix refused");
  g_clear_error (&err);
  ok (kiln_identity_set_ip (id, "10.0.0.3/24,10.0.0.x", &err) == -1, "a bad gateway refused");
  g_clear_error (&err);
  ok (kiln_identity_set_ip (id, "fd00::5/64", &err) == 0, "IPv6");
  ok (kiln_identity_set_ip (id, "10.0.0.5/24,10.0.0.1", &err) == 0, "IPv4 with a gateway");

  oem = kiln_identity_oem_strings (id, 2, 2, &err);
  ok (oem && oem->len == 5, "five strings: name, three keys, address");
  if (oem && oem->len == 5) {
    is_str (oem->pdata[0], "kiln.hostname=web-2.example.org", "the name");
    is_str (oem->pdata[1], "kiln.ssh-key=root:" KEY, "root's key");
    is_str (oem->pdata[3], "kiln.ssh-key=admin:ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAB second", "admin's second key");
    is_str (oem->pdata[4], "kiln.ip=10.0.0.5/24,10.0.0.1", "the address");
  }
}

static void
test_xml (void)
{
  static const char *xml =
    "<domain type='test'><name>s</name><uuid>6695eb01-f6a4-8304-79aa-97f2502e1111</uuid>"
    "<memory unit='MiB'>64</memory><vcpu>1</vcpu>"
    "<sysinfo type='smbios'><system><entry name='manufacturer'>ACME</entry>"
    "<entry name='uuid'>6695eb01-f6a4-8304-79aa-97f2502e1111</entry></system>"
    "<oemStrings><entry>other=1</entry><entry>kiln.hostname=old</entry></oemStrings></sysinfo>"
    "<os><type arch='x86_64'>hvm</type></os><devices>"
    "<serial type='pty'><target port='0'/></serial></devices></domain>";
  const char *e[] = { "kiln.hostname=a&b<c>", "kiln.ip=10.0.0.5/24" };
  g_autoptr (kiln_domxml) dx = kiln_domxml_parse (xml, NULL);
  g_autoptr (kiln_domxml) plain = kiln_domxml_parse (
    "<domain type='test'><name>p</name><memory unit='MiB'>64</memory>"
    "<os><type>hvm</type></os><devices/></domain>", NULL);
  g_autoptr (GPtrArray) all = NULL;
  g_autofree char *out = NULL;
  virConnectPtr conn = virConnectOpen ("test:///default");

  kiln_domxml_set_uuid (dx, "11111111-2222-3333-4444-555555555555");
  kiln_domxml_set_oem_strings (dx, "kiln.", e, 2);
  all = kiln_domxml_strings (dx, "/domain/sysinfo/oemStrings/entry");
  ok (all->len == 3, "kiln's old string replaced, another kept (%u)", all->len);
  if (all->len == 3) {
    is_str (all->pdata[0], "other=1", "the template's own OEM string stays");
    is_str (all->pdata[1], "kiln.hostname=a&b<c>", "text escaped and read back");
  }
  {
    g_autofree char *m = kiln_domxml_get (dx, "/domain/sysinfo/system/entry[@name='manufacturer']");
    g_autofree char *u = kiln_domxml_get (dx, "/domain/sysinfo/system/entry[@name='uuid']");
    g_autofree char *mode = kiln_domxml_get (dx, "/domain/os/smbios/@mode");

    is_str (m, "ACME", "the template's sysinfo kept");
    is_str (u, "11111111-2222-3333-4444-555555555555", "its uuid follows <uuid>");
    is_str (mode, "sysinfo", "<smbios mode='sysinfo'/> added");
  }
  ok (kiln_domxml_set_serial_log (dx, "/var/log/s-console.log"), "a serial log added");
  out = kiln_domxml_format (dx);
  if (conn) {
    virDomainPtr d = virDomainDefineXML (conn, out);

    ok (d != NULL, "libvirt accepts it%s%s", d ? "" : ": ", d ? "" : virGetLastErrorMessage ());
    if (d) {
      char *back = virDomainGetXMLDesc (d, VIR_DOMAIN_XML_INACTIVE);

      ok (back && strstr (back, "<entry>kiln.ip=10.0.0.5/24</entry>") &&
          strstr (back, "s-console.log"), "and keeps the strings and the log");
      free (back);
      virDomainUndefine (d);
      virDomainFree (d);
    }
    virConnectClose (conn);
  } else {
    ok (0, "no test:///default connection");
  }

  kiln_domxml_set_oem_strings (plain, "kiln.", e, 1);
  {
    g_autofree char *t = kiln_domxml_get (plain, "/domain/sysinfo[@type='smbios']/oemStrings/entry");

    is_str (t, "kiln.hostname=a&b<c>", "a domain without sysinfo gets one");
  }
  kiln_domxml_set_oem_strings (plain, "kiln.", NULL, 0);
  {
    g_autofree char *t = kiln_domxml_get (plain, "/domain/sysinfo/@type");

    ok (t == NULL, "and none strings take it away again");
  }
  ok (!kiln_domxml_set_serial_log (plain, "/x"), "no pty serial port: no log");
}

static char *
run_script (const char *dir, int *status)
{
  g_autofree char *script = g_build_filename (dir, "kiln-identity", NULL);
  g_autofree char *root = g_build_filename (dir, "root", NULL);
  g_autofree char *dmi = g_build_filename (dir, "dmi", NULL);
  g_autofree char *net = g_build_filename (dir, "net", NULL);
  const char *argv[] = { "sh", script, NULL };
  g_auto (GStrv) env = g_get_environ ();
  char *out = NULL;

  g_file_set_contents (script, kiln_identity_script, -1, NULL);
  env = g_environ_setenv (env, "KILN_IDENTITY_ROOT", root, TRUE);
  env = g_environ_setenv (env, "KILN_IDENTITY_DMI", dmi, TRUE);
  env = g_environ_setenv (env, "KILN_IDENTITY_NET", net, TRUE);
  if (!g_spawn_sync (NULL, (char **) argv, env, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL,
                     NULL, NULL, &out, NULL, status, NULL))
    return g_strdup ("(not run)");
  return out;
}

static char *
slurp (const char *dir, const char *rel)
{
  g_autofree char *p = g_build_filename (dir, "root", rel, NULL);
  char *s = NULL;

  g_file_get_contents (p, &s, NULL, NULL);
  return s;
}

static void
test_script (const char *dir)
{
  /* An SMBIOS type 11 structure: type, length 5, handle, count; strings. */
  static const char raw[] =
    "\x0b\x05\x00\x11\x03"
    "kiln.hostname=web-4\0"
    "kiln.ssh-key=bob:" KEY "\0"
    "kiln.ip=10.1.2.3/24,10.1.2.1\0";
  g_autofree char *d = g_build_filename (dir, "dmi/11-0", NULL);
  g_autofree char *rawp = g_build_filename (d, "raw", NULL);
  g_autofree char *etc = g_build_filename (dir, "root/etc/network", NULL);
  g_autofree char *home = g_build_filename (dir, "root/home/bob", NULL);
  g_autofree char *nic = g_build_filename (dir, "net/ens3", NULL);
  g_autofree char *dev = g_build_filename (nic, "device", NULL);
  g_autofree char *lo = g_build_filename (dir, "net/lo", NULL);
  g_autofree char *passwd = g_build_filename (dir, "root/etc/passwd", NULL);
  g_autofree char *hosts = g_build_filename (dir, "root/etc/hosts", NULL);
  g_autofree char *ifaces = g_build_filename (dir, "root/etc/network/interfaces", NULL);
  g_autofree char *pw = g_strdup_printf ("root:x:0:0::/root:/bin/sh\nbob:x:%u:%u::/home/bob:/bin/sh\n",
                                         (unsigned) getuid (), (unsigned) getgid ());
  g_autofree char *out1 = NULL, *out2 = NULL, *h = NULL, *hs = NULL, *ak = NULL, *ifd = NULL;
  g_autofree char *akp = g_build_filename (home, ".ssh/authorized_keys", NULL);
  struct stat st;
  int status = -1;

  g_mkdir_with_parents (d, 0755);
  g_mkdir_with_parents (etc, 0755);
  g_mkdir_with_parents (home, 0755);
  g_mkdir_with_parents (nic, 0755);
  g_mkdir_with_parents (lo, 0755);
  g_file_set_contents (rawp, raw, sizeof raw, NULL);   /* with the final NUL: "\0\0" */
  g_file_set_contents (dev, "", 0, NULL);
  g_file_set_contents (passwd, pw, -1, NULL);
  g_file_set_contents (hosts, "127.0.0.1\tlocalhost\n127.0.1.1\ttemplate\n", -1, NULL);
  g_file_set_contents (ifaces, "auto lo\niface lo inet loopback\n", -1, NULL);

  out1 = run_script (dir, &status);
  ok (g_spawn_check_wait_status (status, NULL), "the guest script runs");
  h = slurp (dir, "etc/hostname");
  is_str (h, "web-4\n", "/etc/hostname is web-4");
  hs = slurp (dir, "etc/hosts");
  ok (hs && strstr (hs, "127.0.1.1\tweb-4\n") && !strstr (hs, "template"), "/etc/hosts follows");
  ak = slurp (dir, "home/bob/.ssh/authorized_keys");
  is_str (ak, KEY "\n", "bob's authorized key");
  ok (stat (akp, &st) == 0 && (st.st_mode & 0777) == 0600, "authorized_keys is 0600");
  ifd = slurp (dir, "etc/network/interfaces.d/kiln-identity");
  ok (ifd && strstr (ifd, "iface ens3 inet static\n    address 10.1.2.3/24\n    gateway 10.1.2.1"),
      "an ifupdown stanza for the first NIC");
  g_free (ifd);
  ifd = slurp (dir, "etc/network/interfaces");
  ok (ifd && strstr (ifd, "source /etc/network/interfaces.d/*"), "which interfaces sources");
  out2 = run_script (dir, &status);
  ok (out1 && *out1, "the first run says what it wrote");
  is_str (out2, "", "a second boot changes nothing");
  g_free (ak);
  ak = slurp (dir, "home/bob/.ssh/authorized_keys");
  is_str (ak, KEY "\n", "and adds the key only once");
}

int
main (void)
{
  g_autofree char *dir = g_dir_make_tmp ("kiln-identity-XXXXXX", NULL);
  const char *rm[] = { "rm", "-rf", dir, NULL };

  test_values (dir);
  test_xml ();
  test_script (dir);
  g_spawn_sync (NULL, (char **) rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
  return done_testing ();
}
