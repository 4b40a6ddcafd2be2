/* hosts.h: one operation on several libvirt hosts at once (kiln register
 * and kiln clone with -c given more than once): a thread per host, each
 * host's work its own transaction, so that a failure on one leaves the
 * others complete.  Nothing printed; each thread's events are tagged with
 * its URI as the job (kiln_event_set_job). */
#ifndef KILN_HOSTS_H
#define KILN_HOSTS_H

#include "kiln.h"

/* The work for one host: CTX is a copy of the caller's whose connect_uri
 * is that host's URI.  0, or -1 with ERR. */
typedef int (*kiln_host_fn) (const struct kiln_ctx *ctx, size_t host, void *data, GError **err);

/* Run FN (with DATA and the host's index) for each of the N URIS, in
 * parallel, one GThread each, and wait for all of them.  ERRS (N slots,
 * NULL on entry) gets each failed host's error, its message prefixed with
 * the URI.  Returns how many hosts failed (0: all succeeded).  FN must be
 * thread-safe across hosts (kiln's lib/ is: see HACKING.md). */
size_t kiln_hosts_run (const struct kiln_ctx *ctx, const char *const *uris, size_t n,
                       kiln_host_fn fn, void *data, GError **errs);

#endif
