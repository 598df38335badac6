/*
 * libFuzzer target: strict TAL parser (ca_tal_parse).  Oracle: whatever is
 * accepted can be written again by ca_tal_write() and parses back to the
 * same URIs and key.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ca/tal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ca_tal	*t = NULL, *back = NULL;
	struct cm_err	 err;
	char		*s = NULL;

	if (ca_tal_parse("fuzz.tal", (const char *)data, size, &t, &err) != 0) {
		if (err.code != CM_EINVAL)
			abort();
		return 0;
	}
	if (ca_tal_write(NULL, 0, (const char *const *)t->uris, t->nuris,
	    t->key, &s, &err) != 0 ||
	    ca_tal_parse("again.tal", s, strlen(s), &back, &err) != 0 ||
	    back->nuris != t->nuris || EVP_PKEY_eq(back->key, t->key) != 1)
		abort();
	for (size_t i = 0; i < t->nuris; i++)
		if (strcmp(t->uris[i], back->uris[i]) != 0)
			abort();
	free(s);
	ca_tal_free(t);
	ca_tal_free(back);
	return 0;
}
