/* The HTTP server: listener, async hand-over, shutdown, access log. */
#include "common/cm_http_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cm_log.h"

static void	async_cb(uv_async_t *a);

static char *
dup_opt(const char *s, int *fail)
{
	char	*d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*fail = 1;
	return d;
}

static void
apply_defaults(struct cm_http_config *c)
{
#define DEF(f, v)	do { if (c->f == 0) c->f = (v); } while (0)
	DEF(max_request_line, 8192);
	DEF(max_header_size, 16384);
	DEF(max_headers, 64);
	DEF(max_body, 1024 * 1024);
	DEF(max_connections, 10000);
	DEF(idle_timeout_ms, 15000);
	DEF(read_timeout_ms, 30000);
	DEF(write_timeout_ms, 60000);
#undef DEF
}

static void
on_connection(uv_stream_t *l, int status)
{
	struct cm_http_server	*srv = l->data;

	if (status < 0) {
		cm_warn("http: accept: %s", uv_strerror(status));
		return;
	}
	cm_http__accept(srv);
}

static int
listen_on(struct cm_http_server *srv, struct cm_err *err)
{
	struct sockaddr_storage	ss;
	const char		*host = srv->host ? srv->host : "::";
	int			 rc, len = sizeof(ss);

	if (strchr(host, ':') != NULL)
		rc = uv_ip6_addr(host, srv->cfg.port, (struct sockaddr_in6 *)&ss);
	else
		rc = uv_ip4_addr(host, srv->cfg.port, (struct sockaddr_in *)&ss);
	if (rc != 0)
		return cm_err_set(err, CM_EINVAL, host,
		    "not an IPv4 or IPv6 address");
	if ((rc = uv_tcp_init(srv->loop, &srv->listener)) != 0)
		return cm_err_set(err, CM_EIO, host, "%s", uv_strerror(rc));
	srv->listener.data = srv;
	srv->listening = 1;
	if ((rc = uv_tcp_bind(&srv->listener, (struct sockaddr *)&ss, 0)) != 0 ||
	    (rc = uv_listen((uv_stream_t *)&srv->listener, 511,
	    on_connection)) != 0)
		return cm_err_set(err, CM_EIO, host, "port %u: %s",
		    srv->cfg.port, uv_strerror(rc));
	if ((rc = uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&ss,
	    &len)) != 0)
		return cm_err_set(err, CM_EIO, host, "%s", uv_strerror(rc));
	srv->cfg.port = ntohs(ss.ss_family == AF_INET6 ?
	    ((struct sockaddr_in6 *)&ss)->sin6_port :
	    ((struct sockaddr_in *)&ss)->sin_port);
	return 0;
}

/* Construction failed: the server is freed when its last handle closed. */
static void
abort_close_cb(uv_handle_t *h)
{
	struct cm_http_server	*srv = h->data;

	if (--srv->nabort == 0)
		cm_http_server_free(srv);
}

struct cm_http_server *
cm_http_server_new(uv_loop_t *loop, const struct cm_http_config *cfg,
    struct cm_err *err)
{
	struct cm_http_server	*srv;
	int			 fail = 0;

	if (cfg->handler == NULL) {
		cm_err_set(err, CM_EINVAL, "http", "no handler");
		return NULL;
	}
	if ((srv = calloc(1, sizeof(*srv))) == NULL) {
		cm_err_set(err, CM_ENOMEM, "http", "out of memory");
		return NULL;
	}
	srv->loop = loop;
	srv->cfg = *cfg;
	apply_defaults(&srv->cfg);
	srv->host = dup_opt(cfg->host, &fail);
	srv->cert = dup_opt(cfg->tls_cert_file, &fail);
	srv->key = dup_opt(cfg->tls_key_file, &fail);
	srv->alog_path = dup_opt(cfg->access_log_path, &fail);
	srv->server_name = dup_opt(cfg->server_name ? cfg->server_name :
	    "cairn", &fail);
	pthread_mutex_init(&srv->mtx, NULL);
	if (fail) {
		cm_err_set(err, CM_ENOMEM, "http", "out of memory");
		goto fail;
	}
	if (srv->cert != NULL &&
	    (srv->tls = cm_tls_ctx_new(srv->cert, srv->key ? srv->key :
	    srv->cert, err)) == NULL)
		goto fail;
	if (srv->cfg.access_log == CM_HTTP_ALOG_FILE) {
		if (srv->alog_path == NULL ||
		    (srv->alog = fopen(srv->alog_path, "a")) == NULL) {
			cm_err_set(err, CM_EIO, srv->alog_path ? srv->alog_path :
			    "access log", "cannot open for appending");
			goto fail;
		}
	}
	if (uv_async_init(loop, &srv->async, async_cb) != 0) {
		cm_err_set(err, CM_EIO, "http", "uv_async_init failed");
		goto fail;
	}
	srv->async.data = srv;
	srv->async_open = 1;
	if (listen_on(srv, err) == -1)
		goto fail;
	return srv;
fail:
	/*
	 * Handles already open must be closed before the memory goes; their
	 * close callbacks run on the next loop iteration and free srv.
	 */
	srv->nabort = srv->listening + srv->async_open;
	if (srv->listening)
		uv_close((uv_handle_t *)&srv->listener, abort_close_cb);
	if (srv->async_open)
		uv_close((uv_handle_t *)&srv->async, abort_close_cb);
	if (srv->nabort == 0)
		cm_http_server_free(srv);
	return NULL;
}

uint16_t
cm_http_server_port(const struct cm_http_server *srv)
{
	return srv->cfg.port;
}

unsigned
cm_http_server_nconns(const struct cm_http_server *srv)
{
	return srv->nconns;
}

static void
listener_closed(uv_handle_t *h)
{
	struct cm_http_server	*srv = h->data;

	srv->listening = 0;
	cm_http__maybe_done(srv);
}

static void
async_closed(uv_handle_t *h)
{
	struct cm_http_server	*srv = h->data;

	pthread_mutex_lock(&srv->mtx);
	srv->async_open = 0;
	pthread_mutex_unlock(&srv->mtx);
	if (srv->done != NULL)
		srv->done(srv->done_arg);
}

void
cm_http__maybe_done(struct cm_http_server *srv)
{
	if (!srv->stopping || srv->listening || srv->nconns > 0 ||
	    srv->norphans > 0 || !srv->async_open ||
	    uv_is_closing((uv_handle_t *)&srv->async))
		return;
	uv_close((uv_handle_t *)&srv->async, async_closed);
}

void
cm_http_server_shutdown(struct cm_http_server *srv, void (*done)(void *),
    void *arg)
{
	struct http_conn	*c, *next;

	if (srv->stopping)
		return;
	srv->stopping = 1;
	srv->done = done;
	srv->done_arg = arg;
	if (srv->listening)
		uv_close((uv_handle_t *)&srv->listener, listener_closed);
	for (c = srv->conns; c != NULL; c = next) {
		next = c->next;
		cm_http__conn_stop(c);
	}
	cm_http__maybe_done(srv);
}

void
cm_http_server_shutdown_async(struct cm_http_server *srv)
{
	pthread_mutex_lock(&srv->mtx);
	srv->stop_req = 1;
	if (srv->async_open)
		uv_async_send(&srv->async);
	pthread_mutex_unlock(&srv->mtx);
}

int
cm_http_server_reload_tls(struct cm_http_server *srv, struct cm_err *err)
{
	struct cm_tls_ctx	*ctx;

	if (srv->cert == NULL)
		return 0;
	if ((ctx = cm_tls_ctx_new(srv->cert, srv->key ? srv->key : srv->cert,
	    err)) == NULL)
		return -1;
	/*
	 * Each open connection's SSL holds a reference to the old SSL_CTX,
	 * so freeing our handle of it here ends nothing in flight.
	 */
	cm_tls_ctx_free(srv->tls);
	srv->tls = ctx;
	return 0;
}

int
cm_http_server_reopen_log(struct cm_http_server *srv, struct cm_err *err)
{
	FILE	*f;

	if (srv->alog == NULL)
		return 0;
	if ((f = fopen(srv->alog_path, "a")) == NULL)
		return cm_err_set(err, CM_EIO, srv->alog_path,
		    "cannot open for appending: %m");
	fclose(srv->alog);
	srv->alog = f;
	return 0;
}

void
cm_http_respond_async(struct cm_http_req *req, struct cm_http_resp *resp)
{
	struct http_req		*r = (struct http_req *)req;
	struct cm_http_server	*srv = r->srv;

	r->aresp = resp;
	r->anext = NULL;
	pthread_mutex_lock(&srv->mtx);
	if (srv->aq_tail != NULL)
		srv->aq_tail->anext = r;
	else
		srv->aq_head = r;
	srv->aq_tail = r;
	/*
	 * Sent under the lock: once it is released the loop may answer the
	 * request, finish a shutdown and free srv, so srv is not touched after.
	 */
	uv_async_send(&srv->async);
	pthread_mutex_unlock(&srv->mtx);
}

static void
async_cb(uv_async_t *a)
{
	struct cm_http_server	*srv = a->data;
	struct http_req		*r, *next;
	int			 stop;

	pthread_mutex_lock(&srv->mtx);
	r = srv->aq_head;
	srv->aq_head = srv->aq_tail = NULL;
	stop = srv->stop_req;
	srv->stop_req = 0;
	pthread_mutex_unlock(&srv->mtx);
	for (; r != NULL; r = next) {
		next = r->anext;
		cm_http_respond(&r->pub, r->aresp);
	}
	if (stop)
		cm_http_server_shutdown(srv, NULL, NULL);
}

void
cm_http_server_free(struct cm_http_server *srv)
{
	if (srv == NULL)
		return;
	if (srv->alog != NULL)
		fclose(srv->alog);
	cm_tls_ctx_free(srv->tls);
	pthread_mutex_destroy(&srv->mtx);
	free(srv->host);
	free(srv->cert);
	free(srv->key);
	free(srv->alog_path);
	free(srv->server_name);
	free(srv);
}

/* Quotes a field for the log: '"', '\\' and non-printables become \xHH. */
static void
log_quoted(struct cm_buf *b, const char *s)
{
	if (s == NULL || *s == '\0') {
		cm_buf_puts(b, "-");
		return;
	}
	for (; *s != '\0'; s++) {
		unsigned char	ch = (unsigned char)*s;

		if (ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\')
			cm_buf_printf(b, "\\x%02X", ch);
		else
			cm_buf_add(b, s, 1);
	}
}

void
cm_http__access_log(struct cm_http_server *srv, struct http_conn *c,
    const struct http_req *r, int status, size_t bytes)
{
	struct cm_buf	 b = CM_BUF_INIT;
	char		 ts[40];
	struct tm	 tm;
	time_t		 now = time(NULL);

	if (srv->cfg.access_log == CM_HTTP_ALOG_OFF)
		return;
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%d/%b/%Y:%H:%M:%S +0000", &tm);
	cm_buf_printf(&b, "%s - - [%s] \"", c->peer, ts);
	if (r != NULL && r->pub.target != NULL) {
		log_quoted(&b, r->pub.method_str);
		cm_buf_puts(&b, " ");
		log_quoted(&b, r->pub.target);
		cm_buf_printf(&b, " HTTP/1.%d", r->pub.http_minor);
	} else
		cm_buf_puts(&b, "-");
	cm_buf_printf(&b, "\" %d %zu \"", status, bytes);
	log_quoted(&b, r ? cm_http_req_header(&r->pub, "Referer") : NULL);
	cm_buf_puts(&b, "\" \"");
	log_quoted(&b, r ? cm_http_req_header(&r->pub, "User-Agent") : NULL);
	cm_buf_puts(&b, "\"");
	if (cm_buf_cstr(&b) != NULL) {
		if (srv->alog != NULL) {
			fprintf(srv->alog, "%s\n", b.data);
			fflush(srv->alog);
		} else
			cm_info("http: %s", b.data);
	}
	cm_buf_free(&b);
}
