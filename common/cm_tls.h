/*
 * cm_tls: server-side TLS 1.2/1.3 over OpenSSL memory BIOs, so that the
 * socket I/O stays with libuv.  The caller feeds ciphertext read from the
 * socket with cm_tls_feed(), reads plaintext with cm_tls_read(), writes
 * plaintext with cm_tls_write(), and after every call sends what
 * cm_tls_take_out() hands back.  The handshake runs implicitly.
 */
#ifndef CM_TLS_H
#define CM_TLS_H

#include <stddef.h>
#include <stdint.h>

#include "common/cm_buf.h"
#include "common/cm_err.h"

struct cm_tls_ctx;
struct cm_tls;

/*
 * A server context with the certificate chain (PEM, leaf first) and private
 * key from files; TLS 1.2 minimum, forward-secret AEAD suites only, no
 * renegotiation, ALPN "http/1.1".  Free with cm_tls_ctx_free().  NULL and
 * err on failure.
 */
struct cm_tls_ctx *cm_tls_ctx_new(const char *cert_file, const char *key_file,
	    struct cm_err *err);
void	cm_tls_ctx_free(struct cm_tls_ctx *ctx);	/* NULL ok */

/* One connection's TLS state.  Free with cm_tls_free().  NULL on failure. */
struct cm_tls *cm_tls_new(struct cm_tls_ctx *ctx);
void	cm_tls_free(struct cm_tls *t);			/* NULL ok */

/* Hands len bytes of ciphertext from the peer to TLS.  0 or -1. */
int	cm_tls_feed(struct cm_tls *t, const uint8_t *in, size_t len);
/*
 * Reads up to cap bytes of plaintext: returns the count (> 0), 0 if more
 * ciphertext is needed, or -1 on a TLS error or close_notify (err set).
 */
int	cm_tls_read(struct cm_tls *t, uint8_t *out, size_t cap,
	    struct cm_err *err);
/* Encrypts len bytes (completely).  0, or -1 with err set. */
int	cm_tls_write(struct cm_tls *t, const uint8_t *in, size_t len,
	    struct cm_err *err);
/* Appends pending ciphertext for the peer to out.  Returns bytes or -1. */
long	cm_tls_take_out(struct cm_tls *t, struct cm_buf *out);
/* 1 once the handshake is complete. */
int	cm_tls_established(const struct cm_tls *t);
/* Queues a close_notify alert (then cm_tls_take_out). */
void	cm_tls_shutdown(struct cm_tls *t);

#endif
