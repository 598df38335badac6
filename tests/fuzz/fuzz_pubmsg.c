/*
 * libFuzzer target: RFC 8181 message parser (queries and replies).
 * Oracle: an accepted message is written back and must parse to the same
 * PDUs; the server-side query checks must not crash on it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cm_buf.h"
#include "publish/pub_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
streq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void
same(const struct pub_pdu *a, const struct pub_pdu *b)
{
	if (a->type != b->type || !streq(a->tag, b->tag) ||
	    !streq(a->uri, b->uri) || a->has_hash != b->has_hash ||
	    (a->has_hash && memcmp(a->hash, b->hash, 32) != 0) ||
	    a->len != b->len || (a->len && memcmp(a->data, b->data, a->len)) ||
	    a->error != b->error || !streq(a->error_text, b->error_text) ||
	    (a->failed == NULL) != (b->failed == NULL))
		abort();
	if (a->failed != NULL)
		same(a->failed, b->failed);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pub_msg	*m, *m2;
	struct cm_buf	 b = CM_BUF_INIT;
	struct cm_err	 err;
	size_t		 bad;
	enum pub_errcode code;

	for (int reply = 0; reply < 2; reply++) {
		if (pub_msg_parse("fuzz", data, size, reply, &m, &err) != 0)
			continue;
		if (!reply)
			(void)pub_msg_check_query(m, "rsync://h/m/", &bad, &code,
			    &err);
		cm_buf_reset(&b);
		if (pub_msg_write(m, &b, &err) != 0 ||
		    pub_msg_parse("rewrite", b.data, b.len, reply, &m2,
		    &err) != 0 || m2->npdus != m->npdus)
			abort();
		for (size_t i = 0; i < m->npdus; i++)
			same(&m->pdus[i], &m2->pdus[i]);
		pub_msg_free(m2);
		pub_msg_free(m);
	}
	cm_buf_free(&b);
	return 0;
}
