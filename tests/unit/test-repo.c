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

static bool
error_has_str (const char *msg, const char *needle)
{
  return msg && strstr (msg, needle) != NULL;
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
    "[tiny]  \t\r\n"
    "file=tiny.img\r\n"
    "checksum=" H512 "\r\n", &e);
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
  is_str (t->name, "tiny", "a header followed by blanks is a header");
  is_str (t->checksum, "sha512:" H512, "checksum= is checksum[sha512]= (CRLF lines too)");
  ok (t->error == NULL && ((struct kiln_template *) ts->pdata[0])->error == NULL, "both usable");
}

/* virt-builder's own index: one name, a section per architecture. */
static void
test_index_arches (void)
{
  GError *e = NULL;
  g_autoptr (GPtrArray) ts = index_of (
    "[fedora-39]\narch=x86_64\nfile=fedora-39.xz\nchecksum=" H512 "\n\n"
    "[fedora-39]\narch=aarch64\nfile=fedora-39-aarch64.xz\nchecksum=" H512 "\n\n"
    "[fedora-39]\narch=ppc64le\nfile=fedora-39-ppc64le.xz\n\n"
    "[dup]\narch=x86_64\nfile=d1\n\n"
    "[dup]\narch=x86_64\nfile=d2\n", &e);

  ok (ts && ts->len == 5, "one name for three architectures: three entries%s%s",
      e ? ": " : "", e ? e->message : "");
  if (ts == NULL || ts->len != 5) {
    g_clear_error (&e);
    return;
  }
  for (guint i = 0; i < 3; i++)
    ok (((struct kiln_template *) ts->pdata[i])->error == NULL, "fedora-39 for %s is usable",
        ((struct kiln_template *) ts->pdata[i])->arch);
  is_str (((struct kiln_template *) ts->pdata[1])->url, "http://h/r/fedora-39-aarch64.xz",
          "each arch its own file");
  ok (error_has_str (((struct kiln_template *) ts->pdata[3])->error, "line 15: [dup] for x86_64 is repeated (again at line 19)")
      && error_has_str (((struct kiln_template *) ts->pdata[4])->error, "line 19: [dup] for x86_64 is repeated (first at line 15)"),
      "the same (name, arch) twice: both unusable, each naming the other's line");
}

/* Reader and writer agree: whatever a file is called, the section name
 * the writer makes is one the reader takes as a usable template name. */
static void
test_names (void)
{
  static const struct { const char *stem, *name; } cases[] = {
    { "debian-12", "debian-12" }, { "a]b", "a-b" }, { "my image (copy)", "my-image-copy" },
    { "x=y#z", "x-y-z" }, { "[a]", "a" }, { "..hidden", "hidden" }, { "-opt", "opt" },
    { "d\xc3\xa9" "bian 12", "d-bian-12" }, { "\xe7\x81\xab", NULL }, { "a.b_c+d", "a.b_c+d" },
    { "  ", NULL }, { "v1.0.", "v1.0." }, { "v1.0 (old)", "v1.0-old" },
  };

  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *n = kiln_template_name_make (cases[i].stem);
    g_autofree char *text = NULL;
    g_autofree char *file = g_strconcat (cases[i].stem, ".qcow2", NULL);
    g_autoptr (GPtrArray) ts = NULL;
    GError *e = NULL;

    is_str (n, cases[i].name, "name made of '%s'", cases[i].stem);
    if (n == NULL)
      continue;
    ok (kiln_template_name_valid (n), "'%s' is a valid template name", n);
    text = g_strdup_printf ("[%s]\nname=%s\nfile=%s.qcow2\n", n, cases[i].stem, cases[i].stem);
    ts = index_of (text, &e);
    ok (ts && ts->len == 1 && ((struct kiln_template *) ts->pdata[0])->error == NULL &&
        g_strcmp0 (((struct kiln_template *) ts->pdata[0])->file, file) == 0,
        "the reader takes [%s] with file=%s.qcow2", n, cases[i].stem);
    g_clear_error (&e);
  }
  ok (!kiln_index_file_valid ("a\nb.qcow2") && !kiln_index_file_valid ("a:b.qcow2") &&
      kiln_index_file_valid ("a b [1] #=.qcow2"), "file=: control characters and ':' refused, blanks and brackets kept");
}

static void
test_index_errors (void)
{
  /* What spoils the whole text. */
  static const struct { const char *text, *needle, *what; } bad[] = {
    { "file=x\n", "line 1: key=value before any [section]", "key outside a section" },
    { " continued\n[a]\nfile=x\n", "line 1: a continuation line", "continuation before any section" },
    { "[a\nfile=x\n", "line 1: malformed section header", "unclosed section" },
    { "[]\nfile=x\n", "line 1: malformed section header", "empty section name" },
    { "[a]\nfile=x\0\n", "binary data", "a NUL byte" },
  };
  /* What spoils one entry: the one after it stays usable. */
  static const struct { const char *text, *needle, *what; } entry[] = {
    { "[a]\nfile=a\nformat=raw\nformat=qcow2\n", "line 4: key 'format' repeated in [a] (first at line 3)", "repeated key" },
    { "[a]\nformat=raw\n", "line 1: [a] has no file=", "missing file=" },
    { "[a]\nfile=../etc/passwd\n", "line 2: file=../etc/passwd", "file= with ../" },
    { "[a]\nfile=sub/../../x\n", "file=sub/../../x", "file= with ../ inside" },
    { "[a]\nfile=http://evil.example/x\n", "line 2: file=http://evil.example/x", "file= URL" },
    { "[a]\nfile=/etc/shadow\n", "is not a plain relative path", "absolute file=" },
    { "[a]\n continued\n", "line 2: a continuation line", "continuation without a key" },
    { "[a]\nfile=x\nthis is junk\n", "line 3: expected [section]", "junk line" },
    { "[a]\nfile=x\nchecksum[sha512]=abc\n", "line 3: [a]: checksum[sha512]=", "short checksum" },
    { "[a]\nfile=x\nchecksum=" H256 "\n", "line 3: [a]: checksum=: ", "a sha256 digest as checksum= (sha512)" },
    { "[a]\nfile=x\nchecksum=" H512 "\nchecksum[sha512]=" H512 "0\n", "line 4", "checksum= and checksum[sha512]= both, one malformed" },
    { "[a]\nfile=x\nsize=12k\n", "line 3: size=12k", "size not a number" },
    { "[a]\nfile=x\nrevision=two\n", "line 3: revision=two", "revision not a number" },
    { "[a]\nfile=x\nhidden=maybe\n", "line 3: hidden=maybe", "hidden not a boolean" },
    { "[a]b]\nfile=x\n", "line 1: [a]b] is not a template name", "']' in a section name" },
    { "[a b]\nfile=x\n", "[a b] is not a template name", "a blank in a section name" },
    { "[a]\nfile=x\n\n[a]\nfile=y\n", "line 1: [a] for (no arch=) is repeated (again at line 4)", "repeated section" },
  };

  for (size_t i = 0; i < G_N_ELEMENTS (bad); i++) {
    GError *e = NULL;
    size_t len = strlen (bad[i].text);
    GPtrArray *ts;

    if (strcmp (bad[i].what, "a NUL byte") == 0)
      len = 12;
    ts = kiln_index_parse (bad[i].text, len, "index", "http://h/r/", &e);
    ok (ts == NULL && error_has (e, bad[i].needle), "refused: %s (%s)", bad[i].what,
        e ? e->message : "accepted");
    if (ts)
      g_ptr_array_unref (ts);
    g_clear_error (&e);
  }
  for (size_t i = 0; i < G_N_ELEMENTS (entry); i++) {
    GError *e = NULL;
    g_autofree char *text = g_strconcat (entry[i].text, "\n[good]\nfile=good.raw\nchecksum=" H512 "\n", NULL);
    g_autoptr (GPtrArray) ts = index_of (text, &e);
    const struct kiln_template *t = ts && ts->len >= 2 ? ts->pdata[0] : NULL;
    const struct kiln_template *good = ts && ts->len >= 2 ? ts->pdata[ts->len - 1] : NULL;

    ok (t && error_has_str (t->error, entry[i].needle) && good && good->error == NULL &&
        strcmp (good->name, "good") == 0,
        "%s: that entry unusable, the next one usable (%s)", entry[i].what,
        e ? e->message : t ? t->error : "?");
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
  test_index_arches ();
  test_names ();
  test_index_errors ();
  test_sums ();
  test_classify ();
  test_checksum ();
  test_conf ();
  test_shipped ();
  return done_testing ();
}
