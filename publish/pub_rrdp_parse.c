/*
 * RRDP documents parsed into memory (on top of the streaming parser), and
 * the replica check between two notifications.
 */
#include "publish/pub_rrdp.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void
pub_rrdp_doc_free(struct pub_rrdp_doc *doc)
{
	size_t	i;

	if (doc == NULL)
		return;
	free((void *)doc->snapshot.uri);
	for (i = 0; i < doc->ndeltas; i++)
		free((void *)doc->deltas[i].uri);
	free(doc->deltas);
	for (i = 0; i < doc->nelems; i++) {
		free(doc->elems[i].uri);
		free(doc->elems[i].data);
	}
	free(doc->elems);
	free(doc);
}

/* Collector state: the document and the capacities of its arrays. */
struct coll {
	struct pub_rrdp_doc	*doc;
	size_t			 capd, cape;
};

static int
c_root(void *arg, const char *session, uint64_t serial, struct cm_err *err)
{
	struct coll *c = arg;

	memcpy(c->doc->session, session, 37);
	c->doc->serial = serial;
	return 0;
}

static int
c_ref(void *arg, int snapshot, const struct pub_rrdp_ref *r,
    struct cm_err *err)
{
	struct coll		*c = arg;
	struct pub_rrdp_ref	*d;
	void			*p;

	if (snapshot)
		d = &c->doc->snapshot;
	else {
		if (c->doc->ndeltas == c->capd) {
			c->capd = c->capd ? c->capd * 2 : 16;
			if ((p = reallocarray(c->doc->deltas, c->capd,
			    sizeof(*d))) == NULL)
				return cm_err_set(err, CM_ENOMEM, NULL,
				    "out of memory");
			c->doc->deltas = p;
		}
		d = &c->doc->deltas[c->doc->ndeltas];
	}
	*d = *r;
	if ((d->uri = strdup(r->uri)) == NULL)
		return cm_err_set(err, CM_ENOMEM, NULL, "out of memory");
	if (!snapshot)
		c->doc->ndeltas++;
	return 0;
}

static int
c_elem(void *arg, struct pub_rrdp_elem *e, struct cm_err *err)
{
	struct coll	*c = arg;
	void		*p;

	if (c->doc->nelems == c->cape) {
		c->cape = c->cape ? c->cape * 2 : 64;
		if ((p = reallocarray(c->doc->elems, c->cape,
		    sizeof(*e))) == NULL)
			return cm_err_set(err, CM_ENOMEM, NULL, "out of memory");
		c->doc->elems = p;
	}
	/* Take the URI and the bytes over; the parser frees what is left. */
	c->doc->elems[c->doc->nelems++] = *e;
	e->uri = NULL;
	e->data = NULL;
	return 0;
}

static int
cmp_serial_desc(const void *a, const void *b)
{
	const struct pub_rrdp_ref *x = a, *y = b;

	return x->serial < y->serial ? 1 : x->serial > y->serial ? -1 : 0;
}

int
pub_rrdp_parse(const char *name, const uint8_t *xml, size_t len, size_t max,
    enum pub_rrdp_kind expect, struct pub_rrdp_doc **out, struct cm_err *err)
{
	static const struct pub_rrdp_handler h = { c_root, c_ref, c_elem };
	struct coll	c;

	*out = NULL;
	if (len > max)
		return cm_err_set(err, CM_ELIMIT, name,
		    "document of %zu bytes exceeds the limit of %zu", len, max);
	memset(&c, 0, sizeof(c));
	if ((c.doc = calloc(1, sizeof(*c.doc))) == NULL)
		return cm_err_set(err, CM_ENOMEM, name, "out of memory");
	c.doc->kind = expect;
	if (pub_rrdp_parse_stream(name, xml, len, expect, &h, &c, err) == -1) {
		pub_rrdp_doc_free(c.doc);
		return -1;
	}
	/* newest first, as pub_rrdp_notification() writes them */
	if (c.doc->ndeltas > 1)
		qsort(c.doc->deltas, c.doc->ndeltas,
		    sizeof(*c.doc->deltas), cmp_serial_desc);
	*out = c.doc;
	return 0;
}

int
pub_rrdp_notification_compare(const struct pub_rrdp_doc *prev,
    const struct pub_rrdp_doc *cur, struct cm_err *err)
{
	size_t	i, j;

	if (prev->kind != PUB_RRDP_NOTIFICATION ||
	    cur->kind != PUB_RRDP_NOTIFICATION)
		return cm_err_set(err, CM_EINVAL, NULL,
		    "RRDP compare: both documents must be notifications");
	if (strcasecmp(prev->session, cur->session) != 0)
		return 0;	/* a new session starts afresh */
	if (cur->serial < prev->serial)
		return cm_err_set(err, CM_EINVAL, NULL,
		    "RRDP session %s: serial went back from %" PRIu64
		    " to %" PRIu64, cur->session, prev->serial, cur->serial);
	if (cur->serial == prev->serial &&
	    memcmp(cur->snapshot.hash, prev->snapshot.hash, 32) != 0)
		return cm_err_set(err, CM_EINVAL, cur->snapshot.uri,
		    "RRDP serial %" PRIu64 ": snapshot hash changed",
		    cur->serial);
	for (i = 0; i < cur->ndeltas; i++)
		for (j = 0; j < prev->ndeltas; j++) {
			if (cur->deltas[i].serial != prev->deltas[j].serial)
				continue;
			if (strcmp(cur->deltas[i].uri, prev->deltas[j].uri) != 0 ||
			    memcmp(cur->deltas[i].hash, prev->deltas[j].hash,
			    32) != 0)
				return cm_err_set(err, CM_EINVAL,
				    cur->deltas[i].uri, "RRDP delta %" PRIu64
				    " changed (RFC 9697)", cur->deltas[i].serial);
		}
	return 0;
}
