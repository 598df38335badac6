/*
 * cm_http: the HTTP/1.1 server core shared by the publication server (RRDP)
 * and the provisioning API.
 *
 * One server runs on one libuv loop and owns its listeners and connections.
 * Requests are parsed with llhttp; each complete request is handed to the
 * handler, which answers with cm_http_respond() on the loop thread (at once
 * or later) or with cm_http_respond_async() from any thread.  A connection
 * handles one request at a time: pipelined requests wait in the input
 * buffer, so responses always leave in request order.  TLS 1.2/1.3 runs
 * through OpenSSL memory BIOs (common/cm_tls.h).  See docs/http.md.
 */
#ifndef CM_HTTP_H
#define CM_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "common/cm_err.h"

struct cm_http_server;
struct cm_http_resp;

enum cm_http_method {
	CM_HTTP_OTHER = 0, CM_HTTP_GET, CM_HTTP_HEAD, CM_HTTP_POST,
	CM_HTTP_PUT, CM_HTTP_DELETE, CM_HTTP_OPTIONS, CM_HTTP_PATCH,
};

enum cm_http_alog {
	CM_HTTP_ALOG_CMLOG = 0,	/* one cm_log info line per request */
	CM_HTTP_ALOG_FILE,	/* appended to access_log_path */
	CM_HTTP_ALOG_OFF,
};

/* Handler flags. */
#define CM_HTTP_NO_QUERY	0x1	/* 400 for any request-target with '?' */

struct cm_http_header {
	const char	*name;	/* as sent; compare case-insensitively */
	const char	*value;	/* surrounding whitespace removed */
};

/*
 * A parsed request, valid until the handler has answered it.  Everything
 * is borrowed from the server; strings are NUL-terminated.
 */
struct cm_http_req {
	enum cm_http_method		 method;
	const char			*method_str;	/* "GET" */
	const char			*target;	/* request-target as sent */
	const char			*path;		/* target up to '?', not decoded */
	const char			*query;		/* after '?', or NULL */
	int				 http_minor;	/* HTTP/1.x */
	const struct cm_http_header	*headers;
	size_t				 nheaders;
	const uint8_t			*body;		/* at most max_body bytes */
	size_t				 body_len;
	const char			*peer;		/* client address */
};

/*
 * The handler must eventually answer req exactly once, with
 * cm_http_respond() or cm_http_respond_async(); req must not be used after.
 * It runs on the loop thread and must not block.
 */
typedef void	(*cm_http_handler_fn)(struct cm_http_req *req, void *arg);

/* Zero means the default shown. */
struct cm_http_config {
	const char	*host;			/* "127.0.0.1", "::", ...; default "::" */
	uint16_t	 port;			/* 0: an ephemeral port */
	const char	*tls_cert_file;		/* PEM chain, leaf first; NULL: plaintext */
	const char	*tls_key_file;		/* PEM private key; NULL: in the cert file */
	size_t		 max_request_line;	/* 8 KiB, else 414 */
	size_t		 max_header_size;	/* 16 KiB request line + headers, else 431 */
	size_t		 max_headers;		/* 64 header fields, else 431 */
	size_t		 max_body;		/* 1 MiB, else 413 */
	unsigned	 max_connections;	/* 10000 */
	int		 cap_reply_503;		/* over the cap: 1 = 503 (plaintext), 0 = close */
	unsigned	 max_requests;		/* per connection; 0 = unlimited */
	unsigned	 idle_timeout_ms;	/* keep-alive idle: 15000 */
	unsigned	 read_timeout_ms;	/* one request's head + body: 30000 */
	unsigned	 write_timeout_ms;	/* one response: 60000 */
	enum cm_http_alog access_log;
	const char	*access_log_path;
	const char	*server_name;		/* Server header; default "cairn" */
	cm_http_handler_fn handler;
	void		*handler_arg;
	unsigned	 handler_flags;		/* CM_HTTP_NO_QUERY */
};

/*
 * Creates the server on loop, binds and listens (loop thread).  cfg is
 * copied (its strings too).  Returns the server (free with
 * cm_http_server_free() after shutdown completed), or NULL with err set;
 * then handles already opened are closed and freed by the next loop run.
 */
struct cm_http_server *cm_http_server_new(uv_loop_t *loop,
	    const struct cm_http_config *cfg, struct cm_err *err);
/* The bound port (useful with port 0). */
uint16_t cm_http_server_port(const struct cm_http_server *srv);
/* Number of open connections (loop thread). */
unsigned cm_http_server_nconns(const struct cm_http_server *srv);
/*
 * Graceful shutdown (loop thread): stops accepting, closes idle connections,
 * lets requests being handled finish and then closes their connections.
 * When the last handle is closed, done(arg) runs (may be NULL) and the loop
 * has nothing of the server left.
 */
void	cm_http_server_shutdown(struct cm_http_server *srv,
	    void (*done)(void *), void *arg);
/* The same from any thread, without a done callback. */
void	cm_http_server_shutdown_async(struct cm_http_server *srv);
/*
 * Re-reads the TLS certificate chain and key from the configured files
 * (loop thread): connections accepted from now on use them, those open
 * keep theirs.  A server without TLS does nothing.  0, or -1 with err set
 * (naming the file); then the old certificate stays in use.
 */
int	cm_http_server_reload_tls(struct cm_http_server *srv,
	    struct cm_err *err);
/*
 * Reopens the access log file (after it was rotated; loop thread).  A
 * server that logs elsewhere does nothing.  0, or -1 with err set; then
 * the old file stays open.
 */
int	cm_http_server_reopen_log(struct cm_http_server *srv,
	    struct cm_err *err);
/* Frees a server whose handles are all closed (after shutdown).  NULL ok. */
void	cm_http_server_free(struct cm_http_server *srv);

/* First header named name (case-insensitive), or NULL. */
const char *cm_http_req_header(const struct cm_http_req *req,
	    const char *name);

/*
 * A refcounted immutable byte buffer, shareable between responses and
 * threads (files served from memory).  cm_http_rbuf_new takes ownership of
 * data (freed with free() when the last reference goes).
 *
 * cm_http_rbuf_new_memfd puts the bytes in a sealed memfd instead and maps
 * it read-only at data: over plain HTTP the body then goes from the memfd
 * to the socket with sendfile(2), without being copied through this
 * process; TLS reads the mapping.  It frees data on success; on failure
 * (no memfd, no mapping: e.g. out of file descriptors) it returns NULL
 * with err set and data still belongs to the caller.  len must be > 0.
 */
struct cm_http_rbuf {
	_Atomic size_t	 refs;
	uint8_t		*data;
	size_t		 len;
	int		 fd;	/* the memfd holding data, or -1 */
};
struct cm_http_rbuf *cm_http_rbuf_new(uint8_t *data, size_t len);
struct cm_http_rbuf *cm_http_rbuf_new_memfd(uint8_t *data, size_t len,
	    struct cm_err *err);
struct cm_http_rbuf *cm_http_rbuf_ref(struct cm_http_rbuf *b);
void	cm_http_rbuf_unref(struct cm_http_rbuf *b);	/* NULL ok */

/* A response; NULL on allocation failure (the caller then answers 500). */
struct cm_http_resp *cm_http_resp_new(int status);
/* Adds a header line; name and value must not contain CR or LF. 0 or -1. */
int	cm_http_resp_header(struct cm_http_resp *resp, const char *name,
	    const char *value);
/* The body is data (len bytes, malloc'd), owned by the response from now. */
void	cm_http_resp_body_owned(struct cm_http_resp *resp, uint8_t *data,
	    size_t len);
/* Copies data into an owned body.  0 or -1. */
int	cm_http_resp_body_copy(struct cm_http_resp *resp, const void *data,
	    size_t len);
/* The body is b->data (a reference is taken, dropped after sending). */
void	cm_http_resp_body_rbuf(struct cm_http_resp *resp,
	    struct cm_http_rbuf *b);
/* Closes the connection after this response. */
void	cm_http_resp_close(struct cm_http_resp *resp);
void	cm_http_resp_free(struct cm_http_resp *resp);	/* NULL ok */

/*
 * Answers req with resp (both owned by the server from now on; resp NULL
 * means 500).  Loop thread only.  The server adds Date, Server,
 * Content-Length and Connection; HEAD responses and 304 carry no body.
 */
void	cm_http_respond(struct cm_http_req *req, struct cm_http_resp *resp);
/* The same from any thread: the answer is handed to the loop (uv_async). */
void	cm_http_respond_async(struct cm_http_req *req,
	    struct cm_http_resp *resp);
/* A short text/plain response with the reason phrase as body. */
void	cm_http_respond_status(struct cm_http_req *req, int status);

/* The reason phrase of status ("Not Found"). */
const char *cm_http_reason(int status);
/* IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") of t into out[30]. */
void	cm_http_date(int64_t t, char out[30]);
/* Parses an IMF-fixdate.  0 with *t, or -1. */
int	cm_http_parse_date(const char *s, int64_t *t);

#endif
