#include "common/cm_http_file.h"

#include <limits.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <zlib.h>

#include "common/cm_enc.h"
#include "common/cm_log.h"

struct cm_http_file {
	_Atomic size_t		 refs;
	struct cm_http_rbuf	*id;	/* identity bytes */
	struct cm_http_rbuf	*gz;	/* gzip bytes, or NULL */
	char			 etag[67];	/* "<sha256 hex>" */
	char			 etag_gz[70];	/* "<sha256 hex>gz" */
	char			 lastmod[30];
	int64_t			 mtime;
	char			*ctype;
	char			*cache;
};

/* gzip of in (level 9, deterministic header).  0, or -1 with err set. */
static int
gzip_once(const uint8_t *in, size_t len, uint8_t **out, size_t *olen,
    struct cm_err *err)
{
	z_stream	z;
	uLong		bound;
	uint8_t		*buf;
	int		rc;

	memset(&z, 0, sizeof(z));
	if (len > UINT_MAX)
		return cm_err_set(err, CM_ELIMIT, "gzip", "file over 4 GiB");
	if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY)
	    != Z_OK)
		return cm_err_set(err, CM_ENOMEM, "gzip", "deflateInit2");
	bound = deflateBound(&z, (uLong)len);
	if ((buf = malloc(bound)) == NULL) {
		deflateEnd(&z);
		return cm_err_set(err, CM_ENOMEM, "gzip", "out of memory");
	}
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	z.next_out = buf;
	z.avail_out = (uInt)bound;
	rc = deflate(&z, Z_FINISH);
	*olen = z.total_out;
	deflateEnd(&z);
	if (rc != Z_STREAM_END) {
		free(buf);
		return cm_err_set(err, CM_EIO, "gzip", "deflate failed (%d)",
		    rc);
	}
	*out = buf;
	return 0;
}

/*
 * A body of data (len bytes, malloc'd, owned from now on, also on
 * failure): in a memfd when fd says so and it is large enough, else (or
 * if the memfd cannot be made) in memory.  NULL when out of memory.
 */
static struct cm_http_rbuf *
body_new(uint8_t *data, size_t len, int fd)
{
	struct cm_http_rbuf	*b;
	struct cm_err		 err;

	if (fd && len >= CM_HTTP_FILE_FD_MIN) {
		if ((b = cm_http_rbuf_new_memfd(data, len, &err)) != NULL)
			return b;
		cm_warn("http file of %zu bytes served from memory: %s", len,
		    err.msg);
	}
	if ((b = cm_http_rbuf_new(data, len)) == NULL)
		free(data);
	return b;
}

static int
gzip_variant(struct cm_http_file *f, int fd, struct cm_err *err)
{
	uint8_t	*gz = NULL;
	size_t	 glen = 0;

	if (gzip_once(f->id->data, f->id->len, &gz, &glen, err) == -1)
		return -1;
	/* Only worth a variant (and a Vary header) when it saves bytes. */
	if (glen >= f->id->len) {
		free(gz);
		return 0;
	}
	if ((f->gz = body_new(gz, glen, fd)) == NULL)
		return cm_err_set(err, CM_ENOMEM, "gzip", "out of memory");
	return 0;
}

struct cm_http_file *
cm_http_file_new(uint8_t *data, size_t len,
    const struct cm_http_file_opts *opts, struct cm_err *err)
{
	struct cm_http_file	*f;
	uint8_t			 md[32];
	char			 hex[65];
	const char		*ct;

	if ((f = calloc(1, sizeof(*f))) == NULL) {
		free(data);
		cm_err_set(err, CM_ENOMEM, "http file", "out of memory");
		return NULL;
	}
	atomic_init(&f->refs, 1);
	/* The hash first: data is freed once it is in a memfd. */
	cm_sha256(data, len, md);
	if ((f->id = body_new(data, len, opts->sendfile)) == NULL)
		goto nomem;
	ct = opts->content_type ? opts->content_type :
	    "application/octet-stream";
	if ((f->ctype = strdup(ct)) == NULL ||
	    (opts->cache_control != NULL &&
	    (f->cache = strdup(opts->cache_control)) == NULL))
		goto nomem;
	if (strpbrk(ct, "\r\n") != NULL || (f->cache != NULL &&
	    strpbrk(f->cache, "\r\n") != NULL)) {
		cm_err_set(err, CM_EINVAL, "http file",
		    "content type or cache control contains CR/LF");
		goto fail;
	}
	cm_hex_encode(md, sizeof(md), hex);
	snprintf(f->etag, sizeof(f->etag), "\"%s\"", hex);
	snprintf(f->etag_gz, sizeof(f->etag_gz), "\"%sgz\"", hex);
	f->mtime = opts->mtime;
	cm_http_date(opts->mtime, f->lastmod);
	if (opts->gzip && gzip_variant(f, opts->sendfile, err) == -1)
		goto fail;
	return f;
nomem:
	cm_err_set(err, CM_ENOMEM, "http file", "out of memory");
fail:
	cm_http_file_unref(f);
	return NULL;
}

struct cm_http_file *
cm_http_file_ref(struct cm_http_file *f)
{
	atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
	return f;
}

void
cm_http_file_unref(struct cm_http_file *f)
{
	if (f == NULL ||
	    atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) != 1)
		return;
	cm_http_rbuf_unref(f->id);
	cm_http_rbuf_unref(f->gz);
	free(f->ctype);
	free(f->cache);
	free(f);
}

const char *
cm_http_file_etag(const struct cm_http_file *f)
{
	return f->etag;
}

size_t
cm_http_file_gzip_len(const struct cm_http_file *f)
{
	return f->gz ? f->gz->len : 0;
}

static const char *
skip_ows(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

int
cm_http_accepts_gzip(const char *ae)
{
	double		 gzip_q = -1, star_q = -1, q;
	const char	*s = ae, *e, *t;
	size_t		 n;

	if (ae == NULL)
		return 0;
	while (*s != '\0') {
		s = skip_ows(s);
		e = s + strcspn(s, ",");
		n = strcspn(s, ",; \t");
		if (n > (size_t)(e - s))
			n = (size_t)(e - s);
		q = 1;
		/* A "q=" parameter, if any, follows a ';'. */
		for (t = s; t < e; t++)
			if (*t == ';') {
				t = skip_ows(t + 1);
				if ((*t == 'q' || *t == 'Q') && t[1] == '=')
					q = strtod(t + 2, NULL);
			}
		if ((n == 4 && strncasecmp(s, "gzip", 4) == 0) ||
		    (n == 6 && strncasecmp(s, "x-gzip", 6) == 0))
			gzip_q = q;
		else if (n == 1 && *s == '*')
			star_q = q;
		s = *e == ',' ? e + 1 : e;
	}
	return gzip_q >= 0 ? gzip_q > 0 : star_q > 0;
}

/* Weak comparison (RFC 9110 §13.1.2) of an If-None-Match list. */
static int
inm_matches(const char *inm, const struct cm_http_file *f)
{
	const char	*s = inm, *end;
	size_t		 n;

	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == ',')
			s++;
		if (*s == '\0')
			return 0;
		if (*s == '*')
			return 1;
		if (strncmp(s, "W/", 2) == 0)
			s += 2;
		if (*s != '"' || (end = strchr(s + 1, '"')) == NULL)
			return 0;	/* malformed: no match */
		n = (size_t)(end - s) + 1;
		if ((n == strlen(f->etag) && memcmp(s, f->etag, n) == 0) ||
		    (n == strlen(f->etag_gz) && memcmp(s, f->etag_gz, n) == 0))
			return 1;
		s = end + 1;
	}
}

static int
not_modified(const struct cm_http_req *req, const struct cm_http_file *f)
{
	const char	*inm, *ims;
	int64_t		 t;

	/* RFC 9110 §13.2.2: If-Modified-Since only without If-None-Match. */
	if ((inm = cm_http_req_header(req, "If-None-Match")) != NULL)
		return inm_matches(inm, f);
	if ((ims = cm_http_req_header(req, "If-Modified-Since")) != NULL &&
	    cm_http_parse_date(ims, &t) == 0)
		return f->mtime <= t;
	return 0;
}

struct cm_http_resp *
cm_http_file_resp(const struct cm_http_req *req, const struct cm_http_file *f)
{
	struct cm_http_resp	*resp;
	int			 gz, status, rc = 0;

	if (req->method != CM_HTTP_GET && req->method != CM_HTTP_HEAD) {
		if ((resp = cm_http_resp_new(405)) != NULL &&
		    cm_http_resp_header(resp, "Allow", "GET, HEAD") == -1) {
			cm_http_resp_free(resp);
			resp = NULL;
		}
		return resp;
	}
	gz = f->gz != NULL &&
	    cm_http_accepts_gzip(cm_http_req_header(req, "Accept-Encoding"));
	status = not_modified(req, f) ? 304 : 200;
	if ((resp = cm_http_resp_new(status)) == NULL)
		return NULL;
	rc |= cm_http_resp_header(resp, "ETag", gz ? f->etag_gz : f->etag);
	rc |= cm_http_resp_header(resp, "Last-Modified", f->lastmod);
	if (f->cache != NULL)
		rc |= cm_http_resp_header(resp, "Cache-Control", f->cache);
	if (f->gz != NULL)
		rc |= cm_http_resp_header(resp, "Vary", "Accept-Encoding");
	if (status == 200) {
		rc |= cm_http_resp_header(resp, "Content-Type", f->ctype);
		if (gz)
			rc |= cm_http_resp_header(resp, "Content-Encoding",
			    "gzip");
		cm_http_resp_body_rbuf(resp, gz ? f->gz : f->id);
	}
	if (rc != 0) {
		cm_http_resp_free(resp);
		return NULL;
	}
	return resp;
}

void
cm_http_file_respond(struct cm_http_req *req, const struct cm_http_file *f)
{
	cm_http_respond(req, cm_http_file_resp(req, f));
}
