/*
 * api_client: the small blocking HTTP/1.1 client of the cairn CLI (and of
 * the API tests): one request per connection over TCP or TLS (OpenSSL,
 * certificate and host name verified), the response parsed with llhttp.
 */
#ifndef API_CLIENT_H
#define API_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "common/cm_err.h"

struct api_http_resp {
	int	 status;
	char	*body;		/* NUL-terminated, malloc'd */
	size_t	 len;
	char	 ctype[128];	/* Content-Type, "" if none */
	int	 replayed;	/* Idempotent-Replayed: true */
};

struct api_http_opts {
	const char	*token;		/* bearer token; NULL: none */
	const char	*idem_key;	/* Idempotency-Key; NULL: none */
	const char	*cafile;	/* https: trusted CAs (PEM); NULL: the
					   system's */
	int		 timeout_ms;	/* each step; 0: 30 s */
	const char	*ctype;		/* body's Content-Type; NULL: JSON */
	size_t		 body_len;	/* 0: strlen(body); else binary */
};

/*
 * Sends method path (with query) to url ("http://host:port" or
 * "https://host:port", a trailing '/' allowed) with body (NULL: none;
 * JSON).  Returns 0 with *out filled (free with api_http_resp_free()), or
 * -1 with err (CM_EINVAL for a bad URL, CM_EIO when the server cannot be
 * reached, fails TLS verification or answers garbage).
 */
int	api_http_do(const char *url, const char *method, const char *path,
	    const char *body, const struct api_http_opts *opts,
	    struct api_http_resp *out, struct cm_err *err);
/* api_http_do() with a token, an idempotency key and a timeout only. */
int	api_http_request(const char *url, const char *method, const char *path,
	    const char *token, const char *idem_key, const char *body,
	    int timeout_ms, struct api_http_resp *out, struct cm_err *err);
void	api_http_resp_free(struct api_http_resp *r);

/*
 * The transport of the RFC 6492 child side (ca_eng_post_fn, see
 * ca/engine.h): POSTs msg as application/rpki-updown to uri (http or https,
 * with a path) and returns the body of a 200 application/rpki-updown
 * answer in *reply (malloc'd).  cafile is the PEM file of CAs trusted for
 * https (a const char *; NULL: the system's).  Returns 0, or -1 (CM_EIO for
 * another status or type, naming them).
 */
int	api_updown_post(void *cafile, const char *uri, const uint8_t *msg,
	    size_t len, uint8_t **reply, size_t *replylen, struct cm_err *err);

#endif
