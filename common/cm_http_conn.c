/*
 * One HTTP connection: reading (optionally through TLS), parsing with
 * llhttp, one request at a time, writing the response, timers.
 *
 * A connection never parses ahead: when a request is complete the parser
 * pauses and reading stops until its response has been written, so that
 * pipelined requests are answered in order and a client cannot queue up
 * unbounded work.
 */
#include "common/cm_http_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <time.h>

#include "common/cm_log.h"

#define READ_CHUNK	65536
#define TLS_CHUNK	65536	/* plaintext encrypted per write */
#define TLS_RECORD	16384	/* most plaintext in one TLS record */
#define PLAIN_CHUNK	(1024 * 1024)	/* bytes per write without TLS */
#define PIPELINE_MAX	(64 * 1024)	/* read ahead of the request handled */
#define SENDFILE_CHUNK	(8 * 1024 * 1024)	/* most per sendfile() */
#define SENDFILE_WAIT	(64 * 1024)	/* via libuv, to wait for room */

struct wreq {
	uv_write_t		 w;
	struct http_conn	*c;
	struct cm_buf		 buf;	/* owned bytes of this write */
};

static void	conn_close(struct http_conn *c);
static void	conn_process(struct http_conn *c);
static void	conn_error(struct http_conn *c, int status);
static void	pump(struct http_conn *c);
static void	start_reading(struct http_conn *c);

static void	raw_write(struct http_conn *c, struct wreq *w);
static void	on_timer(uv_timer_t *t);

static void
timer_set(struct http_conn *c, unsigned ms)
{
	uv_timer_start(&c->timer, on_timer, ms, 0);
}

void
cm_http__conn_timer(struct http_conn *c, unsigned ms)
{
	timer_set(c, ms);
}

/* ---- closing ------------------------------------------------------------- */

static void
conn_closed(uv_handle_t *h)
{
	struct http_conn	*c = h->data;
	struct cm_http_server	*srv = c->srv;

	if (--c->nhandles > 0)
		return;
	if (c->req != NULL && c->state == C_HANDLING) {
		/* The handler still has it: the answer is dropped on arrival. */
		c->req->conn = NULL;
		srv->norphans++;
	} else
		cm_http__req_free(c->req);
	cm_http_resp_free(c->resp);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	srv->nconns--;
	cm_tls_free(c->tls);
	cm_buf_free(&c->in);
	cm_buf_free(&c->head);
	free(c);
	cm_http__maybe_done(srv);
}

/* Closes at once; pending writes are cancelled. */
static void
conn_abort(struct http_conn *c)
{
	if (c->closing)
		return;
	c->closing = 1;
	uv_close((uv_handle_t *)&c->tcp, conn_closed);
	uv_close((uv_handle_t *)&c->timer, conn_closed);
}

/*
 * Closes with a reset: what the kernel still holds for a client that
 * stopped reading is dropped instead of trickling out after close().
 */
static void
conn_reset(struct http_conn *c)
{
	struct linger	l = { 1, 0 };
	uv_os_fd_t	fd;

	if (!c->closing && uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	conn_abort(c);
}

static void
shutdown_cb(uv_shutdown_t *s, int status)
{
	struct http_conn	*c = s->data;

	free(s);
	conn_abort(c);
}

/* Sends what is queued (and a TLS close_notify), then FIN, then closes. */
static void
conn_close(struct http_conn *c)
{
	uv_shutdown_t	*s;

	if (c->closing || c->shutting)
		return;
	c->shutting = 1;
	if (c->reading) {
		uv_read_stop((uv_stream_t *)&c->tcp);
		c->reading = 0;
	}
	if (c->tls != NULL && cm_tls_established(c->tls)) {
		struct wreq	*w;

		cm_tls_shutdown(c->tls);
		if ((w = calloc(1, sizeof(*w))) != NULL) {
			w->c = c;
			if (cm_tls_take_out(c->tls, &w->buf) > 0)
				raw_write(c, w);
			else
				free(w);
		}
		if (c->closing)
			return;
	}
	/* A client that never reads cannot hold the socket open for long. */
	timer_set(c, c->srv->cfg.write_timeout_ms);
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		conn_abort(c);
		return;
	}
	s->data = c;
	if (uv_shutdown(s, (uv_stream_t *)&c->tcp, shutdown_cb) != 0) {
		free(s);
		conn_abort(c);
	}
}

void
cm_http__conn_stop(struct http_conn *c)
{
	if (c->state == C_IDLE || c->state == C_READING)
		conn_close(c);
	else
		c->close_after = 1;
}

static void
on_timer(uv_timer_t *t)
{
	struct http_conn	*c = t->data;

	if (c->shutting || c->state == C_WRITING)
		conn_reset(c);	/* a stalled write or close */
	else if (c->state == C_READING)
		conn_error(c, 408);
	else
		conn_abort(c);	/* idle */
}

/* ---- writing ------------------------------------------------------------- */

static void response_done(struct http_conn *c);
static void stop_reading(struct http_conn *c);

static void
write_cb(uv_write_t *req, int status)
{
	struct wreq		*w = (struct wreq *)req;
	struct http_conn	*c = w->c;

	cm_buf_free(&w->buf);
	free(w);
	c->nwrites--;
	if (c->closing)
		return;
	if (status < 0) {
		conn_reset(c);
		return;
	}
	if (c->state != C_WRITING || c->shutting)
		return;
	/* The write timeout limits a stall, not a whole large response. */
	timer_set(c, c->srv->cfg.write_timeout_ms);
	pump(c);
}

/*
 * Writes b[0..nb-1]: at once as far as the socket takes them (no request,
 * no callback, and no epoll_ctl() when everything fits, the usual case),
 * the rest through uv_write.  w, if not NULL, owns the bytes (its buf)
 * and is consumed; one is allocated when the rest must wait.  1: all
 * written; 0: the rest is queued (write_cb follows); -1: the connection
 * is closed.
 */
static int
send_bufs(struct http_conn *c, uv_buf_t *b, unsigned nb, struct wreq *w)
{
	unsigned	i = 0;
	int		n = 0;

	if (c->closing)
		goto fail;
	if (c->nwrites == 0 &&
	    (n = uv_try_write((uv_stream_t *)&c->tcp, b, nb)) < 0) {
		if (n != UV_EAGAIN) {
			if (w != NULL)
				cm_buf_free(&w->buf);
			free(w);
			conn_reset(c);
			return -1;
		}
		n = 0;
	}
	for (; i < nb && (size_t)n >= b[i].len; i++)
		n -= (int)b[i].len;
	if (i == nb) {
		if (w != NULL)
			cm_buf_free(&w->buf);
		free(w);
		return 1;
	}
	b[i].base += n;
	b[i].len -= (size_t)n;
	if (w == NULL && (w = calloc(1, sizeof(*w))) == NULL)
		goto fail;
	w->c = c;
	c->nwrites++;
	if (uv_write(&w->w, (uv_stream_t *)&c->tcp, b + i, nb - i,
	    write_cb) == 0)
		return 0;
	c->nwrites--;
fail:
	if (w != NULL)
		cm_buf_free(&w->buf);
	free(w);
	conn_abort(c);
	return -1;
}

static void
raw_write(struct http_conn *c, struct wreq *w)
{
	uv_buf_t	b = uv_buf_init((char *)w->buf.data, (unsigned)w->buf.len);

	(void)send_bufs(c, &b, 1, w);
}

/* Sends pending TLS output (handshake messages, alerts).  0 or -1. */
static int
tls_flush(struct http_conn *c)
{
	struct wreq	*w;
	long		 n;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return -1;
	w->c = c;
	if ((n = cm_tls_take_out(c->tls, &w->buf)) <= 0) {
		free(w);
		return n == 0 ? 0 : -1;
	}
	raw_write(c, w);
	return c->closing ? -1 : 0;
}

/* Sends "100 Continue" for a request that expects it.  0 or -1. */
int
cm_http__conn_continue(struct http_conn *c)
{
	static const char	 cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	struct wreq		*w;
	struct cm_err		 err;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return -1;
	w->c = c;
	if (c->tls != NULL) {
		if (cm_tls_write(c->tls, (const uint8_t *)cont,
		    sizeof(cont) - 1, &err) == -1) {
			free(w);
			return -1;
		}
		free(w);
		return tls_flush(c);
	}
	if (cm_buf_add(&w->buf, cont, sizeof(cont) - 1) == -1) {
		free(w);
		return -1;
	}
	raw_write(c, w);
	return c->closing ? -1 : 0;
}

/*
 * A plaintext body in a memfd: sendfile(2) from it as far as the socket
 * takes it, the kernel copying from the memfd's pages.  libuv cannot wait
 * for room in the socket without a write of its own, so when the socket
 * is full the next few bytes go through uv_write from the mapping; its
 * write_cb pumps again.  1: go on; 0: a write is queued; -1: closed.
 */
static int
send_file(struct http_conn *c)
{
	uv_buf_t	b;
	uv_os_fd_t	sock;
	off_t		off = (off_t)(c->out_body - c->out_base);
	size_t		n = c->out_body_len;
	ssize_t		r;

	if (n > SENDFILE_CHUNK)
		n = SENDFILE_CHUNK;
	if (uv_fileno((uv_handle_t *)&c->tcp, &sock) != 0) {
		conn_abort(c);
		return -1;
	}
	if ((r = sendfile(sock, c->out_fd, &off, n)) > 0) {
		c->out_body += r;
		c->out_body_len -= (size_t)r;
		/* Short: the socket is full (it is non-blocking). */
		if ((size_t)r == n || c->out_body_len == 0)
			return 1;
	} else if (r == -1 && errno == EINTR)
		return 1;
	else if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
		/* The client went away (EPIPE, ECONNRESET). */
		conn_reset(c);
		return -1;
	}
	n = c->out_body_len < SENDFILE_WAIT ? c->out_body_len : SENDFILE_WAIT;
	b = uv_buf_init((char *)c->out_body, (unsigned)n);
	c->out_body += n;
	c->out_body_len -= n;
	return send_bufs(c, &b, 1, NULL);
}

/*
 * Sends the next piece of the response (encrypted with TLS), one write at
 * a time; when all is written the response is done.
 */
static void
pump(struct http_conn *c)
{
	struct cm_err	 err;
	uv_buf_t	 b[2];
	unsigned	 nb;
	size_t		 n;

	/* Each pass writes one piece; a piece that had to wait ends it. */
	for (;;) {
		if (c->nwrites > 0 || c->closing)
			return;
		if (c->out_head_len == 0 && c->out_body_len == 0) {
			response_done(c);
			return;
		}
		n = c->out_body_len;
		if (n > (c->tls != NULL ? TLS_CHUNK : PLAIN_CHUNK))
			n = c->tls != NULL ? TLS_CHUNK : PLAIN_CHUNK;
		if (c->tls != NULL) {
			/* A small response goes in one TLS record, not two. */
			if (c->out_head_len > 0 && n > 0 &&
			    c->out_head_len + n <= TLS_RECORD &&
			    c->out_head == c->head.data &&
			    cm_buf_add(&c->head, c->out_body, n) == 0) {
				if (cm_tls_write(c->tls, c->head.data,
				    c->head.len, &err) == -1)
					goto fail;
			} else if ((c->out_head_len > 0 && cm_tls_write(c->tls,
			    c->out_head, c->out_head_len, &err) == -1) ||
			    (n > 0 && cm_tls_write(c->tls, c->out_body, n,
			    &err) == -1))
				goto fail;
			c->out_head_len = 0;
			c->out_body += n;
			c->out_body_len -= n;
			if (tls_flush(c) == -1)
				goto fail;
			continue;
		}
		if (c->out_fd != -1 && c->out_body_len > 0) {
			/* The head first, then the body from its memfd. */
			if (c->out_head_len > 0) {
				b[0] = uv_buf_init((char *)c->out_head,
				    (unsigned)c->out_head_len);
				c->out_head_len = 0;
				(void)send_bufs(c, b, 1, NULL);
			} else
				(void)send_file(c);
			continue;
		}
		/* Plaintext: the bytes are written from where they are. */
		nb = 0;
		if (c->out_head_len > 0)
			b[nb++] = uv_buf_init((char *)c->out_head,
			    (unsigned)c->out_head_len);
		if (n > 0)
			b[nb++] = uv_buf_init((char *)c->out_body, (unsigned)n);
		c->out_head_len = 0;
		c->out_body += n;
		c->out_body_len -= n;
		if (send_bufs(c, b, nb, NULL) == -1)
			return;
	}
fail:
	conn_abort(c);
}

static int
build_head(struct http_conn *c, struct cm_http_resp *resp, int keep,
    int has_len, int minor)
{
	struct cm_http_server	*srv = c->srv;
	struct cm_buf		*h = &c->head;
	char			 st[4], num[24], *p;
	size_t			 n;
	time_t			 now;
	int			 rc = 0;

	cm_buf_reset(h);
	if ((now = time(NULL)) != srv->date_t) {
		cm_http_date(now, srv->date);
		srv->date_t = now;
	}
	/* Built with copies, not printf: this runs for every response. */
	st[0] = (char)('0' + resp->status / 100 % 10);
	st[1] = (char)('0' + resp->status / 10 % 10);
	st[2] = (char)('0' + resp->status % 10);
	st[3] = ' ';
	rc |= cm_buf_add(h, "HTTP/1.1 ", 9);
	rc |= cm_buf_add(h, st, 4);
	rc |= cm_buf_puts(h, cm_http_reason(resp->status));
	rc |= cm_buf_add(h, "\r\nDate: ", 8);
	rc |= cm_buf_add(h, srv->date, 29);
	rc |= cm_buf_add(h, "\r\nServer: ", 10);
	rc |= cm_buf_puts(h, srv->server_name);
	rc |= cm_buf_add(h, "\r\n", 2);
	rc |= cm_buf_add(h, resp->hdrs.data, resp->hdrs.len);
	if (has_len) {
		n = resp->body_len;
		p = num + sizeof(num);
		do
			*--p = (char)('0' + n % 10);
		while ((n /= 10) > 0);
		rc |= cm_buf_add(h, "Content-Length: ", 16);
		rc |= cm_buf_add(h, p, (size_t)(num + sizeof(num) - p));
		rc |= cm_buf_add(h, "\r\n", 2);
	}
	if (!keep)
		rc |= cm_buf_puts(h, "Connection: close\r\n");
	else if (minor == 0)
		rc |= cm_buf_puts(h, "Connection: keep-alive\r\n");
	rc |= cm_buf_puts(h, "\r\n");
	return rc ? -1 : 0;
}

void
cm_http__conn_send(struct http_conn *c, struct http_req *r,
    struct cm_http_resp *resp)
{
	const struct cm_http_config	*cfg = &c->srv->cfg;
	int				 keep, has_len, st = resp->status;

	c->resp = resp;
	c->state = C_WRITING;
	timer_set(c, cfg->write_timeout_ms);
	keep = r->keep_alive && !resp->close && !c->close_after &&
	    !c->srv->stopping && !c->eof &&
	    !(cfg->max_requests && c->nreq + 1 >= cfg->max_requests);
	if (!keep)
		c->close_after = 1;
	/* HEAD announces the length that GET would send. */
	has_len = st >= 200 && st != 204 && st != 304;
	if (build_head(c, resp, keep, has_len, r->pub.http_minor) == -1) {
		conn_abort(c);
		return;
	}
	c->sent_body = has_len && r->pub.method != CM_HTTP_HEAD ?
	    resp->body_len : 0;
	c->out_head = c->head.data;
	c->out_head_len = c->head.len;
	c->out_body = resp->body;
	c->out_body_len = c->sent_body;
	c->out_fd = -1;
	if (c->tls == NULL && resp->rbuf != NULL && resp->rbuf->fd != -1 &&
	    resp->body == resp->rbuf->data) {
		c->out_fd = resp->rbuf->fd;
		c->out_base = resp->rbuf->data;
	}
	pump(c);
}

/* ---- reading ------------------------------------------------------------- */

static void
alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct http_conn	*c = h->data;

	if (c->tls != NULL) {
		*buf = uv_buf_init((char *)c->srv->scratch,
		    sizeof(c->srv->scratch));
		return;
	}
	if (cm_buf_reserve(&c->in, READ_CHUNK) == -1) {
		*buf = uv_buf_init(NULL, 0);	/* libuv reports UV_ENOBUFS */
		return;
	}
	*buf = uv_buf_init((char *)c->in.data + c->in.len,
	    (unsigned)(c->in.cap - c->in.len - 1));
}

/* Decrypts everything available into c->in.  0 or -1. */
static int
tls_input(struct http_conn *c, const uint8_t *data, size_t len)
{
	struct cm_err	err;
	int		n;

	if (cm_tls_feed(c->tls, data, len) == -1)
		return -1;
	for (;;) {
		if (cm_buf_reserve(&c->in, READ_CHUNK) == -1)
			return -1;
		n = cm_tls_read(c->tls, c->in.data + c->in.len,
		    c->in.cap - c->in.len - 1, &err);
		if (n < 0) {
			cm_debug("http: %s: %s", c->peer, err.msg);
			tls_flush(c);	/* the alert, if any */
			return -1;
		}
		if (n == 0)
			break;
		c->in.len += (size_t)n;
	}
	return tls_flush(c);
}

static void
read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct http_conn	*c = s->data;

	if (nread == 0 || c->closing)
		return;
	if (nread < 0) {
		uv_read_stop(s);
		c->reading = 0;
		c->eof = 1;
		/* After a reset (not a half-close) nothing more can be sent. */
		if (c->state == C_IDLE || c->state == C_READING ||
		    nread != UV_EOF)
			conn_abort(c);
		else
			c->close_after = 1;
		return;
	}
	if (c->tls != NULL) {
		if (tls_input(c, (uint8_t *)buf->base, (size_t)nread) == -1) {
			if (!c->closing)
				conn_close(c);
			return;
		}
	} else
		c->in.len += (size_t)nread;
	/* A client that sends ahead of our responses waits when it is far. */
	if (c->state != C_IDLE && c->state != C_READING &&
	    c->in.len - c->in_off > PIPELINE_MAX)
		stop_reading(c);
	conn_process(c);
}

static void
start_reading(struct http_conn *c)
{
	if (c->reading || c->eof || c->closing || c->shutting)
		return;
	if (uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb) == 0)
		c->reading = 1;
	else
		conn_abort(c);
}

static void
stop_reading(struct http_conn *c)
{
	if (c->reading)
		uv_read_stop((uv_stream_t *)&c->tcp);
	c->reading = 0;
}

/* ---- the request cycle --------------------------------------------------- */

static void
dispatch(struct http_conn *c)
{
	struct cm_http_server	*srv = c->srv;
	struct http_req		*r = c->req;

	c->state = C_HANDLING;
	uv_timer_stop(&c->timer);
	/*
	 * Reading goes on while the request is handled (what arrives waits in
	 * c->in, see read_cb): stopping and restarting it would cost two
	 * epoll_ctl() per request.
	 */
	if ((srv->cfg.handler_flags & CM_HTTP_NO_QUERY) && r->pub.query) {
		cm_http_respond_status(&r->pub, 400);
		return;
	}
	srv->cfg.handler(&r->pub, srv->cfg.handler_arg);
}

static void
conn_process(struct http_conn *c)
{
	llhttp_errno_t	 e;
	const char	*start;
	int		 was = c->processing;

	c->processing = 1;
	while (!c->closing && !c->shutting &&
	    (c->state == C_IDLE || c->state == C_READING) &&
	    c->in_off < c->in.len) {
		start = (const char *)c->in.data + c->in_off;
		e = llhttp_execute(&c->parser, start, c->in.len - c->in_off);
		if (e == HPE_OK) {
			c->in_off = c->in.len;
			break;
		}
		if (e != HPE_PAUSED && e != HPE_PAUSED_UPGRADE) {
			cm_debug("http: %s: bad request: %s", c->peer,
			    llhttp_get_error_reason(&c->parser));
			conn_error(c, c->err_status ? c->err_status : 400);
			c->processing = was;
			return;
		}
		c->in_off = (size_t)(llhttp_get_error_pos(&c->parser) -
		    (const char *)c->in.data);
		if (e == HPE_PAUSED)
			llhttp_resume(&c->parser);
		else
			llhttp_resume_after_upgrade(&c->parser);
		dispatch(c);
	}
	if (!c->closing && c->in_off > 0) {
		memmove(c->in.data, c->in.data + c->in_off,
		    c->in.len - c->in_off);
		c->in.len -= c->in_off;
		c->in_off = 0;
	}
	c->processing = was;
}

static void
response_done(struct http_conn *c)
{
	cm_http__access_log(c->srv, c, c->req, c->resp->status,
	    c->sent_body);
	cm_http_resp_free(c->resp);
	cm_http__req_free(c->req);
	c->resp = NULL;
	c->req = NULL;
	c->nreq++;
	if (c->close_after) {
		conn_close(c);
		return;
	}
	c->state = C_IDLE;
	timer_set(c, c->srv->cfg.idle_timeout_ms);
	start_reading(c);
	/* Answered at once from conn_process(): its loop goes on. */
	if (!c->processing)
		conn_process(c);
}

/* Answers status and closes: the request could not be parsed or accepted. */
static void
conn_error(struct http_conn *c, int status)
{
	stop_reading(c);
	if (c->req == NULL && (c->req = cm_http__req_new(c)) == NULL) {
		conn_abort(c);
		return;
	}
	c->close_after = 1;
	c->state = C_HANDLING;
	cm_http_respond_status(&c->req->pub, status);
}

void
cm_http_respond(struct cm_http_req *req, struct cm_http_resp *resp)
{
	struct http_req		*r = (struct http_req *)req;
	struct cm_http_server	*srv = r->srv;
	struct http_conn	*c = r->conn;

	if (resp == NULL)
		resp = cm_http_resp_new(500);
	if (c == NULL) {
		srv->norphans--;
		cm_http__req_free(r);
		cm_http_resp_free(resp);
		cm_http__maybe_done(srv);
		return;
	}
	if (resp == NULL) {
		conn_abort(c);
		return;
	}
	cm_http__conn_send(c, r, resp);
}

/* ---- accepting ----------------------------------------------------------- */

static void
reject_closed(uv_handle_t *h)
{
	struct http_conn	*c = h->data;

	cm_tls_free(c->tls);
	free(c);
}

static void
reject(struct cm_http_server *srv, struct http_conn *c, int accepted)
{
	static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\n"
	    "Content-Type: text/plain\r\nContent-Length: 20\r\n"
	    "Retry-After: 5\r\nConnection: close\r\n\r\n"
	    "Service Unavailable\n";
	uv_buf_t	b = uv_buf_init((char *)busy, sizeof(busy) - 1);

	if (accepted && srv->cfg.cap_reply_503 && srv->tls == NULL)
		(void)uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
	uv_close((uv_handle_t *)&c->tcp, reject_closed);
}

static void
peer_name(uv_tcp_t *t, char *out, size_t len)
{
	struct sockaddr_storage	ss;
	int			sl = sizeof(ss);

	snprintf(out, len, "-");
	if (uv_tcp_getpeername(t, (struct sockaddr *)&ss, &sl) != 0)
		return;
	if (ss.ss_family == AF_INET6)
		uv_ip6_name((struct sockaddr_in6 *)&ss, out, len);
	else
		uv_ip4_name((struct sockaddr_in *)&ss, out, len);
}

void
cm_http__accept(struct cm_http_server *srv)
{
	struct http_conn	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		cm_error("http: out of memory accepting a connection");
		return;
	}
	c->srv = srv;
	c->out_fd = -1;
	uv_tcp_init(srv->loop, &c->tcp);
	c->tcp.data = c;
	if (uv_accept((uv_stream_t *)&srv->listener,
	    (uv_stream_t *)&c->tcp) != 0) {
		reject(srv, c, 0);
		return;
	}
	if (srv->stopping || srv->nconns >= srv->cfg.max_connections ||
	    (srv->tls != NULL && (c->tls = cm_tls_new(srv->tls)) == NULL)) {
		if (srv->nconns >= srv->cfg.max_connections)
			cm_debug("http: connection cap %u reached",
			    srv->cfg.max_connections);
		reject(srv, c, 1);
		return;
	}
	uv_timer_init(srv->loop, &c->timer);
	c->timer.data = c;
	c->nhandles = 2;
	uv_tcp_nodelay(&c->tcp, 1);
	peer_name(&c->tcp, c->peer, sizeof(c->peer));
	llhttp_init(&c->parser, HTTP_REQUEST, &cm_http__parser_settings);
	c->parser.data = c;
	c->next = srv->conns;
	if (srv->conns != NULL)
		srv->conns->prev = c;
	srv->conns = c;
	srv->nconns++;
	c->state = C_IDLE;
	timer_set(c, srv->cfg.idle_timeout_ms);
	start_reading(c);
}
