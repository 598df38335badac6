/* RFC 8181 messages: strict parsing and the checks of both sides. */
#include "publish/pub_msg.h"

#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "common/cm_enc.h"
#include "publish/pub_uri.h"
#include "publish/pub_xml.h"

static const char *const msg_attrs[] = { "type", "version", NULL };
static const char *const q_list_attrs[] = { "tag", NULL };
static const char *const q_pub_attrs[] = { "tag", "uri", "hash", NULL };
static const char *const q_wd_attrs[] = { "tag", "uri", "hash", NULL };
static const char *const r_list_attrs[] = { "tag", "uri", "hash", NULL };
static const char *const r_pub_attrs[] = { "tag", "uri", NULL };
static const char *const r_err_attrs[] = { "tag", "error_code", NULL };
static const char *const no_attrs[] = { NULL };

static int
pdu_type(const xmlNode *n, enum pub_pdu_type *t)
{
	static const char *const names[] = { "list", "publish", "withdraw",
		"report_error" };

	for (int i = 0; i < 4; i++)
		if (strcmp((const char *)n->name, names[i]) == 0) {
			*t = (enum pub_pdu_type)i;
			return 0;
		}
	return -1;
}

static const char *const *
allowed_attrs(enum pub_pdu_type t, int reply)
{
	switch (t) {
	case PUB_PDU_LIST:
		return reply ? r_list_attrs : q_list_attrs;
	case PUB_PDU_PUBLISH:
		return reply ? r_pub_attrs : q_pub_attrs;
	case PUB_PDU_WITHDRAW:
		return reply ? r_pub_attrs : q_wd_attrs;
	default:
		return r_err_attrs;
	}
}

static void
pdu_free(struct pub_pdu *p)
{
	if (p == NULL)
		return;
	free(p->tag);
	free(p->uri);
	free(p->data);
	free(p->error_text);
	pdu_free(p->failed);
	free(p->failed);
}

static int
parse_pdu(const char *name, const xmlNode *n, int reply, struct pub_pdu *p,
    struct cm_err *err);

static int
parse_error_body(const char *name, const xmlNode *n, struct pub_pdu *p,
    struct cm_err *err)
{
	const xmlNode	*c = NULL, *f;
	int		 r, seen_text = 0, seen_failed = 0;

	while ((r = pub_xml_next_elem(name, n, &c, err)) == 1) {
		if (strcmp((const char *)c->name, "error_text") == 0 &&
		    !seen_text && !seen_failed) {
			if (pub_xml_check_elem(name, c, "error_text",
			    PUB_MSG_NS, no_attrs, err) == -1 ||
			    pub_xml_text(name, c, PUB_ERROR_TEXT_MAX,
			    &p->error_text, err) == -1)
				return -1;
			seen_text = 1;
			continue;
		}
		if (pub_xml_check_elem(name, c, "failed_pdu", PUB_MSG_NS,
		    no_attrs, err) == -1 || seen_failed)
			return seen_failed ? cm_err_set(err, CM_EINVAL, name,
			    "report_error: unexpected <%.64s>",
			    (const char *)c->name) : -1;
		seen_failed = 1;
		/*
		 * failed_pdu holds any element; keep it when it is a query
		 * PDU we understand, and otherwise only report the error.
		 */
		f = NULL;
		if (pub_xml_next_elem(name, c, &f, err) != 1)
			continue;
		if ((p->failed = calloc(1, sizeof(*p->failed))) == NULL)
			return cm_err_set(err, CM_ENOMEM, name, "out of memory");
		if (parse_pdu(name, f, 0, p->failed, NULL) == -1) {
			pdu_free(p->failed);
			free(p->failed);
			p->failed = NULL;
		}
	}
	return r;
}

static int
parse_pdu(const char *name, const xmlNode *n, int reply, struct pub_pdu *p,
    struct cm_err *err)
{
	struct cm_buf	 b = CM_BUF_INIT;
	char		*hash = NULL, *code = NULL, *text = NULL;
	int		 rc = -1, want_hash;

	memset(p, 0, sizeof(*p));
	if (pdu_type(n, &p->type) == -1 || (!reply && p->type == PUB_PDU_ERROR))
		return cm_err_set(err, CM_EINVAL, name,
		    "unknown element <%.64s> in a %s", (const char *)n->name,
		    reply ? "reply" : "query");
	if (pub_xml_check_elem(name, n, (const char *)n->name, PUB_MSG_NS,
	    allowed_attrs(p->type, reply), err) == -1)
		return -1;
	if (pub_xml_attr(name, n, "tag", 0, PUB_TAG_MAX, &p->tag, err) == -1)
		goto out;
	if (p->tag != NULL && !pub_token_ok(p->tag, PUB_TAG_MAX)) {
		cm_err_set(err, CM_EINVAL, name,
		    "<%s>: tag is not an xsd:token", (const char *)n->name);
		goto out;
	}
	if (p->type == PUB_PDU_ERROR) {
		if (pub_xml_attr(name, n, "error_code", 1, 64, &code, err) == -1)
			goto out;
		if (pub_errcode_parse(code, &p->error) == -1) {
			cm_err_set(err, CM_EINVAL, name,
			    "report_error: unknown error_code \"%.64s\"", code);
			goto out;
		}
		rc = parse_error_body(name, n, p, err);
		goto out;
	}
	/* uri: all but a query <list/> */
	if (reply || p->type != PUB_PDU_LIST) {
		if (pub_xml_attr(name, n, "uri", 1, PUB_URI_MAX, &p->uri,
		    err) == -1)
			goto out;
		if (strncmp(p->uri, "rsync://", 8) != 0) {
			cm_err_set(err, CM_EINVAL, name,
			    "<%s>: uri \"%.200s\" is not rsync://",
			    (const char *)n->name, p->uri);
			goto out;
		}
	}
	/* hash: required on withdraw query and list reply, optional on publish */
	want_hash = (!reply && p->type == PUB_PDU_WITHDRAW) ||
	    (reply && p->type == PUB_PDU_LIST);
	if (pub_xml_attr(name, n, "hash", want_hash, 64, &hash, err) == -1)
		goto out;
	if (hash != NULL) {
		if (pub_hash_parse(name, p->uri, hash, p->hash, err) == -1)
			goto out;
		p->has_hash = 1;
	}
	if (pub_xml_text(name, n, PUB_MSG_MAX, &text, err) == -1)
		goto out;
	if (!reply && p->type == PUB_PDU_PUBLISH) {
		if (cm_b64_decode(text, strlen(text), &b, err) == -1) {
			cm_err_wrap(err, p->uri);
			cm_err_wrap(err, name);
			goto out;
		}
		if (b.len == 0) {
			cm_err_set(err, CM_EINVAL, name,
			    "%.200s: publish without content", p->uri);
			goto out;
		}
		p->data = cm_buf_steal(&b, &p->len);
	} else if (strspn(text, " \t\r\n") != strlen(text)) {
		cm_err_set(err, CM_EINVAL, name, "<%s>: unexpected content",
		    (const char *)n->name);
		goto out;
	}
	rc = 0;
out:
	free(hash);
	free(code);
	free(text);
	cm_buf_free(&b);
	return rc;
}

static int
parse_root(const char *name, const xmlNode *root, int want_reply,
    struct cm_err *err)
{
	char	*v = NULL, *t = NULL;
	int	 rc = -1;

	if (pub_xml_check_elem(name, root, "msg", PUB_MSG_NS, msg_attrs,
	    err) == -1)
		return -1;
	if (pub_xml_attr(name, root, "version", 1, 16, &v, err) == -1 ||
	    pub_xml_attr(name, root, "type", 1, 16, &t, err) == -1)
		goto out;
	if (strcmp(v, "4") != 0) {
		cm_err_set(err, CM_EINVAL, name, "msg version \"%.16s\" is not 4",
		    v);
		goto out;
	}
	if (strcmp(t, want_reply ? "reply" : "query") != 0) {
		cm_err_set(err, CM_EINVAL, name, "msg type \"%.16s\", expected %s",
		    t, want_reply ? "reply" : "query");
		goto out;
	}
	rc = 0;
out:
	free(v);
	free(t);
	return rc;
}

int
pub_msg_parse(const char *name, const uint8_t *xml, size_t len,
    int want_reply, struct pub_msg **out, struct cm_err *err)
{
	struct pub_msg	*m = NULL;
	xmlDoc		*x = NULL;
	const xmlNode	*root, *n = NULL;
	void		*p;
	int		 r, rc = -1;

	*out = NULL;
	if (pub_xml_parse(name, xml, len, PUB_MSG_MAX, &x, err) == -1)
		return -1;
	root = xmlDocGetRootElement(x);
	if (parse_root(name, root, want_reply, err) == -1)
		goto out;
	if ((m = pub_msg_new(want_reply)) == NULL) {
		cm_err_set(err, CM_ENOMEM, name, "out of memory");
		goto out;
	}
	while ((r = pub_xml_next_elem(name, root, &n, err)) == 1) {
		if (m->npdus == m->cap) {
			m->cap = m->cap ? m->cap * 2 : 8;
			if ((p = reallocarray(m->pdus, m->cap,
			    sizeof(*m->pdus))) == NULL) {
				cm_err_set(err, CM_ENOMEM, name, "out of memory");
				goto out;
			}
			m->pdus = p;
		}
		m->npdus++;
		if (parse_pdu(name, n, want_reply, &m->pdus[m->npdus - 1],
		    err) == -1)
			goto out;
	}
	if (r == -1)
		goto out;
	*out = m;
	m = NULL;
	rc = 0;
out:
	pub_msg_free(m);
	xmlFreeDoc(x);
	return rc;
}

static int
cmp_pdu_ptr(const void *a, const void *b)
{
	const struct pub_pdu *const *x = a, *const *y = b;
	int c = strcmp((*x)->uri, (*y)->uri);

	if (c != 0)
		return c;
	return (int)(*x)->type - (int)(*y)->type;
}

/* Collects the PDUs of m that carry a URI (publish, withdraw), sorted. */
static int
sorted_uris(const struct pub_msg *m, const struct pub_pdu ***out, size_t *n)
{
	const struct pub_pdu **v;
	size_t	i, k = 0;

	if ((v = calloc(m->npdus + 1, sizeof(*v))) == NULL)
		return -1;
	for (i = 0; i < m->npdus; i++)
		if (m->pdus[i].type == PUB_PDU_PUBLISH ||
		    m->pdus[i].type == PUB_PDU_WITHDRAW)
			v[k++] = &m->pdus[i];
	qsort(v, k, sizeof(*v), cmp_pdu_ptr);
	*out = v;
	*n = k;
	return 0;
}

int
pub_msg_check_query(const struct pub_msg *q, const char *sia_base,
    size_t *bad, enum pub_errcode *code, struct cm_err *err)
{
	const struct pub_pdu	**v;
	size_t			  i, n;
	int			  rc = 0;

	*code = PUB_ERR_OTHER_ERROR;
	*bad = 0;
	if (q->reply)
		return cm_err_set(err, CM_EINVAL, NULL, "not a query");
	for (i = 0; i < q->npdus; i++) {
		if (q->pdus[i].uri == NULL)
			continue;
		if (pub_uri_check_object(q->pdus[i].uri, sia_base, err) == -1) {
			*bad = i;
			*code = PUB_ERR_PERMISSION_FAILURE;
			return -1;
		}
	}
	if (sorted_uris(q, &v, &n) == -1)
		return cm_err_set(err, CM_ENOMEM, NULL, "out of memory");
	for (i = 1; i < n && rc == 0; i++)
		if (strcmp(v[i - 1]->uri, v[i]->uri) == 0) {
			*bad = (size_t)(v[i] - q->pdus);
			*code = PUB_ERR_CONSISTENCY_PROBLEM;
			rc = cm_err_set(err, CM_EINVAL, v[i]->uri,
			    "URI appears more than once in one query");
		}
	free(v);
	return rc;
}

int
pub_msg_reply_check(const struct pub_msg *query, const struct pub_msg *reply,
    struct cm_err *err)
{
	const struct pub_pdu	**qv = NULL, **rv = NULL;
	size_t			  i, qn, rn;
	int			  rc = -1;

	for (i = 0; i < reply->npdus; i++) {
		const struct pub_pdu *p = &reply->pdus[i];

		if (p->type == PUB_PDU_ERROR)
			return cm_err_set(err, p->error ==
			    PUB_ERR_PERMISSION_FAILURE ? CM_EPERM : CM_EINVAL,
			    p->failed && p->failed->uri ? p->failed->uri : NULL,
			    "server reported %s%s%.512s",
			    pub_errcode_name(p->error),
			    p->error_text ? ": " : "",
			    p->error_text ? p->error_text : "");
	}
	if (!reply->reply || query->reply)
		return cm_err_set(err, CM_EINVAL, NULL,
		    "RFC 8181: reply check needs a query and a reply");
	if (sorted_uris(query, &qv, &qn) == -1 ||
	    sorted_uris(reply, &rv, &rn) == -1) {
		cm_err_set(err, CM_ENOMEM, NULL, "out of memory");
		goto out;
	}
	if (qn != rn) {
		cm_err_set(err, CM_EINVAL, NULL,
		    "reply acknowledges %zu of %zu PDUs", rn, qn);
		goto out;
	}
	for (i = 0; i < qn; i++)
		if (cmp_pdu_ptr(&qv[i], &rv[i]) != 0) {
			cm_err_set(err, CM_EINVAL, qv[i]->uri,
			    "not acknowledged in the reply");
			goto out;
		}
	rc = 0;
out:
	free(qv);
	free(rv);
	return rc;
}
