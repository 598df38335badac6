/*
 * libFuzzer target: strict ROA eContent decoder.  Oracle: whatever the
 * decoder accepts must encode back to the same bytes (it accepts only the
 * canonical DER form).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ca/roa.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ca_roa	*roa = NULL;
	struct cm_err	 err;
	uint8_t		*der = NULL;
	size_t		 len;

	if (ca_roa_decode("fuzz.roa", data, size, &roa, &err) != 0)
		return 0;
	if (ca_roa_encode(roa, &der, &len, &err) != 0 || len != size ||
	    memcmp(der, data, size) != 0)
		abort();
	free(der);
	ca_roa_free(roa);
	return 0;
}
