/* fetch.c: kiln fetch SOURCE: download, verify, unpack and cache an
 * image, and print where it is. */
#include <inttypes.h>
#include <stdio.h>

#include "kiln.h"
#include "fileio.h"
#include "fetch.h"
#include "json.h"
#include "msg.h"
#include "opts.h"
#include "value.h"

enum { OPT_CHECKSUM = 1, OPT_SUMS, OPT_OUTPUT, OPT_ARCH, OPT_INSECURE, OPT_MAX_SIZE };

const struct kiln_option kiln_fetch_options[] = {
  { "checksum", 0, KILN_ARG_REQUIRED, "ALG:HEX", "what the downloaded file must hash to (sha256 or sha512)", OPT_CHECKSUM },
  { "sums", 0, KILN_ARG_REQUIRED, "URL", "take the checksum from this SHA512SUMS/SHA256SUMS/CHECKSUM file", OPT_SUMS },
  { "output", 'o', KILN_ARG_REQUIRED, "FILE", "also write the verified image to FILE", OPT_OUTPUT },
  { "arch", 0, KILN_ARG_REQUIRED, "ARCH", "architecture of the template (default: the host's)", OPT_ARCH },
  { "insecure", 0, KILN_ARG_NONE, NULL, "accept what verifies nothing: http:// with no checksum, --sums over http://, an unsigned http:// repository", OPT_INSECURE },
  { "max-size", 0, KILN_ARG_REQUIRED, "SIZE", "refuse a download or an unpacked image larger than SIZE (default: the index's size, else 64G)", OPT_MAX_SIZE },
  KILN_OPTION_END
};

static void
print_json (const struct kiln_fetch_result *r, const char *output)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  kiln_json_add_string (b, "path", r->path);
  kiln_json_add_string (b, "output", output);
  kiln_json_add_string (b, "format", r->format);
  kiln_json_add_string (b, "digest", r->digest);
  kiln_json_add_string (b, "source", r->source);
  kiln_json_add_string (b, "source_digest", r->source_digest);
  kiln_json_add_string (b, "osinfo", r->osinfo);
  json_builder_set_member_name (b, "size");
  json_builder_add_int_value (b, (gint64) r->size);
  json_builder_set_member_name (b, "from_cache");
  json_builder_add_boolean_value (b, r->from_cache);
  json_builder_set_member_name (b, "verified");
  json_builder_add_boolean_value (b, r->verified);
  kiln_json_add_string (b, "verification", r->verification);
  json_builder_end_object (b);
  kiln_json_print_builder (b);
}

int
kiln_cmd_fetch (struct kiln_ctx *ctx, int argc, char **argv)
{
  g_autoptr (kiln_opts) p = kiln_opts_new (ctx, argc, argv);
  g_autoptr (GError) err = NULL;
  struct kiln_fetch_opts o = { 0 };
  struct kiln_fetch_result r = { 0 };
  const char *arg = NULL, *output = NULL;
  int c, i;

  while ((c = kiln_opts_next (p, &arg)) != 0) {
    switch (c) {
    case OPT_CHECKSUM: o.checksum = arg; break;
    case OPT_SUMS: o.sums_url = arg; break;
    case OPT_OUTPUT: output = arg; break;
    case OPT_ARCH: o.arch = arg; break;
    case OPT_INSECURE: o.insecure = true; break;
    case OPT_MAX_SIZE:
      if (kiln_parse_size (arg, &o.max_size, &err) == -1)
        return kiln_usage_error (ctx, "--max-size: %s", err->message);
      break;
    }
  }
  i = kiln_opts_operand_index (p);
  if (argc - i != 1)
    return kiln_usage_error (ctx, argc - i == 0 ? "what to fetch? (kiln fetch TEMPLATE|URL|PATH)"
                                                : "one source at a time");
  if (o.checksum && o.sums_url)
    return kiln_usage_error (ctx, "--checksum and --sums both say what to expect: give one");
  if (kiln_fetch (ctx, argv[i], &o, &r, &err) == -1)
    return kiln_fail (err);
  if (r.from_cache)
    kiln_debug ("%s: already in the cache", argv[i]);
  if (!r.verified && o.insecure)
    kiln_warn ("%s was not verified: %s", r.source, r.verification);
  else
    kiln_debug ("%s: %s", r.source, r.verification);
  if (output && kiln_file_copy_sparse (r.path, output, 0644, true, &err) == -1) {
    kiln_fetch_result_clear (&r);
    return kiln_fail (err);
  }
  if (ctx->json)
    print_json (&r, output);
  else
    printf ("%s\n", output ? output : r.path);
  kiln_fetch_result_clear (&r);
  return KILN_EXIT_OK;
}
