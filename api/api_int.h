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
	char			*text;
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
 * Matches path against the route table: 0 with *route and the decoded
 * parameters (malloc'd, caller frees), 404 when no route has the path, 405
 * when one has it with another method.
 */
int	api_route_match(const char *method, const char *path,
	    const struct api_route **route, char *params[API_MAXPARAMS]);

#endif
