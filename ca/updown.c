/*
 * ca_ud: RFC 6492 up-down messages, parsed strictly with libxml2's tree API
 * and written with it (so that escaping is never ours to get wrong).
 */
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "ca/resources.h"
#include "ca/updown.h"
#include "common/cm_clock.h"
#include "common/cm_enc.h"

static const struct {
	enum ca_ud_type	 type;
	const char	*name;
} types[] = {
	{ CA_UD_LIST, "list" },
	{ CA_UD_LIST_RESPONSE, "list_response" },
	{ CA_UD_ISSUE, "issue" },
	{ CA_UD_ISSUE_RESPONSE, "issue_response" },
	{ CA_UD_REVOKE, "revoke" },
	{ CA_UD_REVOKE_RESPONSE, "revoke_response" },
	{ CA_UD_ERROR_RESPONSE, "error_response" },
};

static const struct {
	int		 status;
	const char	*text;
} statuses[] = {
	{ 1101, "already processing request" },
	{ 1102, "version number error" },
	{ 1103, "unrecognised request type" },
	{ 1104, "request scheduled for processing" },
	{ 1201, "request - no such resource class" },
	{ 1202, "request - no resources allocated in resource class" },
	{ 1203, "request - badly formed certificate request" },
	{ 1204, "request - already used key in request" },
	{ 1301, "revoke - no such resource class" },
	{ 1302, "revoke - no such key" },
	{ 2001, "internal server error - request not performed" },
};

const char *
ca_ud_type_name(enum ca_ud_type t)
{
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].type == t)
			return types[i].name;
	return "unknown";
}

const char *
ca_ud_status_text(int status)
{
	size_t i;

	for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		if (statuses[i].status == status)
			return statuses[i].text;
	return NULL;
}

static void
cert_clear(struct ca_ud_cert *c)
{
	free(c->cert_url);
	free(c->req_as);
	free(c->req_v4);
	free(c->req_v6);
	free(c->der);
}

static void
class_clear(struct ca_ud_class *c)
{
	size_t i;

	free(c->class_name);
	free(c->cert_url);
	free(c->res_as);
	free(c->res_v4);
	free(c->res_v6);
	free(c->suggested_sia_head);
	for (i = 0; i < c->ncerts; i++)
		cert_clear(&c->certs[i]);
	free(c->certs);
	free(c->issuer);
}

void
ca_ud_free(struct ca_ud_msg *m)
{
	size_t i;

	if (m == NULL)
		return;
	free(m->sender);
	free(m->recipient);
	for (i = 0; i < m->nclasses; i++)
		class_clear(&m->classes[i]);
	free(m->classes);
	free(m->class_name);
	free(m->req_as);
	free(m->req_v4);
	free(m->req_v6);
	free(m->pkcs10);
	free(m->description);
	free(m);
}

/* ---- parsing ---------------------------------------------------------- */

struct pctx {
	const char		*who;
	struct ca_ud_error	*e;
};

static int
perr(struct pctx *p, int status, const char *fmt, const char *a, const char *b)
{
	cm_err_set(&p->e->err, CM_EINVAL, p->who, fmt, a, b);
	p->e->status = status;
	return -1;
}

static int
is_ud_element(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && n->ns != NULL &&
	    n->ns->href != NULL &&
	    strcmp((const char *)n->ns->href, CA_UD_NS) == 0 &&
	    strcmp((const char *)n->name, name) == 0;
}

static int
is_blank(const xmlChar *s)
{
	for (; s != NULL && *s != '\0'; s++)
		if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
			return 0;
	return 1;
}

/*
 * Checks that n's children are elements (plus blank text and comments) and
 * that n carries only the attributes in allowed (NULL-terminated).
 */
static int
check_shape(struct pctx *p, const xmlNode *n, const char *const *allowed,
    int text_ok)
{
	const xmlAttr	*a;
	const xmlNode	*c;
	size_t		 i;

	for (a = n->properties; a != NULL; a = a->next) {
		if (a->ns != NULL &&
		    !(strcmp((const char *)n->name, "description") == 0 &&
		    strcmp((const char *)a->name, "lang") == 0))
			return perr(p, 0, "<%s>: unexpected namespaced attribute %s",
			    (const char *)n->name, (const char *)a->name);
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp((const char *)a->name, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL && a->ns == NULL)
			return perr(p, 0, "<%s>: unexpected attribute %s",
			    (const char *)n->name, (const char *)a->name);
	}
	for (c = n->children; c != NULL; c = c->next) {
		switch (c->type) {
		case XML_ELEMENT_NODE:
		case XML_COMMENT_NODE:
			break;
		case XML_TEXT_NODE:
			if (text_ok || is_blank(c->content))
				break;
			return perr(p, 0, "<%s>: unexpected text%s",
			    (const char *)n->name, "");
		default:
			return perr(p, 0, "<%s>: unexpected node (entity, CDATA or PI)%s",
			    (const char *)n->name, "");
		}
	}
	return 0;
}

/* Copies attribute name of n into *out; missing is an error if required. */
static int
get_attr(struct pctx *p, const xmlNode *n, const char *name, int required,
    char **out)
{
	xmlChar *v;

	*out = NULL;
	if ((v = xmlGetNoNsProp(n, (const xmlChar *)name)) == NULL) {
		if (required)
			return perr(p, 0, "<%s>: missing attribute %s",
			    (const char *)n->name, name);
		return 0;
	}
	*out = strdup((const char *)v);
	xmlFree(v);
	if (*out == NULL)
		return perr(p, 0, "out of memory%s%s", "", "");
	return 0;
}

/* A resource set attribute: parsed to check syntax and canonical order. */
static int
get_res(struct pctx *p, const xmlNode *n, const char *name,
    enum ca_res_family f, int required, char **out)
{
	struct ca_res	*r;
	char		*canon = NULL;
	struct cm_err	 err;
	int		 rc;

	if (get_attr(p, n, name, required, out) == -1)
		return -1;
	if (*out == NULL)
		return 0;
	if ((r = ca_res_new()) == NULL)
		return perr(p, 0, "out of memory%s%s", "", "");
	rc = ca_res_parse(r, f, *out, name, &err);
	if (rc == 0)
		rc = ca_res_print(r, f, &canon, &err);
	ca_res_free(r);
	if (rc == -1)
		return perr(p, 0, "<%s>: %s", (const char *)n->name, err.msg);
	/*
	 * RFC 6492 §3.4.1 wants sets sorted and non-overlapping; storing the
	 * canonical form lets callers compare sets as strings.
	 */
	free(*out);
	*out = canon;
	return 0;
}

/* Decodes the base64 text content of n. */
static int
get_b64(struct pctx *p, const xmlNode *n, uint8_t **der, size_t *len)
{
	struct cm_buf	 b = CM_BUF_INIT;
	struct cm_err	 err;
	xmlChar		*txt;
	int		 rc;

	if ((txt = xmlNodeGetContent(n)) == NULL || is_blank(txt)) {
		xmlFree(txt);
		return perr(p, 0, "<%s>: empty%s", (const char *)n->name, "");
	}
	rc = cm_b64_decode((const char *)txt, strlen((const char *)txt), &b,
	    &err);
	xmlFree(txt);
	if (rc == -1) {
		cm_buf_free(&b);
		return perr(p, 0, "<%s>: bad base64: %s", (const char *)n->name,
		    err.msg);
	}
	*der = cm_buf_steal(&b, len);
	return 0;
}

/* "ski": RFC 6492 §3.5.1 g(SKI), URL-safe base64 without padding. */
static int
parse_ski(struct pctx *p, const char *s, uint8_t ski[20])
{
	char		 std[32];
	struct cm_buf	 b = CM_BUF_INIT;
	struct cm_err	 err;
	size_t		 i, n = strlen(s);

	if (n != 27)
		return perr(p, 0, "ski \"%s\": not the unpadded base64url of "
		    "20 octets%s", s, "");
	for (i = 0; i < n; i++) {
		if (s[i] == '-')
			std[i] = '+';
		else if (s[i] == '_')
			std[i] = '/';
		else if (s[i] == '+' || s[i] == '/' || s[i] == '=')
			return perr(p, 0, "ski \"%s\": not base64url%s", s, "");
		else
			std[i] = s[i];
	}
	std[n] = '=';
	std[n + 1] = '\0';
	if (cm_b64_decode(std, n + 1, &b, &err) == -1 || b.len != 20) {
		cm_buf_free(&b);
		return perr(p, 0, "ski \"%s\": not base64url of 20 octets%s", s,
		    "");
	}
	memcpy(ski, b.data, 20);
	cm_buf_free(&b);
	return 0;
}

static int
parse_class(struct pctx *p, const xmlNode *n, struct ca_ud_class *c)
{
	static const char *const cattrs[] = { "class_name", "cert_url",
	    "resource_set_as", "resource_set_ipv4", "resource_set_ipv6",
	    "resource_set_notafter", "suggested_sia_head", NULL };
	static const char *const certattrs[] = { "cert_url",
	    "req_resource_set_as", "req_resource_set_ipv4",
	    "req_resource_set_ipv6", NULL };
	static const char *const none[] = { NULL };
	const xmlNode	*k;
	char		*t;
	int64_t		 na;
	size_t		 nissuer = 0;
	struct ca_ud_cert *cc;

	if (check_shape(p, n, cattrs, 0) == -1 ||
	    get_attr(p, n, "class_name", 1, &c->class_name) == -1 ||
	    get_attr(p, n, "cert_url", 1, &c->cert_url) == -1 ||
	    get_res(p, n, "resource_set_as", CA_RES_AS, 1, &c->res_as) == -1 ||
	    get_res(p, n, "resource_set_ipv4", CA_RES_V4, 1, &c->res_v4) == -1 ||
	    get_res(p, n, "resource_set_ipv6", CA_RES_V6, 1, &c->res_v6) == -1 ||
	    get_attr(p, n, "suggested_sia_head", 0, &c->suggested_sia_head) == -1 ||
	    get_attr(p, n, "resource_set_notafter", 1, &t) == -1)
		return -1;
	if (cm_time_parse_iso8601(t, &na) == -1) {
		perr(p, 0, "resource_set_notafter \"%s\": not "
		    "YYYY-MM-DDThh:mm:ssZ%s", t, "");
		free(t);
		return -1;
	}
	free(t);
	c->notafter = (time_t)na;
	for (k = n->children; k != NULL; k = k->next) {
		if (k->type != XML_ELEMENT_NODE)
			continue;
		if (is_ud_element(k, "certificate")) {
			if (nissuer > 0)
				return perr(p, 0, "<class %s>: <certificate> "
				    "after <issuer>%s", c->class_name, "");
			cc = reallocarray(c->certs, c->ncerts + 1, sizeof(*cc));
			if (cc == NULL)
				return perr(p, 0, "out of memory%s%s", "", "");
			c->certs = cc;
			cc = &c->certs[c->ncerts++];
			memset(cc, 0, sizeof(*cc));
			if (check_shape(p, k, certattrs, 1) == -1 ||
			    get_attr(p, k, "cert_url", 1, &cc->cert_url) == -1 ||
			    get_res(p, k, "req_resource_set_as", CA_RES_AS, 0,
			    &cc->req_as) == -1 ||
			    get_res(p, k, "req_resource_set_ipv4", CA_RES_V4, 0,
			    &cc->req_v4) == -1 ||
			    get_res(p, k, "req_resource_set_ipv6", CA_RES_V6, 0,
			    &cc->req_v6) == -1 ||
			    get_b64(p, k, &cc->der, &cc->der_len) == -1)
				return -1;
		} else if (is_ud_element(k, "issuer")) {
			if (nissuer++ > 0)
				return perr(p, 0, "<class %s>: more than one "
				    "<issuer>%s", c->class_name, "");
			if (check_shape(p, k, none, 1) == -1 ||
			    get_b64(p, k, &c->issuer, &c->issuer_len) == -1)
				return -1;
		} else
			return perr(p, 0, "<class>: unexpected element <%s>",
			    (const char *)k->name, "");
	}
	if (nissuer != 1)
		return perr(p, 0, "<class %s>: no <issuer>%s", c->class_name, "");
	return 0;
}

static int
parse_body(struct pctx *p, const xmlNode *root, struct ca_ud_msg *m)
{
	static const char *const none[] = { NULL };
	static const char *const reqattrs[] = { "class_name",
	    "req_resource_set_as", "req_resource_set_ipv4",
	    "req_resource_set_ipv6", NULL };
	static const char *const keyattrs[] = { "class_name", "ski", NULL };
	static const char *const descattrs[] = { NULL };
	const xmlNode		*k;
	struct ca_ud_class	*cl;
	size_t			 nchild = 0, nstatus = 0, ndesc = 0, i;
	xmlChar			*txt;
	char			*ski, *end;
	long			 st;

	for (k = root->children; k != NULL; k = k->next) {
		if (k->type != XML_ELEMENT_NODE)
			continue;
		nchild++;
		switch (m->type) {
		case CA_UD_LIST:
			return perr(p, 0, "list: must be empty, has <%s>%s",
			    (const char *)k->name, "");
		case CA_UD_LIST_RESPONSE:
		case CA_UD_ISSUE_RESPONSE:
			if (!is_ud_element(k, "class"))
				return perr(p, 0, "%s: unexpected element <%s>",
				    ca_ud_type_name(m->type), (const char *)k->name);
			cl = reallocarray(m->classes, m->nclasses + 1,
			    sizeof(*cl));
			if (cl == NULL)
				return perr(p, 0, "out of memory%s%s", "", "");
			m->classes = cl;
			cl = &m->classes[m->nclasses++];
			memset(cl, 0, sizeof(*cl));
			if (parse_class(p, k, cl) == -1)
				return -1;
			/* RFC 6492 §3.3.2: each class is named once. */
			for (i = 0; i + 1 < m->nclasses; i++)
				if (strcmp(m->classes[i].class_name,
				    cl->class_name) == 0)
					return perr(p, 0, "%s: class \"%s\" "
					    "listed twice", ca_ud_type_name(
					    m->type), cl->class_name);
			break;
		case CA_UD_ISSUE:
			if (!is_ud_element(k, "request") || nchild > 1)
				return perr(p, 0, "issue: expected one <request>, "
				    "got <%s>%s", (const char *)k->name, "");
			if (check_shape(p, k, reqattrs, 1) == -1 ||
			    get_attr(p, k, "class_name", 1, &m->class_name) == -1 ||
			    get_res(p, k, "req_resource_set_as", CA_RES_AS, 0,
			    &m->req_as) == -1 ||
			    get_res(p, k, "req_resource_set_ipv4", CA_RES_V4, 0,
			    &m->req_v4) == -1 ||
			    get_res(p, k, "req_resource_set_ipv6", CA_RES_V6, 0,
			    &m->req_v6) == -1)
				return -1;
			if (get_b64(p, k, &m->pkcs10, &m->pkcs10_len) == -1) {
				p->e->status = CA_UD_E_BAD_CSR;
				return -1;
			}
			break;
		case CA_UD_REVOKE:
		case CA_UD_REVOKE_RESPONSE:
			if (!is_ud_element(k, "key") || nchild > 1)
				return perr(p, 0, "%s: expected one <key>, got <%s>",
				    ca_ud_type_name(m->type), (const char *)k->name);
			if (check_shape(p, k, keyattrs, 0) == -1 ||
			    get_attr(p, k, "class_name", 1, &m->class_name) == -1 ||
			    get_attr(p, k, "ski", 1, &ski) == -1)
				return -1;
			if (parse_ski(p, ski, m->ski) == -1) {
				free(ski);
				return -1;
			}
			free(ski);
			break;
		case CA_UD_ERROR_RESPONSE:
			if (is_ud_element(k, "status") && nstatus++ == 0 &&
			    ndesc == 0) {
				if (check_shape(p, k, none, 1) == -1)
					return -1;
				txt = xmlNodeGetContent(k);
				st = txt != NULL ? strtol((const char *)txt, &end,
				    10) : 0;
				if (txt == NULL || *end != '\0' ||
				    ca_ud_status_text((int)st) == NULL) {
					perr(p, 0, "error_response: unknown status "
					    "\"%s\"%s", txt != NULL ?
					    (const char *)txt : "", "");
					xmlFree(txt);
					return -1;
				}
				xmlFree(txt);
				m->status = (int)st;
			} else if (is_ud_element(k, "description") &&
			    ndesc++ == 0 && nstatus == 1) {
				if (check_shape(p, k, descattrs, 1) == -1)
					return -1;
				txt = xmlNodeGetContent(k);
				m->description = strdup(txt != NULL ?
				    (const char *)txt : "");
				xmlFree(txt);
				if (m->description == NULL)
					return perr(p, 0, "out of memory%s%s",
					    "", "");
			} else
				return perr(p, 0, "error_response: unexpected "
				    "or repeated <%s>%s", (const char *)k->name,
				    "");
			break;
		}
	}
	switch (m->type) {
	case CA_UD_ISSUE:
	case CA_UD_REVOKE:
	case CA_UD_REVOKE_RESPONSE:
		if (nchild != 1)
			return perr(p, 0, "%s: expected exactly one child element%s",
			    ca_ud_type_name(m->type), "");
		break;
	case CA_UD_ISSUE_RESPONSE:
		if (m->nclasses != 1 || m->classes[0].ncerts != 1)
			return perr(p, 0, "issue_response: needs exactly one "
			    "class with exactly one certificate%s%s", "", "");
		break;
	case CA_UD_ERROR_RESPONSE:
		if (nstatus != 1)
			return perr(p, 0, "error_response: no <status>%s%s", "", "");
		break;
	default:
		break;
	}
	return 0;
}

int
ca_ud_parse(const char *who, const uint8_t *xml, size_t len,
    struct ca_ud_msg **out, struct ca_ud_error *e)
{
	static const char *const rootattrs[] = { "version", "sender",
	    "recipient", "type", NULL };
	struct pctx	 p = { who, e };
	xmlDoc		*doc;
	xmlNode		*root;
	struct ca_ud_msg *m = NULL;
	char		*ver = NULL, *type = NULL;
	size_t		 i;
	int		 rc = -1;

	*out = NULL;
	memset(e, 0, sizeof(*e));
	if (len > CA_UD_MAX_XML)
		return perr(&p, 0, "message larger than %s%s", "16 MiB", "");
	/*
	 * No network, no entity substitution (XML_PARSE_NOENT is absent), and
	 * any DTD is refused below: up-down has none, and entities are how
	 * XML bombs work.
	 */
	doc = xmlReadMemory((const char *)xml, (int)len, "up-down.xml", NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL)
		return perr(&p, 0, "not well-formed XML%s%s", "", "");
	if (doc->intSubset != NULL || doc->extSubset != NULL) {
		perr(&p, 0, "a DTD is not allowed%s%s", "", "");
		goto out;
	}
	root = xmlDocGetRootElement(doc);
	if (root == NULL || !is_ud_element(root, "message")) {
		perr(&p, 0, "root is not <message> in namespace %s%s", CA_UD_NS, "");
		goto out;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		perr(&p, 0, "out of memory%s%s", "", "");
		goto out;
	}
	if (get_attr(&p, root, "version", 1, &ver) == -1)
		goto out;
	if (strcmp(ver, "1") != 0) {
		perr(&p, CA_UD_E_VERSION, "version \"%s\" is not 1%s", ver, "");
		goto out;
	}
	if (get_attr(&p, root, "type", 1, &type) == -1)
		goto out;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(types[i].name, type) == 0)
			break;
	if (i == sizeof(types) / sizeof(types[0])) {
		perr(&p, CA_UD_E_TYPE, "unrecognised message type \"%s\"%s", type,
		    "");
		goto out;
	}
	m->type = types[i].type;
	if (check_shape(&p, root, rootattrs, 0) == -1 ||
	    get_attr(&p, root, "sender", 1, &m->sender) == -1 ||
	    get_attr(&p, root, "recipient", 1, &m->recipient) == -1 ||
	    parse_body(&p, root, m) == -1)
		goto out;
	*out = m;
	m = NULL;
	rc = 0;
out:
	free(ver);
	free(type);
	ca_ud_free(m);
	xmlFreeDoc(doc);
	return rc;
}

/* ---- writing ---------------------------------------------------------- */

static int
wattr(xmlNode *n, const char *name, const char *v)
{
	if (v == NULL)
		return 0;
	return xmlNewProp(n, (const xmlChar *)name, (const xmlChar *)v) ==
	    NULL ? -1 : 0;
}

/* Adds <name>base64(der)</name> under parent. */
static xmlNode *
wb64(xmlNode *parent, xmlNs *ns, const char *name, const uint8_t *der,
    size_t len)
{
	struct cm_buf	 b = CM_BUF_INIT;
	xmlNode		*n = NULL;
	const char	*s;

	if (cm_b64_encode(der, len, &b) == 0 && (s = cm_buf_cstr(&b)) != NULL)
		n = xmlNewChild(parent, ns, (const xmlChar *)name,
		    (const xmlChar *)s);
	cm_buf_free(&b);
	return n;
}

static int
write_class(xmlNode *root, xmlNs *ns, const struct ca_ud_class *c)
{
	xmlNode	*n, *k;
	char	 t[21];
	size_t	 i;

	if ((n = xmlNewChild(root, ns, (const xmlChar *)"class", NULL)) == NULL)
		return -1;
	cm_time_iso8601(c->notafter, t);
	if (wattr(n, "class_name", c->class_name) == -1 ||
	    wattr(n, "cert_url", c->cert_url) == -1 ||
	    wattr(n, "resource_set_as", c->res_as ? c->res_as : "") == -1 ||
	    wattr(n, "resource_set_ipv4", c->res_v4 ? c->res_v4 : "") == -1 ||
	    wattr(n, "resource_set_ipv6", c->res_v6 ? c->res_v6 : "") == -1 ||
	    wattr(n, "resource_set_notafter", t) == -1 ||
	    wattr(n, "suggested_sia_head", c->suggested_sia_head) == -1)
		return -1;
	for (i = 0; i < c->ncerts; i++) {
		k = wb64(n, ns, "certificate", c->certs[i].der,
		    c->certs[i].der_len);
		if (k == NULL ||
		    wattr(k, "cert_url", c->certs[i].cert_url) == -1 ||
		    wattr(k, "req_resource_set_as", c->certs[i].req_as) == -1 ||
		    wattr(k, "req_resource_set_ipv4", c->certs[i].req_v4) == -1 ||
		    wattr(k, "req_resource_set_ipv6", c->certs[i].req_v6) == -1)
			return -1;
	}
	return wb64(n, ns, "issuer", c->issuer, c->issuer_len) == NULL ? -1 : 0;
}

static void
ski_encode(const uint8_t ski[20], char out[28])
{
	struct cm_buf	b = CM_BUF_INIT;
	size_t		i;

	out[0] = '\0';
	if (cm_b64_encode(ski, 20, &b) == -1 || b.len != 28) {
		cm_buf_free(&b);
		return;
	}
	for (i = 0; i < 27; i++)
		out[i] = b.data[i] == '+' ? '-' : b.data[i] == '/' ? '_' :
		    (char)b.data[i];
	out[27] = '\0';
	cm_buf_free(&b);
}

static int
write_body(xmlNode *root, xmlNs *ns, const struct ca_ud_msg *m)
{
	xmlNode	*n;
	char	 ski[28], st[16];
	size_t	 i;

	switch (m->type) {
	case CA_UD_LIST:
		return 0;
	case CA_UD_LIST_RESPONSE:
	case CA_UD_ISSUE_RESPONSE:
		for (i = 0; i < m->nclasses; i++)
			if (write_class(root, ns, &m->classes[i]) == -1)
				return -1;
		return 0;
	case CA_UD_ISSUE:
		n = wb64(root, ns, "request", m->pkcs10, m->pkcs10_len);
		if (n == NULL || wattr(n, "class_name", m->class_name) == -1 ||
		    wattr(n, "req_resource_set_as", m->req_as) == -1 ||
		    wattr(n, "req_resource_set_ipv4", m->req_v4) == -1 ||
		    wattr(n, "req_resource_set_ipv6", m->req_v6) == -1)
			return -1;
		return 0;
	case CA_UD_REVOKE:
	case CA_UD_REVOKE_RESPONSE:
		ski_encode(m->ski, ski);
		n = xmlNewChild(root, ns, (const xmlChar *)"key", NULL);
		if (n == NULL || ski[0] == '\0' ||
		    wattr(n, "class_name", m->class_name) == -1 ||
		    wattr(n, "ski", ski) == -1)
			return -1;
		return 0;
	case CA_UD_ERROR_RESPONSE:
		snprintf(st, sizeof(st), "%d", m->status);
		if (xmlNewChild(root, ns, (const xmlChar *)"status",
		    (const xmlChar *)st) == NULL)
			return -1;
		if (m->description != NULL) {
			n = xmlNewTextChild(root, ns,
			    (const xmlChar *)"description",
			    (const xmlChar *)m->description);
			if (n == NULL)
				return -1;
			xmlNodeSetLang(n, (const xmlChar *)"en-US");
			if (n->properties == NULL)
				return -1;
		}
		return 0;
	}
	return -1;
}

int
ca_ud_write(const struct ca_ud_msg *m, struct cm_buf *out, struct cm_err *err)
{
	xmlDoc			*doc;
	xmlNode			*root;
	xmlNs			*ns;
	xmlChar			*mem = NULL;
	int			 size = 0, rc = -1;
	struct ca_ud_msg	*back = NULL;
	struct ca_ud_error	 e;
	size_t			 before = out->len;

	if (m->type == CA_UD_ERROR_RESPONSE && ca_ud_status_text(m->status) ==
	    NULL)
		return cm_err_set(err, CM_EINVAL, "up-down", "unknown status %d",
		    m->status);
	if ((doc = xmlNewDoc((const xmlChar *)"1.0")) == NULL ||
	    (root = xmlNewNode(NULL, (const xmlChar *)"message")) == NULL) {
		xmlFreeDoc(doc);
		return cm_err_set(err, CM_ENOMEM, "up-down", "out of memory");
	}
	xmlDocSetRootElement(doc, root);
	ns = xmlNewNs(root, (const xmlChar *)CA_UD_NS, NULL);
	xmlSetNs(root, ns);
	if (ns == NULL || wattr(root, "version", "1") == -1 ||
	    wattr(root, "sender", m->sender) == -1 ||
	    wattr(root, "recipient", m->recipient) == -1 ||
	    wattr(root, "type", ca_ud_type_name(m->type)) == -1 ||
	    write_body(root, ns, m) == -1) {
		cm_err_set(err, CM_ENOMEM, "up-down", "cannot build the document");
		goto out;
	}
	xmlDocDumpMemoryEnc(doc, &mem, &size, "UTF-8");
	if (mem == NULL || size <= 0) {
		cm_err_set(err, CM_ENOMEM, "up-down", "cannot serialise");
		goto out;
	}
	/* What we send must pass our own strict parser. */
	if (ca_ud_parse("up-down (outgoing)", mem, (size_t)size, &back,
	    &e) == -1) {
		*err = e.err;
		goto out;
	}
	if (cm_buf_add(out, mem, (size_t)size) == -1) {
		cm_err_set(err, CM_ENOMEM, "up-down", "out of memory");
		goto out;
	}
	rc = 0;
out:
	if (rc == -1)
		out->len = before;
	ca_ud_free(back);
	xmlFree(mem);
	xmlFreeDoc(doc);
	return rc;
}
