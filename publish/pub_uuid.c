#include "publish/pub_uuid.h"

#include <stdint.h>
#include <string.h>

#include <openssl/rand.h>

#include "common/cm_enc.h"

static int
ishex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

int
pub_uuid_is_v4(const char *s)
{
	size_t	i;

	if (strlen(s) != 36)
		return 0;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!ishex((unsigned char)s[i]))
			return 0;
	}
	return s[14] == '4' && strchr("89abAB", s[19]) != NULL;
}

int
pub_uuid_v4(char out[37], struct cm_err *err)
{
	uint8_t	r[16];
	char	hex[33];

	if (RAND_bytes(r, sizeof(r)) != 1)
		return cm_err_ssl(err, NULL, "RAND_bytes");
	r[6] = (r[6] & 0x0f) | 0x40;	/* version 4 */
	r[8] = (r[8] & 0x3f) | 0x80;	/* RFC 4122 variant */
	cm_hex_encode(r, sizeof(r), hex);
	memcpy(out, hex, 8);
	out[8] = '-';
	memcpy(out + 9, hex + 8, 4);
	out[13] = '-';
	memcpy(out + 14, hex + 12, 4);
	out[18] = '-';
	memcpy(out + 19, hex + 16, 4);
	out[23] = '-';
	memcpy(out + 24, hex + 20, 12);
	out[36] = '\0';
	return 0;
}
