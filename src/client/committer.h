/*
 * client/committer.h: a delta_committer (delta/delta.h) that talks to the
 * metadata service over HTTP through the client library (include/tarn.h),
 * so that a Delta writer in any process commits to a `tarn local` or a
 * `tarn cluster`: create, commit (and blind appends), log-written marks,
 * pending versions and version reads map onto the catalog routes
 * (src/catalog/README.md). Design note: src/client/README.md "Delta
 * committer".
 *
 * The writer needs the same object store as the server's tables (a
 * shared directory; GET /v1/catalog names it for `tarn local`).
 *
 * Threads: the committer may be used by several threads at once (the
 * client handle is thread-safe).
 */
#ifndef TARN_CLIENT_COMMITTER_H
#define TARN_CLIENT_COMMITTER_H

#include "delta/delta.h"
#include "tarn.h"

/* `c` is borrowed and must outlive the committer (delta_committer_close
 * frees only the committer's own state). co (copied; NULL: the handle's
 * defaults) applies to every call. TARN_ENOMEM. */
int client_committer_open(tarn_client *c, const tarn_call_opts *co, delta_committer *out);

#endif
