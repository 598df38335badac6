/* Strict RRDP parser (RFC 8182 schema, RFC 9674, RFC 9697). */
#include "publish/pub_rrdp.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/tree.h>

#include "common/cm_enc.h"
#include "publish/pub_uri.h"
#include "publish/pub_uuid.h"
#include "publish/pub_xml.h"

/* A single object is at most this large (base64 text). */
#define OBJ_B64_MAX	(8u * 1024 * 1024)

static const char *const root_attrs[] = { "version", "session_id", "serial",
	NULL };
static const char *const snap_attrs[] = { "uri", "hash", NULL };
static const char *const delta_attrs[] = { "serial", "uri", "hash", NULL };
static const char *const pub_attrs[] = { "uri", "hash", NULL };
static const char *const wd_attrs[] = { "uri", "hash", NULL };

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

static int
parse_root(const char *name, const xmlNode *root, struct pub_rrdp_doc *doc,
    struct cm_err *err)
{
	static const char *const names[] = { NULL, "notification", "snapshot",
		"delta" };
	char	*v = NULL;
	int	 rc = -1;

	if (pub_xml_check_elem(name, root, names[doc->kind], PUB_RRDP_NS,
	    root_attrs, err) == -1)
		return -1;
	if (pub_xml_attr(name, root, "version", 1, 16, &v, err) == -1)
		goto out;
	if (strcmp(v, "1") != 0) {
		cm_err_set(err, CM_EINVAL, name, "version \"%.16s\" is not 1", v);
		goto out;
	}
	free(v);
	if (pub_xml_attr(name, root, "session_id", 1, 64, &v, err) == -1)
		goto out;
	if (!pub_uuid_is_v4(v)) {
		cm_err_set(err, CM_EINVAL, name,
		    "session_id \"%.64s\" is not a v4 UUID", v);
		goto out;
	}
	memcpy(doc->session, v, 37);
	free(v);
	if (pub_xml_attr(name, root, "serial", 1, 32, &v, err) == -1 ||
	    pub_serial_parse(name, "root", v, &doc->serial, err) == -1)
		goto out;
	rc = 0;
out:
	free(v);
	return rc;
}

/* Reads uri and hash of a <snapshot> or <delta> reference. */
static int
parse_ref(const char *name, const xmlNode *n, struct pub_rrdp_ref *r,
    struct cm_err *err)
{
	char	*uri = NULL, *hash = NULL, *serial = NULL;
	int	 rc = -1, isdelta = strcmp((const char *)n->name, "delta") == 0;

	if (pub_xml_attr(name, n, "uri", 1, PUB_URI_MAX, &uri, err) == -1 ||
	    pub_xml_attr(name, n, "hash", 1, 64, &hash, err) == -1)
		goto out;
	if (pub_uri_check_https(uri, err) == -1) {
		cm_err_wrap(err, (const char *)n->name);
		cm_err_wrap(err, name);
		goto out;
	}
	if (pub_hash_parse(name, (const char *)n->name, hash, r->hash, err) == -1)
		goto out;
	if (isdelta && (pub_xml_attr(name, n, "serial", 1, 32, &serial,
	    err) == -1 || pub_serial_parse(name, "delta", serial, &r->serial,
	    err) == -1))
		goto out;
	r->uri = uri;
	uri = NULL;
	rc = 0;
out:
	free(uri);
	free(hash);
	free(serial);
	return rc;
}

static int
cmp_serial_desc(const void *a, const void *b)
{
	const struct pub_rrdp_ref *x = a, *y = b;

	return x->serial < y->serial ? 1 : x->serial > y->serial ? -1 : 0;
}

static int
parse_notification(const char *name, const xmlNode *root,
    struct pub_rrdp_doc *doc, struct cm_err *err)
{
	const xmlNode	*n = NULL;
	size_t		 cap = 0, i;
	int		 r, seen_snapshot = 0;
	void		*p;

	while ((r = pub_xml_next_elem(name, root, &n, err)) == 1) {
		if (!seen_snapshot) {
			/* RFC 8182 §3.5.1.3: exactly one snapshot, first. */
			if (pub_xml_check_elem(name, n, "snapshot", PUB_RRDP_NS,
			    snap_attrs, err) == -1 ||
			    parse_ref(name, n, &doc->snapshot, err) == -1)
				return -1;
			seen_snapshot = 1;
			continue;
		}
		if (pub_xml_check_elem(name, n, "delta", PUB_RRDP_NS,
		    delta_attrs, err) == -1)
			return -1;
		if (doc->ndeltas == cap) {
			cap = cap ? cap * 2 : 16;
			if ((p = reallocarray(doc->deltas, cap,
			    sizeof(*doc->deltas))) == NULL)
				return cm_err_set(err, CM_ENOMEM, name,
				    "out of memory");
			doc->deltas = p;
		}
		memset(&doc->deltas[doc->ndeltas], 0, sizeof(*doc->deltas));
		if (parse_ref(name, n, &doc->deltas[doc->ndeltas++], err) == -1)
			return -1;
	}
	if (r == -1)
		return -1;
	if (!seen_snapshot)
		return cm_err_set(err, CM_EINVAL, name,
		    "notification without a snapshot");
	/* The deltas must lead from some serial up to the current one. */
	qsort(doc->deltas, doc->ndeltas, sizeof(*doc->deltas), cmp_serial_desc);
	for (i = 0; i < doc->ndeltas; i++) {
		if (doc->deltas[i].serial != doc->serial - i)
			return cm_err_set(err, CM_EINVAL, name,
			    "delta serials are not unique and contiguous up "
			    "to serial %" PRIu64 " (at %" PRIu64 ")",
			    doc->serial, doc->deltas[i].serial);
		if (!pub_uri_same_origin(doc->deltas[i].uri, doc->snapshot.uri))
			return cm_err_set(err, CM_EINVAL, name,
			    "delta %" PRIu64 ": not the same origin as the "
			    "snapshot (RFC 9674)", doc->deltas[i].serial);
	}
	return 0;
}

static int
parse_elem(const char *name, const xmlNode *n, enum pub_rrdp_kind kind,
    struct pub_rrdp_elem *e, struct cm_err *err)
{
	struct cm_buf	 b = CM_BUF_INIT;
	char		*hash = NULL, *text = NULL;
	int		 rc = -1;

	e->withdraw = strcmp((const char *)n->name, "withdraw") == 0;
	if (e->withdraw && kind == PUB_RRDP_SNAPSHOT)
		return cm_err_set(err, CM_EINVAL, name,
		    "withdraw is not allowed in a snapshot");
	if (pub_xml_check_elem(name, n, e->withdraw ? "withdraw" : "publish",
	    PUB_RRDP_NS, e->withdraw ? wd_attrs : pub_attrs, err) == -1)
		return -1;
	if (pub_xml_attr(name, n, "uri", 1, PUB_URI_MAX, &e->uri, err) == -1 ||
	    pub_xml_attr(name, n, "hash", 0, 64, &hash, err) == -1)
		goto out;
	if (pub_rrdp_check_uri(e->uri, err) == -1) {
		cm_err_wrap(err, name);
		goto out;
	}
	if (hash != NULL && kind == PUB_RRDP_SNAPSHOT) {
		cm_err_set(err, CM_EINVAL, name,
		    "%.200s: publish in a snapshot has no hash", e->uri);
		goto out;
	}
	if (hash == NULL && e->withdraw) {
		cm_err_set(err, CM_EINVAL, name,
		    "%.200s: withdraw without hash", e->uri);
		goto out;
	}
	if (hash != NULL) {
		if (pub_hash_parse(name, e->uri, hash, e->hash, err) == -1)
			goto out;
		e->has_hash = 1;
	}
	if (pub_xml_text(name, n, OBJ_B64_MAX, &text, err) == -1)
		goto out;
	if (e->withdraw) {
		if (strspn(text, " \t\r\n") != strlen(text)) {
			cm_err_set(err, CM_EINVAL, name,
			    "%.200s: withdraw has content", e->uri);
			goto out;
		}
	} else {
		if (cm_b64_decode(text, strlen(text), &b, err) == -1) {
			cm_err_wrap(err, e->uri);
			cm_err_wrap(err, name);
			goto out;
		}
		if (b.len == 0) {
			cm_err_set(err, CM_EINVAL, name,
			    "%.200s: publish without content", e->uri);
			goto out;
		}
		e->data = cm_buf_steal(&b, &e->len);
	}
	rc = 0;
out:
	free(hash);
	free(text);
	cm_buf_free(&b);
	return rc;
}

static int
cmp_elem_uri(const void *a, const void *b)
{
	const struct pub_rrdp_elem *const *x = a, *const *y = b;

	return strcmp((*x)->uri, (*y)->uri);
}

/* No URI may appear twice: in a snapshot (RFC 8182) nor in one delta. */
static int
check_unique(const char *name, struct pub_rrdp_doc *doc, struct cm_err *err)
{
	struct pub_rrdp_elem	**v;
	size_t			  i;
	int			  rc = 0;

	if (doc->nelems < 2)
		return 0;
	if ((v = calloc(doc->nelems, sizeof(*v))) == NULL)
		return cm_err_set(err, CM_ENOMEM, name, "out of memory");
	for (i = 0; i < doc->nelems; i++)
		v[i] = &doc->elems[i];
	qsort(v, doc->nelems, sizeof(*v), cmp_elem_uri);
	for (i = 1; i < doc->nelems && rc == 0; i++)
		if (strcmp(v[i - 1]->uri, v[i]->uri) == 0)
			rc = cm_err_set(err, CM_EINVAL, name,
			    "%.200s: URI appears twice", v[i]->uri);
	free(v);
	return rc;
}

static int
parse_elems(const char *name, const xmlNode *root, struct pub_rrdp_doc *doc,
    struct cm_err *err)
{
	const xmlNode	*n = NULL;
	size_t		 cap = 0;
	int		 r;
	void		*p;

	while ((r = pub_xml_next_elem(name, root, &n, err)) == 1) {
		if (doc->nelems == cap) {
			cap = cap ? cap * 2 : 64;
			if ((p = reallocarray(doc->elems, cap,
			    sizeof(*doc->elems))) == NULL)
				return cm_err_set(err, CM_ENOMEM, name,
				    "out of memory");
			doc->elems = p;
		}
		memset(&doc->elems[doc->nelems], 0, sizeof(*doc->elems));
		doc->nelems++;
		if (parse_elem(name, n, doc->kind, &doc->elems[doc->nelems - 1],
		    err) == -1)
			return -1;
	}
	if (r == -1)
		return -1;
	if (doc->kind == PUB_RRDP_DELTA && doc->nelems == 0)
		return cm_err_set(err, CM_EINVAL, name,
		    "delta without publish or withdraw");
	return check_unique(name, doc, err);
}

int
pub_rrdp_parse(const char *name, const uint8_t *xml, size_t len, size_t max,
    enum pub_rrdp_kind expect, struct pub_rrdp_doc **out, struct cm_err *err)
{
	struct pub_rrdp_doc	*doc = NULL;
	xmlDoc			*x = NULL;
	const xmlNode		*root;
	int			 rc = -1;

	*out = NULL;
	if (expect != PUB_RRDP_NOTIFICATION && expect != PUB_RRDP_SNAPSHOT &&
	    expect != PUB_RRDP_DELTA)
		return cm_err_set(err, CM_EINVAL, name, "unknown RRDP kind");
	if (pub_xml_parse(name, xml, len, max, &x, err) == -1)
		return -1;
	if ((doc = calloc(1, sizeof(*doc))) == NULL) {
		cm_err_set(err, CM_ENOMEM, name, "out of memory");
		goto out;
	}
	doc->kind = expect;
	root = xmlDocGetRootElement(x);
	if (parse_root(name, root, doc, err) == -1)
		goto out;
	if (expect == PUB_RRDP_NOTIFICATION) {
		if (parse_notification(name, root, doc, err) == -1)
			goto out;
	} else if (parse_elems(name, root, doc, err) == -1)
		goto out;
	*out = doc;
	doc = NULL;
	rc = 0;
out:
	pub_rrdp_doc_free(doc);
	xmlFreeDoc(x);
	return rc;
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
