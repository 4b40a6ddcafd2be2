/* fuzz-qcow2.c: what kiln reads of an image file's header (lib/qcow2.c:
 * the format, a qcow2 backing file and its format, the virtual size,
 * whether it is an empty overlay and its incompatible features, which the
 * inspection cache relies on) on a file holding the input.  The backing
 * file is named, never opened. */
#include "fuzz.h"
#include "qcow2.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *path = kiln_fuzz_file ("image", data, size);
  g_autoptr (GError) e1 = NULL, e2 = NULL, e3 = NULL, e4 = NULL, e5 = NULL, e6 = NULL;
  guint64 vsize = 0, features = 1;
  int empty;
  g_autofree char *format = kiln_image_file_format (path, &e1);
  g_autofree char *backing = NULL, *backing_format = NULL;

  g_assert (format != NULL);
  if (kiln_qcow2_backing (path, &backing, &backing_format, &e2) == 0)
    g_assert (backing == NULL || g_path_is_absolute (backing));
  else
    g_assert (e2 != NULL && backing == NULL);
  if (kiln_image_virtual_size (path, "qcow2", &e3) == -1)
    g_assert (e3 != NULL);
  g_assert (kiln_image_virtual_size (path, "raw", &e4) == (gint64) size);
  /* An empty overlay names a backing file (which kiln_qcow2_backing reads
   * or refuses as corrupt), and has no incompatible feature. */
  empty = kiln_qcow2_empty_overlay (path, &vsize, &e5);
  g_assert ((empty == -1) == (e5 != NULL));
  g_assert (kiln_qcow2_incompatible (path, &features, &e6) == 0 && e6 == NULL);
  if (empty == 1)
    g_assert ((backing != NULL || e2 != NULL) && features == 0);
  return 0;
}
