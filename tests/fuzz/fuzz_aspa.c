/*
 * libFuzzer target: strict ASPA eContent decoder.  Oracle: accepted input
 * encodes back to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ca/aspa.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ca_aspa	*a = NULL;
	struct cm_err	 err;
	uint8_t		*der = NULL;
	size_t		 len;

	if (ca_aspa_decode("fuzz.asa", data, size, &a, &err) != 0)
		return 0;
	if (ca_aspa_encode(a, &der, &len, &err) != 0 || len != size ||
	    memcmp(der, data, size) != 0)
		abort();
	free(der);
	ca_aspa_free(a);
	return 0;
}
