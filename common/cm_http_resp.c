/* Responses, refcounted buffers and the small HTTP helpers. */
#include "common/cm_http_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

struct cm_http_rbuf *
cm_http_rbuf_new(uint8_t *data, size_t len)
{
	struct cm_http_rbuf	*b;

	if ((b = malloc(sizeof(*b))) == NULL)
		return NULL;
	atomic_init(&b->refs, 1);
	b->data = data;
	b->len = len;
	b->fd = -1;
	return b;
}

/* Writes all of data to fd.  0, or -1 with err set. */
static int
write_all(int fd, const uint8_t *data, size_t len, struct cm_err *err)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = write(fd, data, len)) == -1) {
			if (errno == EINTR)
				continue;
			return cm_err_set(err, CM_EIO, "memfd", "write: %m");
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

struct cm_http_rbuf *
cm_http_rbuf_new_memfd(uint8_t *data, size_t len, struct cm_err *err)
{
	struct cm_http_rbuf	*b = NULL;
	void			*map = MAP_FAILED;
	int			 fd;

	if (len == 0) {
		cm_err_set(err, CM_EINVAL, "memfd", "empty body");
		return NULL;
	}
	if ((fd = memfd_create("cairn-http-body", MFD_CLOEXEC |
	    MFD_ALLOW_SEALING)) == -1) {
		cm_err_set(err, CM_EIO, "memfd", "memfd_create: %m");
		return NULL;
	}
	if (write_all(fd, data, len, err) == -1)
		goto fail;
	/* Sealed: the bytes behind ETag and Content-Length cannot change. */
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_WRITE | F_SEAL_SEAL) == -1) {
		cm_err_set(err, CM_EIO, "memfd", "F_ADD_SEALS: %m");
		goto fail;
	}
	if ((map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0)) ==
	    MAP_FAILED) {
		cm_err_set(err, CM_EIO, "memfd", "mmap: %m");
		goto fail;
	}
	if ((b = malloc(sizeof(*b))) == NULL) {
		cm_err_set(err, CM_ENOMEM, "memfd", "out of memory");
		goto fail;
	}
	atomic_init(&b->refs, 1);
	b->data = map;
	b->len = len;
	b->fd = fd;
	free(data);
	return b;
fail:
	if (map != MAP_FAILED)
		munmap(map, len);
	close(fd);
	return NULL;
}

struct cm_http_rbuf *
cm_http_rbuf_ref(struct cm_http_rbuf *b)
{
	atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
	return b;
}

void
cm_http_rbuf_unref(struct cm_http_rbuf *b)
{
	if (b == NULL)
		return;
	if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) != 1)
		return;
	if (b->fd != -1) {
		munmap(b->data, b->len);
		close(b->fd);
	} else
		free(b->data);
	free(b);
}

struct cm_http_resp *
cm_http_resp_new(int status)
{
	struct cm_http_resp	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->status = status;
	return r;
}

static int
has_crlf(const char *s)
{
	return strpbrk(s, "\r\n") != NULL;
}

int
cm_http_resp_header(struct cm_http_resp *resp, const char *name,
    const char *value)
{
	/* Header injection through a value taken from a request is refused. */
	if (has_crlf(name) || has_crlf(value) || *name == '\0')
		return -1;
	if (cm_buf_puts(&resp->hdrs, name) == -1 ||
	    cm_buf_add(&resp->hdrs, ": ", 2) == -1 ||
	    cm_buf_puts(&resp->hdrs, value) == -1 ||
	    cm_buf_add(&resp->hdrs, "\r\n", 2) == -1)
		return -1;
	return 0;
}

static void
body_clear(struct cm_http_resp *resp)
{
	free(resp->owned);
	cm_http_rbuf_unref(resp->rbuf);
	resp->owned = NULL;
	resp->rbuf = NULL;
	resp->body = NULL;
	resp->body_len = 0;
}

void
cm_http_resp_body_owned(struct cm_http_resp *resp, uint8_t *data, size_t len)
{
	body_clear(resp);
	resp->owned = data;
	resp->body = data;
	resp->body_len = len;
}

int
cm_http_resp_body_copy(struct cm_http_resp *resp, const void *data,
    size_t len)
{
	uint8_t	*p;

	if ((p = malloc(len ? len : 1)) == NULL)
		return -1;
	if (len)
		memcpy(p, data, len);
	cm_http_resp_body_owned(resp, p, len);
	return 0;
}

void
cm_http_resp_body_rbuf(struct cm_http_resp *resp, struct cm_http_rbuf *b)
{
	body_clear(resp);
	resp->rbuf = cm_http_rbuf_ref(b);
	resp->body = b->data;
	resp->body_len = b->len;
}

void
cm_http_resp_close(struct cm_http_resp *resp)
{
	resp->close = 1;
}

void
cm_http_resp_free(struct cm_http_resp *resp)
{
	if (resp == NULL)
		return;
	body_clear(resp);
	cm_buf_free(&resp->hdrs);
	free(resp);
}

const char *
cm_http_req_header(const struct cm_http_req *req, const char *name)
{
	for (size_t i = 0; i < req->nheaders; i++)
		if (strcasecmp(req->headers[i].name, name) == 0)
			return req->headers[i].value;
	return NULL;
}

void
cm_http_respond_status(struct cm_http_req *req, int status)
{
	struct cm_http_resp	*resp;
	const char		*reason = cm_http_reason(status);

	if ((resp = cm_http_resp_new(status)) != NULL &&
	    (cm_http_resp_header(resp, "Content-Type",
	    "text/plain; charset=utf-8") == -1 ||
	    cm_http_resp_body_copy(resp, reason, strlen(reason)) == -1)) {
		cm_http_resp_free(resp);
		resp = NULL;
	}
	cm_http_respond(req, resp);
}

const char *
cm_http_reason(int status)
{
	static const struct { int s; const char *r; } tab[] = {
		{ 100, "Continue" }, { 200, "OK" }, { 201, "Created" },
		{ 202, "Accepted" }, { 204, "No Content" },
		{ 301, "Moved Permanently" }, { 302, "Found" },
		{ 304, "Not Modified" }, { 400, "Bad Request" },
		{ 401, "Unauthorized" }, { 403, "Forbidden" },
		{ 404, "Not Found" }, { 405, "Method Not Allowed" },
		{ 408, "Request Timeout" }, { 409, "Conflict" },
		{ 411, "Length Required" }, { 412, "Precondition Failed" },
		{ 413, "Content Too Large" }, { 414, "URI Too Long" },
		{ 415, "Unsupported Media Type" }, { 422, "Unprocessable Content" },
		{ 429, "Too Many Requests" },
		{ 431, "Request Header Fields Too Large" },
		{ 500, "Internal Server Error" }, { 501, "Not Implemented" },
		{ 502, "Bad Gateway" }, { 503, "Service Unavailable" },
		{ 504, "Gateway Timeout" },
	};

	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (tab[i].s == status)
			return tab[i].r;
	return "Unknown";
}

static const char *const wdays[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
    "Fri", "Sat" };
static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May",
    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

void
cm_http_date(int64_t t, char out[30])
{
	struct tm	tm;
	time_t		tt = (time_t)t;

	gmtime_r(&tt, &tm);
	/* Not strftime: %a and %b follow the locale, HTTP wants English. */
	snprintf(out, 30, "%s, %02d %s %04d %02d:%02d:%02d GMT",
	    wdays[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

int
cm_http_parse_date(const char *s, int64_t *t)
{
	char		wd[4], mon[4], gmt[4];
	int		d, y, hh, mm, ss, n = 0, m = -1;
	struct tm	tm;

	if (strlen(s) != 29 ||
	    sscanf(s, "%3s, %2d %3s %4d %2d:%2d:%2d %3s%n", wd, &d, mon, &y,
	    &hh, &mm, &ss, gmt, &n) != 8 || n != 29 || s[3] != ',' ||
	    strcmp(gmt, "GMT") != 0)
		return -1;
	for (int i = 0; i < 12; i++)
		if (strcmp(mon, months[i]) == 0)
			m = i;
	if (m < 0 || d < 1 || d > 31 || hh > 23 || mm > 59 || ss > 60 ||
	    y < 1970)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m;
	tm.tm_mday = d;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	*t = (int64_t)timegm(&tm);
	return 0;
}
