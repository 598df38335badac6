/*
 * Request parsing: the llhttp callbacks that collect one request (target,
 * headers, body) into a struct http_req and enforce the size limits.
 */
#include "common/cm_http_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- requests ---------------------------------------------------------- */

void
cm_http__req_free(struct http_req *r)
{
	if (r == NULL)
		return;
	cm_buf_free(&r->strs);
	cm_buf_free(&r->body);
	free(r->offs);
	free(r->hdrs);
	free(r);
}

struct http_req *
cm_http__req_new(struct http_conn *c)
{
	struct http_req	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->srv = c->srv;
	r->conn = c;
	r->pub.peer = c->peer;
	r->pub.method_str = "-";
	r->pub.http_minor = 1;
	return r;
}

static enum cm_http_method
map_method(uint8_t m)
{
	switch (m) {
	case HTTP_GET:		return CM_HTTP_GET;
	case HTTP_HEAD:		return CM_HTTP_HEAD;
	case HTTP_POST:		return CM_HTTP_POST;
	case HTTP_PUT:		return CM_HTTP_PUT;
	case HTTP_DELETE:	return CM_HTTP_DELETE;
	case HTTP_OPTIONS:	return CM_HTTP_OPTIONS;
	case HTTP_PATCH:	return CM_HTTP_PATCH;
	default:		return CM_HTTP_OTHER;
	}
}

/* ---- parser callbacks ---------------------------------------------------- */

static int
p_begin(llhttp_t *p)
{
	struct http_conn	*c = p->data;

	if (c->req == NULL && (c->req = cm_http__req_new(c)) == NULL) {
		c->err_status = 500;
		return -1;
	}
	/* The slow-client clock runs from the first byte of a request. */
	if (c->state == C_IDLE) {
		c->state = C_READING;
		cm_http__conn_timer(c, c->srv->cfg.read_timeout_ms);
	}
	return 0;
}

/* Appends head bytes, enforcing the header size limit (431). */
static int
head_add(struct http_conn *c, const char *at, size_t len)
{
	struct http_req	*r = c->req;

	if (r->strs.len + len > c->srv->cfg.max_header_size) {
		c->err_status = 431;
		return -1;
	}
	if (cm_buf_add(&r->strs, at, len) == -1) {
		c->err_status = 500;
		return -1;
	}
	return 0;
}

static int
p_url(llhttp_t *p, const char *at, size_t len)
{
	struct http_conn	*c = p->data;

	c->req->url_len += len;
	if (c->req->url_len > c->srv->cfg.max_request_line) {
		c->err_status = 414;
		return -1;
	}
	return head_add(c, at, len);
}

/* Ends the current string in strs; the next one starts after its NUL. */
static int
str_end(struct http_conn *c)
{
	struct http_req	*r = c->req;

	if (head_add(c, "", 1) == -1)
		return -1;
	r->cur = r->strs.len;
	return 0;
}

static int
p_url_done(llhttp_t *p)
{
	return str_end(p->data);	/* the target is at offset 0 */
}

static int
p_hfield(llhttp_t *p, const char *at, size_t len)
{
	struct http_conn	*c = p->data;

	return c->req->in_body ? 0 : head_add(c, at, len);
}

static int
p_hpart_done(llhttp_t *p)
{
	struct http_conn	*c = p->data;
	struct http_req		*r = c->req;
	size_t			*n;

	if (r->in_body)
		return 0;
	if (r->noffs / 2 >= c->srv->cfg.max_headers) {
		c->err_status = 431;
		return -1;
	}
	if (r->noffs == r->offs_cap) {
		size_t	ncap = r->offs_cap ? r->offs_cap * 2 : 16;

		if ((n = reallocarray(r->offs, ncap, sizeof(*n))) == NULL) {
			c->err_status = 500;
			return -1;
		}
		r->offs = n;
		r->offs_cap = ncap;
	}
	/* Names and values alternate in offs: even = name, odd = value. */
	r->offs[r->noffs++] = r->cur;
	return str_end(c);
}

/* Header values lose trailing whitespace (llhttp drops the leading). */
static char *
rtrim(char *s)
{
	size_t	n = strlen(s);

	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

/* RFC 9110 §5.6.2 token: what llhttp lets through is checked again here. */
static int
is_token(const char *s)
{
	static const char tchar[] = "!#$%&'*+-.^_`|~";

	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr(tchar, *s) != NULL))
			return 0;
	return 1;
}

static int
build_headers(struct http_conn *c)
{
	struct http_req	*r = c->req;
	size_t		 nh = r->noffs / 2;
	char		*base, *q;
	size_t		 qoff = 0;

	if (r->strs.data == NULL || r->noffs % 2 != 0) {
		c->err_status = 400;
		return -1;
	}
	if ((q = strchr((char *)r->strs.data, '?')) != NULL) {
		/* The path is a copy of the target up to '?', after the rest. */
		size_t	plen = (size_t)(q - (char *)r->strs.data);

		qoff = r->strs.len;
		/* Reserve first: adding from our own buffer must not move it. */
		if (cm_buf_reserve(&r->strs, plen + 1) == -1 ||
		    cm_buf_add(&r->strs, r->strs.data, plen) == -1 ||
		    cm_buf_add(&r->strs, "", 1) == -1) {
			c->err_status = 500;
			return -1;
		}
	}
	base = (char *)r->strs.data;
	if (nh > 0 && (r->hdrs = calloc(nh, sizeof(*r->hdrs))) == NULL) {
		c->err_status = 500;
		return -1;
	}
	for (size_t i = 0; i < nh; i++) {
		r->hdrs[i].name = base + r->offs[2 * i];
		r->hdrs[i].value = rtrim(base + r->offs[2 * i + 1]);
		if (!is_token(r->hdrs[i].name)) {
			c->err_status = 400;
			return -1;
		}
	}
	r->pub.headers = r->hdrs;
	r->pub.nheaders = nh;
	r->pub.target = base;
	r->pub.path = qoff ? base + qoff : base;
	r->pub.query = qoff ? strchr(base, '?') + 1 : NULL;
	return 0;
}

/* RFC 9112 §3.2: an HTTP/1.1 request has exactly one Host header. */
static int
host_ok(const struct http_req *r)
{
	size_t	n = 0;

	for (size_t i = 0; i < r->pub.nheaders; i++)
		if (strcasecmp(r->pub.headers[i].name, "Host") == 0)
			n++;
	return n == 1 || (n == 0 && r->pub.http_minor == 0);
}

static int
p_headers_done(llhttp_t *p)
{
	struct http_conn	*c = p->data;
	struct http_req		*r = c->req;
	const char		*exp;

	if (build_headers(c) == -1)
		return -1;
	r->in_body = 1;
	r->pub.method = map_method(p->method);
	r->pub.method_str = llhttp_method_name(p->method);
	r->pub.http_minor = p->http_minor;
	if (!host_ok(r)) {
		c->err_status = 400;
		return -1;
	}
	if ((p->flags & F_CONTENT_LENGTH) &&
	    p->content_length > c->srv->cfg.max_body) {
		c->err_status = 413;
		return -1;
	}
	exp = cm_http_req_header(&r->pub, "Expect");
	if (exp != NULL && strcasecmp(exp, "100-continue") == 0 &&
	    p->http_minor >= 1 && cm_http__conn_continue(c) == -1) {
		c->err_status = 500;
		return -1;
	}
	return 0;
}

static int
p_body(llhttp_t *p, const char *at, size_t len)
{
	struct http_conn	*c = p->data;
	struct http_req		*r = c->req;

	if (r->body.len + len > c->srv->cfg.max_body) {
		c->err_status = 413;
		return -1;
	}
	if (cm_buf_add(&r->body, at, len) == -1) {
		c->err_status = 500;
		return -1;
	}
	return 0;
}

static int
p_complete(llhttp_t *p)
{
	struct http_conn	*c = p->data;
	struct http_req		*r = c->req;

	r->keep_alive = llhttp_should_keep_alive(p) && !p->upgrade;
	r->pub.body = r->body.data;
	r->pub.body_len = r->body.len;
	return HPE_PAUSED;
}

const llhttp_settings_t cm_http__parser_settings = {
	.on_message_begin = p_begin,
	.on_url = p_url,
	.on_url_complete = p_url_done,
	.on_header_field = p_hfield,
	.on_header_value = p_hfield,
	.on_header_field_complete = p_hpart_done,
	.on_header_value_complete = p_hpart_done,
	.on_headers_complete = p_headers_done,
	.on_body = p_body,
	.on_message_complete = p_complete,
};
