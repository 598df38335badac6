/*
 * The API's threads: the HTTP loop (matching routes, queueing requests)
 * and the worker (authentication, scope, idempotency, the handlers).
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

struct job {
	struct cm_http_req	*req;
	const struct api_route	*route;
	char			*params[API_MAXPARAMS];
	struct job		*next;
};

struct api {
	uv_loop_t		 loop;
	uv_async_t		 stop_async;
	uv_thread_t		 loop_thr;
	struct cm_http_server	*srv;
	pthread_t		 worker;
	int			 worker_started, loop_started;
	pthread_mutex_t		 mtx;
	pthread_cond_t		 cond;
	struct job		*head, *tail;
	size_t			 nqueued;
	int			 stopping;
	struct db		*db;
	struct ca_eng		*eng;
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
handle(struct api *a, struct job *j, size_t queued)
{
	struct api_call	 c;
	struct cm_err	 err;
	const char	*key = NULL, *ctype, *replayed = NULL;
	char		*body = NULL;
	uint8_t		 h[32];
	int		 st;

	memset(&c, 0, sizeof(c));
	c.req = j->req;
	c.db = a->db;
	c.eng = a->eng;
	c.pool = a->pool;
	c.conf = &a->conf;
	c.queued = queued;
	memcpy(c.params, j->params, sizeof(c.params));
	memset(j->params, 0, sizeof(j->params));
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
		params_free(c.params);
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
	params_free(c.params);
}

static void *
worker_main(void *arg)
{
	struct api	*a = arg;
	struct job	*j;
	size_t		 queued;

	for (;;) {
		pthread_mutex_lock(&a->mtx);
		while (a->head == NULL && !a->stopping)
			pthread_cond_wait(&a->cond, &a->mtx);
		if ((j = a->head) == NULL) {
			pthread_mutex_unlock(&a->mtx);
			return NULL;
		}
		if ((a->head = j->next) == NULL)
			a->tail = NULL;
		queued = --a->nqueued;
		pthread_mutex_unlock(&a->mtx);
		handle(a, j, queued);
		free(j);
	}
}

/* ---- the loop thread ---- */

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
	pthread_mutex_lock(&a->mtx);
	if (a->tail != NULL)
		a->tail->next = j;
	else
		a->head = j;
	a->tail = j;
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
	a->pool = conf->pool;
	a->conf = *conf;
	if (uv_loop_init(&a->loop) != 0) {
		cm_err_set(err, CM_EIO, "api", "uv_loop_init failed");
		free(a);
		return NULL;
	}
	uv_async_init(&a->loop, &a->stop_async, on_stop);
	a->stop_async.data = a;
	if ((a->db = db_open(conf->dsn, 10, err)) == NULL ||
	    (a->eng = ca_eng_new(conf->eng_conf, a->db, conf->hsm, conf->pool,
	    conf->clock, err)) == NULL)
		goto fail;
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
	if (pthread_create(&a->worker, NULL, worker_main, a) != 0) {
		cm_err_set(err, CM_EIO, "api", "cannot start the worker");
		goto fail;
	}
	a->worker_started = 1;
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

void
api_stop(struct api *a)
{
	if (a == NULL)
		return;
	if (a->loop_started) {
		/* The worker still runs: it answers what is queued. */
		uv_async_send(&a->stop_async);
		uv_thread_join(&a->loop_thr);
	} else {
		if (a->srv != NULL)
			cm_http_server_shutdown(a->srv, NULL, NULL);
		uv_close((uv_handle_t *)&a->stop_async, NULL);
		uv_run(&a->loop, UV_RUN_DEFAULT);
	}
	if (a->worker_started) {
		pthread_mutex_lock(&a->mtx);
		a->stopping = 1;
		pthread_cond_signal(&a->cond);
		pthread_mutex_unlock(&a->mtx);
		pthread_join(a->worker, NULL);
	}
	cm_http_server_free(a->srv);
	uv_loop_close(&a->loop);
	ca_eng_free(a->eng);
	db_close(a->db);
	pthread_mutex_destroy(&a->mtx);
	pthread_cond_destroy(&a->cond);
	free(a);
}
