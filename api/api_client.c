/*
 * A blocking HTTP/1.1 client: connect (TLS over it for https), send one
 * request with "Connection: close", read the response with llhttp until it
 * is complete.  The socket is blocking after the connect, with send and
 * receive timeouts, so that OpenSSL needs no retry loops.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <llhttp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "api/api_client.h"
#include "common/cm_buf.h"

#define MAX_RESPONSE	(64 * 1024 * 1024)

struct rd {
	struct api_http_resp	*out;
	struct cm_buf		 body;
	char			 field[64];
	int			 in_ctype, in_replay, done;
	size_t			 vlen;
};

static int
on_hfield(llhttp_t *p, const char *at, size_t len)
{
	struct rd	*r = p->data;
	size_t		 n = strlen(r->field);

	/* Fields may arrive in pieces; keep the first 63 bytes. */
	if (r->in_ctype || r->in_replay) {
		r->field[0] = '\0';
		n = 0;
		r->in_ctype = r->in_replay = 0;
	}
	if (n + len < sizeof(r->field)) {
		memcpy(r->field + n, at, len);
		r->field[n + len] = '\0';
	}
	return 0;
}

static int
on_hfield_done(llhttp_t *p)
{
	struct rd *r = p->data;

	r->in_ctype = strcasecmp(r->field, "Content-Type") == 0;
	r->in_replay = strcasecmp(r->field, "Idempotent-Replayed") == 0;
	r->field[0] = '\0';
	r->vlen = 0;
	return 0;
}

static int
on_hvalue(llhttp_t *p, const char *at, size_t len)
{
	struct rd	*r = p->data;

	if (r->in_ctype) {
		size_t n = strlen(r->out->ctype);

		if (n + len < sizeof(r->out->ctype)) {
			memcpy(r->out->ctype + n, at, len);
			r->out->ctype[n + len] = '\0';
		}
	} else if (r->in_replay && len >= 4 && strncmp(at, "true", 4) == 0)
		r->out->replayed = 1;
	return 0;
}

static int
on_hvalue_done(llhttp_t *p)
{
	struct rd *r = p->data;

	r->in_ctype = r->in_replay = 0;
	return 0;
}

static int
on_body(llhttp_t *p, const char *at, size_t len)
{
	struct rd *r = p->data;

	if (r->body.len + len > MAX_RESPONSE ||
	    cm_buf_add(&r->body, at, len) == -1)
		return -1;
	return 0;
}

static int
on_done(llhttp_t *p)
{
	struct rd *r = p->data;

	r->done = 1;
	return HPE_PAUSED;
}

/* Splits "http[s]://host:port/" into host and port; *tls for https. */
static int
parse_url(const char *url, char *host, size_t hl, char *port, size_t pl,
    int *tls, struct cm_err *err)
{
	const char	*h, *e, *c;
	size_t		 n;

	if (strncmp(url, "http://", 7) == 0) {
		*tls = 0;
		h = url + 7;
	} else if (strncmp(url, "https://", 8) == 0) {
		*tls = 1;
		h = url + 8;
	} else
		return cm_err_set(err, CM_EINVAL, url, "the server URL must be "
		    "http://host:port or https://host:port");
	e = h + strcspn(h, "/");
	if (*h == '[') {
		if ((c = memchr(h, ']', (size_t)(e - h))) == NULL)
			return cm_err_set(err, CM_EINVAL, url, "bad IPv6 host");
		n = (size_t)(c - h - 1);
		if (n >= hl)
			return cm_err_set(err, CM_EINVAL, url, "host too long");
		memcpy(host, h + 1, n);
		host[n] = '\0';
		c++;
	} else {
		c = memchr(h, ':', (size_t)(e - h));
		n = (size_t)((c != NULL ? c : e) - h);
		if (n == 0 || n >= hl)
			return cm_err_set(err, CM_EINVAL, url, "bad host");
		memcpy(host, h, n);
		host[n] = '\0';
		if (c == NULL)
			c = e;
	}
	if (*c == ':') {
		n = (size_t)(e - c - 1);
		if (n == 0 || n >= pl)
			return cm_err_set(err, CM_EINVAL, url, "bad port");
		memcpy(port, c + 1, n);
		port[n] = '\0';
	} else
		snprintf(port, pl, *tls ? "443" : "80");
	if (*e != '\0' && strcmp(e, "/") != 0)
		return cm_err_set(err, CM_EINVAL, url, "the server URL takes no "
		    "path");
	return 0;
}

static int
dial(const char *host, const char *port, int timeout_ms, struct cm_err *err)
{
	struct addrinfo	 hints, *res = NULL, *ai;
	struct pollfd	 pfd;
	int		 fd = -1, rc, soerr;
	socklen_t	 sl;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		cm_err_set(err, CM_EIO, host, "%s", gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd == -1)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			sl = sizeof(soerr);
			if (poll(&pfd, 1, timeout_ms) == 1 &&
			    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0
			    && soerr == 0)
				break;
			errno = soerr != 0 ? soerr : ETIMEDOUT;
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		cm_err_set(err, CM_EIO, host, "cannot connect to port %s: %s",
		    port, strerror(errno));
	return fd;
}

/* The connection: plain or TLS. */
struct conn {
	int	 fd;
	SSL_CTX	*ctx;
	SSL	*ssl;
};

static int
tls_start(struct conn *c, const char *host, const char *cafile,
    struct cm_err *err)
{
	unsigned char	 a[16];
	X509_VERIFY_PARAM *vp;
	int		 ip;

	if ((c->ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION) != 1)
		return cm_err_ssl(err, host, "TLS set-up");
	if ((cafile != NULL ? SSL_CTX_load_verify_locations(c->ctx, cafile,
	    NULL) : SSL_CTX_set_default_verify_paths(c->ctx)) != 1)
		return cm_err_ssl(err, cafile != NULL ? cafile : host,
		    "cannot load trusted certificates");
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	if ((c->ssl = SSL_new(c->ctx)) == NULL)
		return cm_err_ssl(err, host, "TLS set-up");
	vp = SSL_get0_param(c->ssl);
	ip = inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host,
	    a) == 1;
	if ((ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, host) :
	    X509_VERIFY_PARAM_set1_host(vp, host, 0)) != 1 ||
	    (!ip && SSL_set_tlsext_host_name(c->ssl, host) != 1))
		return cm_err_ssl(err, host, "TLS set-up");
	SSL_set_fd(c->ssl, c->fd);
	if (SSL_connect(c->ssl) != 1) {
		long v = SSL_get_verify_result(c->ssl);

		if (v != X509_V_OK)
			return cm_err_set(err, CM_EIO, host, "TLS: the server's "
			    "certificate is not trusted: %s",
			    X509_verify_cert_error_string(v));
		return cm_err_ssl(err, host, "TLS handshake failed");
	}
	return 0;
}

static ssize_t
conn_send(struct conn *c, const void *p, size_t n)
{
	int r;

	if (c->ssl == NULL)
		return send(c->fd, p, n, MSG_NOSIGNAL);
	r = SSL_write(c->ssl, p, (int)(n > INT32_MAX ? INT32_MAX : n));
	return r > 0 ? r : -1;
}

static ssize_t
conn_recv(struct conn *c, void *p, size_t n)
{
	int r;

	if (c->ssl == NULL)
		return recv(c->fd, p, n, 0);
	r = SSL_read(c->ssl, p, (int)n);
	if (r > 0)
		return r;
	/* A close without close_notify is a truncation; llhttp judges. */
	return SSL_get_error(c->ssl, r) == SSL_ERROR_ZERO_RETURN ||
	    SSL_get_error(c->ssl, r) == SSL_ERROR_SYSCALL ? 0 : -1;
}

int
api_http_do(const char *url, const char *method, const char *path,
    const char *body, const struct api_http_opts *opts,
    struct api_http_resp *out, struct cm_err *err)
{
	llhttp_settings_t	 s;
	llhttp_t		 p;
	struct rd		 r;
	struct conn		 c = { -1, NULL, NULL };
	struct cm_buf		 req = CM_BUF_INIT;
	struct timeval		 tv;
	char			 host[256], port[16], buf[16384];
	size_t			 off = 0, blen;
	ssize_t			 n;
	int			 rc = -1, tls = 0, tmo, fl;
	llhttp_errno_t		 e;

	memset(out, 0, sizeof(*out));
	memset(&r, 0, sizeof(r));
	r.out = out;
	blen = body == NULL ? 0 : opts->body_len > 0 ? opts->body_len :
	    strlen(body);
	tmo = opts->timeout_ms > 0 ? opts->timeout_ms : 30000;
	if (parse_url(url, host, sizeof(host), port, sizeof(port), &tls,
	    err) == -1)
		return -1;
	if (cm_buf_printf(&req, "%s %s HTTP/1.1\r\nHost: %s%s%s:%s\r\n"
	    "User-Agent: cairn\r\nAccept: application/json\r\n"
	    "Connection: close\r\n", method, path, strchr(host, ':') ? "[" : "",
	    host, strchr(host, ':') ? "]" : "", port) == -1 ||
	    (opts->token != NULL && cm_buf_printf(&req, "Authorization: "
	    "Bearer %s\r\n", opts->token) == -1) ||
	    (opts->idem_key != NULL && cm_buf_printf(&req, "Idempotency-Key: "
	    "%s\r\n", opts->idem_key) == -1) ||
	    (body != NULL && cm_buf_printf(&req, "Content-Type: %s\r\n",
	    opts->ctype != NULL ? opts->ctype : "application/json") == -1) ||
	    cm_buf_printf(&req, "Content-Length: %zu\r\n\r\n", blen) == -1 ||
	    (body != NULL && cm_buf_add(&req, body, blen) == -1)) {
		cm_buf_free(&req);
		return cm_err_set(err, CM_ENOMEM, "request", "out of memory");
	}
	if ((c.fd = dial(host, port, tmo, err)) == -1) {
		cm_buf_free(&req);
		return -1;
	}
	/* Blocking from here, each call bounded by the timeout. */
	tv.tv_sec = tmo / 1000;
	tv.tv_usec = (tmo % 1000) * 1000;
	if ((fl = fcntl(c.fd, F_GETFL)) == -1 ||
	    fcntl(c.fd, F_SETFL, fl & ~O_NONBLOCK) == -1 ||
	    setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
	    setsockopt(c.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1) {
		cm_err_set(err, CM_EIO, host, "socket: %s", strerror(errno));
		goto out;
	}
	if (tls && tls_start(&c, host, opts->cafile, err) == -1)
		goto out;
	while (off < req.len) {
		n = conn_send(&c, req.data + off, req.len - off);
		if (n == -1 && errno == EINTR && c.ssl == NULL)
			continue;
		if (n <= 0) {
			cm_err_set(err, CM_EIO, host, "send: %s", errno ==
			    EAGAIN ? "timed out" : strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	llhttp_settings_init(&s);
	s.on_header_field = on_hfield;
	s.on_header_field_complete = on_hfield_done;
	s.on_header_value = on_hvalue;
	s.on_header_value_complete = on_hvalue_done;
	s.on_body = on_body;
	s.on_message_complete = on_done;
	llhttp_init(&p, HTTP_RESPONSE, &s);
	p.data = &r;
	while (!r.done) {
		n = conn_recv(&c, buf, sizeof(buf));
		if (n == -1 && errno == EINTR && c.ssl == NULL)
			continue;
		if (n == -1) {
			cm_err_set(err, CM_EIO, host, "recv: %s", errno ==
			    EAGAIN ? "timed out" : strerror(errno));
			goto out;
		}
		e = n == 0 ? llhttp_finish(&p) : llhttp_execute(&p, buf,
		    (size_t)n);
		if (r.done)
			break;
		if (e != HPE_OK || n == 0) {
			cm_err_set(err, CM_EIO, host, "bad or incomplete HTTP "
			    "response%s%s", e != HPE_OK ? ": " : "",
			    e != HPE_OK ? llhttp_get_error_reason(&p) : "");
			goto out;
		}
	}
	out->status = p.status_code;
	if (cm_buf_add(&r.body, "", 1) == -1) {
		cm_err_set(err, CM_ENOMEM, "response", "out of memory");
		goto out;
	}
	out->body = (char *)cm_buf_steal(&r.body, &out->len);
	out->len--;
	rc = 0;
out:
	SSL_free(c.ssl);
	SSL_CTX_free(c.ctx);
	ERR_clear_error();
	close(c.fd);
	cm_buf_free(&req);
	cm_buf_free(&r.body);
	return rc;
}

int
api_http_request(const char *url, const char *method, const char *path,
    const char *token, const char *idem_key, const char *body,
    int timeout_ms, struct api_http_resp *out, struct cm_err *err)
{
	struct api_http_opts	o = { token, idem_key, NULL, timeout_ms, NULL, 0 };

	return api_http_do(url, method, path, body, &o, out, err);
}

void
api_http_resp_free(struct api_http_resp *r)
{
	if (r == NULL)
		return;
	free(r->body);
	r->body = NULL;
}

/* RFC 6492 child side: one POST of a CMS message (see api_client.h). */
int
api_updown_post(void *cafile, const char *uri, const uint8_t *msg, size_t len,
    uint8_t **reply, size_t *replylen, struct cm_err *err)
{
	struct api_http_opts	 o;
	struct api_http_resp	 r;
	const char		*path;
	char			 base[512];
	size_t			 n;

	*reply = NULL;
	if ((path = strstr(uri, "://")) == NULL ||
	    (path = strchr(path + 3, '/')) == NULL ||
	    (n = (size_t)(path - uri)) >= sizeof(base))
		return cm_err_set(err, CM_EINVAL, uri, "not an http(s) URI with "
		    "a path");
	memcpy(base, uri, n);
	base[n] = '\0';
	memset(&o, 0, sizeof(o));
	o.cafile = cafile;
	o.timeout_ms = 60000;
	o.ctype = "application/rpki-updown";
	o.body_len = len;
	if (api_http_do(base, "POST", path, (const char *)msg, &o, &r, err) == -1)
		return -1;
	if (r.status != 200 || strncmp(r.ctype, "application/rpki-updown",
	    23) != 0) {
		cm_err_set(err, CM_EIO, uri, "HTTP %d (%s): %.200s", r.status,
		    r.ctype, r.ctype[0] == 'a' && strstr(r.ctype, "json") != NULL ?
		    r.body : "");
		api_http_resp_free(&r);
		return -1;
	}
	*reply = (uint8_t *)r.body;
	*replylen = r.len;
	r.body = NULL;
	api_http_resp_free(&r);
	return 0;
}
