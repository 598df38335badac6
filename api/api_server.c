/*
 * The API's threads: the HTTP loop (matching routes, queueing requests)
 * and the workers (authentication, scope, idempotency, the handlers), each
 * with its own database connection and CA engine.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "api/api_int.h"
#include "common/cm_enc.h"
#include "common/cm_log.h"

/*
 * What a queued request may run beside.  Reads run whenever a worker is
 * free.  Writes to one CA (a path under /cas/{handle} or /updown/{handle})
 * run one at a time, in arrival order, beside writes to other CAs.  Other
 * writes (creating a CA or a trust anchor, transfers) run alone among the
 * writes, in arrival order with all of them.  The database serialises what
 * remains (engine.h: a CA's row is locked for its change).
 */
enum job_kind { JOB_READ, JOB_CA_WRITE, JOB_GLOBAL_WRITE };

struct job {
	struct cm_http_req	*req;
	const struct api_route	*route;
	char			*params[API_MAXPARAMS];
	enum job_kind		 kind;
	const char		*key;	/* JOB_CA_WRITE: params[0] */
	struct job		*next;
};

struct api;

/* One worker thread: its own database connection and CA engine. */
struct worker {
	struct api		*a;
	pthread_t		 thr;
	int			 started;
	struct db		*db;
	struct ca_eng		*eng;
	const char		*key;	/* the CA write it runs, or NULL */
};

struct api {
	uv_loop_t		 loop;
	uv_async_t		 stop_async;
	uv_thread_t		 loop_thr;
	struct cm_http_server	*srv;
	int			 loop_started;
	struct worker		*workers;
	unsigned		 nworkers;
	pthread_mutex_t		 mtx;
	pthread_cond_t		 cond;
	struct job		*head, **tailp;
	size_t			 nqueued;
	unsigned		 nwrites;	/* writes running */
	int			 global_busy;	/* a global write runs */
	int			 stopping;
	struct hsm_pool		*pool;
	struct api_conf		 conf;	/* a copy; its strings borrowed */
	uint16_t		 port;
};

/* ---- errors ---- */

int
api_error(struct api_call *c, int status, const char *code, const char *field,
    const char *fmt, ...)
{
	va_list	ap;
	char	msg[1024];
	json_t	*e;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_decref(c->out);
	e = json_pack("{s:s, s:s}", "code", code, "message", msg);
	if (e != NULL && field != NULL)
		json_object_set_new(e, "field", json_string(field));
	c->out = e != NULL ? json_pack("{s:o}", "error", e) : NULL;
	c->status = status;
	return status;
}

int
api_error_err(struct api_call *c, const struct cm_err *err, const char *field)
{
	switch (err->code) {
	case CM_EINVAL:
		return api_error(c, 422, "invalid", field, "%s", err->msg);
	case CM_ENOTFOUND:
		return api_error(c, 404, "not_found", field, "%s", err->msg);
	case CM_EEXIST:
		return api_error(c, 409, "exists", field, "%s", err->msg);
	case CM_ESTATE:
		return api_error(c, 409, "conflict", field, "%s", err->msg);
	case CM_ELIMIT:
		return api_error(c, 413, "limit", field, "%s", err->msg);
	case CM_EPERM:
		return api_error(c, 403, "forbidden", field, "%s", err->msg);
	case CM_ERETRY:
		cm_warn("api: %s", err->msg);
		return api_error(c, 503, "unavailable", NULL, "temporary "
		    "failure, retry");
	default:
		/* Ours: details go to the log, not to the client. */
		cm_error("api: %s", err->msg);
		return api_error(c, 500, "internal", NULL, "internal error "
		    "(logged)");
	}
}

/* ---- routing ---- */

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes n bytes of s; NULL for bad escapes or NUL bytes. */
static char *
pct_decode(const char *s, size_t n)
{
	char	*o, *d;
	size_t	 i;

	if ((o = d = malloc(n + 1)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (s[i] == '%') {
			int hi, lo;

			if (i + 2 >= n || (hi = hexval(s[i + 1])) < 0 ||
			    (lo = hexval(s[i + 2])) < 0 || (hi == 0 && lo == 0)) {
				free(o);
				return NULL;
			}
			*d++ = (char)(hi * 16 + lo);
			i += 2;
		} else
			*d++ = s[i];
	}
	*d = '\0';
	return o;
}

/* Matches path against template t; parameters into params. 1 or 0. */
static int
match_one(const char *t, const char *path, char *params[API_MAXPARAMS])
{
	int	np = 0;

	for (;;) {
		const char *te, *pe;

		if (*t == '\0' || *path == '\0')
			return *t == '\0' && *path == '\0';
		if (*t != '/' || *path != '/')
			return 0;
		t++;
		path++;
		te = strchrnul(t, '/');
		pe = strchrnul(path, '/');
		if (*t == '{') {
			if (pe == path || np == API_MAXPARAMS)
				return 0;
			if ((params[np] = pct_decode(path, (size_t)(pe - path)))
			    == NULL)
				return 0;
			np++;
		} else if (te - t != pe - path ||
		    memcmp(t, path, (size_t)(te - t)) != 0)
			return 0;
		t = te;
		path = pe;
	}
}

static void
params_free(char *params[API_MAXPARAMS])
{
	for (int i = 0; i < API_MAXPARAMS; i++) {
		free(params[i]);
		params[i] = NULL;
	}
}

int
api_route_match(const char *method, const char *path,
    const struct api_route **route, char *params[API_MAXPARAMS])
{
	int	found = 0;

	for (size_t i = 0; i < api_nroutes; i++) {
		char *p[API_MAXPARAMS] = { NULL, NULL, NULL };

		if (!match_one(api_routes[i].path, path, p)) {
			params_free(p);
			continue;
		}
		if (strcmp(api_routes[i].method, method) == 0) {
			*route = &api_routes[i];
			memcpy(params, p, sizeof(p));
			return 0;
		}
		params_free(p);
		found = 1;
	}
	return found ? 405 : 404;
}

size_t
api_route_count(void)
{
	return api_nroutes;
}

void
api_route_get(size_t i, const char **method, const char **path)
{
	*method = api_routes[i].method;
	*path = api_routes[i].path;
}

/* ---- answering ---- */

static void
send_answer(struct cm_http_req *req, int status, const char *ctype,
    char *body, const char *extra_name, const char *extra_value, int async)
{
	struct cm_http_resp	*resp;

	if ((resp = cm_http_resp_new(status)) == NULL) {
		free(body);
	} else {
		cm_http_resp_header(resp, "Content-Type", ctype);
		cm_http_resp_header(resp, "Cache-Control", "no-store");
		if (status == 401)
			cm_http_resp_header(resp, "WWW-Authenticate",
			    "Bearer realm=\"cairn\"");
		if (extra_name != NULL)
			cm_http_resp_header(resp, extra_name, extra_value);
		if (body != NULL)
			cm_http_resp_body_owned(resp, (uint8_t *)body,
			    strlen(body));
	}
	if (async)
		cm_http_respond_async(req, resp);
	else
		cm_http_respond(req, resp);
}

/* A JSON answer of c; body becomes the serialized text (malloc'd). */
static char *
call_body(struct api_call *c, const char **ctype)
{
	char	*s;

	if (c->text != NULL) {
		*ctype = "text/plain; version=0.0.4; charset=utf-8";
		s = c->text;
		c->text = NULL;
		return s;
	}
	if (c->json != NULL && c->out == NULL) {
		*ctype = "application/json";
		s = c->json;
		c->json = NULL;
		return s;
	}
	*ctype = "application/json";
	if (c->out == NULL)
		return NULL;
	s = json_dumps(c->out, JSON_COMPACT | JSON_SORT_KEYS);
	if (s != NULL) {
		size_t	 n = strlen(s);
		char	*t = realloc(s, n + 2);

		if (t != NULL) {
			t[n] = '\n';
			t[n + 1] = '\0';
			s = t;
		}
	}
	return s;
}

/* ---- idempotency ---- */

static void
request_hash(const struct cm_http_req *req, uint8_t out[32])
{
	EVP_MD_CTX	*x;
	unsigned	 n = 32;

	/* Method, target and body, separated so that no two collide. */
	if ((x = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(x, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(x, req->method_str, strlen(req->method_str) + 1)
	    != 1 ||
	    EVP_DigestUpdate(x, req->target, strlen(req->target) + 1) != 1 ||
	    EVP_DigestUpdate(x, req->body, req->body_len) != 1 ||
	    EVP_DigestFinal_ex(x, out, &n) != 1)
		memset(out, 0, 32);
	EVP_MD_CTX_free(x);
}

/*
 * Looks up a stored answer: 1 with status and body (malloc'd), 0 when the
 * key is new, 2 when it was used for another request, -1 on failure.
 */
static int
idem_find(struct api_call *c, const char *key, const uint8_t h[32],
    int *status, char **body, struct cm_err *err)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	const uint8_t		*d, *rh;
	size_t			 dl, rl;
	int64_t			 st;
	int			 n, rc = -1;

	db_params_init(&p);
	p.binary_results = 1;
	db_param_int(&p, c->who.id);
	db_param_text(&p, key);
	n = db_exec(c->db, "SELECT request_hash, status::int4, response FROM "
	    "api_idempotency WHERE token_id = $1 AND key = $2", &p, &r, err);
	if (n <= 0) {
		db_res_free(r);
		return n;
	}
	if (db_res_bytea(r, 0, 0, &rh, &rl, err) == -1 ||
	    db_res_int64(r, 0, 1, &st, err) == -1 ||
	    db_res_bytea(r, 0, 2, &d, &dl, err) == -1)
		goto out;
	if (rl != 32 || memcmp(rh, h, 32) != 0) {
		rc = 2;
		goto out;
	}
	if ((*body = malloc(dl + 1)) == NULL) {
		cm_err_set(err, CM_ENOMEM, "api", "out of memory");
		goto out;
	}
	memcpy(*body, d, dl);
	(*body)[dl] = '\0';
	*status = (int)st;
	rc = 1;
out:
	db_res_free(r);
	return rc;
}

static int
idem_store(struct api_call *c, const char *key, const uint8_t h[32],
    int status, const char *body, struct cm_err *err)
{
	struct db_params	p;

	db_params_init(&p);
	db_param_int(&p, c->who.id);
	db_param_text(&p, key);
	db_param_bytea(&p, h, 32);
	db_param_int(&p, status);
	db_param_bytea(&p, body != NULL ? body : "", body != NULL ?
	    strlen(body) : 0);
	return db_exec(c->db, "INSERT INTO api_idempotency (token_id, key, "
	    "request_hash, status, response) VALUES ($1, $2, $3, $4, $5) ON "
	    "CONFLICT DO NOTHING", &p, NULL, err) == -1 ? -1 : 0;
}

/* ---- the worker ---- */

static int
authenticate(struct api_call *c)
{
	const char	*h = cm_http_req_header(c->req, "Authorization");
	struct cm_err	 err;
	int		 rc;

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0 || h[7] == '\0')
		return api_error(c, 401, "unauthenticated", NULL, "a bearer "
		    "token is required (Authorization: Bearer ...)");
	for (h += 7; *h == ' '; h++)
		;
	if ((rc = api_token_check(c->db, h, &c->who, &err)) == -1)
		return api_error_err(c, &err, NULL);
	if (rc == 0)
		return api_error(c, 401, "unauthenticated", NULL, "unknown or "
		    "revoked token");
	return 0;
}

static int
parse_body(struct api_call *c)
{
	json_error_t	je;

	if (c->req->body_len == 0)
		return api_error(c, 400, "malformed_json", NULL, "a JSON object "
		    "body is required");
	c->body = json_loadb((const char *)c->req->body, c->req->body_len,
	    JSON_REJECT_DUPLICATES, &je);
	if (c->body == NULL)
		return api_error(c, 400, "malformed_json", NULL, "line %d "
		    "column %d: %s", je.line, je.column, je.text);
	if (!json_is_object(c->body))
		return api_error(c, 400, "malformed_json", NULL, "the body must "
		    "be a JSON object");
	return 0;
}

/*
 * The answer as stored for an idempotent replay (malloc'd): a secret shown
 * once is left out.  NULL: the answer as sent.
 */
static char *
stored_body(const struct api_call *c, const struct api_route *route)
{
	json_t	*cp;
	char	*s;

	if (!(route->flags & API_SECRET) || !json_is_object(c->out) ||
	    json_object_get(c->out, "token") == NULL)
		return NULL;
	if ((cp = json_deep_copy(c->out)) == NULL)
		return NULL;
	json_object_del(cp, "token");
	json_object_set_new(cp, "token_shown_once", json_true());
	s = json_dumps(cp, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(cp);
	return s;
}

static void
handle(struct worker *w, struct job *j, size_t queued)
{
	struct api_call	 c;
	struct cm_err	 err;
	const char	*key = NULL, *ctype, *replayed = NULL;
	char		*body = NULL;
	uint8_t		 h[32];
	int		 st;

	memset(&c, 0, sizeof(c));
	c.req = j->req;
	c.db = w->db;
	c.eng = w->eng;
	c.pool = w->a->pool;
	c.conf = &w->a->conf;
	c.queued = queued;
	/* Borrowed: the job keeps them (its key is one) until it is freed. */
	memcpy(c.params, j->params, sizeof(c.params));
	if (!(j->route->flags & API_PUBLIC)) {
		if (authenticate(&c) != 0)
			goto answer;
		if ((j->route->flags & API_ADMIN) && !c.who.admin) {
			api_error(&c, 403, "forbidden", NULL, "this route needs "
			    "an admin token");
			goto answer;
		}
	}
	if ((j->route->flags & API_BODY) && parse_body(&c) != 0)
		goto answer;
	if (c.req->method == CM_HTTP_POST &&
	    (key = cm_http_req_header(c.req, "Idempotency-Key")) != NULL &&
	    !(j->route->flags & API_PUBLIC)) {
		if (*key == '\0' || strlen(key) > 255) {
			api_error(&c, 400, "bad_idempotency_key", NULL,
			    "Idempotency-Key must be 1 to 255 characters");
			key = NULL;
			goto answer;
		}
		request_hash(c.req, h);
		switch (idem_find(&c, key, h, &st, &body, &err)) {
		case 1:
			c.status = st;
			replayed = "true";
			key = NULL;
			goto send;
		case 2:
			api_error(&c, 422, "idempotency_key_reused", NULL,
			    "Idempotency-Key \"%s\" was used for another "
			    "request", key);
			key = NULL;
			goto answer;
		case 0:
			break;
		default:
			api_error_err(&c, &err, NULL);
			key = NULL;
			goto answer;
		}
	}
	c.status = j->route->fn(&c);
	if (c.bin != NULL) {
		/* RFC 6492: the signed reply, as is. */
		struct cm_http_resp *resp = cm_http_resp_new(c.status);

		if (resp != NULL) {
			cm_http_resp_header(resp, "Content-Type", c.bin_ctype);
			cm_http_resp_header(resp, "Cache-Control", "no-store");
			cm_http_resp_body_owned(resp, c.bin, c.binlen);
		} else
			free(c.bin);
		c.bin = NULL;
		cm_http_respond_async(c.req, resp);
		json_decref(c.body);
		json_decref(c.out);
		free(c.text);
		free(c.json);
		return;
	}
answer:
	body = call_body(&c, &ctype);
	if (key != NULL && c.status < 500) {
		char *red = stored_body(&c, j->route);

		if (idem_store(&c, key, h, c.status, red != NULL ? red : body,
		    &err) == -1)
			cm_error("api: storing the idempotent answer: %s",
			    err.msg);
		free(red);
	}
send:
	if (replayed != NULL)
		ctype = "application/json";
	if (c.status == 204) {
		free(body);
		body = NULL;
	}
	send_answer(c.req, c.status != 0 ? c.status : 500, ctype, body,
	    replayed != NULL ? "Idempotent-Replayed" : NULL, replayed, 1);
	json_decref(c.body);
	json_decref(c.out);
	free(c.text);
	free(c.json);
}

/* Is a write to CA key running?  (Under the mutex.) */
static int
key_busy(const struct api *a, const char *key)
{
	for (unsigned i = 0; i < a->nworkers; i++)
		if (a->workers[i].key != NULL &&
		    strcmp(a->workers[i].key, key) == 0)
			return 1;
	return 0;
}

/*
 * The first queued job that may run now (see enum job_kind), unlinked, or
 * NULL.  A write that must wait blocks only what must run after it: writes
 * to its CA (their CA is busy too) and, for a global write, every later
 * write.  Under the mutex.
 */
static struct job *
pick(struct api *a)
{
	struct job	**pp, *j;
	int		  blocked = a->global_busy;

	for (pp = &a->head; (j = *pp) != NULL; pp = &j->next) {
		if (j->kind == JOB_READ)
			break;
		if (blocked)
			continue;
		if (j->kind == JOB_GLOBAL_WRITE) {
			if (a->nwrites == 0)
				break;
			blocked = 1;
		} else if (!key_busy(a, j->key))
			break;
	}
	if (j == NULL)
		return NULL;
	*pp = j->next;
	if (a->tailp == &j->next)
		a->tailp = pp;
	j->next = NULL;
	return j;
}

static void *
worker_main(void *arg)
{
	struct worker	*w = arg;
	struct api	*a = w->a;
	struct job	*j;
	size_t		 queued;

	pthread_mutex_lock(&a->mtx);
	for (;;) {
		if ((j = pick(a)) == NULL) {
			if (a->stopping && a->head == NULL)
				break;
			pthread_cond_wait(&a->cond, &a->mtx);
			continue;
		}
		if (j->kind != JOB_READ) {
			a->nwrites++;
			if (j->kind == JOB_GLOBAL_WRITE)
				a->global_busy = 1;
			else
				w->key = j->key;
		}
		queued = --a->nqueued;
		pthread_mutex_unlock(&a->mtx);
		handle(w, j, queued);
		pthread_mutex_lock(&a->mtx);
		if (j->kind != JOB_READ) {
			a->nwrites--;
			a->global_busy = 0;
			w->key = NULL;
			/* Writes that waited for this one may run now. */
			pthread_cond_broadcast(&a->cond);
		}
		params_free(j->params);
		free(j);
	}
	pthread_mutex_unlock(&a->mtx);
	return NULL;
}

/* ---- the loop thread ---- */

/*
 * GET and HEAD read.  A write whose path names a CA first (/cas/{handle}...,
 * /updown/{handle}) is ordered with the writes to that CA; any other write
 * is global.  The same request always gets the same kind and key, so two
 * copies of a request (an Idempotency-Key retry) never run at once.
 */
static enum job_kind
job_kind_of(const struct api_route *r, char *params[API_MAXPARAMS],
    const char **key)
{
	static const char *const ca_paths[] = {
		"/api/v1/cas/{", "/api/v1/updown/{",
	};

	*key = NULL;
	if (strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0)
		return JOB_READ;
	for (size_t i = 0; i < sizeof(ca_paths) / sizeof(ca_paths[0]); i++)
		if (strncmp(r->path, ca_paths[i], strlen(ca_paths[i])) == 0 &&
		    params[0] != NULL) {
			*key = params[0];
			return JOB_CA_WRITE;
		}
	return JOB_GLOBAL_WRITE;
}

static void
on_request(struct cm_http_req *req, void *arg)
{
	struct api		*a = arg;
	const struct api_route	*route = NULL;
	struct job		*j;
	char			*params[API_MAXPARAMS] = { NULL, NULL, NULL };
	char			 msg[256];
	int			 rc;

	rc = api_route_match(req->method_str, req->path, &route, params);
	if (rc != 0) {
		snprintf(msg, sizeof(msg), "{\"error\":{\"code\":\"%s\","
		    "\"message\":\"%s\"}}\n", rc == 404 ? "no_route" :
		    "method_not_allowed", rc == 404 ? "no such route" :
		    "method not allowed on this path");
		send_answer(req, rc, "application/json", strdup(msg), NULL,
		    NULL, 0);
		return;
	}
	/* Liveness is the loop's own: it needs neither worker nor database. */
	if (strcmp(route->path, "/api/v1/health") == 0) {
		params_free(params);
		send_answer(req, 200, "application/json",
		    strdup("{\"status\":\"ok\"}\n"), NULL, NULL, 0);
		return;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		params_free(params);
		cm_http_respond(req, NULL);
		return;
	}
	j->req = req;
	j->route = route;
	memcpy(j->params, params, sizeof(params));
	j->kind = job_kind_of(route, j->params, &j->key);
	pthread_mutex_lock(&a->mtx);
	*a->tailp = j;
	a->tailp = &j->next;
	a->nqueued++;
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->mtx);
}

static void
on_stop(uv_async_t *h)
{
	struct api *a = h->data;

	cm_http_server_shutdown(a->srv, NULL, NULL);
	uv_close((uv_handle_t *)h, NULL);
}

static void
loop_main(void *arg)
{
	struct api *a = arg;

	uv_run(&a->loop, UV_RUN_DEFAULT);
}

/* Opens the connections and engines of the workers and starts them. */
static int
workers_start(struct api *a, const struct api_conf *conf, struct cm_err *err)
{
	unsigned	i, n = conf->workers != 0 ? conf->workers :
			    API_DEFAULT_WORKERS;

	if (n > API_MAX_WORKERS)
		return cm_err_set(err, CM_EINVAL, "api", "workers must be 1 to "
		    "%d", API_MAX_WORKERS);
	if ((a->workers = calloc(n, sizeof(*a->workers))) == NULL)
		return cm_err_set(err, CM_ENOMEM, "api", "out of memory");
	a->nworkers = n;
	for (i = 0; i < n; i++) {
		struct worker	*w = &a->workers[i];
		char		 ctx[32];

		w->a = a;
		if ((w->db = db_open(conf->dsn, 10, err)) == NULL ||
		    (w->eng = ca_eng_new(conf->eng_conf, w->db, conf->hsm,
		    conf->pool, conf->clock, err)) == NULL) {
			snprintf(ctx, sizeof(ctx), "api worker %u", i);
			return cm_err_wrap(err, ctx);
		}
	}
	for (i = 0; i < n; i++) {
		if (pthread_create(&a->workers[i].thr, NULL, worker_main,
		    &a->workers[i]) != 0)
			return cm_err_set(err, CM_EIO, "api", "cannot start "
			    "worker %u", i);
		a->workers[i].started = 1;
	}
	return 0;
}

/* Lets the workers finish the queue, joins them, closes their engines. */
static void
workers_stop(struct api *a)
{
	unsigned i;

	pthread_mutex_lock(&a->mtx);
	a->stopping = 1;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->mtx);
	for (i = 0; i < a->nworkers; i++) {
		if (a->workers[i].started)
			pthread_join(a->workers[i].thr, NULL);
		ca_eng_free(a->workers[i].eng);
		db_close(a->workers[i].db);
	}
	free(a->workers);
	a->workers = NULL;
	a->nworkers = 0;
}

struct api *
api_start(const struct api_conf *conf, struct cm_err *err)
{
	struct api		*a;
	struct cm_http_config	 hc;

	if ((a = calloc(1, sizeof(*a))) == NULL) {
		cm_err_set(err, CM_ENOMEM, "api", "out of memory");
		return NULL;
	}
	pthread_mutex_init(&a->mtx, NULL);
	pthread_cond_init(&a->cond, NULL);
	a->tailp = &a->head;
	a->pool = conf->pool;
	a->conf = *conf;
	if (uv_loop_init(&a->loop) != 0) {
		cm_err_set(err, CM_EIO, "api", "uv_loop_init failed");
		pthread_mutex_destroy(&a->mtx);
		pthread_cond_destroy(&a->cond);
		free(a);
		return NULL;
	}
	uv_async_init(&a->loop, &a->stop_async, on_stop);
	a->stop_async.data = a;
	memset(&hc, 0, sizeof(hc));
	hc.host = conf->host != NULL ? conf->host : "127.0.0.1";
	hc.port = conf->port;
	hc.tls_cert_file = conf->tls_cert;
	hc.tls_key_file = conf->tls_key;
	hc.max_body = conf->max_body != 0 ? conf->max_body : 256 * 1024;
	hc.max_connections = 1000;
	hc.access_log = CM_HTTP_ALOG_CMLOG;
	hc.handler = on_request;
	hc.handler_arg = a;
	if ((a->srv = cm_http_server_new(&a->loop, &hc, err)) == NULL)
		goto fail;
	a->port = cm_http_server_port(a->srv);
	if (workers_start(a, conf, err) == -1)
		goto fail;
	if (uv_thread_create(&a->loop_thr, loop_main, a) != 0) {
		cm_err_set(err, CM_EIO, "api", "cannot start the loop thread");
		goto fail;
	}
	a->loop_started = 1;
	return a;
fail:
	api_stop(a);
	return NULL;
}

uint16_t
api_port(const struct api *a)
{
	return a->port;
}

unsigned
api_workers(const struct api *a)
{
	return a->nworkers;
}

void
api_stop(struct api *a)
{
	if (a == NULL)
		return;
	if (a->loop_started) {
		/* The workers still run: they answer what is queued. */
		uv_async_send(&a->stop_async);
		uv_thread_join(&a->loop_thr);
	} else {
		if (a->srv != NULL)
			cm_http_server_shutdown(a->srv, NULL, NULL);
		uv_close((uv_handle_t *)&a->stop_async, NULL);
		uv_run(&a->loop, UV_RUN_DEFAULT);
	}
	workers_stop(a);
	cm_http_server_free(a->srv);
	uv_loop_close(&a->loop);
	pthread_mutex_destroy(&a->mtx);
	pthread_cond_destroy(&a->cond);
	free(a);
}
