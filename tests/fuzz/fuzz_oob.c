/*
 * libFuzzer target: RFC 8183 setup message parser.  Oracle: an accepted
 * message is written back and must parse to the same fields.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cm_buf.h"
#include "publish/pub_oob.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
streq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pub_oob	*o, *o2;
	struct cm_buf	 b = CM_BUF_INIT;
	struct cm_err	 err;

	if (pub_oob_parse("fuzz", data, size, 0, &o, &err) != 0)
		return 0;
	if (pub_oob_write(o, &b, &err) != 0 ||
	    pub_oob_parse("rewrite", b.data, b.len, o->type, &o2, &err) != 0)
		abort();
	if (!streq(o->tag, o2->tag) || !streq(o->handle, o2->handle) ||
	    !streq(o->parent_handle, o2->parent_handle) ||
	    !streq(o->service_uri, o2->service_uri) ||
	    !streq(o->sia_base, o2->sia_base) ||
	    !streq(o->rrdp_notification_uri, o2->rrdp_notification_uri) ||
	    o->bpki_ta_len != o2->bpki_ta_len || o->offer != o2->offer ||
	    o->nreferrals != o2->nreferrals)
		abort();
	pub_oob_free(o2);
	pub_oob_free(o);
	cm_buf_free(&b);
	return 0;
}
