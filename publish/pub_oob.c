/* RFC 8183 out-of-band setup messages. */
#include "publish/pub_oob.h"

#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>
#include <openssl/x509.h>

#include "common/cm_enc.h"
#include "publish/pub_uri.h"
#include "publish/pub_xml.h"

#define TAG_MAX	1024

/* Per type: root element, its attributes, handle attribute, TA element. */
struct oob_shape {
	const char		*root;
	const char *const	*attrs;
	const char		*handle;
	const char		*ta;
};

static const char *const cr_attrs[] = { "version", "tag", "child_handle",
	NULL };
static const char *const pr_attrs[] = { "version", "tag", "service_uri",
	"child_handle", "parent_handle", NULL };
static const char *const pq_attrs[] = { "version", "tag", "publisher_handle",
	NULL };
static const char *const rr_attrs[] = { "version", "tag", "service_uri",
	"publisher_handle", "sia_base", "rrdp_notification_uri", NULL };
static const char *const er_attrs[] = { "version", "reason", NULL };
static const char *const ref_parent_attrs[] = { "referrer", "contact_uri",
	NULL };
static const char *const ref_pub_attrs[] = { "referrer", NULL };
static const char *const no_attrs[] = { NULL };

static const struct oob_shape shapes[] = {
	[PUB_OOB_CHILD_REQUEST] = { "child_request", cr_attrs, "child_handle",
	    "child_bpki_ta" },
	[PUB_OOB_PARENT_RESPONSE] = { "parent_response", pr_attrs,
	    "child_handle", "parent_bpki_ta" },
	[PUB_OOB_PUBLISHER_REQUEST] = { "publisher_request", pq_attrs,
	    "publisher_handle", "publisher_bpki_ta" },
	[PUB_OOB_REPOSITORY_RESPONSE] = { "repository_response", rr_attrs,
	    "publisher_handle", "repository_bpki_ta" },
	[PUB_OOB_ERROR] = { "error", er_attrs, NULL, NULL },
};

void
pub_oob_free(struct pub_oob *o)
{
	if (o == NULL)
		return;
	free(o->tag);
	free(o->handle);
	free(o->parent_handle);
	free(o->service_uri);
	free(o->sia_base);
	free(o->rrdp_notification_uri);
	free(o->reason);
	free(o->bpki_ta);
	for (size_t i = 0; i < o->nreferrals; i++) {
		free(o->referrals[i].referrer);
		free(o->referrals[i].contact_uri);
		free(o->referrals[i].token);
	}
	free(o->referrals);
	free(o);
}

int
pub_oob_handle_ok(const char *s)
{
	if (s == NULL || strlen(s) > PUB_HANDLE_MAX)
		return 0;
	return strspn(s, "-_/abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == strlen(s);
}

static int
check_handle(const char *name, const char *what, const char *s,
    struct cm_err *err)
{
	if (s == NULL)
		return cm_err_set(err, CM_EINVAL, name, "missing %s", what);
	if (!pub_oob_handle_ok(s))
		return cm_err_set(err, CM_EINVAL, name,
		    "%s \"%.64s\" is not a handle ([-_A-Za-z0-9/]*, at most "
		    "%d bytes)", what, s, PUB_HANDLE_MAX);
	return 0;
}

static int
check_service_uri(const char *name, const char *s, struct cm_err *err)
{
	if (s == NULL)
		return cm_err_set(err, CM_EINVAL, name, "missing service_uri");
	/* Plain http is still met on internal networks; nothing else is. */
	if (strncmp(s, "http://", 7) == 0 && strlen(s) > 7) {
		char tmp[PUB_URI_MAX + 2];

		if (strlen(s) > PUB_URI_MAX)
			return cm_err_set(err, CM_EINVAL, name,
			    "service_uri too long");
		snprintf(tmp, sizeof(tmp), "https://%s", s + 7);
		if (pub_uri_check_https(tmp, err) == -1)
			return cm_err_wrap(err, "service_uri");
		return 0;
	}
	if (pub_uri_check_https(s, err) == -1) {
		cm_err_wrap(err, "service_uri");
		return cm_err_wrap(err, name);
	}
	return 0;
}

/* The BPKI TA: one DER certificate, nothing after it, signed by itself. */
static int
check_ta(const char *name, const char *what, const uint8_t *der, size_t len,
    struct cm_err *err)
{
	const unsigned char	*p = der;
	X509			*x;
	int			 rc = -1;

	if (der == NULL || len == 0)
		return cm_err_set(err, CM_EINVAL, name, "missing %s", what);
	if ((x = d2i_X509(NULL, &p, (long)len)) == NULL)
		return cm_err_ssl(err, name, "%s: not a DER certificate", what);
	if (p != der + len) {
		cm_err_set(err, CM_EINVAL, name, "%s: trailing bytes after the "
		    "certificate", what);
		goto out;
	}
	if (X509_verify(x, X509_get0_pubkey(x)) != 1) {
		cm_err_ssl(err, name, "%s: certificate is not self-signed", what);
		goto out;
	}
	rc = 0;
out:
	X509_free(x);
	return rc;
}

/* True if o has a field that its type does not carry. */
static int
stray_fields(const struct pub_oob *o)
{
	enum pub_oob_type t = o->type;

	return (o->parent_handle != NULL && t != PUB_OOB_PARENT_RESPONSE) ||
	    (o->service_uri != NULL && t != PUB_OOB_PARENT_RESPONSE &&
	    t != PUB_OOB_REPOSITORY_RESPONSE) ||
	    ((o->sia_base != NULL || o->rrdp_notification_uri != NULL) &&
	    t != PUB_OOB_REPOSITORY_RESPONSE) ||
	    (o->reason != NULL && t != PUB_OOB_ERROR) ||
	    (t == PUB_OOB_ERROR && (o->handle != NULL || o->bpki_ta != NULL ||
	    o->tag != NULL));
}

static int
validate(const char *name, const struct pub_oob *o, struct cm_err *err)
{
	const struct oob_shape *s;

	if (o->type < PUB_OOB_CHILD_REQUEST || o->type > PUB_OOB_ERROR)
		return cm_err_set(err, CM_EINVAL, name, "unknown setup type");
	s = &shapes[o->type];
	if (stray_fields(o))
		return cm_err_set(err, CM_EINVAL, name,
		    "%s: carries a field its schema does not have", s->root);
	if (o->tag != NULL && strlen(o->tag) > TAG_MAX)
		return cm_err_set(err, CM_EINVAL, name, "tag too long");
	if (o->type == PUB_OOB_ERROR) {
		if (o->reason == NULL || (strcmp(o->reason, "syntax-error") != 0 &&
		    strcmp(o->reason, "authentication-failure") != 0 &&
		    strcmp(o->reason, "refused") != 0))
			return cm_err_set(err, CM_EINVAL, name,
			    "error: reason must be syntax-error, "
			    "authentication-failure or refused");
		return 0;
	}
	if (check_handle(name, s->handle, o->handle, err) == -1 ||
	    check_ta(name, s->ta, o->bpki_ta, o->bpki_ta_len, err) == -1)
		return -1;
	if (o->type == PUB_OOB_PARENT_RESPONSE &&
	    check_handle(name, "parent_handle", o->parent_handle, err) == -1)
		return -1;
	if ((o->type == PUB_OOB_PARENT_RESPONSE ||
	    o->type == PUB_OOB_REPOSITORY_RESPONSE) &&
	    check_service_uri(name, o->service_uri, err) == -1)
		return -1;
	if (o->type == PUB_OOB_REPOSITORY_RESPONSE) {
		if (o->sia_base == NULL)
			return cm_err_set(err, CM_EINVAL, name, "missing sia_base");
		if (pub_uri_check_base(o->sia_base, err) == -1)
			return cm_err_wrap(err, name);
		if (o->rrdp_notification_uri != NULL &&
		    pub_uri_check_https(o->rrdp_notification_uri, err) == -1) {
			cm_err_wrap(err, "rrdp_notification_uri");
			return cm_err_wrap(err, name);
		}
	}
	if (o->offer && o->nreferrals > 0)
		return cm_err_set(err, CM_EINVAL, name,
		    "parent_response: offer and referral exclude each other");
	if (o->offer && o->type != PUB_OOB_PARENT_RESPONSE)
		return cm_err_set(err, CM_EINVAL, name, "offer not allowed here");
	if (o->nreferrals > 0 && o->type != PUB_OOB_PARENT_RESPONSE &&
	    o->type != PUB_OOB_PUBLISHER_REQUEST)
		return cm_err_set(err, CM_EINVAL, name,
		    "referral not allowed here");
	for (size_t i = 0; i < o->nreferrals; i++) {
		const struct pub_oob_referral *r = &o->referrals[i];

		if (check_handle(name, "referral referrer", r->referrer,
		    err) == -1)
			return -1;
		if (r->contact_uri != NULL && o->type != PUB_OOB_PARENT_RESPONSE)
			return cm_err_set(err, CM_EINVAL, name,
			    "referral contact_uri only in parent_response");
		if (r->contact_uri != NULL &&
		    strlen(r->contact_uri) > PUB_URI_MAX)
			return cm_err_set(err, CM_EINVAL, name,
			    "referral contact_uri too long");
		if (r->token == NULL || r->token_len == 0)
			return cm_err_set(err, CM_EINVAL, name,
			    "referral without authorization token");
	}
	return 0;
}

/* ---- writing ---- */

static int
put_b64_elem(struct cm_buf *b, const char *elem, const uint8_t *p,
    size_t len)
{
	return cm_buf_printf(b, "  <%s>", elem) == -1 ||
	    cm_b64_encode(p, len, b) == -1 ||
	    cm_buf_printf(b, "</%s>\n", elem) == -1 ? -1 : 0;
}

static int
put_opt(struct cm_buf *b, const char *attr, const char *v, struct cm_err *err)
{
	return v == NULL ? 0 : pub_xml_put_attr(b, attr, v, err);
}

int
pub_oob_write(const struct pub_oob *o, struct cm_buf *out,
    struct cm_err *err)
{
	const struct oob_shape *s;

	if (validate("setup", o, err) == -1)
		return -1;
	s = &shapes[o->type];
	if (cm_buf_printf(out, "<%s xmlns=\"" PUB_OOB_NS "\" version=\"1\"",
	    s->root) == -1)
		goto nomem;
	if (put_opt(out, "tag", o->tag, err) == -1 ||
	    put_opt(out, "reason", o->reason, err) == -1 ||
	    put_opt(out, "service_uri", o->service_uri, err) == -1 ||
	    (s->handle != NULL && put_opt(out, s->handle, o->handle,
	    err) == -1) ||
	    put_opt(out, "parent_handle", o->parent_handle, err) == -1 ||
	    put_opt(out, "sia_base", o->sia_base, err) == -1 ||
	    put_opt(out, "rrdp_notification_uri", o->rrdp_notification_uri,
	    err) == -1)
		return -1;
	if (o->type == PUB_OOB_ERROR)
		return cm_buf_puts(out, "/>\n") == -1 ? -1 : 0;
	if (cm_buf_puts(out, ">\n") == -1 ||
	    put_b64_elem(out, s->ta, o->bpki_ta, o->bpki_ta_len) == -1)
		goto nomem;
	if (o->offer && cm_buf_puts(out, "  <offer/>\n") == -1)
		goto nomem;
	for (size_t i = 0; i < o->nreferrals; i++) {
		const struct pub_oob_referral *r = &o->referrals[i];

		if (cm_buf_puts(out, "  <referral") == -1)
			goto nomem;
		if (pub_xml_put_attr(out, "referrer", r->referrer, err) == -1 ||
		    put_opt(out, "contact_uri", r->contact_uri, err) == -1)
			return -1;
		if (cm_buf_puts(out, ">") == -1 ||
		    cm_b64_encode(r->token, r->token_len, out) == -1 ||
		    cm_buf_puts(out, "</referral>\n") == -1)
			goto nomem;
	}
	if (cm_buf_printf(out, "</%s>\n", s->root) == -1)
		goto nomem;
	return 0;
nomem:
	return cm_err_set(err, CM_ENOMEM, NULL, "setup: out of memory");
}

/* ---- parsing ---- */

static int
b64_elem(const char *name, const xmlNode *n, uint8_t **out, size_t *len,
    struct cm_err *err)
{
	struct cm_buf	 b = CM_BUF_INIT;
	char		*text = NULL;
	int		 rc = -1;

	if (pub_xml_text(name, n, PUB_OOB_B64_MAX, &text, err) == -1)
		return -1;
	if (cm_b64_decode(text, strlen(text), &b, err) == -1) {
		cm_err_wrap(err, (const char *)n->name);
		cm_err_wrap(err, name);
		goto out;
	}
	if (b.len == 0) {
		cm_err_set(err, CM_EINVAL, name, "<%s> is empty",
		    (const char *)n->name);
		goto out;
	}
	*out = cm_buf_steal(&b, len);
	rc = 0;
out:
	free(text);
	cm_buf_free(&b);
	return rc;
}

static int
parse_referral(const char *name, const xmlNode *n, struct pub_oob *o,
    struct cm_err *err)
{
	struct pub_oob_referral	*r;
	void			*p;

	if (pub_xml_check_elem(name, n, "referral", PUB_OOB_NS,
	    o->type == PUB_OOB_PARENT_RESPONSE ? ref_parent_attrs :
	    ref_pub_attrs, err) == -1)
		return -1;
	if ((p = reallocarray(o->referrals, o->nreferrals + 1,
	    sizeof(*r))) == NULL)
		return cm_err_set(err, CM_ENOMEM, name, "out of memory");
	o->referrals = p;
	r = &o->referrals[o->nreferrals++];
	memset(r, 0, sizeof(*r));
	if (pub_xml_attr(name, n, "referrer", 1, PUB_HANDLE_MAX, &r->referrer,
	    err) == -1 || pub_xml_attr(name, n, "contact_uri", 0, PUB_URI_MAX,
	    &r->contact_uri, err) == -1)
		return -1;
	return b64_elem(name, n, &r->token, &r->token_len, err);
}

static int
parse_children(const char *name, const xmlNode *root, struct pub_oob *o,
    struct cm_err *err)
{
	const struct oob_shape	*s = &shapes[o->type];
	const xmlNode		*n = NULL;
	int			 r;

	if (o->type == PUB_OOB_ERROR)
		return 0;	/* the schema allows any content after error */
	if ((r = pub_xml_next_elem(name, root, &n, err)) != 1)
		return r == 0 ? cm_err_set(err, CM_EINVAL, name, "missing <%s>",
		    s->ta) : -1;
	if (pub_xml_check_elem(name, n, s->ta, PUB_OOB_NS, no_attrs,
	    err) == -1 || b64_elem(name, n, &o->bpki_ta, &o->bpki_ta_len,
	    err) == -1)
		return -1;
	while ((r = pub_xml_next_elem(name, root, &n, err)) == 1) {
		if (o->type == PUB_OOB_PARENT_RESPONSE &&
		    strcmp((const char *)n->name, "offer") == 0 &&
		    !o->offer && o->nreferrals == 0) {
			const xmlNode *c = NULL;

			if (pub_xml_check_elem(name, n, "offer", PUB_OOB_NS,
			    no_attrs, err) == -1)
				return -1;
			if (pub_xml_next_elem(name, n, &c, err) != 0)
				return cm_err_set(err, CM_EINVAL, name,
				    "<offer> must be empty");
			o->offer = 1;
			continue;
		}
		if ((o->type != PUB_OOB_PARENT_RESPONSE &&
		    o->type != PUB_OOB_PUBLISHER_REQUEST) ||
		    strcmp((const char *)n->name, "referral") != 0)
			return cm_err_set(err, CM_EINVAL, name,
			    "unexpected element <%.64s> in <%s>",
			    (const char *)n->name, s->root);
		if (parse_referral(name, n, o, err) == -1)
			return -1;
	}
	return r;
}

static int
parse_attrs(const char *name, const xmlNode *root, struct pub_oob *o,
    struct cm_err *err)
{
	const struct oob_shape	*s = &shapes[o->type];
	char			*v = NULL;

	if (pub_xml_check_elem(name, root, s->root, PUB_OOB_NS, s->attrs,
	    err) == -1)
		return -1;
	if (pub_xml_attr(name, root, "version", 1, 16, &v, err) == -1)
		return -1;
	if (strcmp(v, "1") != 0) {
		cm_err_set(err, CM_EINVAL, name, "version \"%.16s\" is not 1", v);
		free(v);
		return -1;
	}
	free(v);
	if (pub_xml_attr(name, root, "tag", 0, TAG_MAX, &o->tag, err) == -1 ||
	    pub_xml_attr(name, root, "reason", 0, 64, &o->reason, err) == -1 ||
	    pub_xml_attr(name, root, "service_uri", 0, PUB_URI_MAX,
	    &o->service_uri, err) == -1 ||
	    (s->handle != NULL && pub_xml_attr(name, root, s->handle, 1,
	    PUB_HANDLE_MAX, &o->handle, err) == -1) ||
	    pub_xml_attr(name, root, "parent_handle", 0, PUB_HANDLE_MAX,
	    &o->parent_handle, err) == -1 ||
	    pub_xml_attr(name, root, "sia_base", 0, PUB_URI_MAX, &o->sia_base,
	    err) == -1 ||
	    pub_xml_attr(name, root, "rrdp_notification_uri", 0, PUB_URI_MAX,
	    &o->rrdp_notification_uri, err) == -1)
		return -1;
	return 0;
}

int
pub_oob_parse(const char *name, const uint8_t *xml, size_t len,
    enum pub_oob_type expect, struct pub_oob **out, struct cm_err *err)
{
	struct pub_oob	*o = NULL;
	xmlDoc		*x = NULL;
	const xmlNode	*root;
	int		 rc = -1, t;

	*out = NULL;
	if ((int)expect < 0 || expect > PUB_OOB_ERROR)
		return cm_err_set(err, CM_EINVAL, name, "unknown setup type");
	if (pub_xml_parse(name, xml, len, PUB_OOB_MAX, &x, err) == -1)
		return -1;
	root = xmlDocGetRootElement(x);
	for (t = PUB_OOB_CHILD_REQUEST; t <= PUB_OOB_ERROR; t++)
		if (strcmp((const char *)root->name, shapes[t].root) == 0)
			break;
	if (t > PUB_OOB_ERROR || (expect != 0 && (int)expect != t)) {
		cm_err_set(err, CM_EINVAL, name, "unexpected root element "
		    "<%.64s>%s%s", (const char *)root->name,
		    expect ? ", expected " : "",
		    expect ? shapes[expect].root : "");
		goto out;
	}
	if ((o = calloc(1, sizeof(*o))) == NULL) {
		cm_err_set(err, CM_ENOMEM, name, "out of memory");
		goto out;
	}
	o->type = (enum pub_oob_type)t;
	if (parse_attrs(name, root, o, err) == -1 ||
	    parse_children(name, root, o, err) == -1 ||
	    validate(name, o, err) == -1)
		goto out;
	*out = o;
	o = NULL;
	rc = 0;
out:
	pub_oob_free(o);
	xmlFreeDoc(x);
	return rc;
}
