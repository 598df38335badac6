/*
 * Internals of the API shared by api_server.c (threads, authentication,
 * idempotency) and api_routes.c (the route table and its handlers).
 */
#ifndef API_INT_H
#define API_INT_H

#include <jansson.h>

#include "api/api.h"
#include "common/cm_http.h"

#define API_MAXPARAMS	3

/* What the worker has for one request. */
struct api_call {
	struct cm_http_req	*req;
	struct db		*db;
	struct ca_eng		*eng;
	struct hsm_pool		*pool;
	struct api_principal	 who;
	char			*params[API_MAXPARAMS];	/* decoded path params */
	json_t			*body;		/* POST/PUT: a JSON object */
	/* The answer: JSON, or text (metrics). */
	int			 status;
	json_t			*out;
	char			*json;		/* JSON already serialized (large
						   lists), instead of out */
	char			*text;
	const struct api_conf	*conf;		/* the API's configuration */
	size_t			 queued;	/* requests waiting behind this */
	uint8_t			*bin;		/* a binary answer (RFC 6492) */
	size_t			 binlen;
	const char		*bin_ctype;
};

/* Route flags. */
#define API_PUBLIC	0x1	/* no token needed */
#define API_ADMIN	0x2	/* admin tokens only */
#define API_BODY	0x4	/* a JSON object body is required */
#define API_RAW		0x8	/* not JSON: the handler reads the raw body
				   and authenticates by itself (RFC 6492 CMS) */
#define API_SECRET	0x10	/* the answer's "token" is shown once: an
				   idempotent replay leaves it out */

typedef int	(*api_fn)(struct api_call *c);

struct api_route {
	const char	*method;
	const char	*path;		/* segments; "{x}" is a parameter */
	api_fn		 fn;
	unsigned	 flags;
};

/* Delegated children (api_routes_child.c). */
int	api_r_child_list(struct api_call *c);
int	api_r_child_add(struct api_call *c);
int	api_r_child_get(struct api_call *c);
int	api_r_child_resources(struct api_call *c);
int	api_r_child_delete(struct api_call *c);

extern const struct api_route	api_routes[];
extern const size_t		api_nroutes;

/*
 * Trust anchors (api_routes_ta.c): POST /ta, GET /ta/{h}, GET /ta/{h}/tal,
 * and the key roll: GET and POST /ta/{h}/keyroll, GET /ta/{h}/tal/next.
 */
int	api_r_ta_create(struct api_call *c);
int	api_r_ta_get(struct api_call *c);
int	api_r_ta_tal(struct api_call *c);
int	api_r_ta_keyroll_get(struct api_call *c);
int	api_r_ta_keyroll(struct api_call *c);
int	api_r_ta_tal_next(struct api_call *c);

/*
 * A CA's remote parent (api_routes_parent.c): GET /cas/{h}/parent, and
 * for an offline parent POST /cas/{h}/parent/offline-request and
 * POST /cas/{h}/parent/offline-response.
 */
int	api_r_parent_get(struct api_call *c);
int	api_r_parent_offline_request(struct api_call *c);
int	api_r_parent_offline_response(struct api_call *c);

/*
 * Sets the answer to {"error":{"code","message","field"}} with status and
 * returns status.  field may be NULL.
 */
int	api_error(struct api_call *c, int status, const char *code,
	    const char *field, const char *fmt, ...)
	    __attribute__((format(printf, 5, 6)));
/* The answer for an engine or database error (cm_err code -> status). */
int	api_error_err(struct api_call *c, const struct cm_err *err,
	    const char *field);

/*
 * Helpers of api_routes.c for the other route files.  Each returns 0, or
 * the status of the error answer it set (api_query: the row count, or
 * minus the status).
 */
/* The id of CA handle when the token may see it, else 404 ca_not_found. */
int	api_ca_visible(struct api_call *c, const char *handle, int64_t *id,
	    const char *field);
/* A string member of o (NULL when absent); a non-string is a 422. */
int	api_get_str(struct api_call *c, json_t *o, const char *key,
	    const char *field, int required, const char **out);
/* {"asn","ipv4","ipv6"} (RFC 6492 text) into a new set *out. */
int	api_get_res(struct api_call *c, json_t *o, const char *field,
	    struct ca_res **out);
int	api_query(struct api_call *c, const char *sql,
	    const struct db_params *p, struct db_res **r);
/* Answers o (owned; NULL: a 500 out of memory) with status; returns it. */
int	api_ok(struct api_call *c, int status, json_t *o);
/* The decoded query parameter name (malloc'd) or NULL. */
char	*api_qparam(struct api_call *c, const char *name);
/* 1 when h is a valid CA handle. */
int	api_handle_ok(const char *h);
/*
 * The "limit" query parameter lim of a list route (NULL: 100) in *limit:
 * 0, or the status of the 422 answer it set.
 */
int	api_limit(struct api_call *c, const char *lim, long *limit);
/*
 * The answer to a failed history query: a 422 naming since (or until) for
 * a time the database cannot read, else the error err.  Returns the status.
 */
int	api_history_error(struct api_call *c, const char *since,
	    const struct cm_err *err);
/* An audit record of a change that is not the engine's (ca_id 0: none). */
int	api_audit(struct db *db, const char *actor, const char *action,
	    int64_t ca_id, const char *object, struct cm_err *err);

/* Handlers in api_routes_admin.c, api_routes_pub.c, api_routes_status.c. */
int	api_r_ca_delete(struct api_call *c);
int	api_r_ca_bulk(struct api_call *c);
int	api_r_router_list(struct api_call *c);
int	api_r_router_remove(struct api_call *c);
int	api_r_token_list(struct api_call *c);
int	api_r_token_create(struct api_call *c);
int	api_r_token_revoke(struct api_call *c);
int	api_r_publisher_list(struct api_call *c);
int	api_r_publisher_add(struct api_call *c);
int	api_r_publisher_get(struct api_call *c);
int	api_r_publisher_remove(struct api_call *c);
int	api_r_status(struct api_call *c);
int	api_r_ca_status(struct api_call *c);
int	api_r_history_all(struct api_call *c);
int	api_r_metrics(struct api_call *c);

/*
 * Matches path against the route table: 0 with *route and the decoded
 * parameters (malloc'd, caller frees), 404 when no route has the path, 405
 * when one has it with another method.
 */
int	api_route_match(const char *method, const char *path,
	    const struct api_route **route, char *params[API_MAXPARAMS]);

#endif
