/*
 * Unit tests for the HTTP server core (common/cm_http*.c, common/cm_tls.c).
 *
 * Each test starts a server on 127.0.0.1 with an ephemeral port in its own
 * thread and drives it with real sockets (and TLS with a certificate made
 * here), then shuts it down gracefully and checks the loop closes cleanly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <zlib.h>

#include "common/cm_buf.h"
#include "common/cm_http.h"
#include "common/cm_http_file.h"

#define MTIME	1700000000

/* ---- the server under test --------------------------------------------- */

struct tsrv {
	struct cm_http_config	 cfg;
	struct cm_http_server	*srv;
	struct cm_http_file	*file;
	struct cm_http_file	*big;
	uint8_t			*content;	/* identity bytes of /file */
	size_t			 content_len;
	uint8_t			*bigdata;
	size_t			 big_len;
	uv_loop_t		 loop;
	pthread_t		 thr;
	pthread_mutex_t		 mtx;
	pthread_cond_t		 cv;
	int			 ready;
	int			 loop_close_rc;
	uint16_t		 port;
	int			 async_delay_ms;
	size_t			 big_size;	/* default 3 MiB + 17 */
	int			 sendfile;	/* /big from a memfd */
};

struct job {
	struct cm_http_req	*req;
	struct tsrv		*t;
	char			 path[256];
};

static void
sleep_ms(int ms)
{
	struct timespec	ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void *
async_worker(void *arg)
{
	struct job		*j = arg;
	struct cm_http_resp	*resp;
	char			 body[300];

	sleep_ms(j->t->async_delay_ms);
	snprintf(body, sizeof(body), "async:%s", j->path);
	resp = cm_http_resp_new(200);
	assert_non_null(resp);
	assert_int_equal(cm_http_resp_body_copy(resp, body, strlen(body)), 0);
	cm_http_respond_async(j->req, resp);
	free(j);
	return NULL;
}

static void
handler(struct cm_http_req *req, void *arg)
{
	struct tsrv		*t = arg;
	struct cm_http_resp	*resp;

	if (strcmp(req->path, "/file") == 0) {
		cm_http_file_respond(req, t->file);
	} else if (strcmp(req->path, "/big") == 0) {
		cm_http_file_respond(req, t->big);
	} else if (strncmp(req->path, "/async", 6) == 0) {
		struct job	*j = calloc(1, sizeof(*j));
		pthread_t	 th;

		assert_non_null(j);
		j->req = req;
		j->t = t;
		snprintf(j->path, sizeof(j->path), "%s", req->path);
		assert_int_equal(pthread_create(&th, NULL, async_worker, j), 0);
		pthread_detach(th);
	} else if (strcmp(req->path, "/echo") == 0) {
		resp = cm_http_resp_new(200);
		assert_non_null(resp);
		cm_http_resp_header(resp, "X-Method", req->method_str);
		cm_http_resp_body_copy(resp, req->body, req->body_len);
		cm_http_respond(req, resp);
	} else if (strncmp(req->path, "/hdr/", 5) == 0) {
		/* The value of the header named in the path, in brackets. */
		const char	*v = cm_http_req_header(req, req->path + 5);
		char		 b[512];

		snprintf(b, sizeof(b), "[%s] %zu %s", v ? v : "(none)",
		    req->nheaders, req->query ? req->query : "-");
		resp = cm_http_resp_new(v ? 200 : 404);
		assert_non_null(resp);
		cm_http_resp_body_copy(resp, b, strlen(b));
		cm_http_respond(req, resp);
	} else if (strcmp(req->path, "/reload") == 0) {
		/* What cairn-pubd does on SIGHUP, here on the loop thread. */
		struct cm_err	 err;
		int		 st = 200;

		if (cm_http_server_reopen_log(t->srv, &err) == -1 ||
		    cm_http_server_reload_tls(t->srv, &err) == -1)
			st = 500;
		resp = cm_http_resp_new(st);
		assert_non_null(resp);
		cm_http_resp_body_copy(resp, st == 200 ? "ok" : err.msg,
		    st == 200 ? 2 : strlen(err.msg));
		cm_http_respond(req, resp);
	} else if (strncmp(req->path, "/seq/", 5) == 0) {
		resp = cm_http_resp_new(200);
		assert_non_null(resp);
		cm_http_resp_body_copy(resp, req->path, strlen(req->path));
		cm_http_respond(req, resp);
	} else
		cm_http_respond_status(req, 404);
}

static void *
server_main(void *arg)
{
	struct tsrv	*t = arg;
	struct cm_err	 err;

	assert_int_equal(uv_loop_init(&t->loop), 0);
	t->srv = cm_http_server_new(&t->loop, &t->cfg, &err);
	if (t->srv == NULL)
		fail_msg("server: %s", err.msg);
	pthread_mutex_lock(&t->mtx);
	t->port = cm_http_server_port(t->srv);
	t->ready = 1;
	pthread_cond_signal(&t->cv);
	pthread_mutex_unlock(&t->mtx);
	uv_run(&t->loop, UV_RUN_DEFAULT);
	cm_http_server_free(t->srv);
	/* Everything of the server is closed: the loop must close. */
	t->loop_close_rc = uv_loop_close(&t->loop);
	return NULL;
}

static uint8_t *
make_content(size_t n)
{
	uint8_t		*p = malloc(n);
	const char	*pat = "<publish uri=\"rsync://example.net/repo/x.roa\">"
	    "MIIGxyz</publish>\n";

	assert_non_null(p);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)pat[i % strlen(pat)];
	return p;
}

static struct cm_http_file *
make_file(uint8_t **copy, size_t n, size_t *len, int sendfile)
{
	struct cm_http_file_opts	 o = {
	    .content_type = "application/xml", .cache_control = "max-age=60",
	    .mtime = MTIME, .gzip = 1, .sendfile = sendfile };
	struct cm_http_file		*f;
	struct cm_err			 err;
	uint8_t				*d = make_content(n);

	*copy = malloc(n);
	assert_non_null(*copy);
	memcpy(*copy, d, n);
	*len = n;
	f = cm_http_file_new(d, n, &o, &err);
	assert_non_null(f);
	return f;
}

static void
tsrv_start(struct tsrv *t)
{
	if (t->cfg.host == NULL)
		t->cfg.host = "127.0.0.1";
	t->cfg.port = 0;
	t->cfg.handler = handler;
	t->cfg.handler_arg = t;
	if (t->cfg.access_log == CM_HTTP_ALOG_CMLOG)
		t->cfg.access_log = CM_HTTP_ALOG_OFF;
	if (t->async_delay_ms == 0)
		t->async_delay_ms = 50;
	t->file = make_file(&t->content, 3000, &t->content_len, t->sendfile);
	if (t->big_size == 0)
		t->big_size = 3 * 1024 * 1024 + 17;
	t->big = make_file(&t->bigdata, t->big_size, &t->big_len,
	    t->sendfile);
	pthread_mutex_init(&t->mtx, NULL);
	pthread_cond_init(&t->cv, NULL);
	assert_int_equal(pthread_create(&t->thr, NULL, server_main, t), 0);
	pthread_mutex_lock(&t->mtx);
	while (!t->ready)
		pthread_cond_wait(&t->cv, &t->mtx);
	pthread_mutex_unlock(&t->mtx);
}

static void
tsrv_stop(struct tsrv *t)
{
	cm_http_server_shutdown_async(t->srv);
	pthread_join(t->thr, NULL);
	assert_int_equal(t->loop_close_rc, 0);
	cm_http_file_unref(t->file);
	cm_http_file_unref(t->big);
	free(t->content);
	free(t->bigdata);
	pthread_mutex_destroy(&t->mtx);
	pthread_cond_destroy(&t->cv);
}

/* ---- the client ---------------------------------------------------------- */

struct client {
	int	 fd;
	SSL	*ssl;
	SSL_CTX	*ctx;
	uint8_t	 buf[1 << 16];
	size_t	 len;
};

struct resp {
	int	 status;
	char	 head[8192];
	uint8_t	*body;
	size_t	 blen;
};

static int
connect_port(uint16_t port)
{
	struct sockaddr_in	sa;
	struct timeval		tv = { 5, 0 };
	int			fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static struct client *
cl_open(uint16_t port)
{
	struct client	*c = calloc(1, sizeof(*c));

	assert_non_null(c);
	c->fd = connect_port(port);
	assert_true(c->fd >= 0);
	return c;
}

static void
cl_close(struct client *c)
{
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	SSL_CTX_free(c->ctx);
	close(c->fd);
	free(c);
}

static void
cl_send(struct client *c, const char *s)
{
	size_t	n = strlen(s), off = 0;
	ssize_t	w;

	if (c->ssl != NULL) {
		assert_int_equal(SSL_write(c->ssl, s, (int)n), (int)n);
		return;
	}
	while (off < n) {
		w = send(c->fd, s + off, n - off, MSG_NOSIGNAL);
		assert_true(w > 0);
		off += (size_t)w;
	}
}

/* Reads more bytes into c->buf; returns the count, 0 on EOF, -1 on error. */
static ssize_t
cl_fill(struct client *c)
{
	ssize_t	n;

	if (c->len == sizeof(c->buf))
		return -1;
	if (c->ssl != NULL) {
		n = SSL_read(c->ssl, c->buf + c->len, (int)(sizeof(c->buf) -
		    c->len));
		if (n <= 0)
			return SSL_get_error(c->ssl, (int)n) ==
			    SSL_ERROR_ZERO_RETURN ? 0 : -1;
	} else
		n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
	if (n > 0)
		c->len += (size_t)n;
	return n;
}

/* 1 if the server closed the connection (EOF or reset) without more data. */
static int
cl_closed(struct client *c)
{
	ssize_t	n = cl_fill(c);

	return n == 0 || (n < 0 && c->ssl == NULL && errno == ECONNRESET) ||
	    (n < 0 && c->ssl != NULL);
}

static int
get_hdr(const struct resp *r, const char *name, char *out, size_t n)
{
	const char	*p = r->head;
	size_t		 nl = strlen(name);

	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char	*v = p + nl + 1, *e;

			while (*v == ' ')
				v++;
			e = strstr(v, "\r\n");
			snprintf(out, n, "%.*s", (int)(e - v), v);
			return 1;
		}
	}
	return 0;
}

/* Reads one response (head_req: the request was HEAD).  0, or -1 on EOF. */
static int
cl_read(struct client *c, struct resp *r, int head_req)
{
	uint8_t	*end;
	size_t	 hl, cl = 0;
	char	 v[64];

	memset(r, 0, sizeof(*r));
	while ((end = memmem(c->buf, c->len, "\r\n\r\n", 4)) == NULL)
		if (cl_fill(c) <= 0)
			return -1;
	hl = (size_t)(end - c->buf) + 4;
	assert_true(hl < sizeof(r->head));
	memcpy(r->head, c->buf, hl);
	assert_int_equal(sscanf(r->head, "HTTP/1.1 %d", &r->status), 1);
	if (get_hdr(r, "Content-Length", v, sizeof(v)))
		cl = strtoul(v, NULL, 10);
	if (head_req || r->status == 304)
		cl = 0;
	memmove(c->buf, c->buf + hl, c->len - hl);
	c->len -= hl;
	r->body = malloc(cl + 1);
	assert_non_null(r->body);
	while (r->blen < cl) {
		size_t	take;

		if (c->len == 0 && cl_fill(c) <= 0)
			return -1;
		take = cl - r->blen < c->len ? cl - r->blen : c->len;
		memcpy(r->body + r->blen, c->buf, take);
		r->blen += take;
		memmove(c->buf, c->buf + take, c->len - take);
		c->len -= take;
	}
	r->body[r->blen] = '\0';
	return 0;
}

static void
resp_free(struct resp *r)
{
	free(r->body);
	r->body = NULL;
}

/* One request on c, checking the status; the response stays in r. */
static void
roundtrip(struct client *c, const char *req, int status, struct resp *r)
{
	cl_send(c, req);
	assert_int_equal(cl_read(c, r, strncmp(req, "HEAD ", 5) == 0), 0);
	assert_int_equal(r->status, status);
}

/* ---- tests --------------------------------------------------------------- */

static void
test_get_head(void **state)
{
	struct tsrv	 t = { 0 };
	struct client	*c;
	struct resp	 r;
	char		 v[128], lm[30];

	tsrv_start(&t);
	c = cl_open(t.port);
	roundtrip(c, "GET /file HTTP/1.1\r\nHost: x\r\n\r\n", 200, &r);
	assert_int_equal(r.blen, t.content_len);
	assert_memory_equal(r.body, t.content, t.content_len);
	assert_true(get_hdr(&r, "ETag", v, sizeof(v)));
	assert_string_equal(v, cm_http_file_etag(t.file));
	assert_int_equal(strlen(v), 66);
	assert_true(get_hdr(&r, "Content-Type", v, sizeof(v)));
	assert_string_equal(v, "application/xml");
	assert_true(get_hdr(&r, "Cache-Control", v, sizeof(v)));
	assert_string_equal(v, "max-age=60");
	assert_true(get_hdr(&r, "Last-Modified", v, sizeof(v)));
	cm_http_date(MTIME, lm);
	assert_string_equal(v, lm);
	assert_string_equal(lm, "Tue, 14 Nov 2023 22:13:20 GMT");
	assert_true(get_hdr(&r, "Vary", v, sizeof(v)));
	assert_false(get_hdr(&r, "Content-Encoding", v, sizeof(v)));
	resp_free(&r);

	/* HEAD: the length of the GET body, and no body on the wire. */
	roundtrip(c, "HEAD /file HTTP/1.1\r\nHost: x\r\n\r\n", 200, &r);
	assert_true(get_hdr(&r, "Content-Length", v, sizeof(v)));
	assert_int_equal(strtoul(v, NULL, 10), t.content_len);
	resp_free(&r);
	/* The next response starts right after the HEAD response's head. */
	roundtrip(c, "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", 404, &r);
	assert_string_equal((char *)r.body, "Not Found");
	resp_free(&r);
	roundtrip(c, "DELETE /file HTTP/1.1\r\nHost: x\r\n\r\n", 405, &r);
	assert_true(get_hdr(&r, "Allow", v, sizeof(v)));
	assert_string_equal(v, "GET, HEAD");
	resp_free(&r);
	/* A large file (several TCP writes) arrives intact. */
	roundtrip(c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n", 200, &r);
	assert_int_equal(r.blen, t.big_len);
	assert_memory_equal(r.body, t.bigdata, t.big_len);
	resp_free(&r);
	cl_close(c);
	tsrv_stop(&t);
}

static void
test_keepalive_and_pipelining(void **state)
{
	struct tsrv	 t = { 0 };
	struct client	*c;
	struct resp	 r;
	char		 req[128], want[64];

	tsrv_start(&t);
	c = cl_open(t.port);
	for (int i = 0; i < 10; i++) {
		snprintf(req, sizeof(req),
		    "GET /seq/%d HTTP/1.1\r\nHost: x\r\n\r\n", i);
		roundtrip(c, req, 200, &r);
		snprintf(want, sizeof(want), "/seq/%d", i);
		assert_string_equal((char *)r.body, want);
		assert_false(get_hdr(&r, "Connection", want, sizeof(want)));
		resp_free(&r);
	}
	/*
	 * Pipelined in one write; the first is answered late by another
	 * thread, the later ones at once: the order must still hold.
	 */
	cl_send(c, "GET /async/a HTTP/1.1\r\nHost: x\r\n\r\n"
	    "GET /seq/b HTTP/1.1\r\nHost: x\r\n\r\n"
	    "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
	    "GET /seq/c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	assert_int_equal(cl_read(c, &r, 0), 0);
	assert_string_equal((char *)r.body, "async:/async/a");
	resp_free(&r);
	assert_int_equal(cl_read(c, &r, 0), 0);
	assert_string_equal((char *)r.body, "/seq/b");
	resp_free(&r);
	assert_int_equal(cl_read(c, &r, 0), 0);
	assert_string_equal((char *)r.body, "hello");
	assert_true(get_hdr(&r, "X-Method", want, sizeof(want)));
	assert_string_equal(want, "POST");
	resp_free(&r);
	assert_int_equal(cl_read(c, &r, 0), 0);
	assert_string_equal((char *)r.body, "/seq/c");
	assert_true(get_hdr(&r, "Connection", want, sizeof(want)));
	assert_string_equal(want, "close");
	resp_free(&r);
	assert_true(cl_closed(c));
	cl_close(c);
	tsrv_stop(&t);
}

/*
 * Far more pipelined requests than the server reads ahead of the one it
 * answers (64 KiB), sent before any answer is read, behind one answered
 * late by another thread: reading pauses and resumes, and every answer
 * comes, in order.
 */
static void
test_pipeline_backlog(void **state)
{
	struct tsrv	 t = { 0 };
	struct client	*c;
	struct resp	 r;
	struct cm_buf	 all = CM_BUF_INIT;
	char		 want[64];
	int		 i, n = 2500;

	t.async_delay_ms = 300;
	tsrv_start(&t);
	c = cl_open(t.port);
	cl_send(c, "GET /async/first HTTP/1.1\r\nHost: x\r\n\r\n");
	sleep_ms(50);	/* the rest arrives while the first is handled */
	for (i = 0; i < n; i++)
		assert_int_equal(cm_buf_printf(&all, "GET /seq/%d HTTP/1.1\r\n"
		    "Host: x\r\n\r\n", i), 0);
	assert_true(all.len > 64 * 1024);
	assert_non_null(cm_buf_cstr(&all));
	cl_send(c, (const char *)all.data);
	assert_int_equal(cl_read(c, &r, 0), 0);
	assert_string_equal((char *)r.body, "async:/async/first");
	resp_free(&r);
	for (i = 0; i < n; i++) {
		assert_int_equal(cl_read(c, &r, 0), 0);
		assert_int_equal(r.status, 200);
		snprintf(want, sizeof(want), "/seq/%d", i);
		assert_string_equal((char *)r.body, want);
		resp_free(&r);
	}
	cm_buf_free(&all);
	cl_close(c);
	tsrv_stop(&t);
}

static void
test_headers(void **state)
{
	struct tsrv	 t = { 0 };
	struct client	*c;
	struct resp	 r;

	tsrv_start(&t);
	c = cl_open(t.port);
	roundtrip(c, "GET /hdr/x-empty?a=1&b HTTP/1.1\r\nHost: x\r\n"
	    "X-Empty:\r\nX-Two:  spaced value \t \r\n\r\n", 200, &r);
	assert_string_equal((char *)r.body, "[] 3 a=1&b");
	resp_free(&r);
	roundtrip(c, "GET /hdr/X-TWO HTTP/1.1\r\nHost: x\r\n"
	    "X-Empty:\r\nX-Two:  spaced value \t \r\n\r\n", 200, &r);
	assert_string_equal((char *)r.body, "[spaced value] 3 -");
	resp_free(&r);
	/* Names are matched case-insensitively; the first one wins. */
	roundtrip(c, "GET /hdr/x-dup HTTP/1.1\r\nhost: x\r\n"
	    "X-Dup: 1\r\nx-dup: 2\r\n\r\n", 200, &r);
	assert_string_equal((char *)r.body, "[1] 3 -");
	resp_free(&r);
	roundtrip(c, "GET /hdr/x-none HTTP/1.1\r\nHost: x\r\n\r\n", 404,
	    &r);
	resp_free(&r);
	cl_close(c);
	tsrv_stop(&t);
}

static void
test_http10(void **state)
{
	struct tsrv	 t = { 0 };
	struct client	*c;
	struct resp	 r;
	char		 v[64];

	tsrv_start(&t);
	c = cl_open(t.port);
	roundtrip(c, "GET /seq/1 HTTP/1.0\r\n\r\n", 200, &r);
	assert_true(get_hdr(&r, "Connection", v, sizeof(v)));
	assert_string_equal(v, "close");
	resp_free(&r);
	assert_true(cl_closed(c));
	cl_close(c);
	c = cl_open(t.port);
	roundtrip(c, "GET /seq/1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
	    200, &r);
	assert_true(get_hdr(&r, "Connection", v, sizeof(v)));
	assert_string_equal(v, "keep-alive");
	resp_free(&r);
	roundtrip(c, "GET /seq/2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
	    200, &r);
	assert_string_equal((char *)r.body, "/seq/2");
	resp_free(&r);
	cl_close(c);
	tsrv_stop(&t);
}

static void
test_conditional(void **state)
{
	struct tsrv	 t = { 0 };
	struct client	*c;
	struct resp	 r;
	char		 req[512], v[128], d[30];
	const char	*etag;

	tsrv_start(&t);
	etag = cm_http_file_etag(t.file);
	c = cl_open(t.port);
	snprintf(req, sizeof(req), "GET /file HTTP/1.1\r\nHost: x\r\n"
	    "If-None-Match: \"abc\", %s\r\n\r\n", etag);
	roundtrip(c, req, 304, &r);
	assert_int_equal(r.blen, 0);
	assert_false(get_hdr(&r, "Content-Length", v, sizeof(v)));
	assert_true(get_hdr(&r, "ETag", v, sizeof(v)));
	assert_string_equal(v, etag);
	assert_true(get_hdr(&r, "Cache-Control", v, sizeof(v)));
	resp_free(&r);
	/* Weak comparison, as RFC 9110 requires for If-None-Match. */
	snprintf(req, sizeof(req), "GET /file HTTP/1.1\r\nHost: x\r\n"
	    "If-None-Match: W/%s\r\n\r\n", etag);
	roundtrip(c, req, 304, &r);
	resp_free(&r);
	roundtrip(c, "GET /file HTTP/1.1\r\nHost: x\r\n"
	    "If-None-Match: \"other\"\r\n\r\n", 200, &r);
	assert_int_equal(r.blen, t.content_len);
	resp_free(&r);
	/* If-None-Match wins over If-Modified-Since. */
	cm_http_date(MTIME + 10, d);
	snprintf(req, sizeof(req), "GET /file HTTP/1.1\r\nHost: x\r\n"
	    "If-None-Match: \"other\"\r\nIf-Modified-Since: %s\r\n\r\n", d);
	roundtrip(c, req, 200, &r);
	resp_free(&r);
	snprintf(req, sizeof(req), "GET /file HTTP/1.1\r\nHost: x\r\n"
	    "If-Modified-Since: %s\r\n\r\n", d);
	roundtrip(c, req, 304, &r);
	resp_free(&r);
	cm_http_date(MTIME - 1, d);
	snprintf(req, sizeof(req), "HEAD /file HTTP/1.1\r\nHost: x\r\n"
	    "If-Modified-Since: %s\r\n\r\n", d);
	roundtrip(c, req, 200, &r);
	resp_free(&r);
	roundtrip(c, "GET /file HTTP/1.1\r\nHost: x\r\n"
	    "If-Modified-Since: yesterday\r\n\r\n", 200, &r);
	resp_free(&r);
	cl_close(c);
	tsrv_stop(&t);
}

static void
gunzip_check(const struct resp *r, const uint8_t *want, size_t wlen)
{
	z_stream	 z;
	uint8_t		*out = malloc(wlen + 16);

	assert_non_null(out);
	memset(&z, 0, sizeof(z));
	assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = r->body;
	z.avail_in = (uInt)r->blen;
	z.next_out = out;
	z.avail_out = (uInt)(wlen + 16);
	assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
	assert_int_equal(z.total_out, wlen);
	assert_memory_equal(out, want, wlen);
	inflateEnd(&z);
	free(out);
}

static void
test_gzip(void **state)
{
	struct tsrv	 t = { 0 };
	struct client	*c;
	struct resp	 r;
	char		 v[128];

	assert_true(cm_http_accepts_gzip("gzip"));
	assert_true(cm_http_accepts_gzip("deflate, gzip;q=0.5"));
	assert_true(cm_http_accepts_gzip("br, *"));
	assert_true(cm_http_accepts_gzip("X-GZIP"));
	assert_false(cm_http_accepts_gzip(NULL));
	assert_false(cm_http_accepts_gzip("identity"));
	assert_false(cm_http_accepts_gzip("gzip;q=0"));
	assert_false(cm_http_accepts_gzip("gzip; q=0.0, *"));
	assert_false(cm_http_accepts_gzip("*;q=0"));
	assert_false(cm_http_accepts_gzip("gzipx"));

	tsrv_start(&t);
	assert_true(cm_http_file_gzip_len(t.file) > 0);
	assert_true(cm_http_file_gzip_len(t.file) < t.content_len / 4);
	c = cl_open(t.port);
	roundtrip(c, "GET /file HTTP/1.1\r\nHost: x\r\n"
	    "Accept-Encoding: br, gzip, deflate\r\n\r\n", 200, &r);
	assert_true(get_hdr(&r, "Content-Encoding", v, sizeof(v)));
	assert_string_equal(v, "gzip");
	assert_true(get_hdr(&r, "Vary", v, sizeof(v)));
	assert_string_equal(v, "Accept-Encoding");
	assert_int_equal(r.blen, cm_http_file_gzip_len(t.file));
	/* A different representation has a different strong ETag. */
	assert_true(get_hdr(&r, "ETag", v, sizeof(v)));
	assert_string_not_equal(v, cm_http_file_etag(t.file));
	gunzip_check(&r, t.content, t.content_len);
	resp_free(&r);
	roundtrip(c, "GET /file HTTP/1.1\r\nHost: x\r\n"
	    "Accept-Encoding: gzip;q=0, deflate\r\n\r\n", 200, &r);
	assert_false(get_hdr(&r, "Content-Encoding", v, sizeof(v)));
	assert_int_equal(r.blen, t.content_len);
	resp_free(&r);
	/* The big file, compressed once at creation, served many times. */
	for (int i = 0; i < 3; i++) {
		roundtrip(c, "GET /big HTTP/1.1\r\nHost: x\r\n"
		    "Accept-Encoding: gzip\r\n\r\n", 200, &r);
		gunzip_check(&r, t.bigdata, t.big_len);
		resp_free(&r);
	}
	cl_close(c);
	tsrv_stop(&t);
}

static void
test_limits(void **state)
{
	struct tsrv	 t = { 0 };
	struct client	*c;
	struct resp	 r;
	char		*big;
	size_t		 n;

	t.cfg.max_body = 1000;
	t.cfg.max_header_size = 2048;
	t.cfg.max_request_line = 512;
	t.cfg.max_headers = 10;
	tsrv_start(&t);

	c = cl_open(t.port);
	roundtrip(c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1001"
	    "\r\n\r\n", 413, &r);
	assert_string_equal((char *)r.body, "Content Too Large");
	resp_free(&r);
	assert_true(cl_closed(c));
	cl_close(c);

	/* Chunked: the limit applies to the decoded body as it arrives. */
	c = cl_open(t.port);
	big = malloc(4096);
	assert_non_null(big);
	memset(big, 'a', 4096);
	n = (size_t)snprintf(big, 4096, "POST /echo HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n800\r\n");
	big[n] = 'a';
	big[n + 2048] = '\0';
	roundtrip(c, big, 413, &r);
	resp_free(&r);
	cl_close(c);

	/* Exactly the limit is fine. */
	c = cl_open(t.port);
	memset(big, 'b', 4096);
	n = (size_t)snprintf(big, 4096, "POST /echo HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 1000\r\n\r\n");
	big[n] = 'b';
	big[n + 1000] = '\0';
	roundtrip(c, big, 200, &r);
	assert_int_equal(r.blen, 1000);
	resp_free(&r);
	cl_close(c);

	c = cl_open(t.port);
	memset(big, 'h', 4096);
	n = (size_t)snprintf(big, 4096, "GET /seq/1 HTTP/1.1\r\nX-Long: ");
	big[n] = 'h';
	memcpy(big + 3000, "\r\n\r\n", 5);
	roundtrip(c, big, 431, &r);
	resp_free(&r);
	assert_true(cl_closed(c));
	cl_close(c);

	c = cl_open(t.port);
	big[0] = '\0';
	strcat(big, "GET /seq/1 HTTP/1.1\r\n");
	for (int i = 0; i < 12; i++)
		snprintf(big + strlen(big), 64, "X-H%d: v\r\n", i);
	strcat(big, "\r\n");
	roundtrip(c, big, 431, &r);
	resp_free(&r);
	cl_close(c);

	c = cl_open(t.port);
	memset(big, 'u', 4096);
	memcpy(big, "GET /", 5);
	memcpy(big + 700, " HTTP/1.1\r\n\r\n", 14);
	roundtrip(c, big, 414, &r);
	resp_free(&r);
	cl_close(c);
	free(big);
	tsrv_stop(&t);
}

static void
test_malformed(void **state)
{
	static const char *const bad[] = {
		"GARBAGE\r\n\r\n",
		("GET /seq/1 HTTP/1.1\r\nContent-Length: 5\r\n"
		"Transfer-Encoding: chunked\r\n\r\n"),
		"GET /seq/1 HTTP/1.1\r\nBad Header: x\r\n\r\n",
		"GET /seq/1 HTTP/9.9\r\n\r\n",
		"GET /seq/1 HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
		"GET /seq/1 HTTP/1.1\r\n\r\n",
		"GET /seq/1 HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
	};
	struct tsrv	 t = { 0 };
	struct client	*c;
	struct resp	 r;

	tsrv_start(&t);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = cl_open(t.port);
		roundtrip(c, bad[i], 400, &r);
		resp_free(&r);
		assert_true(cl_closed(c));
		cl_close(c);
	}
	/* A good request before the bad one is still answered first. */
	c = cl_open(t.port);
	cl_send(c, "GET /seq/ok HTTP/1.1\r\nHost: x\r\n\r\nBAD\x01 / HTTP/1.1"
	    "\r\n\r\n");
	assert_int_equal(cl_read(c, &r, 0), 0);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	assert_int_equal(cl_read(c, &r, 0), 0);
	assert_int_equal(r.status, 400);
	resp_free(&r);
	assert_true(cl_closed(c));
	cl_close(c);
	tsrv_stop(&t);
}

static void
test_timeouts(void **state)
{
	struct tsrv	 t = { 0 };
	struct client	*c;
	struct resp	 r;
	struct timespec	 a, b;
	double		 el;

	t.cfg.idle_timeout_ms = 200;
	t.cfg.read_timeout_ms = 300;
	tsrv_start(&t);
	c = cl_open(t.port);
	roundtrip(c, "GET /seq/1 HTTP/1.1\r\nHost: x\r\n\r\n", 200, &r);
	resp_free(&r);
	clock_gettime(CLOCK_MONOTONIC, &a);
	/* Idle keep-alive: closed by the server, well before our 5 s. */
	assert_true(cl_closed(c));
	clock_gettime(CLOCK_MONOTONIC, &b);
	el = (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
	assert_true(el < 4.0);
	cl_close(c);

	/* A client too slow to finish its request head gets 408. */
	c = cl_open(t.port);
	cl_send(c, "GET /seq/1 HTTP/1.1\r\nHo");
	assert_int_equal(cl_read(c, &r, 0), 0);
	assert_int_equal(r.status, 408);
	resp_free(&r);
	assert_true(cl_closed(c));
	cl_close(c);
	tsrv_stop(&t);
}

static void
write_timeout(int sendfile)
{
	struct tsrv	 t = { 0 };
	struct client	*c;
	int		 small = 4096;
	size_t		 total = 0;
	ssize_t		 n;

	t.cfg.write_timeout_ms = 300;
	t.big_size = 48 * 1024 * 1024;
	t.sendfile = sendfile;
	tsrv_start(&t);
	c = calloc(1, sizeof(*c));
	assert_non_null(c);
	/* A client that asks for a big file and stops reading. */
	c->fd = connect_port(t.port);
	setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	cl_send(c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
	sleep_ms(1500);
	/* The server gave up on the stalled write and closed. */
	while ((n = recv(c->fd, c->buf, sizeof(c->buf), 0)) > 0)
		total += (size_t)n;
	assert_true(n == 0 || errno == ECONNRESET);
	assert_true(total < t.big_len);
	cl_close(c);
	tsrv_stop(&t);
}

static void
test_write_timeout(void **state)
{
	write_timeout(0);
	write_timeout(1);	/* the body from a memfd (sendfile) */
}

/* Open memfds of file bodies in this process (readlink of /proc/self/fd). */
static int
count_memfds(void)
{
	char	 path[64], target[128];
	ssize_t	 n;
	int	 fd, count = 0;

	for (fd = 0; fd < 1024; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if ((n = readlink(path, target, sizeof(target) - 1)) <= 0)
			continue;
		target[n] = '\0';
		if (strncmp(target, "/memfd:cairn-http-body", 22) == 0)
			count++;
	}
	return count;
}

static void
test_rbuf_memfd(void **state)
{
	struct cm_http_rbuf	*b;
	struct cm_err		 err;
	uint8_t			*d = make_content(100000), *copy;
	int			 before = count_memfds();

	copy = malloc(100000);
	assert_non_null(copy);
	memcpy(copy, d, 100000);
	/* Empty: refused, and the bytes stay the caller's. */
	assert_null(cm_http_rbuf_new_memfd(d, 0, &err));
	b = cm_http_rbuf_new_memfd(d, 100000, &err);
	assert_non_null(b);
	assert_true(b->fd >= 0);
	assert_int_equal(b->len, 100000);
	assert_memory_equal(b->data, copy, 100000);
	assert_int_equal(count_memfds(), before + 1);
	/* Sealed: the bytes behind an ETag cannot be changed. */
	assert_int_equal(pwrite(b->fd, "x", 1, 0), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(ftruncate(b->fd, 10), -1);
	assert_ptr_equal(cm_http_rbuf_ref(b), b);
	cm_http_rbuf_unref(b);
	assert_int_equal(count_memfds(), before + 1);
	cm_http_rbuf_unref(b);
	assert_int_equal(count_memfds(), before);
	free(copy);
}

/*
 * Reads one response on c with a pause after every chunk bytes, so that
 * the server finds the socket full again and again.
 */
static void
slow_read(struct client *c, struct resp *r, size_t chunk)
{
	size_t	 mark = chunk;
	uint8_t	*end;
	size_t	 hl, cl;
	ssize_t	 n;
	char	 v[64];

	memset(r, 0, sizeof(*r));
	while ((end = memmem(c->buf, c->len, "\r\n\r\n", 4)) == NULL)
		assert_true(cl_fill(c) > 0);
	hl = (size_t)(end - c->buf) + 4;
	memcpy(r->head, c->buf, hl);
	assert_int_equal(sscanf(r->head, "HTTP/1.1 %d", &r->status), 1);
	assert_true(get_hdr(r, "Content-Length", v, sizeof(v)));
	cl = strtoul(v, NULL, 10);
	r->body = malloc(cl + 1);
	assert_non_null(r->body);
	memcpy(r->body, c->buf + hl, c->len - hl);
	r->blen = c->len - hl;
	c->len = 0;
	while (r->blen < cl) {
		n = recv(c->fd, r->body + r->blen, cl - r->blen, 0);
		assert_true(n > 0);
		r->blen += (size_t)n;
		if (r->blen >= mark) {
			sleep_ms(5);
			mark += chunk;
		}
	}
}

/*
 * Bodies from a memfd with sendfile(2): GET, HEAD, 304, gzip and
 * keep-alive as from memory; a slow reader (short sendfile, EAGAIN, the
 * wait through libuv) gets every byte; clients that hang up in the middle
 * of a file, before and while the server waits for room, leave the
 * server serving; no memfd outlives its file.
 */
static void
test_sendfile(void **state)
{
	struct tsrv	 t = { 0 };
	struct client	*c;
	struct resp	 r;
	char		 v[128], req[256];
	int		 before = count_memfds(), small = 65536;
	size_t		 got;

	t.sendfile = 1;
	t.big_size = 8 * 1024 * 1024 + 5;	/* more than a socket buffer */
	tsrv_start(&t);
	/* /big's identity body is a memfd; /file is too small for one. */
	assert_int_equal(count_memfds(), before + 1);
	c = cl_open(t.port);
	for (int i = 0; i < 2; i++) {
		roundtrip(c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n", 200, &r);
		assert_int_equal(r.blen, t.big_len);
		assert_memory_equal(r.body, t.bigdata, t.big_len);
		assert_true(get_hdr(&r, "ETag", v, sizeof(v)));
		assert_string_equal(v, cm_http_file_etag(t.big));
		resp_free(&r);
	}
	/* HEAD sends no body: the next response follows the head. */
	roundtrip(c, "HEAD /big HTTP/1.1\r\nHost: x\r\n\r\n", 200, &r);
	assert_true(get_hdr(&r, "Content-Length", v, sizeof(v)));
	assert_int_equal(strtoul(v, NULL, 10), t.big_len);
	resp_free(&r);
	snprintf(req, sizeof(req), "GET /big HTTP/1.1\r\nHost: x\r\n"
	    "If-None-Match: %s\r\n\r\n", cm_http_file_etag(t.big));
	roundtrip(c, req, 304, &r);
	assert_int_equal(r.blen, 0);
	resp_free(&r);
	roundtrip(c, "GET /big HTTP/1.1\r\nHost: x\r\n"
	    "Accept-Encoding: gzip\r\n\r\n", 200, &r);
	gunzip_check(&r, t.bigdata, t.big_len);
	resp_free(&r);
	roundtrip(c, "GET /file HTTP/1.1\r\nHost: x\r\n\r\n", 200, &r);
	assert_memory_equal(r.body, t.content, t.content_len);
	resp_free(&r);
	cl_close(c);

	/* A slow reader with a small window, twice on one connection. */
	c = calloc(1, sizeof(*c));
	assert_non_null(c);
	c->fd = connect_port(t.port);
	setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	for (int i = 0; i < 2; i++) {
		cl_send(c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
		sleep_ms(200);	/* the socket fills up */
		slow_read(c, &r, 512 * 1024);
		assert_int_equal(r.status, 200);
		assert_int_equal(r.blen, t.big_len);
		assert_memory_equal(r.body, t.bigdata, t.big_len);
		resp_free(&r);
	}
	cl_close(c);

	/*
	 * Hang-ups in the middle of the file: seen by the server's read, or
	 * (after a half-close, when it no longer reads) by its next write or
	 * sendfile().
	 */
	for (int i = 0; i < 4; i++) {
		c = cl_open(t.port);
		cl_send(c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
		if (i >= 2)
			shutdown(c->fd, SHUT_WR);
		for (got = 0; got < 1000000; got += (size_t)cl_fill(c))
			c->len = 0;
		if (i % 2 == 1)
			sleep_ms(200);	/* the server waits for room */
		cl_close(c);	/* unread data: the kernel sends a reset */
	}
	c = cl_open(t.port);
	roundtrip(c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n", 200, &r);
	assert_int_equal(r.blen, t.big_len);
	assert_memory_equal(r.body, t.bigdata, t.big_len);
	resp_free(&r);
	cl_close(c);
	tsrv_stop(&t);
	assert_int_equal(count_memfds(), before);
}

static void
test_max_requests(void **state)
{
	struct tsrv	 t = { 0 };
	struct client	*c;
	struct resp	 r;
	char		 v[64];

	t.cfg.max_requests = 2;
	tsrv_start(&t);
	c = cl_open(t.port);
	roundtrip(c, "GET /seq/1 HTTP/1.1\r\nHost: x\r\n\r\n", 200, &r);
	assert_false(get_hdr(&r, "Connection", v, sizeof(v)));
	resp_free(&r);
	roundtrip(c, "GET /seq/2 HTTP/1.1\r\nHost: x\r\n\r\n", 200, &r);
	assert_true(get_hdr(&r, "Connection", v, sizeof(v)));
	assert_string_equal(v, "close");
	resp_free(&r);
	assert_true(cl_closed(c));
	cl_close(c);
	tsrv_stop(&t);
}

static void
test_conn_cap(void **state)
{
	struct tsrv	 t = { 0 }, t2 = { 0 };
	struct client	*c1, *c2, *c3;
	struct resp	 r;

	t.cfg.max_connections = 2;
	tsrv_start(&t);
	c1 = cl_open(t.port);
	c2 = cl_open(t.port);
	/* A request on each makes sure both have been accepted. */
	roundtrip(c1, "GET /seq/1 HTTP/1.1\r\nHost: x\r\n\r\n", 200, &r);
	resp_free(&r);
	roundtrip(c2, "GET /seq/2 HTTP/1.1\r\nHost: x\r\n\r\n", 200, &r);
	resp_free(&r);
	c3 = cl_open(t.port);
	assert_true(cl_closed(c3));
	cl_close(c3);
	/* After one leaves, there is room again. */
	cl_close(c1);
	for (int i = 0; i < 50; i++) {
		c3 = cl_open(t.port);
		cl_send(c3, "GET /seq/3 HTTP/1.1\r\nHost: x\r\n\r\n");
		if (cl_read(c3, &r, 0) == 0)
			break;
		cl_close(c3);
		c3 = NULL;
		sleep_ms(20);
	}
	assert_non_null(c3);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	cl_close(c3);
	cl_close(c2);
	tsrv_stop(&t);

	/* The 503 variant. */
	t2.cfg.max_connections = 1;
	t2.cfg.cap_reply_503 = 1;
	tsrv_start(&t2);
	c1 = cl_open(t2.port);
	roundtrip(c1, "GET /seq/1 HTTP/1.1\r\nHost: x\r\n\r\n", 200, &r);
	resp_free(&r);
	c2 = cl_open(t2.port);
	assert_int_equal(cl_read(c2, &r, 0), 0);
	assert_int_equal(r.status, 503);
	resp_free(&r);
	cl_close(c2);
	cl_close(c1);
	tsrv_stop(&t2);
}

static void
test_async_many(void **state)
{
	struct tsrv	 t = { 0 };
	struct client	*c[8];
	struct resp	 r;
	char		 req[128], want[64];

	t.async_delay_ms = 20;
	tsrv_start(&t);
	for (int i = 0; i < 8; i++) {
		c[i] = cl_open(t.port);
		snprintf(req, sizeof(req),
		    "GET /async/%d HTTP/1.1\r\nHost: x\r\n\r\n", i);
		cl_send(c[i], req);
	}
	for (int i = 7; i >= 0; i--) {
		assert_int_equal(cl_read(c[i], &r, 0), 0);
		assert_int_equal(r.status, 200);
		snprintf(want, sizeof(want), "async:/async/%d", i);
		assert_string_equal((char *)r.body, want);
		resp_free(&r);
		cl_close(c[i]);
	}
	/* A client that leaves before its async answer: dropped cleanly. */
	c[0] = cl_open(t.port);
	cl_send(c[0], "GET /async/gone HTTP/1.1\r\nHost: x\r\n\r\n");
	cl_close(c[0]);
	sleep_ms(100);
	tsrv_stop(&t);
}

static void
test_no_query_and_shutdown(void **state)
{
	struct tsrv	 t = { 0 };
	struct client	*c, *c2;
	struct resp	 r;
	char		 v[64];

	t.cfg.handler_flags = CM_HTTP_NO_QUERY;
	t.async_delay_ms = 300;
	tsrv_start(&t);
	c = cl_open(t.port);
	roundtrip(c, "GET /file?x=1 HTTP/1.1\r\nHost: x\r\n\r\n", 400, &r);
	resp_free(&r);
	roundtrip(c, "GET /file HTTP/1.1\r\nHost: x\r\n\r\n", 200, &r);
	resp_free(&r);

	/* Graceful shutdown while a request is being handled. */
	cl_send(c, "GET /async/late HTTP/1.1\r\nHost: x\r\n\r\n");
	c2 = cl_open(t.port);	/* idle: closed by the shutdown */
	sleep_ms(50);
	cm_http_server_shutdown_async(t.srv);
	assert_int_equal(cl_read(c, &r, 0), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal((char *)r.body, "async:/async/late");
	assert_true(get_hdr(&r, "Connection", v, sizeof(v)));
	assert_string_equal(v, "close");
	resp_free(&r);
	assert_true(cl_closed(c));
	assert_true(cl_closed(c2));
	cl_close(c);
	cl_close(c2);
	pthread_join(t.thr, NULL);
	assert_int_equal(t.loop_close_rc, 0);
	/* Nobody listens any more. */
	assert_int_equal(connect_port(t.port), -1);
	cm_http_file_unref(t.file);
	cm_http_file_unref(t.big);
	free(t.content);
	free(t.bigdata);
}

static void
test_access_log(void **state)
{
	struct tsrv	 t = { 0 };
	struct client	*c;
	struct resp	 r;
	char		 path[] = "/tmp/cm_http_log_XXXXXX", line[1024], want[256];
	FILE		*f;
	int		 fd;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	t.cfg.access_log = CM_HTTP_ALOG_FILE;
	t.cfg.access_log_path = path;
	tsrv_start(&t);
	c = cl_open(t.port);
	roundtrip(c, "GET /file HTTP/1.1\r\nHost: x\r\nUser-Agent: t\"a\r\n"
	    "Referer: http://r/\r\n\r\n", 200, &r);
	resp_free(&r);
	roundtrip(c, "HEAD /nope HTTP/1.1\r\nHost: x\r\n\r\n", 404, &r);
	resp_free(&r);
	cl_close(c);
	tsrv_stop(&t);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	assert_true(strncmp(line, "127.0.0.1 - - [", 15) == 0);
	snprintf(want, sizeof(want), "+0000] \"GET /file HTTP/1.1\" 200 %zu "
	    "\"http://r/\" \"t\\x22a\"\n", t.content_len);
	assert_non_null(strstr(line, want));
	assert_non_null(fgets(line, sizeof(line), f));
	assert_non_null(strstr(line, "\"HEAD /nope HTTP/1.1\" 404 0 \"-\" \"-\""));
	fclose(f);
	unlink(path);
}

/* 1 if the file at path has a line containing s. */
static int
file_has(const char *path, const char *s)
{
	char	 line[1024];
	FILE	*f;
	int	 found = 0;

	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, s) != NULL;
	fclose(f);
	return found;
}

/* The access log reopened after rotation; a failed reopen keeps the old. */
static void
test_access_log_reopen(void **state)
{
	struct tsrv	 t = { 0 };
	struct client	*c;
	struct resp	 r;
	char		 dir[] = "/tmp/cm_http_log_XXXXXX";
	char		 path[64], old[80];

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/access.log", dir);
	snprintf(old, sizeof(old), "%s.1", path);
	t.cfg.access_log = CM_HTTP_ALOG_FILE;
	t.cfg.access_log_path = path;
	tsrv_start(&t);
	c = cl_open(t.port);
	assert_int_equal(rename(path, old), 0);
	roundtrip(c, "GET /seq/before HTTP/1.1\r\nHost: x\r\n\r\n", 200, &r);
	resp_free(&r);
	roundtrip(c, "GET /reload HTTP/1.1\r\nHost: x\r\n\r\n", 200, &r);
	resp_free(&r);
	roundtrip(c, "GET /seq/after HTTP/1.1\r\nHost: x\r\n\r\n", 200, &r);
	resp_free(&r);
	/* The access log line follows the response: wait for it. */
	for (int i = 0; i < 100 && !file_has(path, "/seq/after"); i++)
		sleep_ms(10);
	assert_true(file_has(old, "/seq/before"));
	assert_false(file_has(old, "/seq/after"));
	assert_true(file_has(path, "/seq/after"));
	/* A directory in the file's place: the reopen fails, names it. */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	roundtrip(c, "GET /reload HTTP/1.1\r\nHost: x\r\n\r\n", 500, &r);
	assert_non_null(strstr((char *)r.body, path));
	resp_free(&r);
	roundtrip(c, "GET /seq/still HTTP/1.1\r\nHost: x\r\n\r\n", 200, &r);
	resp_free(&r);
	cl_close(c);
	tsrv_stop(&t);
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(unlink(old), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* ---- TLS ----------------------------------------------------------------- */

static char tls_dir[64];

/* A self-signed P-256 certificate for 127.0.0.1 and its key, as PEM files. */
static void
make_cert(char *cert, char *key, size_t n)
{
	EVP_PKEY	*pk = EVP_EC_gen("P-256");
	X509		*x = X509_new();
	X509_NAME	*nm;
	X509_EXTENSION	*ext;
	X509V3_CTX	 v3;
	FILE		*f;

	assert_non_null(pk);
	assert_non_null(x);
	snprintf(tls_dir, sizeof(tls_dir), "/tmp/cm_http_tls_XXXXXX");
	assert_non_null(mkdtemp(tls_dir));
	snprintf(cert, n, "%s/cert.pem", tls_dir);
	snprintf(key, n, "%s/key.pem", tls_dir);
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	nm = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
	    (const unsigned char *)"localhost", -1, -1, 0);
	X509_set_issuer_name(x, nm);
	X509_set_pubkey(x, pk);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name,
	    "IP:127.0.0.1,DNS:localhost");
	assert_non_null(ext);
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	assert_true(X509_sign(x, pk, EVP_sha256()) > 0);
	assert_non_null(f = fopen(cert, "w"));
	assert_int_equal(PEM_write_X509(f, x), 1);
	fclose(f);
	assert_non_null(f = fopen(key, "w"));
	assert_int_equal(PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL,
	    NULL), 1);
	fclose(f);
	X509_free(x);
	EVP_PKEY_free(pk);
}

static struct client *
tls_open(uint16_t port, const char *cafile, int version)
{
	struct client	*c = cl_open(port);

	c->ctx = SSL_CTX_new(TLS_client_method());
	assert_non_null(c->ctx);
	assert_int_equal(SSL_CTX_load_verify_locations(c->ctx, cafile, NULL),
	    1);
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	if (version != 0) {
		SSL_CTX_set_min_proto_version(c->ctx, version);
		SSL_CTX_set_max_proto_version(c->ctx, version);
	}
	c->ssl = SSL_new(c->ctx);
	assert_non_null(c->ssl);
	assert_int_equal(X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl),
	    "127.0.0.1"), 1);
	assert_int_equal(SSL_set_alpn_protos(c->ssl,
	    (const unsigned char *)"\x02h2\x08http/1.1", 12), 0);
	SSL_set_fd(c->ssl, c->fd);
	if (SSL_connect(c->ssl) != 1) {
		ERR_print_errors_fp(stderr);
		fail_msg("TLS handshake failed");
	}
	assert_int_equal(SSL_get_verify_result(c->ssl), X509_V_OK);
	return c;
}

static void
tls_case(int sendfile)
{
	struct tsrv		 t = { 0 };
	struct client		*c;
	struct resp		 r;
	char			 cert[128], key[128];
	const unsigned char	*alpn;
	unsigned		 alen;
	const int		 versions[] = { TLS1_3_VERSION, TLS1_2_VERSION };

	make_cert(cert, key, sizeof(cert));
	t.cfg.tls_cert_file = cert;
	t.cfg.tls_key_file = key;
	t.sendfile = sendfile;
	tsrv_start(&t);
	for (int i = 0; i < 2; i++) {
		c = tls_open(t.port, cert, versions[i]);
		assert_int_equal(SSL_version(c->ssl), versions[i]);
		SSL_get0_alpn_selected(c->ssl, &alpn, &alen);
		assert_int_equal(alen, 8);
		assert_memory_equal(alpn, "http/1.1", 8);
		roundtrip(c, "GET /file HTTP/1.1\r\nHost: x\r\n\r\n", 200, &r);
		assert_int_equal(r.blen, t.content_len);
		assert_memory_equal(r.body, t.content, t.content_len);
		resp_free(&r);
		/* Keep-alive, a large body in several records, pipelining. */
		roundtrip(c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n", 200, &r);
		assert_int_equal(r.blen, t.big_len);
		assert_memory_equal(r.body, t.bigdata, t.big_len);
		resp_free(&r);
		cl_send(c, "GET /async/x HTTP/1.1\r\nHost: x\r\n\r\n"
		    "GET /seq/y HTTP/1.1\r\nHost: x\r\n\r\n");
		assert_int_equal(cl_read(c, &r, 0), 0);
		assert_string_equal((char *)r.body, "async:/async/x");
		resp_free(&r);
		assert_int_equal(cl_read(c, &r, 0), 0);
		assert_string_equal((char *)r.body, "/seq/y");
		resp_free(&r);
		cl_close(c);
	}
	/* Plaintext HTTP to the TLS port: the handshake fails, then close. */
	c = cl_open(t.port);
	cl_send(c, "GET /file HTTP/1.1\r\nHost: x\r\n\r\n");
	while (cl_fill(c) > 0)
		;
	assert_null(memmem(c->buf, c->len, "HTTP/1.1 200", 12));
	cl_close(c);
	tsrv_stop(&t);
	unlink(cert);
	unlink(key);
	rmdir(tls_dir);
}

/* Copies the file from to the file to. */
static void
copy_file(const char *from, const char *to)
{
	char	 buf[8192];
	size_t	 n;
	FILE	*in, *out;

	assert_non_null(in = fopen(from, "r"));
	assert_non_null(out = fopen(to, "w"));
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	assert_int_equal(fclose(out), 0);
}

/*
 * A renewed certificate serves new connections while an open one goes
 * on; a bad certificate or a mismatched key is refused, naming the file,
 * and the current one stays.
 */
static void
test_tls_reload(void **state)
{
	struct tsrv	 t = { 0 };
	struct client	*c, *c2;
	struct resp	 r;
	char		 cert[128], key[128], cert2[128], key2[128];
	char		 dir1[64], dir2[64], ca2[160], key1[160];

	make_cert(cert, key, sizeof(cert));
	snprintf(dir1, sizeof(dir1), "%s", tls_dir);
	make_cert(cert2, key2, sizeof(cert2));
	snprintf(dir2, sizeof(dir2), "%s", tls_dir);
	snprintf(ca2, sizeof(ca2), "%s/ca2.pem", dir1);
	snprintf(key1, sizeof(key1), "%s/key1.pem", dir1);
	copy_file(cert2, ca2);
	copy_file(key, key1);
	t.cfg.tls_cert_file = cert;
	t.cfg.tls_key_file = key;
	tsrv_start(&t);
	c = tls_open(t.port, cert, TLS1_3_VERSION);
	/* The files renewed in place, then the reload (on c). */
	copy_file(cert2, cert);
	copy_file(key2, key);
	roundtrip(c, "GET /reload HTTP/1.1\r\nHost: x\r\n\r\n", 200, &r);
	resp_free(&r);
	/* c goes on with the old certificate; new ones get the new one. */
	roundtrip(c, "GET /file HTTP/1.1\r\nHost: x\r\n\r\n", 200, &r);
	resp_free(&r);
	c2 = tls_open(t.port, ca2, TLS1_3_VERSION);
	roundtrip(c2, "GET /file HTTP/1.1\r\nHost: x\r\n\r\n", 200, &r);
	assert_memory_equal(r.body, t.content, t.content_len);
	resp_free(&r);
	cl_close(c2);
	/* Garbage in the certificate file: refused, the new one stays. */
	copy_file(key2, cert);
	roundtrip(c, "GET /reload HTTP/1.1\r\nHost: x\r\n\r\n", 500, &r);
	assert_non_null(strstr((char *)r.body, cert));
	resp_free(&r);
	/* The old key with the new certificate: refused too. */
	copy_file(cert2, cert);
	copy_file(key1, key);
	roundtrip(c, "GET /reload HTTP/1.1\r\nHost: x\r\n\r\n", 500, &r);
	assert_non_null(strstr((char *)r.body, key));
	resp_free(&r);
	c2 = tls_open(t.port, ca2, TLS1_3_VERSION);
	roundtrip(c2, "GET /file HTTP/1.1\r\nHost: x\r\n\r\n", 200, &r);
	resp_free(&r);
	cl_close(c2);
	cl_close(c);
	tsrv_stop(&t);
	unlink(cert);
	unlink(key);
	unlink(ca2);
	unlink(key1);
	rmdir(dir1);
	unlink(cert2);
	unlink(key2);
	rmdir(dir2);
}

static void
test_tls(void **state)
{
	tls_case(0);
	tls_case(1);	/* a memfd body goes through TLS from its mapping */
}

/* ---- curl ---------------------------------------------------------------- */

static void
run_curl(const char *args, char *out, size_t n)
{
	FILE	*p;
	size_t	 got;

	p = popen(args, "r");
	assert_non_null(p);
	got = fread(out, 1, n - 1, p);
	out[got] = '\0';
	assert_int_equal(pclose(p), 0);
}

static void
test_curl(void **state)
{
	struct tsrv	 t = { 0 };
	char		 cmd[1024], out[256], cert[128], key[128];
	char		 body[] = "/tmp/cm_http_curl_XXXXXX";
	uint8_t		*got;
	size_t		 glen;
	FILE		*f;
	int		 fd;

	make_cert(cert, key, sizeof(cert));
	fd = mkstemp(body);
	assert_true(fd >= 0);
	close(fd);
	t.cfg.tls_cert_file = cert;
	t.cfg.tls_key_file = key;
	tsrv_start(&t);
	/* --compressed: curl asks for gzip and decodes it. */
	snprintf(cmd, sizeof(cmd), "curl -sS --compressed --cacert %s -o %s "
	    "-w '%%{http_code} %%{size_download}' https://127.0.0.1:%u/file",
	    cert, body, t.port);
	run_curl(cmd, out, sizeof(out));
	snprintf(cmd, sizeof(cmd), "200 %zu", cm_http_file_gzip_len(t.file));
	assert_string_equal(out, cmd);
	f = fopen(body, "r");
	assert_non_null(f);
	got = malloc(t.content_len + 1);
	glen = fread(got, 1, t.content_len + 1, f);
	fclose(f);
	assert_int_equal(glen, t.content_len);
	assert_memory_equal(got, t.content, t.content_len);
	free(got);
	/* A POST body with Expect: 100-continue. */
	snprintf(cmd, sizeof(cmd), "head -c 5000 /dev/zero | tr '\\0' z | "
	    "curl -sS --cacert %s -H 'Expect: 100-continue' --data-binary @- "
	    "-o /dev/null -w '%%{http_code} %%{size_download}' "
	    "https://127.0.0.1:%u/echo", cert, t.port);
	run_curl(cmd, out, sizeof(out));
	assert_string_equal(out, "200 5000");
	tsrv_stop(&t);
	unlink(body);
	unlink(cert);
	unlink(key);
	rmdir(tls_dir);
}

static void
test_ipv6(void **state)
{
	struct tsrv		 t = { 0 };
	struct sockaddr_in6	 sa;
	struct timeval		 tv = { 5, 0 };
	struct client		*c;
	struct resp		 r;

	t.cfg.host = "::1";
	tsrv_start(&t);
	c = calloc(1, sizeof(*c));
	assert_non_null(c);
	c->fd = socket(AF_INET6, SOCK_STREAM, 0);
	assert_true(c->fd >= 0);
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	memset(&sa, 0, sizeof(sa));
	sa.sin6_family = AF_INET6;
	sa.sin6_port = htons(t.port);
	sa.sin6_addr = in6addr_loopback;
	assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	roundtrip(c, "GET /seq/6 HTTP/1.1\r\nHost: x\r\n\r\n", 200, &r);
	assert_string_equal((char *)r.body, "/seq/6");
	resp_free(&r);
	cl_close(c);
	tsrv_stop(&t);
}

static void
test_config_errors(void **state)
{
	struct cm_http_config	 cfg = { 0 };
	struct cm_err		 err;
	uv_loop_t		 loop;

	assert_int_equal(uv_loop_init(&loop), 0);
	cfg.handler = handler;
	cfg.host = "not-an-address";
	assert_null(cm_http_server_new(&loop, &cfg, &err));
	assert_non_null(strstr(err.msg, "not-an-address"));
	/* A port in use: the handles opened so far close on the next run. */
	{
		struct tsrv	t = { 0 };

		tsrv_start(&t);
		cfg.host = "127.0.0.1";
		cfg.port = t.port;
		assert_null(cm_http_server_new(&loop, &cfg, &err));
		assert_non_null(strstr(err.msg, "address already in use"));
		assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
		cfg.port = 0;
		tsrv_stop(&t);
	}
	cfg.host = "127.0.0.1";
	cfg.tls_cert_file = "/nonexistent/cert.pem";
	cfg.tls_key_file = "/nonexistent/key.pem";
	assert_null(cm_http_server_new(&loop, &cfg, &err));
	assert_non_null(strstr(err.msg, "/nonexistent/cert.pem"));
	assert_int_equal(uv_loop_close(&loop), 0);
}

static void
test_dates(void **state)
{
	char	d[30];
	int64_t	t;

	cm_http_date(784111777, d);
	assert_string_equal(d, "Sun, 06 Nov 1994 08:49:37 GMT");
	assert_int_equal(cm_http_parse_date(d, &t), 0);
	assert_int_equal(t, 784111777);
	assert_int_equal(cm_http_parse_date("Sunday, 06-Nov-94 08:49:37 GMT",
	    &t), -1);
	assert_int_equal(cm_http_parse_date("Sun, 06 Nov 1994 08:49:37 UTC",
	    &t), -1);
	assert_int_equal(cm_http_parse_date("Sun, 06 Xyz 1994 08:49:37 GMT",
	    &t), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_get_head),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_keepalive_and_pipelining),
		cmocka_unit_test(test_pipeline_backlog),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_http10),
		cmocka_unit_test(test_conditional),
		cmocka_unit_test(test_gzip),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_timeouts),
		cmocka_unit_test(test_write_timeout),
		cmocka_unit_test(test_rbuf_memfd),
		cmocka_unit_test(test_sendfile),
		cmocka_unit_test(test_max_requests),
		cmocka_unit_test(test_conn_cap),
		cmocka_unit_test(test_async_many),
		cmocka_unit_test(test_no_query_and_shutdown),
		cmocka_unit_test(test_access_log),
		cmocka_unit_test(test_access_log_reopen),
		cmocka_unit_test(test_tls),
		cmocka_unit_test(test_tls_reload),
		cmocka_unit_test(test_curl),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
