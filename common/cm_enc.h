/*
 * cm_enc: hex and base64 (RFC 4648, with padding) encodings, and SHA-256.
 */
#ifndef CM_ENC_H
#define CM_ENC_H

#include <stddef.h>
#include <stdint.h>

#include "common/cm_buf.h"
#include "common/cm_err.h"

/* Writes 2*n lowercase hex digits and a NUL to out (size >= 2*n+1). */
void	cm_hex_encode(const uint8_t *in, size_t n, char *out);
/*
 * Decodes exactly outlen bytes from the hex string s (either case, length
 * 2*outlen).  Returns 0, or -1 if s is not that.
 */
int	cm_hex_decode(const char *s, uint8_t *out, size_t outlen);

/* Appends the base64 of in to b (no line breaks).  Returns 0 or -1. */
int	cm_b64_encode(const uint8_t *in, size_t n, struct cm_buf *b);
/*
 * Decodes base64 text (whitespace between groups is skipped; padding
 * required) and appends the bytes to b.  Returns 0, or -1 with err set.
 */
int	cm_b64_decode(const char *s, size_t n, struct cm_buf *b,
	    struct cm_err *err);

/* SHA-256 of in into out[32]. */
void	cm_sha256(const void *in, size_t n, uint8_t out[32]);

#endif
