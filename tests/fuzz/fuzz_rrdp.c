/*
 * libFuzzer target: strict RRDP parser (notification, snapshot, delta).
 * Oracle: a document the parser accepts is written back with the RRDP
 * writer, and that output must parse to the same content.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cm_buf.h"
#include "publish/pub_rrdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
rewrite(const struct pub_rrdp_doc *d)
{
	struct pub_rrdp_writer	 w;
	struct pub_rrdp_doc	*d2 = NULL;
	struct cm_buf		 b = CM_BUF_INIT;
	struct cm_err		 err;

	if (d->kind == PUB_RRDP_NOTIFICATION) {
		if (pub_rrdp_notification(&b, d->session, d->serial,
		    &d->snapshot, d->deltas, d->ndeltas, NULL, &err) != 0)
			abort();
	} else {
		if (pub_rrdp_begin(&w, &b, d->kind, d->session, d->serial,
		    &err) != 0)
			abort();
		for (size_t i = 0; i < d->nelems; i++) {
			const struct pub_rrdp_elem *e = &d->elems[i];
			int r = e->withdraw ? pub_rrdp_write_withdraw(&w, e->uri,
			    e->hash, &err) : pub_rrdp_write_publish(&w, e->uri,
			    e->has_hash ? e->hash : NULL, e->data, e->len, &err);

			if (r != 0)
				abort();
		}
		if (pub_rrdp_end(&w, &err) != 0)
			abort();
	}
	if (pub_rrdp_parse("rewrite", b.data, b.len, PUB_RRDP_MAX_DOC, d->kind,
	    &d2, &err) != 0)
		abort();
	if (d2->serial != d->serial || d2->nelems != d->nelems ||
	    d2->ndeltas != d->ndeltas)
		abort();
	for (size_t i = 0; i < d->nelems; i++)
		if (strcmp(d->elems[i].uri, d2->elems[i].uri) != 0 ||
		    d->elems[i].len != d2->elems[i].len ||
		    (d->elems[i].len > 0 && memcmp(d->elems[i].data,
		    d2->elems[i].data, d->elems[i].len) != 0) ||
		    memcmp(d->elems[i].hash, d2->elems[i].hash, 32) != 0)
			abort();
	pub_rrdp_doc_free(d2);
	cm_buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum pub_rrdp_kind kinds[] = { PUB_RRDP_NOTIFICATION,
		PUB_RRDP_SNAPSHOT, PUB_RRDP_DELTA };
	struct pub_rrdp_doc	*d;
	struct cm_err		 err;

	for (size_t k = 0; k < 3; k++) {
		if (pub_rrdp_parse("fuzz", data, size, 1 << 20, kinds[k], &d,
		    &err) != 0)
			continue;
		rewrite(d);
		pub_rrdp_doc_free(d);
	}
	return 0;
}
