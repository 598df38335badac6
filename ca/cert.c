/*
 * ca_cert: resource certificate issuance and strict parsing.  Only the
 * serial number generator is implemented so far.
 */
#include <string.h>

#include <openssl/rand.h>

#include "ca/cert.h"

/*
 * RFC 5280 §4.1.2.2 caps serials at 20 octets; RFC 6487 §4.2 wants them
 * unique per issuer.  A random bit length of 64..159 keeps at least 63 bits
 * of entropy and keeps the DER INTEGER (with its sign octet) within 20
 * octets.  The result is the unsigned big-endian magnitude, no leading zero.
 */
int
ca_cert_serial_random(uint8_t serial[20], size_t *len, struct cm_err *err)
{
	uint8_t		rnd[21];
	unsigned int	bits, nbytes, top;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return cm_err_set(err, CM_ECRYPTO, "serial", "RAND_bytes failed");
	bits = 64 + rnd[20] % 96;
	nbytes = (bits + 7) / 8;
	top = (bits - 1) % 8;		/* index of the highest set bit */
	rnd[0] &= (uint8_t)((1u << (top + 1)) - 1);
	rnd[0] |= (uint8_t)(1u << top);
	memcpy(serial, rnd, nbytes);
	*len = nbytes;
	return 0;
}
