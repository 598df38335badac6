/*
 * pub_server8181: the RFC 8181 publication endpoint of cairn-pubd.
 *
 *   POST <prefix><publisher handle>
 *   Content-Type: application/rpki-publication
 *
 * The body is a CMS message (ca/cms_msg.h) verified against the
 * publisher's BPKI TA (publisher.id_cert), with signing-time replay
 * protection per publisher; the query is applied with pub_repo_apply() and
 * the reply is signed with the server's BPKI identity.  The work runs on
 * the libuv thread pool with a small pool of database connections; above
 * max_inflight requests the server answers 503 with Retry-After.
 */
#ifndef PUB_SERVER8181_H
#define PUB_SERVER8181_H

#include <stddef.h>

#include <uv.h>

#include "common/cm_err.h"
#include "common/cm_http.h"
#include "publish/pub_bpki.h"

struct pub_server8181_conf {
	const char	*dsn;		/* database of the repository */
	const char	*prefix;	/* "/rfc8181/" */
	struct pub_bpki	*bpki;		/* borrowed */
	unsigned	 max_inflight;	/* 0: 16 */
	unsigned	 retry_after;	/* seconds in 503 answers; 0: 5 */
};

struct pub_server8181;

/* conf strings are copied.  Returns NULL with err set. */
struct pub_server8181 *pub_server8181_new(uv_loop_t *loop,
	    const struct pub_server8181_conf *conf, struct cm_err *err);
/* After the HTTP server is shut down (no request in flight).  NULL ok. */
void	pub_server8181_free(struct pub_server8181 *s);

/* The cm_http handler (arg: the struct pub_server8181). */
void	pub_server8181_handle(struct cm_http_req *req, void *arg);

/* Requests answered, and those refused with 503 (loop thread). */
void	pub_server8181_stats(const struct pub_server8181 *s,
	    unsigned long *done, unsigned long *refused);

#endif
