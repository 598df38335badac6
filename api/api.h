/*
 * api: the provisioning REST API (JSON over HTTP/1.1, docs/api.md) and the
 * pieces the cairn CLI shares with it.
 *
 * api_start() runs the API on threads of its own: a libuv loop thread with
 * the HTTP server (common/cm_http.h) and N worker threads ([api] workers),
 * each owning a database connection and a CA engine (ca/engine.h is used by
 * one thread at a time).  The loop thread authenticates nothing and never
 * blocks: it matches the route and queues the request; a worker
 * authenticates, checks the token's scope, calls the engine and answers
 * with cm_http_respond_async().  Reads (GET) run in parallel; writes to one
 * CA (paths /cas/{handle}/..., /updown/{handle}) run one at a time in
 * arrival order, in parallel with writes to other CAs; other writes
 * (creating CAs and trust anchors, transfers) run alone among the writes.
 *
 * Tokens (api_token_*): "cairn_" and 64 hex digits; only their SHA-256 is
 * stored (table api_token, migration 0003).
 */
#ifndef API_H
#define API_H

#include <stddef.h>
#include <stdint.h>

#include "ca/engine.h"
#include "common/cm_err.h"
#include "db/db.h"
#include "hsm/hsm.h"
#include "hsm/hsm_pool.h"

struct api_conf {
	const char		*host;		/* default "127.0.0.1" */
	uint16_t		 port;		/* 0: ephemeral */
	const char		*tls_cert;	/* PEM; NULL: plain HTTP */
	const char		*tls_key;	/* NULL: in tls_cert */
	size_t			 max_body;	/* default 256 KiB, else 413 */
	const char		*dsn;		/* one connection per worker */
	struct hsm		*hsm;		/* shared; thread-safe backends */
	struct hsm_pool		*pool;		/* shared; may be NULL */
	const struct ca_eng_conf *eng_conf;
	const struct cm_clock	*clock;		/* NULL: real time */
	/*
	 * RFC 8181 publishers added through the API (a database shared with
	 * cairn-pubd): the publication server's service URI as publishers see
	 * it ("https://host/rfc8181/", the handle is appended) and its BPKI
	 * certificate (PEM file).  NULL: the publisher routes answer 501.
	 */
	const char		*pub_service_uri;
	const char		*pub_bpki_cert;
	unsigned		 workers;	/* 0: API_DEFAULT_WORKERS */
};

#define API_DEFAULT_WORKERS	4
#define API_MAX_WORKERS		64

struct api;

/*
 * Starts the API: binds the listener, opens the workers' connections and
 * engines, starts the threads.  Everything in conf is borrowed and must
 * outlive the API.  Returns the API (stop with api_stop()), or NULL with
 * err set.
 */
struct api	*api_start(const struct api_conf *conf, struct cm_err *err);
/* The bound port. */
uint16_t	 api_port(const struct api *a);
/* The number of worker threads. */
unsigned	 api_workers(const struct api *a);
/*
 * Stops accepting, answers the requests under way, joins the threads and
 * frees everything.  NULL is ok.
 */
void		 api_stop(struct api *a);

/* The routes the API serves: method ("GET") and path template. */
size_t		 api_route_count(void);
void		 api_route_get(size_t i, const char **method, const char **path);

/*
 * Creates a token named name: an admin token (ca_handle NULL) or a member
 * token for CA ca_handle and the CAs below it.  *token gets the secret
 * (malloc'd; it is not stored anywhere).  Returns 0, or -1 (CM_EEXIST when
 * the name is taken, CM_ENOTFOUND for an unknown CA, CM_EINVAL for a bad
 * name).
 */
int	api_token_create(struct db *db, const char *name,
	    const char *ca_handle, char **token, struct cm_err *err);
/* Revokes the token named name.  0, or -1 (CM_ENOTFOUND). */
int	api_token_revoke(struct db *db, const char *name, struct cm_err *err);
/*
 * One line per token into *out (malloc'd): name, scope ("admin" or
 * "ca:HANDLE"), created, revoked or "-".  Returns 0 or -1.
 */
int	api_token_list(struct db *db, char **out, struct cm_err *err);

/*
 * A token presented by a client: fills id, name (at most 128 bytes),
 * admin and scope CA id.  Returns 1 when the token is valid (not revoked),
 * 0 when not, -1 on database failure.
 */
struct api_principal {
	int64_t	 id;
	char	 name[129];
	int	 admin;
	int64_t	 ca_id;		/* member tokens */
};
int	api_token_check(struct db *db, const char *token,
	    struct api_principal *out, struct cm_err *err);

#endif
