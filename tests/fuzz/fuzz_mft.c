/*
 * libFuzzer target: strict manifest eContent decoder.  Oracle: accepted
 * input encodes back to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ca/mft.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ca_mft	*m = NULL;
	struct cm_err	 err;
	uint8_t		*der = NULL;
	size_t		 len;

	if (ca_mft_decode("fuzz.mft", data, size, &m, &err) != 0)
		return 0;
	if (ca_mft_encode(m, &der, &len, &err) != 0 || len != size ||
	    memcmp(der, data, size) != 0)
		abort();
	free(der);
	ca_mft_free(m);
	return 0;
}
