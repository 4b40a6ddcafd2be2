/* storage.c: disks through libvirt's storage API (see storage.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "storage.h"
#include "progress.h"
#include "virt.h"

#define X(s) ((const xmlChar *) (s))

void
kiln_vol_info_clear (struct kiln_vol_info *vi)
{
  g_clear_pointer (&vi->name, g_free);
  g_clear_pointer (&vi->path, g_free);
  g_clear_pointer (&vi->pool, g_free);
  g_clear_pointer (&vi->format, g_free);
  g_clear_pointer (&vi->backing, g_free);
  g_clear_pointer (&vi->backing_format, g_free);
  vi->capacity = 0;
}

virStorageVolPtr
kiln_storage_vol_of_path (virConnectPtr conn, const char *path, GError **err)
{
  virStorageVolPtr vol = virStorageVolLookupByPath (conn, path);

  if (vol == NULL) {
    g_autofree char *uri = NULL;
    char *u;

    if (virGetLastErrorCode () != VIR_ERR_NO_STORAGE_VOL) {
      kiln_virt_set_error (err, "cannot look up the volume of %s", path);
      return NULL;
    }
    u = virConnectGetURI (conn);
    uri = g_strdup (u ? u : "?");
    free (u);
    g_set_error (err, KILN_ERROR, KILN_ERROR_NOT_FOUND,
                 "%s is not a volume of an active storage pool on %s (kiln reaches a "
                 "remote host's disks only through its pools: virsh -c %s pool-list "
                 "--all; put the file in a pool, or start the pool)", path, uri, uri);
  }
  return vol;
}

/* The string value of XPATH in the document of CTX, or NULL. */
static char *
xp_string (xmlXPathContextPtr ctx, const char *xpath)
{
  xmlXPathObjectPtr o = xmlXPathEvalExpression (X (xpath), ctx);
  char *r = NULL;

  if (o && o->type == XPATH_NODESET && o->nodesetval && o->nodesetval->nodeNr > 0) {
    xmlChar *c = xmlNodeGetContent (o->nodesetval->nodeTab[0]);

    if (c && *c)
      r = g_strstrip (g_strdup ((const char *) c));
    xmlFree (c);
  }
  xmlXPathFreeObject (o);
  return r;
}

int
kiln_storage_vol_info (virStorageVolPtr vol, struct kiln_vol_info *vi, GError **err)
{
  char *xml = virStorageVolGetXMLDesc (vol, 0);
  virStoragePoolPtr pool;
  xmlDocPtr doc;
  xmlXPathContextPtr xp;
  g_autofree char *cap = NULL;

  kiln_vol_info_clear (vi);
  if (xml == NULL) {
    kiln_virt_set_error (err, "cannot read the XML of volume '%s'", virStorageVolGetName (vol));
    return -1;
  }
  doc = xmlReadMemory (xml, (int) strlen (xml), "volume.xml", NULL, XML_PARSE_NONET);
  free (xml);
  if (doc == NULL) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_LIBVIRT, "volume '%s': libvirt's XML does not parse",
                 virStorageVolGetName (vol));
    return -1;
  }
  xp = xmlXPathNewContext (doc);
  vi->name = xp_string (xp, "/volume/name");
  vi->path = xp_string (xp, "/volume/target/path");
  vi->format = xp_string (xp, "/volume/target/format/@type");
  vi->backing = xp_string (xp, "/volume/backingStore/path");
  vi->backing_format = xp_string (xp, "/volume/backingStore/format/@type");
  cap = xp_string (xp, "/volume/capacity");
  xmlXPathFreeContext (xp);
  xmlFreeDoc (doc);
  /* libvirt writes the capacity in bytes unless told otherwise. */
  vi->capacity = cap ? g_ascii_strtoull (cap, NULL, 10) : 0;
  if (vi->backing && !g_path_is_absolute (vi->backing) && vi->path) {
    g_autofree char *dir = g_path_get_dirname (vi->path);
    char *abs = g_canonicalize_filename (vi->backing, dir);

    g_free (vi->backing);
    vi->backing = abs;
  }
  pool = virStoragePoolLookupByVolume (vol);
  if (pool) {
    vi->pool = g_strdup (virStoragePoolGetName (pool));
    virStoragePoolFree (pool);
  }
  if (vi->path == NULL) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_LIBVIRT, "volume '%s' has no path in its XML",
                 virStorageVolGetName (vol));
    return -1;
  }
  return 0;
}

GPtrArray *
kiln_storage_chain (virConnectPtr conn, const char *path, GError **err)
{
  g_autoptr (GPtrArray) chain = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *next = g_strdup (path);

  while (next) {
    struct kiln_vol_info vi = { 0 };
    virStorageVolPtr vol;
    int r;

    for (guint i = 0; i < chain->len; i++)
      if (strcmp (chain->pdata[i], next) == 0) {
        g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                     "the backing chain of %s loops at %s", path, next);
        return NULL;
      }
    if (chain->len > 64) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                   "the backing chain of %s is more than 64 deep", path);
      return NULL;
    }
    vol = kiln_storage_vol_of_path (conn, next, err);
    if (vol == NULL) {
      if (chain->len > 0)
        g_prefix_error (err, "backing chain of %s: ", path);
      return NULL;
    }
    r = kiln_storage_vol_info (vol, &vi, err);
    virStorageVolFree (vol);
    if (r == -1)
      return NULL;
    g_ptr_array_add (chain, g_steal_pointer (&next));
    next = g_steal_pointer (&vi.backing);
    kiln_vol_info_clear (&vi);
  }
  return g_steal_pointer (&chain);
}

/* "<volume>" with NAME and a <target><format type=FORMAT/>; the caller
 * adds the rest to the returned root, then serializes it with to_string. */
static xmlNodePtr
vol_doc (const char *name, const char *format, guint64 capacity)
{
  xmlDocPtr doc = xmlNewDoc (X ("1.0"));
  xmlNodePtr v = xmlNewNode (NULL, X ("volume")), n, t;

  xmlDocSetRootElement (doc, v);
  xmlNewTextChild (v, NULL, X ("name"), X (name));
  if (capacity) {
    g_autofree char *cap = g_strdup_printf ("%" G_GUINT64_FORMAT, capacity);

    n = xmlNewTextChild (v, NULL, X ("capacity"), X (cap));
    xmlSetProp (n, X ("unit"), X ("bytes"));
    xmlNewTextChild (v, NULL, X ("allocation"), X ("0"));
  }
  t = xmlNewChild (v, NULL, X ("target"), NULL);
  if (format) {
    n = xmlNewChild (t, NULL, X ("format"), NULL);
    xmlSetProp (n, X ("type"), X (format));
  }
  return v;
}

static char *
to_string (xmlNodePtr root)
{
  xmlDocPtr doc = root->doc;
  xmlChar *out = NULL;
  int len = 0;
  char *s;

  xmlDocDumpMemory (doc, &out, &len);
  s = g_strdup ((const char *) out);
  xmlFree (out);
  xmlFreeDoc (doc);
  return s;
}

/* NULL with KILN_ERROR_EXISTS when POOL has a volume NAME already. */
static bool
name_free (virStoragePoolPtr pool, const char *name, GError **err)
{
  virStorageVolPtr v = virStorageVolLookupByName (pool, name);

  if (v == NULL)
    return true;
  virStorageVolFree (v);
  g_set_error (err, KILN_ERROR, KILN_ERROR_EXISTS,
               "pool '%s' already has a volume '%s' (virsh vol-delete %s --pool %s)",
               virStoragePoolGetName (pool), name, name, virStoragePoolGetName (pool));
  return false;
}

virStorageVolPtr
kiln_storage_create_overlay (virStoragePoolPtr pool, const char *name, virStorageVolPtr backing,
                             const char *backing_format, GError **err)
{
  struct kiln_vol_info bi = { 0 };
  g_autofree char *xml = NULL;
  virStorageVolPtr vol = NULL;
  xmlNodePtr v, b, n;

  if (!name_free (pool, name, err) || kiln_storage_vol_info (backing, &bi, err) == -1)
    goto out;
  if (backing_format) {
    g_free (bi.format);
    bi.format = g_strdup (backing_format);
  }
  if (bi.format == NULL) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                 "volume %s: libvirt does not say its format: it cannot back a linked clone",
                 bi.path);
    goto out;
  }
  v = vol_doc (name, "qcow2", bi.capacity);
  b = xmlNewChild (v, NULL, X ("backingStore"), NULL);
  xmlNewTextChild (b, NULL, X ("path"), X (bi.path));
  n = xmlNewChild (b, NULL, X ("format"), NULL);
  xmlSetProp (n, X ("type"), X (bi.format));
  xml = to_string (v);
  vol = virStorageVolCreateXML (pool, xml, 0);
  if (vol == NULL)
    kiln_virt_set_error (err, "cannot create volume '%s' (an overlay on %s) in pool '%s'",
                         name, bi.path, virStoragePoolGetName (pool));
out:
  kiln_vol_info_clear (&bi);
  return vol;
}

virStorageVolPtr
kiln_storage_copy (virStoragePoolPtr pool, const char *name, const char *format,
                   virStorageVolPtr src, GError **err)
{
  struct kiln_vol_info si = { 0 };
  g_autofree char *xml = NULL;
  virStorageVolPtr vol = NULL;

  if (!name_free (pool, name, err) || kiln_storage_vol_info (src, &si, err) == -1)
    goto out;
  xml = to_string (vol_doc (name, format ? format : si.format, si.capacity));
  vol = virStorageVolCreateXMLFrom (pool, xml, src, 0);
  if (vol == NULL)
    kiln_virt_set_error (err, "cannot copy volume %s to '%s' in pool '%s'", si.path, name,
                         virStoragePoolGetName (pool));
out:
  kiln_vol_info_clear (&si);
  return vol;
}

int
kiln_storage_delete (virStorageVolPtr vol, GError **err)
{
  if (virStorageVolDelete (vol, 0) == 0)
    return 0;
  kiln_virt_set_error (err, "cannot delete volume '%s'", virStorageVolGetName (vol));
  return -1;
}

virStorageVolPtr
kiln_storage_create_raw (virStoragePoolPtr pool, const char *name, guint64 size, GError **err)
{
  g_autofree char *xml = NULL;
  virStorageVolPtr vol;

  if (!name_free (pool, name, err))
    return NULL;
  /* Raw: libvirt only makes a sparse file of the right size, which the
   * upload then fills with the image's bytes as they are (qcow2 too). */
  xml = to_string (vol_doc (name, "raw", size));
  vol = virStorageVolCreateXML (pool, xml, 0);
  if (vol == NULL)
    kiln_virt_set_error (err, "cannot create volume '%s' in pool '%s'", name,
                         virStoragePoolGetName (pool));
  return vol;
}

/* virStreamSparseSendAll callbacks over a file descriptor. */
struct upload {
  int fd;
  off_t pos, size;
  struct kiln_progress *progress;
};

static int
up_data (virStreamPtr st, char *buf, size_t n, void *opaque)
{
  struct upload *u = opaque;
  ssize_t r = pread (u->fd, buf, n, u->pos);

  if (r > 0) {
    u->pos += r;
    kiln_progress_update (u->progress, (uint64_t) u->pos);
  }
  return (int) r;
}

static int
up_hole (virStreamPtr st, int *in_data, long long *length, void *opaque)
{
  struct upload *u = opaque;
  off_t data, hole;

  if (u->pos >= u->size) {
    *in_data = 0;
    *length = 0;
    return 0;
  }
  data = lseek (u->fd, u->pos, SEEK_DATA);
  if (data == -1 && errno == ENXIO)
    data = u->size;
  else if (data == -1)
    return -1;
  if (data > u->pos) {
    *in_data = 0;
    *length = data - u->pos;
    return 0;
  }
  hole = lseek (u->fd, u->pos, SEEK_HOLE);
  if (hole == -1)
    return -1;
  *in_data = 1;
  *length = hole - u->pos;
  return 0;
}

static int
up_skip (virStreamPtr st, long long length, void *opaque)
{
  struct upload *u = opaque;

  u->pos += length;
  kiln_progress_update (u->progress, (uint64_t) u->pos);
  return 0;
}

int
kiln_storage_upload (const struct kiln_ctx *ctx, virStorageVolPtr vol, const char *file,
                     const char *label, GError **err)
{
  struct upload u = { .fd = -1 };
  virStreamPtr stream = NULL;
  struct stat st;
  int rc = -1;

  u.fd = open (file, O_RDONLY | O_CLOEXEC);
  if (u.fd == -1 || fstat (u.fd, &st) == -1) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "cannot read %s: %s", file, g_strerror (errno));
    goto out;
  }
  u.size = st.st_size;
  u.progress = kiln_progress_new (ctx, label, (uint64_t) st.st_size);
  stream = virStreamNew (virStorageVolGetConnect (vol), 0);
  if (stream == NULL ||
      virStorageVolUpload (vol, stream, 0, 0, VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM) == -1 ||
      virStreamSparseSendAll (stream, up_data, up_hole, up_skip, &u) == -1 ||
      virStreamFinish (stream) == -1) {
    kiln_virt_set_error (err, "cannot upload %s into volume '%s'", file, virStorageVolGetName (vol));
    if (stream)
      virStreamAbort (stream);
    goto out;
  }
  rc = 0;
out:
  kiln_progress_free (u.progress);
  if (stream)
    virStreamFree (stream);
  if (u.fd != -1)
    close (u.fd);
  return rc;
}

/* SHA-256 of the whole of FILE, holes read as zeros. */
static char *
file_sha256 (const char *file, GError **err)
{
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree char *buf = g_malloc (1 << 20);
  int fd = open (file, O_RDONLY | O_CLOEXEC);
  ssize_t n;

  if (fd == -1) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "cannot read %s: %s", file, g_strerror (errno));
    return NULL;
  }
  while ((n = read (fd, buf, 1 << 20)) > 0)
    g_checksum_update (sum, (const guchar *) buf, n);
  close (fd);
  if (n < 0) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "cannot read %s: %s", file, g_strerror (errno));
    return NULL;
  }
  return g_strdup (g_checksum_get_string (sum));
}

/* virStreamSparseRecvAll callbacks: data and holes (as zeros) hashed. */
struct down {
  GChecksum *sum;
  guint64 got;
  struct kiln_progress *progress;
};

static int
down_data (virStreamPtr st, const char *buf, size_t n, void *opaque)
{
  struct down *d = opaque;

  g_checksum_update (d->sum, (const guchar *) buf, (gssize) n);
  d->got += n;
  kiln_progress_update (d->progress, d->got);
  return (int) n;
}

static int
down_hole (virStreamPtr st, long long length, void *opaque)
{
  static const guchar zeros[64 * 1024];
  struct down *d = opaque;

  /* The hole crossed the connection as its length only. */
  while (length > 0) {
    gssize n = (gssize) MIN ((long long) sizeof zeros, length);

    g_checksum_update (d->sum, zeros, n);
    d->got += (guint64) n;
    length -= n;
  }
  kiln_progress_update (d->progress, d->got);
  return 0;
}

/* SHA-256 of the first SIZE bytes of VOL, downloaded (holes as holes). */
static char *
vol_sha256 (const struct kiln_ctx *ctx, virStorageVolPtr vol, guint64 size, GError **err)
{
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree char *label = g_strdup_printf ("verifying %s", virStorageVolGetName (vol));
  g_autoptr (kiln_progress) progress = kiln_progress_new (ctx, label, size);
  virStreamPtr stream = virStreamNew (virStorageVolGetConnect (vol), 0);
  struct down d = { .sum = sum, .progress = progress };
  guint64 got;

  if (stream == NULL ||
      virStorageVolDownload (vol, stream, 0, size, VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM) == -1 ||
      virStreamSparseRecvAll (stream, down_data, down_hole, &d) == -1 ||
      virStreamFinish (stream) == -1) {
    kiln_virt_set_error (err, "cannot download volume '%s' to verify it", virStorageVolGetName (vol));
    if (stream) {
      virStreamAbort (stream);
      virStreamFree (stream);
    }
    return NULL;
  }
  virStreamFree (stream);
  got = d.got;
  if (got != size) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_VERIFY,
                 "volume '%s': %" G_GUINT64_FORMAT " bytes downloaded back, %" G_GUINT64_FORMAT
                 " expected", virStorageVolGetName (vol), got, size);
    return NULL;
  }
  return g_strdup (g_checksum_get_string (sum));
}

int
kiln_storage_verify (const struct kiln_ctx *ctx, virStorageVolPtr vol, const char *file,
                     bool download, GError **err)
{
  virStorageVolInfo info;
  struct stat st;
  g_autofree char *mine = NULL, *theirs = NULL;

  if (stat (file, &st) == -1) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "cannot read %s: %s", file, g_strerror (errno));
    return -1;
  }
  if (virStorageVolGetInfoFlags (vol, &info, VIR_STORAGE_VOL_GET_PHYSICAL) == -1) {
    kiln_virt_set_error (err, "cannot read the size of volume '%s'", virStorageVolGetName (vol));
    return -1;
  }
  /* With the flag, ALLOCATION is the volume's physical size: a file's
   * is the image's size; a block device may be rounded up (LVM extents). */
  if (info.type == VIR_STORAGE_VOL_FILE ? info.allocation != (unsigned long long) st.st_size
                                        : info.allocation < (unsigned long long) st.st_size) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_VERIFY,
                 "volume '%s' is %llu bytes on the host, %s is %lld: the upload is incomplete",
                 virStorageVolGetName (vol), info.allocation, file, (long long) st.st_size);
    return -1;
  }
  if (!download)
    return 0;
  if ((mine = file_sha256 (file, err)) == NULL ||
      (theirs = vol_sha256 (ctx, vol, (guint64) st.st_size, err)) == NULL)
    return -1;
  if (strcmp (mine, theirs) != 0) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_VERIFY,
                 "volume '%s' downloaded back has SHA-256 %s, %s has %s: the upload was "
                 "corrupted", virStorageVolGetName (vol), theirs, file, mine);
    return -1;
  }
  return 0;
}
