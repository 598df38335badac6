/* RFC 8181 messages: building and writing. */
#include "publish/pub_msg.h"

#include <stdlib.h>
#include <string.h>

#include "common/cm_enc.h"
#include "publish/pub_uri.h"
#include "publish/pub_xml.h"

static const char *const errnames[] = {
	[PUB_ERR_XML_ERROR] = "xml_error",
	[PUB_ERR_PERMISSION_FAILURE] = "permission_failure",
	[PUB_ERR_BAD_CMS_SIGNATURE] = "bad_cms_signature",
	[PUB_ERR_OBJECT_ALREADY_PRESENT] = "object_already_present",
	[PUB_ERR_NO_OBJECT_PRESENT] = "no_object_present",
	[PUB_ERR_NO_OBJECT_MATCHING_HASH] = "no_object_matching_hash",
	[PUB_ERR_CONSISTENCY_PROBLEM] = "consistency_problem",
	[PUB_ERR_OTHER_ERROR] = "other_error",
};

const char *
pub_errcode_name(enum pub_errcode code)
{
	if ((size_t)code >= sizeof(errnames) / sizeof(errnames[0]))
		return "other_error";
	return errnames[code];
}

int
pub_errcode_parse(const char *s, enum pub_errcode *out)
{
	for (size_t i = 0; i < sizeof(errnames) / sizeof(errnames[0]); i++)
		if (strcmp(s, errnames[i]) == 0) {
			*out = (enum pub_errcode)i;
			return 0;
		}
	return -1;
}

struct pub_msg *
pub_msg_new(int reply)
{
	struct pub_msg *m = calloc(1, sizeof(*m));

	if (m != NULL)
		m->reply = reply != 0;
	return m;
}

static void
pdu_clear(struct pub_pdu *p)
{
	if (p == NULL)
		return;
	free(p->tag);
	free(p->uri);
	free(p->data);
	free(p->error_text);
	pdu_clear(p->failed);
	free(p->failed);
	memset(p, 0, sizeof(*p));
}

void
pub_msg_free(struct pub_msg *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->npdus; i++)
		pdu_clear(&m->pdus[i]);
	free(m->pdus);
	free(m);
}

static struct pub_pdu *
grow(struct pub_msg *m)
{
	struct pub_pdu	*p;
	size_t		 ncap;

	if (m->npdus == m->cap) {
		ncap = m->cap ? m->cap * 2 : 8;
		if ((p = reallocarray(m->pdus, ncap, sizeof(*p))) == NULL)
			return NULL;
		m->pdus = p;
		m->cap = ncap;
	}
	p = &m->pdus[m->npdus];
	memset(p, 0, sizeof(*p));
	return p;
}

/* Which fields a PDU of this type carries in this direction. */
static int
check_shape(int reply, enum pub_pdu_type type, const char *uri,
    const uint8_t *hash, const uint8_t *data, size_t len, struct cm_err *err)
{
	int want_uri, want_hash, want_data;

	switch (type) {
	case PUB_PDU_LIST:
		want_uri = want_hash = reply;
		want_data = 0;
		break;
	case PUB_PDU_PUBLISH:
		want_uri = 1;
		want_hash = reply ? 0 : -1;	/* -1: optional */
		want_data = !reply;
		break;
	case PUB_PDU_WITHDRAW:
		want_uri = 1;
		want_hash = !reply;
		want_data = 0;
		break;
	default:
		return cm_err_set(err, CM_EINVAL, NULL,
		    "RFC 8181: use pub_msg_add_error() for report_error");
	}
	if ((uri != NULL) != want_uri || (want_hash != -1 &&
	    (hash != NULL) != want_hash) || (data != NULL && len > 0) !=
	    want_data)
		return cm_err_set(err, CM_EINVAL, uri,
		    "RFC 8181: wrong fields for a %s PDU in a %s",
		    type == PUB_PDU_LIST ? "list" : type == PUB_PDU_PUBLISH ?
		    "publish" : "withdraw", reply ? "reply" : "query");
	return 0;
}

static int
dupstr(const char *s, char **out)
{
	*out = NULL;
	return s != NULL && (*out = strdup(s)) == NULL ? -1 : 0;
}

static int
pdu_copy(struct pub_pdu *p, enum pub_pdu_type type, const char *tag,
    const char *uri, const uint8_t *hash, const uint8_t *data, size_t len)
{
	p->type = type;
	if (dupstr(tag, &p->tag) == -1 || dupstr(uri, &p->uri) == -1)
		return -1;
	if (hash != NULL) {
		p->has_hash = 1;
		memcpy(p->hash, hash, 32);
	}
	if (data != NULL && len > 0) {
		if ((p->data = malloc(len)) == NULL)
			return -1;
		memcpy(p->data, data, len);
		p->len = len;
	}
	return 0;
}

int
pub_msg_add(struct pub_msg *m, enum pub_pdu_type type, const char *tag,
    const char *uri, const uint8_t *hash, const uint8_t *data, size_t len,
    struct cm_err *err)
{
	struct pub_pdu	*p;

	if (check_shape(m->reply, type, uri, hash, data, len, err) == -1)
		return -1;
	if (tag != NULL && !pub_token_ok(tag, PUB_TAG_MAX))
		return cm_err_set(err, CM_EINVAL, NULL,
		    "RFC 8181: tag is not a token of at most %d bytes",
		    PUB_TAG_MAX);
	if ((p = grow(m)) == NULL ||
	    pdu_copy(p, type, tag, uri, hash, data, len) == -1) {
		if (p != NULL)
			pdu_clear(p);
		return cm_err_set(err, CM_ENOMEM, NULL, "out of memory");
	}
	m->npdus++;
	return 0;
}

int
pub_msg_add_error(struct pub_msg *m, enum pub_errcode code, const char *text,
    const struct pub_pdu *failed, struct cm_err *err)
{
	struct pub_pdu	*p;

	if (!m->reply)
		return cm_err_set(err, CM_EINVAL, NULL,
		    "RFC 8181: report_error only appears in replies");
	if ((p = grow(m)) == NULL)
		return cm_err_set(err, CM_ENOMEM, NULL, "out of memory");
	p->type = PUB_PDU_ERROR;
	p->error = code;
	if (dupstr(text, &p->error_text) == -1 || (failed != NULL &&
	    dupstr(failed->tag, &p->tag) == -1))
		goto nomem;
	if (failed != NULL) {
		if ((p->failed = calloc(1, sizeof(*p->failed))) == NULL ||
		    pdu_copy(p->failed, failed->type, failed->tag, failed->uri,
		    failed->has_hash ? failed->hash : NULL, failed->data,
		    failed->len) == -1)
			goto nomem;
	}
	m->npdus++;
	return 0;
nomem:
	pdu_clear(p);
	return cm_err_set(err, CM_ENOMEM, NULL, "out of memory");
}

static int
nomem(struct cm_err *err)
{
	return cm_err_set(err, CM_ENOMEM, NULL, "RFC 8181: out of memory");
}

static int
put_hash(struct cm_buf *b, const uint8_t hash[32])
{
	char	hex[65];

	cm_hex_encode(hash, 32, hex);
	return cm_buf_printf(b, " hash=\"%s\"", hex);
}

/* Writes one PDU; reply selects the shape (a failed_pdu is a query PDU). */
static int
write_pdu(struct cm_buf *b, const struct pub_pdu *p, int reply,
    struct cm_err *err)
{
	static const char *const names[] = { "list", "publish", "withdraw",
		"report_error" };
	const char *name = names[p->type];

	if (cm_buf_printf(b, "<%s", name) == -1)
		return nomem(err);
	if (p->tag != NULL && pub_xml_put_attr(b, "tag", p->tag, err) == -1)
		return -1;
	if (p->type == PUB_PDU_ERROR && cm_buf_printf(b, " error_code=\"%s\"",
	    pub_errcode_name(p->error)) == -1)
		return nomem(err);
	if (p->uri != NULL && pub_xml_put_attr(b, "uri", p->uri, err) == -1)
		return -1;
	if (p->has_hash && p->type != PUB_PDU_ERROR &&
	    put_hash(b, p->hash) == -1)
		return nomem(err);
	if (p->type == PUB_PDU_PUBLISH && !reply) {
		if (cm_buf_puts(b, ">") == -1 ||
		    cm_b64_encode(p->data, p->len, b) == -1 ||
		    cm_buf_puts(b, "</publish>\n") == -1)
			return nomem(err);
		return 0;
	}
	if (p->type != PUB_PDU_ERROR)
		return cm_buf_puts(b, "/>\n") == -1 ? nomem(err) : 0;
	if (cm_buf_puts(b, ">\n") == -1)
		return nomem(err);
	if (p->error_text != NULL) {
		if (cm_buf_puts(b, "<error_text>") == -1)
			return nomem(err);
		if (pub_xml_escape(b, p->error_text, err) == -1)
			return cm_err_wrap(err, "error_text");
		if (cm_buf_puts(b, "</error_text>\n") == -1)
			return nomem(err);
	}
	if (p->failed != NULL) {
		if (cm_buf_puts(b, "<failed_pdu>") == -1)
			return nomem(err);
		if (write_pdu(b, p->failed, 0, err) == -1)
			return -1;
		if (cm_buf_puts(b, "</failed_pdu>\n") == -1)
			return nomem(err);
	}
	return cm_buf_puts(b, "</report_error>\n") == -1 ? nomem(err) : 0;
}

int
pub_msg_write(const struct pub_msg *m, struct cm_buf *out,
    struct cm_err *err)
{
	cm_err_clear(err);
	if (cm_buf_printf(out, "<msg xmlns=\"" PUB_MSG_NS "\" type=\"%s\" "
	    "version=\"4\">\n", m->reply ? "reply" : "query") == -1)
		return nomem(err);
	for (size_t i = 0; i < m->npdus; i++)
		if (write_pdu(out, &m->pdus[i], m->reply, err) == -1)
			return -1;
	if (cm_buf_puts(out, "</msg>\n") == -1)
		return nomem(err);
	return 0;
}
