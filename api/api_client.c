/*
 * A blocking HTTP/1.1 client: connect, send one request with
 * "Connection: close", read the response with llhttp until it is complete.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <llhttp.h>

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

/* Splits "http://host:port/" into host and port. */
static int
parse_url(const char *url, char *host, size_t hl, char *port, size_t pl,
    struct cm_err *err)
{
	const char	*h, *e, *c;
	size_t		 n;

	if (strncmp(url, "http://", 7) != 0)
		return cm_err_set(err, CM_EINVAL, url, "the server URL must be "
		    "http://host:port (this client speaks plain HTTP)");
	h = url + 7;
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
		snprintf(port, pl, "80");
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

static int
io_wait(int fd, short ev, int timeout_ms, struct cm_err *err)
{
	struct pollfd	pfd = { fd, ev, 0 };
	int		n;

	while ((n = poll(&pfd, 1, timeout_ms)) == -1 && errno == EINTR)
		;
	if (n == 1)
		return 0;
	return cm_err_set(err, CM_EIO, "server", "timed out");
}

int
api_http_request(const char *url, const char *method, const char *path,
    const char *token, const char *idem_key, const char *body,
    int timeout_ms, struct api_http_resp *out, struct cm_err *err)
{
	llhttp_settings_t	 s;
	llhttp_t		 p;
	struct rd		 r;
	struct cm_buf		 req = CM_BUF_INIT;
	char			 host[256], port[16], buf[16384];
	size_t			 off = 0;
	ssize_t			 n;
	int			 fd, rc = -1;
	llhttp_errno_t		 e;

	memset(out, 0, sizeof(*out));
	memset(&r, 0, sizeof(r));
	r.out = out;
	if (parse_url(url, host, sizeof(host), port, sizeof(port), err) == -1)
		return -1;
	if (cm_buf_printf(&req, "%s %s HTTP/1.1\r\nHost: %s%s%s:%s\r\n"
	    "User-Agent: cairn\r\nAccept: application/json\r\n"
	    "Connection: close\r\n", method, path, strchr(host, ':') ? "[" : "",
	    host, strchr(host, ':') ? "]" : "", port) == -1 ||
	    (token != NULL && cm_buf_printf(&req, "Authorization: Bearer "
	    "%s\r\n", token) == -1) ||
	    (idem_key != NULL && cm_buf_printf(&req, "Idempotency-Key: %s\r\n",
	    idem_key) == -1) ||
	    (body != NULL && cm_buf_printf(&req, "Content-Type: "
	    "application/json\r\n") == -1) ||
	    cm_buf_printf(&req, "Content-Length: %zu\r\n\r\n", body != NULL ?
	    strlen(body) : 0) == -1 ||
	    (body != NULL && cm_buf_puts(&req, body) == -1)) {
		cm_buf_free(&req);
		return cm_err_set(err, CM_ENOMEM, "request", "out of memory");
	}
	if ((fd = dial(host, port, timeout_ms, err)) == -1) {
		cm_buf_free(&req);
		return -1;
	}
	while (off < req.len) {
		if (io_wait(fd, POLLOUT, timeout_ms, err) == -1)
			goto out;
		n = send(fd, req.data + off, req.len - off, MSG_NOSIGNAL);
		if (n == -1 && errno != EAGAIN && errno != EINTR) {
			cm_err_set(err, CM_EIO, host, "send: %s", strerror(errno));
			goto out;
		}
		if (n > 0)
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
		if (io_wait(fd, POLLIN, timeout_ms, err) == -1)
			goto out;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n == -1) {
			cm_err_set(err, CM_EIO, host, "recv: %s", strerror(errno));
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
	close(fd);
	cm_buf_free(&req);
	cm_buf_free(&r.body);
	return rc;
}

void
api_http_resp_free(struct api_http_resp *r)
{
	if (r == NULL)
		return;
	free(r->body);
	r->body = NULL;
}
