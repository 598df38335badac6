/*
 * libFuzzer target: the request and response files of an offline parent
 * (ca/offline.h).  Oracle: an accepted file is written back and must parse
 * to the same fields and bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ca/offline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
same(const struct ca_off *a, const struct ca_off *b)
{
	size_t i;

	if (strcmp(a->parent, b->parent) != 0 ||
	    (a->child == NULL) != (b->child == NULL) ||
	    (a->child != NULL && strcmp(a->child, b->child) != 0) ||
	    a->created != b->created || a->nmsgs != b->nmsgs ||
	    a->nobjs != b->nobjs)
		abort();
	for (i = 0; i < a->nmsgs; i++)
		if (a->msgs[i].len != b->msgs[i].len ||
		    memcmp(a->msgs[i].der, b->msgs[i].der, a->msgs[i].len) != 0)
			abort();
	for (i = 0; i < a->nobjs; i++)
		if (strcmp(a->objs[i].uri, b->objs[i].uri) != 0 ||
		    a->objs[i].len != b->objs[i].len ||
		    memcmp(a->objs[i].der, b->objs[i].der, a->objs[i].len) != 0)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum ca_off_kind	 k;
	struct ca_off		*f, *g;
	struct cm_err		 err;
	char			*out;
	size_t			 len;

	for (k = CA_OFF_REQUEST; k <= CA_OFF_RESPONSE; k++) {
		if (ca_off_parse("fuzz", data, size, k, &f, &err) != 0)
			continue;
		if (ca_off_write(f, &out, &len, &err) != 0 ||
		    ca_off_parse("rewrite", (uint8_t *)out, len, k, &g,
		    &err) != 0)
			abort();
		same(f, g);
		ca_off_free(g);
		ca_off_free(f);
		free(out);
	}
	return 0;
}
