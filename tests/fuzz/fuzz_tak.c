/*
 * libFuzzer target: strict TAK (RFC 9691 signed TAL) eContent decoder.
 * Oracle: accepted input encodes back to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ca/tak.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ca_tak	*t = NULL;
	struct cm_err	 err;
	uint8_t		*der = NULL;
	size_t		 len;

	if (ca_tak_decode("fuzz.tak", data, size, &t, &err) != 0)
		return 0;
	if (ca_tak_encode(t, &der, &len, &err) != 0 || len != size ||
	    memcmp(der, data, size) != 0)
		abort();
	free(der);
	ca_tak_free(t);
	return 0;
}
