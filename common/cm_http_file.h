/*
 * cm_http_file: an immutable file served from memory (RRDP notification,
 * snapshot and delta files; large ones from a memfd, see opts.sendfile).
 * Everything a response needs is computed once at creation: the gzip
 * encoding, the strong ETag (the SHA-256 of the bytes) and the
 * Last-Modified date.  Responses then only take references.
 */
#ifndef CM_HTTP_FILE_H
#define CM_HTTP_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "common/cm_err.h"
#include "common/cm_http.h"

struct cm_http_file;

struct cm_http_file_opts {
	const char	*content_type;	/* default "application/octet-stream" */
	const char	*cache_control;	/* NULL: no Cache-Control header */
	int64_t		 mtime;		/* Last-Modified, seconds since epoch */
	int		 gzip;		/* 1: keep a gzip variant if smaller */
	int		 sendfile;	/* 1: see CM_HTTP_FILE_FD_MIN */
};

/*
 * With opts.sendfile, a body (identity or gzip) of at least this many
 * bytes is kept in a memfd (cm_http_rbuf_new_memfd) and sent with
 * sendfile(2) over plain HTTP; smaller ones are not worth a descriptor.
 * Without a memfd (out of descriptors) the body stays in plain memory.
 */
#define CM_HTTP_FILE_FD_MIN	(64 * 1024)

/*
 * Makes a file of data (len bytes, malloc'd); data is owned by the file
 * from now on, also on failure.  Returns the file with one reference
 * (drop with cm_http_file_unref()), or NULL with err set.
 */
struct cm_http_file *cm_http_file_new(uint8_t *data, size_t len,
	    const struct cm_http_file_opts *opts, struct cm_err *err);
/* Takes another reference (any thread). */
struct cm_http_file *cm_http_file_ref(struct cm_http_file *f);
/* Drops a reference; the last one frees the file.  NULL ok.  Any thread. */
void	cm_http_file_unref(struct cm_http_file *f);

/* The strong ETag of the identity encoding, quotes included. */
const char *cm_http_file_etag(const struct cm_http_file *f);
/* Size of the gzip variant, or 0 if there is none. */
size_t	cm_http_file_gzip_len(const struct cm_http_file *f);

/*
 * The response to req for f: 200 (body shared, gzip when Accept-Encoding
 * allows it), 304 when If-None-Match (or, without it, If-Modified-Since)
 * says the client's copy is current, 405 for methods other than GET and
 * HEAD.  Returns NULL on allocation failure.
 */
struct cm_http_resp *cm_http_file_resp(const struct cm_http_req *req,
	    const struct cm_http_file *f);
/* cm_http_respond(req, cm_http_file_resp(req, f)). */
void	cm_http_file_respond(struct cm_http_req *req,
	    const struct cm_http_file *f);

/*
 * 1 if the Accept-Encoding value ae (NULL: header absent) accepts gzip
 * (RFC 9110 §12.5.3, q-values honoured).
 */
int	cm_http_accepts_gzip(const char *ae);

#endif
