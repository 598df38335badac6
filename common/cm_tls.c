#include "common/cm_tls.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

struct cm_tls_ctx {
	SSL_CTX	*ssl;
};

struct cm_tls {
	SSL	*ssl;
	BIO	*rbio;	/* ciphertext from the peer (owned by ssl) */
	BIO	*wbio;	/* ciphertext to the peer (owned by ssl) */
};

/* Only "http/1.1" is spoken; a client that offers nothing else gets no ALPN. */
static int
alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char h11[] = "\x08http/1.1";

	if (SSL_select_next_proto((unsigned char **)out, outlen, h11,
	    sizeof(h11) - 1, in, inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	return SSL_TLSEXT_ERR_OK;
}

struct cm_tls_ctx *
cm_tls_ctx_new(const char *cert_file, const char *key_file, struct cm_err *err)
{
	struct cm_tls_ctx	*ctx = NULL, *rc = NULL;

	if ((ctx = calloc(1, sizeof(*ctx))) == NULL) {
		cm_err_set(err, CM_ENOMEM, "tls", "out of memory");
		goto out;
	}
	if ((ctx->ssl = SSL_CTX_new(TLS_server_method())) == NULL) {
		cm_err_ssl(err, "tls", "SSL_CTX_new");
		goto out;
	}
	SSL_CTX_set_min_proto_version(ctx->ssl, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx->ssl, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* BCP 195: ECDHE with AEAD for TLS 1.2; OpenSSL's 1.3 suites are fine. */
	if (SSL_CTX_set_cipher_list(ctx->ssl, "ECDHE+AESGCM:ECDHE+CHACHA20")
	    != 1) {
		cm_err_ssl(err, "tls", "cipher list");
		goto out;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx->ssl, cert_file) != 1) {
		cm_err_ssl(err, cert_file, "cannot load certificate chain");
		goto out;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx->ssl, key_file, SSL_FILETYPE_PEM)
	    != 1) {
		cm_err_ssl(err, key_file, "cannot load private key");
		goto out;
	}
	if (SSL_CTX_check_private_key(ctx->ssl) != 1) {
		cm_err_ssl(err, key_file, "key does not match certificate %s",
		    cert_file);
		goto out;
	}
	SSL_CTX_set_alpn_select_cb(ctx->ssl, alpn_select, NULL);
	SSL_CTX_set_mode(ctx->ssl, SSL_MODE_RELEASE_BUFFERS);
	rc = ctx;
	ctx = NULL;
out:
	cm_tls_ctx_free(ctx);
	return rc;
}

void
cm_tls_ctx_free(struct cm_tls_ctx *ctx)
{
	if (ctx == NULL)
		return;
	SSL_CTX_free(ctx->ssl);
	free(ctx);
}

struct cm_tls *
cm_tls_new(struct cm_tls_ctx *ctx)
{
	struct cm_tls	*t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->ssl = SSL_new(ctx->ssl);
	t->rbio = BIO_new(BIO_s_mem());
	t->wbio = BIO_new(BIO_s_mem());
	if (t->ssl == NULL || t->rbio == NULL || t->wbio == NULL) {
		BIO_free(t->rbio);
		BIO_free(t->wbio);
		SSL_free(t->ssl);
		free(t);
		return NULL;
	}
	/* An empty read BIO means "want more", not EOF. */
	BIO_set_mem_eof_return(t->rbio, -1);
	SSL_set_bio(t->ssl, t->rbio, t->wbio);
	SSL_set_accept_state(t->ssl);
	return t;
}

void
cm_tls_free(struct cm_tls *t)
{
	if (t == NULL)
		return;
	SSL_free(t->ssl);
	free(t);
}

int
cm_tls_feed(struct cm_tls *t, const uint8_t *in, size_t len)
{
	if (len > INT_MAX)
		return -1;
	return BIO_write(t->rbio, in, (int)len) == (int)len ? 0 : -1;
}

int
cm_tls_read(struct cm_tls *t, uint8_t *out, size_t cap, struct cm_err *err)
{
	int	n, e;

	if (cap > INT_MAX)
		cap = INT_MAX;
	ERR_clear_error();
	if ((n = SSL_read(t->ssl, out, (int)cap)) > 0)
		return n;
	e = SSL_get_error(t->ssl, n);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return 0;
	if (e == SSL_ERROR_ZERO_RETURN)
		return cm_err_set(err, CM_EIO, "tls", "closed by peer");
	return cm_err_ssl(err, "tls", "read failed");
}

int
cm_tls_write(struct cm_tls *t, const uint8_t *in, size_t len,
    struct cm_err *err)
{
	size_t	done = 0;
	int	n;

	while (done < len) {
		size_t	chunk = len - done > (1u << 30) ? (1u << 30) : len - done;

		ERR_clear_error();
		/* Memory BIOs grow, so SSL_write never wants to wait. */
		if ((n = SSL_write(t->ssl, in + done, (int)chunk)) <= 0)
			return cm_err_ssl(err, "tls", "write failed");
		done += (size_t)n;
	}
	return 0;
}

long
cm_tls_take_out(struct cm_tls *t, struct cm_buf *out)
{
	size_t	pend = BIO_ctrl_pending(t->wbio);
	int	n;

	if (pend == 0)
		return 0;
	if (pend > INT_MAX || cm_buf_reserve(out, pend) == -1)
		return -1;
	if ((n = BIO_read(t->wbio, out->data + out->len, (int)pend)) <= 0)
		return -1;
	out->len += (size_t)n;
	return n;
}

int
cm_tls_established(const struct cm_tls *t)
{
	return SSL_is_init_finished(t->ssl);
}

void
cm_tls_shutdown(struct cm_tls *t)
{
	if (SSL_is_init_finished(t->ssl))
		(void)SSL_shutdown(t->ssl);
}
