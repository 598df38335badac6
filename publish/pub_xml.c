#include "publish/pub_xml.h"

#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xmlerror.h>

#include "common/cm_enc.h"

/* Set in the parser context's _private when a DOCTYPE was seen. */
static int	doctype_seen_marker;

/*
 * SAX hook: the first sign of a DTD stops the parser before any entity
 * declaration is read, so nothing can be expanded or loaded.
 */
static void
refuse_dtd(void *ctx, const xmlChar *name, const xmlChar *ext,
    const xmlChar *sys)
{
	xmlParserCtxtPtr ctxt = ctx;

	ctxt->_private = &doctype_seen_marker;
	xmlStopParser(ctxt);
}

static void
refuse_entity(void *ctx, const xmlChar *name, int type, const xmlChar *pub,
    const xmlChar *sys, xmlChar *content)
{
	xmlParserCtxtPtr ctxt = ctx;

	ctxt->_private = &doctype_seen_marker;
	xmlStopParser(ctxt);
}

int
pub_xml_parse(const char *name, const uint8_t *data, size_t len, size_t max,
    xmlDoc **out, struct cm_err *err)
{
	xmlParserCtxtPtr ctxt = NULL;
	xmlDoc		*doc = NULL;
	const xmlError	*xe;
	size_t		 n;
	int		 rc = -1;

	*out = NULL;
	if (len > max || len > INT32_MAX)
		return cm_err_set(err, CM_ELIMIT, name,
		    "document of %zu bytes exceeds the limit of %zu", len, max);
	xmlInitParser();
	if ((ctxt = xmlNewParserCtxt()) == NULL)
		return cm_err_set(err, CM_ENOMEM, name, "out of memory");
	ctxt->sax->internalSubset = refuse_dtd;
	ctxt->sax->externalSubset = refuse_dtd;
	ctxt->sax->entityDecl = refuse_entity;
	/* No XML_PARSE_NOENT, DTDLOAD, XINCLUDE or HUGE: see header. */
	doc = xmlCtxtReadMemory(ctxt, (const char *)data, (int)len, NULL, NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
	    XML_PARSE_NOCDATA);
	if (ctxt->_private == &doctype_seen_marker ||
	    (doc != NULL && doc->intSubset != NULL)) {
		cm_err_set(err, CM_EINVAL, name,
		    "DOCTYPE and entity declarations are not allowed");
		goto out;
	}
	if (doc == NULL || !ctxt->wellFormed) {
		xe = xmlCtxtGetLastError(ctxt);
		cm_err_set(err, CM_EINVAL, name, "malformed XML at line %d: %s",
		    xe ? xe->line : 0,
		    xe && xe->message ? xe->message : "parse error\n");
		/* libxml2 messages end with a newline. */
		if (err != NULL && (n = strlen(err->msg)) > 0 &&
		    err->msg[n - 1] == '\n')
			err->msg[n - 1] = '\0';
		goto out;
	}
	if (xmlDocGetRootElement(doc) == NULL) {
		cm_err_set(err, CM_EINVAL, name, "no root element");
		goto out;
	}
	*out = doc;
	doc = NULL;
	rc = 0;
out:
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
	return rc;
}

static int
in_list(const char *s, const char *const *list)
{
	for (; list != NULL && *list != NULL; list++)
		if (strcmp(s, *list) == 0)
			return 1;
	return 0;
}

int
pub_xml_check_elem(const char *name, const xmlNode *n, const char *elem,
    const char *ns, const char *const *allowed, struct cm_err *err)
{
	const xmlAttr	*a;

	if (n == NULL || n->type != XML_ELEMENT_NODE)
		return cm_err_set(err, CM_EINVAL, name, "expected element <%s>",
		    elem);
	if (strcmp((const char *)n->name, elem) != 0)
		return cm_err_set(err, CM_EINVAL, name,
		    "unexpected element <%.64s>, expected <%s>",
		    (const char *)n->name, elem);
	if (n->ns == NULL || n->ns->href == NULL ||
	    strcmp((const char *)n->ns->href, ns) != 0)
		return cm_err_set(err, CM_EINVAL, name,
		    "<%s>: namespace must be %s", elem, ns);
	if (n->ns->prefix != NULL)
		return cm_err_set(err, CM_EINVAL, name,
		    "<%s>: namespace prefix \"%.64s\" not allowed, use xmlns=",
		    elem, (const char *)n->ns->prefix);
	for (a = n->properties; a != NULL; a = a->next) {
		if (a->ns != NULL)
			return cm_err_set(err, CM_EINVAL, name,
			    "<%s>: namespaced attribute %.64s not allowed",
			    elem, (const char *)a->name);
		if (!in_list((const char *)a->name, allowed))
			return cm_err_set(err, CM_EINVAL, name,
			    "<%s>: unknown attribute \"%.64s\"", elem,
			    (const char *)a->name);
	}
	return 0;
}

int
pub_xml_attr(const char *name, const xmlNode *n, const char *attr,
    int required, size_t max, char **out, struct cm_err *err)
{
	xmlChar	*v;

	*out = NULL;
	v = xmlGetNoNsProp(n, (const xmlChar *)attr);
	if (v == NULL) {
		if (!required)
			return 0;
		return cm_err_set(err, CM_EINVAL, name,
		    "<%s>: missing attribute %s", (const char *)n->name, attr);
	}
	if (strlen((const char *)v) > max) {
		xmlFree(v);
		return cm_err_set(err, CM_EINVAL, name,
		    "<%s>: attribute %s longer than %zu bytes",
		    (const char *)n->name, attr, max);
	}
	/* Hand the caller memory it frees with free(). */
	*out = strdup((const char *)v);
	xmlFree(v);
	if (*out == NULL)
		return cm_err_set(err, CM_ENOMEM, name, "out of memory");
	return 0;
}

static int
blank(const xmlChar *s)
{
	for (; s != NULL && *s != '\0'; s++)
		if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
			return 0;
	return 1;
}

int
pub_xml_next_elem(const char *name, const xmlNode *parent,
    const xmlNode **cur, struct cm_err *err)
{
	const xmlNode	*n = *cur == NULL ? parent->children : (*cur)->next;

	for (; n != NULL; n = n->next) {
		switch (n->type) {
		case XML_ELEMENT_NODE:
			*cur = n;
			return 1;
		case XML_COMMENT_NODE:
			continue;
		case XML_TEXT_NODE:
			if (blank(n->content))
				continue;
			return cm_err_set(err, CM_EINVAL, name,
			    "<%s>: unexpected text content",
			    (const char *)parent->name);
		default:
			return cm_err_set(err, CM_EINVAL, name,
			    "<%s>: unexpected node of type %d",
			    (const char *)parent->name, (int)n->type);
		}
	}
	*cur = NULL;
	return 0;
}

int
pub_xml_text(const char *name, const xmlNode *n, size_t max, char **out,
    struct cm_err *err)
{
	struct cm_buf	 b = CM_BUF_INIT;
	const xmlNode	*c;

	*out = NULL;
	for (c = n->children; c != NULL; c = c->next) {
		if (c->type == XML_COMMENT_NODE)
			continue;
		if (c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE) {
			cm_buf_free(&b);
			return cm_err_set(err, CM_EINVAL, name,
			    "<%s>: only text allowed inside",
			    (const char *)n->name);
		}
		if (cm_buf_puts(&b, (const char *)c->content) == -1) {
			cm_buf_free(&b);
			return cm_err_set(err, CM_ENOMEM, name, "out of memory");
		}
		if (b.len > max) {
			cm_buf_free(&b);
			return cm_err_set(err, CM_EINVAL, name,
			    "<%s>: content longer than %zu bytes",
			    (const char *)n->name, max);
		}
	}
	if (cm_buf_cstr(&b) == NULL)
		return cm_err_set(err, CM_ENOMEM, name, "out of memory");
	*out = (char *)cm_buf_steal(&b, NULL);
	return 0;
}

/* Length of the UTF-8 sequence at s (1..4), or 0 if not valid UTF-8. */
static size_t
utf8_len(const unsigned char *s)
{
	size_t	n, i;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff) ||
	    cp == 0xfffe || cp == 0xffff)) || (n == 4 && (cp < 0x10000 ||
	    cp > 0x10ffff)))
		return 0;
	return n;
}

int
pub_xml_escape(struct cm_buf *b, const char *s, struct cm_err *err)
{
	const unsigned char *p = (const unsigned char *)s, *run = p;
	const char	*rep;
	size_t		 n;

	for (;;) {
		rep = NULL;
		n = 1;
		switch (*p) {
		case '\0':
			break;
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&apos;"; break;
		case '\t': rep = "&#9;"; break;
		case '\n': rep = "&#10;"; break;
		case '\r': rep = "&#13;"; break;
		default:
			if (*p < 0x20)
				return cm_err_set(err, CM_EINVAL, NULL,
				    "control character 0x%02x cannot be "
				    "written in XML", *p);
			if ((n = utf8_len(p)) == 0)
				return cm_err_set(err, CM_EINVAL, NULL,
				    "byte 0x%02x is not valid UTF-8", *p);
		}
		if (*p == '\0' || rep != NULL) {
			if (cm_buf_add(b, run, (size_t)(p - run)) == -1 ||
			    (rep != NULL && cm_buf_puts(b, rep) == -1))
				return cm_err_set(err, CM_ENOMEM, NULL,
				    "out of memory");
			if (*p == '\0')
				return 0;
			run = p + 1;
		}
		p += n;
	}
}

int
pub_xml_put_attr(struct cm_buf *b, const char *attr, const char *value,
    struct cm_err *err)
{
	if (cm_buf_puts(b, " ") == -1 || cm_buf_puts(b, attr) == -1 ||
	    cm_buf_puts(b, "=\"") == -1)
		return cm_err_set(err, CM_ENOMEM, NULL, "out of memory");
	if (pub_xml_escape(b, value, err) == -1)
		return cm_err_wrap(err, attr);
	if (cm_buf_puts(b, "\"") == -1)
		return cm_err_set(err, CM_ENOMEM, NULL, "out of memory");
	return 0;
}


int
pub_hash_parse(const char *name, const char *what, const char *s,
    uint8_t out[32], struct cm_err *err)
{
	if (cm_hex_decode(s, out, 32) == -1)
		return cm_err_set(err, CM_EINVAL, name,
		    "%s: hash must be 64 hex digits (SHA-256)", what);
	return 0;
}

int
pub_serial_parse(const char *name, const char *what, const char *s,
    uint64_t *out, struct cm_err *err)
{
	uint64_t v = 0;

	if (s[0] < '1' || s[0] > '9')
		return cm_err_set(err, CM_EINVAL, name,
		    "%s: serial \"%.32s\" is not a positive integer", what, s);
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_C(1) << 63) / 10)
			return cm_err_set(err, CM_EINVAL, name,
			    "%s: serial is not a positive integer below 2^63",
			    what);
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v >= UINT64_C(1) << 63)
		return cm_err_set(err, CM_EINVAL, name,
		    "%s: serial is not a positive integer below 2^63", what);
	*out = v;
	return 0;
}

int
pub_token_ok(const char *s, size_t max)
{
	size_t	n = strlen(s), i;

	if (n > max || (n > 0 && (s[0] == ' ' || s[n - 1] == ' ')))
		return 0;
	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
		if (s[i] == ' ' && s[i + 1] == ' ')
			return 0;
	}
	return 1;
}
