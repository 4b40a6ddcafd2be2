/* test-repo.c: the parsers of lib/repo.c and lib/digest.c: native index,
 * checksum files, repos.d configuration, SOURCE classification. */
#include "tap.h"
#include "repo.h"
#include "digest.h"

#define H512 "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
#define H256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static GPtrArray *
index_of (const char *text, GError **err)
{
  return kiln_index_parse (text, strlen (text), "index", "http://h/r/", err);
}

static bool
error_has (const GError *e, const char *needle)
{
  return e && strstr (e->message, needle) != NULL;
}

static void
test_index (void)
{
  GError *e = NULL;
  g_autoptr (GPtrArray) ts = index_of (
    "# a comment\n"
    "[debian-12]\n"
    "name=Debian 12\n"
    "osinfo=debian12\n"
    "arch=x86_64\n"
    "file=images/debian-12.qcow2.xz\n"
    "checksum[sha512]=" H512 "\n"
    "format=qcow2\n"
    "size=2147483648\n"
    "compressed_size=300000000\n"
    "revision=3\n"
    "aliases=bookworm  debian-stable\n"
    "notes=Debian 12\n"
    " second line\n"
    " \n"
    " after a blank\n"
    "\n"
    "[tiny]\r\n"
    "file=tiny.img\r\n"
    "checksum=" H256 "\r\n", &e);
  struct kiln_template *t;

  ok (ts != NULL, "a valid index parses%s%s", e ? ": " : "", e ? e->message : "");
  if (ts == NULL) {
    g_clear_error (&e);
    return;
  }
  is_int (ts->len, 2, "two templates");
  t = ts->pdata[0];
  is_str (t->name, "debian-12", "section name");
  is_str (t->display_name, "Debian 12", "name=");
  is_str (t->url, "http://h/r/images/debian-12.qcow2.xz", "file= resolved against the index URL");
  is_str (t->checksum, "sha512:" H512, "checksum[sha512]=");
  is_str (t->format, "qcow2", "format=");
  ok (t->size == 2147483648ull, "size=");
  ok (t->compressed_size == 300000000ull, "compressed_size=");
  is_str (t->revision, "3", "revision=");
  ok (t->aliases && g_strv_length (t->aliases) == 2 && strcmp (t->aliases[1], "debian-stable") == 0,
      "aliases= split on blanks");
  is_str (t->notes, "Debian 12\nsecond line\n\nafter a blank", "continuation lines join notes=");
  t = ts->pdata[1];
  is_str (t->checksum, "sha256:" H256, "checksum= without [alg] is sha256 (CRLF lines too)");
}

static void
test_index_errors (void)
{
  static const struct { const char *text, *needle, *what; } bad[] = {
    { "[a]\nfile=a\n\n[b]\nfile=b\n[a]\nfile=c\n", "line 6: section [a] repeated (first at line 1)", "repeated section" },
    { "[a]\nfile=a\nformat=raw\nformat=qcow2\n", "line 4: key 'format' repeated in [a] (first at line 3)", "repeated key" },
    { "[a]\nformat=raw\n", "line 1: [a] has no file=", "missing file=" },
    { "[a]\nfile=../etc/passwd\n", "line 2: file=../etc/passwd", "file= with ../" },
    { "[a]\nfile=sub/../../x\n", "file=sub/../../x", "file= with ../ inside" },
    { "[a]\nfile=http://evil.example/x\n", "line 2: file=http://evil.example/x", "file= URL" },
    { "[a]\nfile=/etc/shadow\n", "is not a plain relative path", "absolute file=" },
    { "file=x\n", "line 1: key=value before any [section]", "key outside a section" },
    { "[a]\n continued\n", "line 2: a continuation line", "continuation without a key" },
    { "[a]\nfile=x\nthis is junk\n", "line 3: expected [section]", "junk line" },
    { "[a]\nfile=x\nchecksum[sha512]=abc\n", "line 3: [a]", "short checksum" },
    { "[a]\nfile=x\nsize=12k\n", "line 3: size=12k", "size not a number" },
    { "[a\nfile=x\n", "line 1: malformed section header", "unclosed section" },
  };

  for (size_t i = 0; i < G_N_ELEMENTS (bad); i++) {
    GError *e = NULL;
    GPtrArray *ts = index_of (bad[i].text, &e);

    ok (ts == NULL && error_has (e, bad[i].needle), "refused: %s (%s)", bad[i].what,
        e ? e->message : "accepted");
    if (ts)
      g_ptr_array_unref (ts);
    g_clear_error (&e);
  }
}

static void
test_sums (void)
{
  GError *e = NULL;
  const char *text =
    H512 "  debian-12-genericcloud-amd64.qcow2\n"
    H512 " *debian-12-nocloud-amd64.raw\n"
    "\n";
  const char *fedora =
    "-----BEGIN PGP SIGNED MESSAGE-----\n"
    "Hash: SHA256\n"
    "\n"
    "# Fedora-Cloud-Base-39.qcow2: 541785088 bytes\n"
    "SHA256 (Fedora-Cloud-Base-39.qcow2) = " H256 "\n"
    "MD5 (Fedora-Cloud-Base-39.qcow2) = d41d8cd98f00b204e9800998ecf8427e\n"
    "-----BEGIN PGP SIGNATURE-----\n"
    "\n"
    "iQIzBAEBCAAdFiEE\n"
    "-----END PGP SIGNATURE-----\n";
  g_autoptr (GPtrArray) s = kiln_sums_parse (text, strlen (text), "SHA512SUMS", &e);
  g_autoptr (GPtrArray) f = NULL;
  GPtrArray *bad;

  ok (s && s->len == 2, "GNU lines parse");
  if (s) {
    const struct kiln_sum *x = kiln_sums_lookup (s, "debian-12-nocloud-amd64.raw");

    ok (x && strcmp (x->checksum, "sha512:" H512) == 0, "binary-mode '*' line found by name");
    ok (kiln_sums_lookup (s, "./debian-12-genericcloud-amd64.qcow2") != NULL, "lookup with ./");
    ok (kiln_sums_lookup (s, "debian-13.qcow2") == NULL, "a name not in the file is not found");
  }
  f = kiln_sums_parse (fedora, strlen (fedora), "CHECKSUM", &e);
  ok (f && f->len == 1, "Fedora clearsigned CHECKSUM: BSD line parsed, MD5 and armor skipped");
  if (f)
    is_str (((struct kiln_sum *) f->pdata[0])->checksum, "sha256:" H256, "BSD SHA256 line");
  g_clear_error (&e);
  bad = kiln_sums_parse ("abc  x\n", 7, "SUMS", &e);
  ok (bad == NULL && error_has (e, "SUMS line 1"), "a short digest is refused with its line");
  g_clear_error (&e);
  bad = kiln_sums_parse (H256 "\n", 65, "SUMS", &e);
  ok (bad == NULL && error_has (e, "line 1: not a checksum line"), "a digest without a name is refused");
  g_clear_error (&e);
}

static void
test_classify (void)
{
  is_int (kiln_source_classify ("https://example.org/a.qcow2"), KILN_SOURCE_HTTPS, "https URL");
  is_int (kiln_source_classify ("HTTP://example.org/a"), KILN_SOURCE_HTTP, "http URL, any case");
  is_int (kiln_source_classify ("file:///tmp/a.qcow2"), KILN_SOURCE_FILE_URL, "file URL");
  is_int (kiln_source_classify ("file://host/a"), KILN_SOURCE_INVALID, "file URL with a host");
  is_int (kiln_source_classify ("ftp://example.org/a"), KILN_SOURCE_INVALID, "ftp is not supported");
  is_int (kiln_source_classify ("https://"), KILN_SOURCE_INVALID, "a URL without anything");
  is_int (kiln_source_classify ("debian-12"), KILN_SOURCE_TEMPLATE, "a template name");
  is_int (kiln_source_classify ("./debian-12"), KILN_SOURCE_PATH, "./name is a path");
  is_int (kiln_source_classify ("/var/tmp/x.qcow2"), KILN_SOURCE_PATH, "absolute path");
  is_int (kiln_source_classify (""), KILN_SOURCE_INVALID, "empty");
}

static void
test_checksum (void)
{
  GError *e = NULL;
  const char *alg = NULL;
  g_autofree char *c = kiln_checksum_parse ("SHA256:" "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", &alg, &e);
  char *bad;

  is_str (c, "sha256:" H256, "checksum normalized to lower case");
  is_str (alg, "sha256", "algorithm returned");
  bad = kiln_checksum_parse ("md5:d41d8cd98f00b204e9800998ecf8427e", NULL, &e);
  ok (bad == NULL && error_has (e, "unknown algorithm 'md5'"), "md5 refused");
  g_clear_error (&e);
  bad = kiln_checksum_parse ("sha512:" H256, NULL, &e);
  ok (bad == NULL && error_has (e, "128 hexadecimal digits"), "wrong length refused");
  g_clear_error (&e);
  bad = kiln_checksum_parse (H256, NULL, &e);
  ok (bad == NULL && error_has (e, "ALG:HEX"), "missing algorithm refused");
  g_clear_error (&e);
  {
    g_autoptr (kiln_digest) d = kiln_digest_new ("sha512", NULL);
    g_autofree char *h = NULL;

    h = kiln_digest_finish (d);
    is_str (h, "sha512:" H512, "sha512 of nothing");
  }
}

static void
test_conf (void)
{
  GError *e = NULL;
  g_autoptr (GPtrArray) r = g_ptr_array_new_with_free_func ((GDestroyNotify) kiln_repo_free);
  const char *text =
    "[debian]\nuri=https://cloud.debian.org/images/cloud/bookworm/latest\nformat=sums\n"
    "aliases=debian-12=debian-12-genericcloud-amd64\n\n"
    "[local]\nuri=/srv/images\npubkey=keys/local.pem\nenabled=false\n";
  struct kiln_repo *x;

  ok (kiln_repos_parse (text, strlen (text), "/etc/kiln/repos.d/a.conf", r, &e) == 0, "conf parses");
  if (r->len != 2) {
    ok (0, "two repositories");
    return;
  }
  x = r->pdata[0];
  is_str (x->uri, "https://cloud.debian.org/images/cloud/bookworm/latest/", "uri gets a trailing /");
  is_str (x->format, "sums", "format=sums");
  x = r->pdata[1];
  is_str (x->uri, "file:///srv/images/", "a local directory becomes a file:// URL");
  is_str (x->pubkey, "/etc/kiln/repos.d/keys/local.pem", "pubkey= relative to the conf file");
  ok (!x->enabled, "enabled=false");
  ok (kiln_repos_parse ("[x]\nformat=native\n", 18, "b.conf", r, &e) == -1 &&
      error_has (e, "b.conf line 1: repository [x] has no uri="), "missing uri= refused");
  g_clear_error (&e);
  ok (kiln_repos_parse ("[x]\nuri=/a\nurl=/b\n", 18, "c.conf", r, &e) == -1 &&
      error_has (e, "c.conf line 3: unknown key 'url'"), "unknown key refused with its line");
  g_clear_error (&e);
  ok (kiln_repos_parse ("[x]\nuri=/a\nformat=yum\n", 22, "d.conf", r, &e) == -1 &&
      error_has (e, "format=yum"), "unknown format refused");
  g_clear_error (&e);
}

/* The configuration that make install ships. */
static void
test_shipped (void)
{
  g_autoptr (GPtrArray) r = g_ptr_array_new_with_free_func ((GDestroyNotify) kiln_repo_free);
  g_autofree char *text = NULL;
  GError *e = NULL;
  gsize len = 0;

  if (!g_file_get_contents ("repos/debian.conf", &text, &len, NULL)) {
    ok (0, "repos/debian.conf readable (run from the top directory)");
    return;
  }
  ok (kiln_repos_parse (text, len, "repos/debian.conf", r, &e) == 0 && r->len == 2,
      "the shipped Debian configuration parses: two repositories");
  if (r->len == 2) {
    const struct kiln_repo *x = r->pdata[0];

    ok (g_str_has_prefix (x->uri, "https://") && strcmp (x->format, "sums") == 0,
        "over https, format=sums");
  }
  g_clear_error (&e);
}

int
main (void)
{
  test_index ();
  test_index_errors ();
  test_sums ();
  test_classify ();
  test_checksum ();
  test_conf ();
  test_shipped ();
  return done_testing ();
}
