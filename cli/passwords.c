/* passwords.c: the passwords that customize generated are the verb's to
 * show: kiln customize, create and sysprep print them on stdout. */
#include <stdio.h>

#include "customize.h"
#include "opts.h"

void
kiln_print_generated_passwords (const struct kiln_customize *c)
{
  const GPtrArray *pw = kiln_customize_generated_passwords (c);

  for (guint i = 0; pw && i < pw->len; i++) {
    const struct kiln_customize_password *p = pw->pdata[i];

    printf ("%s's password: %s\n", p->user, p->password);
  }
  fflush (stdout);
}
