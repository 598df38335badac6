#include "common/cm_enc.h"

#include <ctype.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

void
cm_hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * n] = '\0';
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
cm_hex_decode(const char *s, uint8_t *out, size_t outlen)
{
	if (strlen(s) != 2 * outlen)
		return -1;
	for (size_t i = 0; i < outlen; i++) {
		int hi = hexval((unsigned char)s[2 * i]);
		int lo = hexval((unsigned char)s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int
cm_b64_encode(const uint8_t *in, size_t n, struct cm_buf *b)
{
	size_t	olen = 4 * ((n + 2) / 3);

	if (cm_buf_reserve(b, olen) == -1)
		return -1;
	/* EVP_EncodeBlock takes an int length; split very large inputs. */
	while (n > 0) {
		size_t chunk = n > 3 * (1 << 24) ? 3 * (1 << 24) : n;
		int w = EVP_EncodeBlock(b->data + b->len, in, (int)chunk);

		b->len += (size_t)w;
		in += chunk;
		n -= chunk;
	}
	return 0;
}

static int
b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
cm_b64_decode(const char *s, size_t n, struct cm_buf *b, struct cm_err *err)
{
	int	q[4], nq = 0, pad = 0, done = 0;

	if (cm_buf_reserve(b, n / 4 * 3 + 3) == -1)
		return cm_err_set(err, CM_ENOMEM, NULL, "base64: out of memory");
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		if (isspace(c))
			continue;
		if (done)
			return cm_err_set(err, CM_EINVAL, NULL,
			    "base64: data after padding at offset %zu", i);
		if (c == '=') {
			if (nq < 2)
				return cm_err_set(err, CM_EINVAL, NULL,
				    "base64: misplaced padding");
			q[nq++] = 0;
			pad++;
		} else {
			if (pad || (q[nq] = b64val(c)) < 0)
				return cm_err_set(err, CM_EINVAL, NULL,
				    "base64: invalid character at offset %zu", i);
			nq++;
		}
		if (nq == 4) {
			uint8_t o[3] = { (uint8_t)(q[0] << 2 | q[1] >> 4),
			    (uint8_t)(q[1] << 4 | q[2] >> 2),
			    (uint8_t)(q[2] << 6 | q[3]) };

			memcpy(b->data + b->len, o, 3 - (size_t)pad);
			b->len += 3 - (size_t)pad;
			nq = 0;
			done = pad > 0;	/* nothing may follow padding */
		}
	}
	if (nq != 0)
		return cm_err_set(err, CM_EINVAL, NULL, "base64: truncated input");
	return 0;
}

void
cm_sha256(const void *in, size_t n, uint8_t out[32])
{
	SHA256(in, n, out);
}
