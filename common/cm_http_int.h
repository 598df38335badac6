/*
 * Internals of the HTTP server core shared by cm_http.c (server, listener,
 * async hand-over), cm_http_conn.c (connections) and cm_http_resp.c.
 * Not for use outside common/.
 */
#ifndef CM_HTTP_INT_H
#define CM_HTTP_INT_H

#include <pthread.h>
#include <stdio.h>

#include <llhttp.h>
#include <uv.h>

#include "common/cm_buf.h"
#include "common/cm_http.h"
#include "common/cm_tls.h"

struct cm_http_resp {
	int			 status;
	int			 close;
	struct cm_buf		 hdrs;	/* "Name: value\r\n" lines */
	const uint8_t		*body;
	size_t			 body_len;
	uint8_t			*owned;	/* free()d with the response */
	struct cm_http_rbuf	*rbuf;	/* unref'd with the response */
};

struct http_conn;

struct http_req {
	struct cm_http_req	 pub;
	struct cm_http_server	*srv;
	struct http_conn	*conn;	/* NULL once the connection is gone */
	struct cm_buf		 strs;	/* target, header names and values */
	size_t			*offs;	/* name/value offsets into strs */
	size_t			 noffs, offs_cap;
	struct cm_http_header	*hdrs;
	struct cm_buf		 body;
	int			 keep_alive;
	int			 in_body;	/* headers done: trailers ignored */
	size_t			 url_len;
	size_t			 cur;	/* start of the string being received */
	struct http_req		*anext;		/* async queue */
	struct cm_http_resp	*aresp;
};

enum conn_state {
	C_IDLE,		/* waiting for the first byte of a request */
	C_READING,	/* a request is being received */
	C_HANDLING,	/* the handler has the request */
	C_WRITING,	/* the response is being sent */
};

struct http_conn {
	uv_tcp_t		 tcp;
	uv_timer_t		 timer;
	struct cm_http_server	*srv;
	struct http_conn	*prev, *next;
	llhttp_t		 parser;
	struct cm_tls		*tls;
	struct cm_buf		 in;	/* received plaintext */
	size_t			 in_off;	/* parsed up to here */
	struct http_req		*req;
	struct cm_http_resp	*resp;
	enum conn_state		 state;
	int			 err_status;	/* set by a parser callback */
	int			 reading, eof, closing, shutting, close_after;
	int			 processing;	/* in conn_process() */
	int			 nhandles;	/* open uv handles */
	unsigned		 nreq;
	int			 nwrites;	/* uv_write in flight */
	/* the response not yet handed to the socket (or to TLS) */
	const uint8_t		*out_head;
	size_t			 out_head_len;
	const uint8_t		*out_body;
	size_t			 out_body_len;
	/* plaintext body in a memfd (sendfile): its fd and mapping, or -1 */
	int			 out_fd;
	const uint8_t		*out_base;
	struct cm_buf		 head;
	size_t			 sent_body;	/* body bytes, for the log */
	char			 peer[64];
};

struct cm_http_server {
	uv_loop_t		*loop;
	struct cm_http_config	 cfg;
	char			*host, *cert, *key, *alog_path, *server_name;
	uv_tcp_t		 listener;
	int			 listening;
	uv_async_t		 async;
	int			 async_open;
	pthread_mutex_t		 mtx;	/* guards aq_*, stop_req */
	struct http_req		*aq_head, *aq_tail;
	int			 stop_req;
	struct cm_tls_ctx	*tls;
	FILE			*alog;
	struct http_conn	*conns;
	unsigned		 nconns;
	unsigned		 norphans;	/* requests whose connection closed */
	int			 stopping;
	int			 nabort;	/* handles to close after a failed start */
	void			(*done)(void *);
	void			*done_arg;
	char			 date[30];	/* Date header of date_t */
	int64_t			 date_t;
	uint8_t			 scratch[65536];	/* TLS ciphertext reads */
};

/* cm_http_parse.c */
extern const llhttp_settings_t cm_http__parser_settings;
struct http_req *cm_http__req_new(struct http_conn *c);
void	cm_http__req_free(struct http_req *r);

/* cm_http_conn.c */
void	cm_http__accept(struct cm_http_server *srv);
void	cm_http__conn_timer(struct http_conn *c, unsigned ms);
int	cm_http__conn_continue(struct http_conn *c);
void	cm_http__conn_stop(struct http_conn *c);
void	cm_http__conn_send(struct http_conn *c, struct http_req *r,
	    struct cm_http_resp *resp);

/* cm_http.c */
void	cm_http__maybe_done(struct cm_http_server *srv);
void	cm_http__access_log(struct cm_http_server *srv, struct http_conn *c,
	    const struct http_req *r, int status, size_t bytes);

#endif
