/* test-opts.c: the option tables drive parsing: short and long forms,
 * arguments, global options anywhere, operands in any position. */
#include "tap.h"
#include "kiln.h"
#include "opts.h"
#include "accel.h"

enum { OPT_OUT = 1, OPT_FORCE, OPT_SIZE, OPT_G1 = KILN_OPT_CUSTOMIZE_BASE };

static const struct kiln_option verb_opts[] = {
  { "output", 'o', KILN_ARG_REQUIRED, "FILE", "where", OPT_OUT },
  { "force", 0, KILN_ARG_NONE, NULL, "overwrite", OPT_FORCE },
  { "size", 0, KILN_ARG_OPTIONAL, "SIZE", "grow", OPT_SIZE },
  KILN_OPTION_END
};
static const struct kiln_option group_opts[] = {
  { "touch", 0, KILN_ARG_REQUIRED, "FILE", "touch it", OPT_G1 },
  KILN_OPTION_END
};
static const struct kiln_verb verb = {
  "demo", NULL, "A verb for tests", "[OPTIONS] ARG", verb_opts, group_opts, "Group",
};

int
main (void)
{
  struct kiln_ctx ctx = { .verbosity = 1, .verb = &verb };
  char *argv[] = { "demo", "first", "-o", "out.img", "--json", "--touch=/etc/x",
                   "-v", "--size=10G", "--force", "--accel", "tcg", "second", NULL };
  int argc = (int) G_N_ELEMENTS (argv) - 1;
  const char *arg = NULL;
  int ids[8], n = 0, c, i;
  const char *args[8];
  enum kiln_accel a;

  {
    g_autoptr (kiln_opts) p = kiln_opts_new (&ctx, argc, argv);

    while ((c = kiln_opts_next (p, &arg)) != 0 && n < 8) {
      ids[n] = c;
      args[n++] = arg;
    }
    i = kiln_opts_operand_index (p);
  }
  is_int (n, 4, "four verb options returned (globals applied, not returned)");
  is_int (ids[0], OPT_OUT, "-o is --output");
  is_str (args[0], "out.img", "with its argument");
  is_int (ids[1], OPT_G1, "the group's option is returned with its id");
  is_str (args[1], "/etc/x", "--opt=ARG form");
  is_int (ids[2], OPT_SIZE, "optional argument option");
  is_str (args[2], "10G", "its argument");
  is_int (ids[3], OPT_FORCE, "flag option");
  ok (ctx.json, "--json after the verb sets the context");
  is_int (ctx.verbosity, 2, "-v raised the verbosity");
  is_int (kiln_accel_mode (), KILN_ACCEL_TCG, "--accel tcg set the mode");
  is_int (argc - i, 2, "two operands left");
  is_str (argv[i], "first", "operands keep their order (1)");
  is_str (argv[i + 1], "second", "operands keep their order (2)");

  ok (kiln_accel_parse ("kvm", &a) && a == KILN_ACCEL_KVM, "accel kvm parses");
  ok (!kiln_accel_parse ("hvf", &a), "accel hvf is refused");

  /* Global parse (no verb) stops at the verb. */
  {
    struct kiln_ctx g = { .verbosity = 1 };
    char *av[] = { "kiln", "-q", "--cache-dir", "/tmp/c", "inspect", "--json", "d", NULL };
    g_autoptr (kiln_opts) p = kiln_opts_new (&g, 7, av);

    ok (kiln_opts_next (p, NULL) == 0, "no verb options before the verb");
    i = kiln_opts_operand_index (p);
    is_str (av[i], "inspect", "stops at the verb");
    is_str (g.cache_dir, "/tmp/c", "--cache-dir applied");
    is_int (g.verbosity, 0, "-q applied");
    ok (!g.json, "--json after the verb is left for the verb's parser");
  }

  /* Each parser answers for its own ARGV, also after another one ran. */
  {
    struct kiln_ctx c1 = { .verbosity = 1, .verb = &verb };
    struct kiln_ctx c2 = { .verbosity = 1, .verb = &verb };
    char *a1[] = { "demo", "--force", "x", NULL };
    char *a2[] = { "demo", "-o", "o", "--force", "--size", "y", "z", NULL };
    g_autoptr (kiln_opts) p1 = kiln_opts_new (&c1, 3, a1);
    g_autoptr (kiln_opts) p2 = NULL;

    is_int (kiln_opts_operand_index (p1), -1, "no operand index before the options are read");
    while (kiln_opts_next (p1, NULL) != 0)
      ;
    p2 = kiln_opts_new (&c2, 7, a2);
    while (kiln_opts_next (p2, NULL) != 0)
      ;
    is_int (kiln_opts_operand_index (p1), 2, "the first parser's operand index is its own");
    is_int (kiln_opts_operand_index (p2), 5, "the second parser's operand index is its own");
  }

  /* The verb table is the front end's, and complete. */
  ok (kiln_verb_find ("sysprep") && kiln_verb_find ("sysprep")->run == kiln_cmd_sysprep,
      "kiln_verb_find finds sysprep");
  ok (kiln_verb_find ("frobnicate") == NULL, "an unknown verb is not found");
  return done_testing ();
}
