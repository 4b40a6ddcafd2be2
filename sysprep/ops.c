/* ops.c: the one table of sysprep operations, built from ops.h. */
#include "ops.h"

#define KILN_SYSPREP_ROW(NAME, ID, DEF, PHASE, DESC) \
  { NAME, DEF, KILN_SYSPREP_##PHASE, DESC, kiln_sysprep_op_##ID },

const struct kiln_sysprep_op kiln_sysprep_ops[] = {
  KILN_SYSPREP_OP_LIST (KILN_SYSPREP_ROW)
  { NULL, false, KILN_SYSPREP_FILES, NULL, NULL },
};
