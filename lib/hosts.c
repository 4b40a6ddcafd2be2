/* hosts.c: one operation on several libvirt hosts at once (see hosts.h). */
#include "hosts.h"
#include "event.h"

struct host_job {
  struct kiln_ctx ctx;
  size_t index;
  kiln_host_fn fn;
  void *data;
  GError *err;
  int rc;
};

static gpointer
host_thread (gpointer p)
{
  struct host_job *j = p;

  kiln_event_set_job (j->ctx.connect_uri);
  j->rc = j->fn (&j->ctx, j->index, j->data, &j->err);
  if (j->rc == -1 && j->err == NULL)
    g_set_error (&j->err, KILN_ERROR, KILN_ERROR_FAILED, "failed");
  kiln_event_set_job (NULL);
  return NULL;
}

size_t
kiln_hosts_run (const struct kiln_ctx *ctx, const char *const *uris, size_t n, kiln_host_fn fn,
                void *data, GError **errs)
{
  g_autofree struct host_job *jobs = g_new0 (struct host_job, n);
  g_autofree GThread **threads = g_new0 (GThread *, n);
  size_t failed = 0;

  for (size_t i = 0; i < n; i++) {
    jobs[i].ctx = *ctx;
    jobs[i].ctx.connect_uri = uris[i];
    jobs[i].index = i;
    jobs[i].fn = fn;
    jobs[i].data = data;
    threads[i] = g_thread_new ("kiln-host", host_thread, &jobs[i]);
  }
  for (size_t i = 0; i < n; i++) {
    g_thread_join (threads[i]);
    if (jobs[i].rc == -1) {
      g_prefix_error (&jobs[i].err, "%s: ", uris[i]);
      errs[i] = jobs[i].err;
      failed++;
    }
  }
  return failed;
}
