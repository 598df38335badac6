/*
 * Streaming strict RRDP parser: libxml2 SAX2 push parser, no tree.
 * RFC 8182 schema, RFC 9674 (same origin), RFC 9697 (hashes).
 */
#include "publish/pub_rrdp.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xmlerror.h>

#include "common/cm_enc.h"
#include "publish/pub_uri.h"
#include "publish/pub_uuid.h"
#include "publish/pub_xml.h"

#define OBJ_B64_MAX	(8u * 1024 * 1024)	/* one object, base64 */
#define CHUNK		(4u * 1024 * 1024)	/* bytes fed per parse step */
#define ATTR_MAX	PUB_URI_MAX

static const char *const root_attrs[] = { "version", "session_id", "serial",
	NULL };
static const char *const snap_attrs[] = { "uri", "hash", NULL };
static const char *const delta_attrs[] = { "serial", "uri", "hash", NULL };
static const char *const elem_attrs[] = { "uri", "hash", NULL };

/* For the duplicate check: SHA-256 of each element's URI. */
struct uhash {
	uint8_t	h[32];
	size_t	idx;
};

struct st {
	const char			*name;
	xmlParserCtxtPtr		 ctxt;
	enum pub_rrdp_kind		 kind;
	const struct pub_rrdp_handler	*h;
	void				*arg;
	struct cm_err			*err;
	int				 failed;
	int				 depth;
	int				 seen_root;
	int				 seen_snapshot;
	uint64_t			 serial;
	char				*snap_uri;
	const char			*child;		/* name at depth 1 */
	int				 in_elem;	/* publish/withdraw */
	struct pub_rrdp_elem		 cur;
	struct cm_buf			 text;
	uint64_t			*dser;
	size_t				 nd, capd;
	struct uhash			*uh;
	size_t				 nu, capu;
};

static const char *
root_name(enum pub_rrdp_kind k)
{
	return k == PUB_RRDP_NOTIFICATION ? "notification" :
	    k == PUB_RRDP_SNAPSHOT ? "snapshot" : "delta";
}

/* Stops the parser after err was set. */
static void
stop(struct st *s)
{
	s->failed = 1;
	xmlStopParser(s->ctxt);
}

static void
failf(struct st *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
failf(struct st *s, const char *fmt, ...)
{
	char	msg[900];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cm_err_set(s->err, CM_EINVAL, s->name, "%s", msg);
	stop(s);
}

static void
nomem(struct st *s)
{
	cm_err_set(s->err, CM_ENOMEM, s->name, "out of memory");
	stop(s);
}

/*
 * Without entity substitution libxml2 hands attribute values over with
 * every '&' (written &amp; or &#38;) kept as "&#38;" and everything else
 * decoded; a literal '&' cannot occur otherwise, so this undoes it.
 */
static void
unescape_amp(char *v)
{
	char	*r = v, *w = v;

	while (*r != '\0') {
		if (strncmp(r, "&#38;", 5) == 0) {
			*w++ = '&';
			r += 5;
		} else
			*w++ = *r++;
	}
	*w = '\0';
}

/*
 * Copies the attributes of elem (SAX2 5-tuples) into vals, indexed like
 * allowed; refuses unknown and namespaced ones.  Returns 0 or -1.
 */
static int
get_attrs(struct st *s, const char *elem, int n, const xmlChar **a,
    const char *const *allowed, char **vals)
{
	size_t	i, len;

	for (i = 0; allowed[i] != NULL; i++)
		vals[i] = NULL;
	for (int k = 0; k < n; k++, a += 5) {
		const char *an = (const char *)a[0];

		if (a[2] != NULL) {
			failf(s, "<%s>: namespaced attribute %.64s not allowed",
			    elem, an);
			return -1;
		}
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(an, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL) {
			failf(s, "<%s>: unknown attribute \"%.64s\"", elem, an);
			return -1;
		}
		len = (size_t)(a[4] - a[3]);
		if (len > ATTR_MAX) {
			failf(s, "<%s>: attribute %s longer than %d bytes", elem,
			    an, ATTR_MAX);
			return -1;
		}
		if ((vals[i] = strndup((const char *)a[3], len)) == NULL) {
			nomem(s);
			return -1;
		}
		unescape_amp(vals[i]);
	}
	return 0;
}

static void
free_vals(char **vals, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(vals[i]);
}

static int
need(struct st *s, const char *elem, const char *attr, const char *v)
{
	if (v != NULL)
		return 0;
	failf(s, "<%s>: missing attribute %s", elem, attr);
	return -1;
}

static int
wrap_fail(struct st *s, const char *ctx)
{
	cm_err_wrap(s->err, ctx);
	cm_err_wrap(s->err, s->name);
	stop(s);
	return -1;
}

static void
on_root(struct st *s, int na, const xmlChar **a)
{
	char	*v[3];

	if (get_attrs(s, root_name(s->kind), na, a, root_attrs, v) == -1)
		goto out;
	if (need(s, root_name(s->kind), "version", v[0]) == -1 ||
	    need(s, root_name(s->kind), "session_id", v[1]) == -1 ||
	    need(s, root_name(s->kind), "serial", v[2]) == -1)
		goto out;
	if (strcmp(v[0], "1") != 0) {
		failf(s, "version \"%.16s\" is not 1", v[0]);
		goto out;
	}
	if (!pub_uuid_is_v4(v[1])) {
		failf(s, "session_id \"%.64s\" is not a v4 UUID", v[1]);
		goto out;
	}
	if (pub_serial_parse(s->name, "root", v[2], &s->serial, s->err) == -1) {
		stop(s);
		goto out;
	}
	s->seen_root = 1;
	if (s->h->root != NULL && s->h->root(s->arg, v[1], s->serial,
	    s->err) == -1)
		stop(s);
out:
	free_vals(v, 3);
}

/* <snapshot uri hash/> or <delta serial uri hash/> of a notification. */
static void
on_ref(struct st *s, const char *elem, int na, const xmlChar **a)
{
	struct pub_rrdp_ref	 r;
	char			*v[3];
	int			 snap = strcmp(elem, "snapshot") == 0;
	void			*p;

	memset(&r, 0, sizeof(r));
	if (get_attrs(s, elem, na, a, snap ? snap_attrs : delta_attrs,
	    v) == -1)
		goto out;
	/* v: snapshot {uri, hash}, delta {serial, uri, hash} */
	if (!snap && (need(s, elem, "serial", v[0]) == -1 ||
	    pub_serial_parse(s->name, "delta", v[0], &r.serial, s->err) == -1)) {
		stop(s);
		goto out;
	}
	r.uri = v[snap ? 0 : 1];
	if (need(s, elem, "uri", r.uri) == -1 ||
	    need(s, elem, "hash", v[snap ? 1 : 2]) == -1)
		goto out;
	if (pub_uri_check_https(r.uri, s->err) == -1) {
		wrap_fail(s, elem);
		goto out;
	}
	if (pub_hash_parse(s->name, elem, v[snap ? 1 : 2], r.hash,
	    s->err) == -1) {
		stop(s);
		goto out;
	}
	if (snap) {
		s->seen_snapshot = 1;
		s->snap_uri = v[0];
		v[0] = NULL;
	} else {
		if (!pub_uri_same_origin(r.uri, s->snap_uri)) {
			failf(s, "delta %" PRIu64 ": not the same origin as the "
			    "snapshot (RFC 9674)", r.serial);
			goto out;
		}
		if (s->nd == s->capd) {
			s->capd = s->capd ? s->capd * 2 : 16;
			if ((p = reallocarray(s->dser, s->capd,
			    sizeof(*s->dser))) == NULL) {
				nomem(s);
				goto out;
			}
			s->dser = p;
		}
		s->dser[s->nd++] = r.serial;
	}
	if (s->h->ref != NULL && s->h->ref(s->arg, snap, &r, s->err) == -1)
		stop(s);
out:
	free_vals(v, snap ? 2 : 3);
}

/* Start of <publish> or <withdraw> in a snapshot or delta. */
static void
on_elem_start(struct st *s, const char *elem, int na, const xmlChar **a)
{
	char	*v[2];

	memset(&s->cur, 0, sizeof(s->cur));
	cm_buf_reset(&s->text);
	s->cur.withdraw = strcmp(elem, "withdraw") == 0;
	if (s->cur.withdraw && s->kind == PUB_RRDP_SNAPSHOT) {
		failf(s, "withdraw is not allowed in a snapshot");
		return;
	}
	if (get_attrs(s, elem, na, a, elem_attrs, v) == -1) {
		free_vals(v, 2);
		return;
	}
	s->cur.uri = v[0];
	if (need(s, elem, "uri", v[0]) == -1)
		goto out;
	if (pub_rrdp_check_uri(v[0], s->err) == -1) {
		wrap_fail(s, s->name);
		goto out;
	}
	if (v[1] != NULL && s->kind == PUB_RRDP_SNAPSHOT) {
		failf(s, "%.200s: publish in a snapshot has no hash", v[0]);
		goto out;
	}
	if (v[1] == NULL && s->cur.withdraw) {
		failf(s, "%.200s: withdraw without hash", v[0]);
		goto out;
	}
	if (v[1] != NULL) {
		if (pub_hash_parse(s->name, v[0], v[1], s->cur.hash,
		    s->err) == -1) {
			stop(s);
			goto out;
		}
		s->cur.has_hash = 1;
	}
	s->in_elem = 1;
out:
	free(v[1]);
}

static void
on_elem_end(struct st *s)
{
	struct cm_buf	 b = CM_BUF_INIT;
	struct uhash	*u;
	void		*p;
	const char	*t;

	s->in_elem = 0;
	t = cm_buf_cstr(&s->text);
	if (t == NULL) {
		nomem(s);
		return;
	}
	if (s->cur.withdraw) {
		if (strspn(t, " \t\r\n") != s->text.len) {
			failf(s, "%.200s: withdraw has content", s->cur.uri);
			return;
		}
	} else {
		if (cm_b64_decode(t, s->text.len, &b, s->err) == -1) {
			cm_buf_free(&b);
			wrap_fail(s, s->cur.uri);
			return;
		}
		if (b.len == 0) {
			cm_buf_free(&b);
			failf(s, "%.200s: publish without content", s->cur.uri);
			return;
		}
		s->cur.data = cm_buf_steal(&b, &s->cur.len);
	}
	if (s->nu == s->capu) {
		s->capu = s->capu ? s->capu * 2 : 64;
		if ((p = reallocarray(s->uh, s->capu, sizeof(*s->uh))) == NULL) {
			nomem(s);
			return;
		}
		s->uh = p;
	}
	u = &s->uh[s->nu];
	cm_sha256(s->cur.uri, strlen(s->cur.uri), u->h);
	u->idx = s->nu++;
	if (s->h->elem != NULL && s->h->elem(s->arg, &s->cur, s->err) == -1)
		stop(s);
}

static void
sax_start(void *ctx, const xmlChar *local, const xmlChar *prefix,
    const xmlChar *uri, int nns, const xmlChar **ns, int na, int ndef,
    const xmlChar **attrs)
{
	struct st	*s = ctx;
	const char	*name = (const char *)local, *want;

	if (s->failed)
		return;
	s->depth++;
	if (s->depth > 2) {
		failf(s, "<%s>: only text allowed inside", s->child);
		return;
	}
	if (s->depth == 1)
		want = root_name(s->kind);
	else if (s->kind == PUB_RRDP_NOTIFICATION)
		want = s->seen_snapshot ? "delta" : "snapshot";
	else
		want = strcmp(name, "withdraw") == 0 ? "withdraw" : "publish";
	if (strcmp(name, want) != 0) {
		failf(s, "unexpected element <%.64s>, expected <%s>", name, want);
		return;
	}
	if (uri == NULL || strcmp((const char *)uri, PUB_RRDP_NS) != 0) {
		failf(s, "<%s>: namespace must be %s", want, PUB_RRDP_NS);
		return;
	}
	if (prefix != NULL) {
		failf(s, "<%s>: namespace prefix \"%.64s\" not allowed, use "
		    "xmlns=", want, (const char *)prefix);
		return;
	}
	if (s->depth == 1) {
		on_root(s, na, attrs);
		return;
	}
	s->child = want;
	if (s->kind == PUB_RRDP_NOTIFICATION)
		on_ref(s, want, na, attrs);
	else
		on_elem_start(s, want, na, attrs);
}

static void
sax_end(void *ctx, const xmlChar *local, const xmlChar *prefix,
    const xmlChar *uri)
{
	struct st *s = ctx;

	if (s->failed)
		return;
	if (s->depth == 2 && s->in_elem)
		on_elem_end(s);
	if (s->depth == 2 && !s->failed && s->cur.uri != NULL) {
		free(s->cur.uri);
		free(s->cur.data);
		memset(&s->cur, 0, sizeof(s->cur));
	}
	s->depth--;
}

static void
sax_text(void *ctx, const xmlChar *ch, int len)
{
	struct st *s = ctx;

	if (s->failed)
		return;
	if (s->depth == 2 && s->in_elem) {
		if (s->text.len + (size_t)len > OBJ_B64_MAX) {
			failf(s, "<%s>: content longer than %u bytes", s->child,
			    OBJ_B64_MAX);
			return;
		}
		if (cm_buf_add(&s->text, ch, (size_t)len) == -1)
			nomem(s);
		return;
	}
	for (int i = 0; i < len; i++)
		if (ch[i] != ' ' && ch[i] != '\t' && ch[i] != '\n' &&
		    ch[i] != '\r') {
			if (s->depth == 1)
				failf(s, "<%s>: unexpected text content",
				    root_name(s->kind));
			else
				failf(s, "<%s>: unexpected content",
				    s->depth == 2 ? s->child : "document");
			return;
		}
}

static void
sax_pi(void *ctx, const xmlChar *target, const xmlChar *data)
{
	struct st *s = ctx;

	if (!s->failed && s->depth > 0)
		failf(s, "<%s>: unexpected node (processing instruction)",
		    s->depth == 1 ? root_name(s->kind) : s->child);
}

/* The first sign of a DTD stops the parser: nothing is declared or loaded. */
static void
sax_dtd(void *ctx, const xmlChar *name, const xmlChar *ext,
    const xmlChar *sys)
{
	struct st *s = ctx;

	if (!s->failed)
		failf(s, "DOCTYPE and entity declarations are not allowed");
}

static void
sax_entity(void *ctx, const xmlChar *name, int type, const xmlChar *pub,
    const xmlChar *sys, xmlChar *content)
{
	sax_dtd(ctx, name, pub, sys);
}

static int
cmp_desc(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? 1 : x > y ? -1 : 0;
}

static int
cmp_uhash(const void *a, const void *b)
{
	const struct uhash *x = a, *y = b;
	int c = memcmp(x->h, y->h, 32);

	if (c != 0)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* The rules that need the whole document. */
static int
final_checks(struct st *s)
{
	size_t	i;

	if (!s->seen_root)
		return cm_err_set(s->err, CM_EINVAL, s->name, "no root element");
	if (s->kind == PUB_RRDP_NOTIFICATION) {
		if (!s->seen_snapshot)
			return cm_err_set(s->err, CM_EINVAL, s->name,
			    "notification without a snapshot");
		if (s->nd > 1)
			qsort(s->dser, s->nd, sizeof(*s->dser), cmp_desc);
		for (i = 0; i < s->nd; i++)
			if (s->dser[i] != s->serial - i)
				return cm_err_set(s->err, CM_EINVAL, s->name,
				    "delta serials are not unique and "
				    "contiguous up to serial %" PRIu64 " (at %"
				    PRIu64 ")", s->serial, s->dser[i]);
		return 0;
	}
	if (s->kind == PUB_RRDP_DELTA && s->nu == 0)
		return cm_err_set(s->err, CM_EINVAL, s->name,
		    "delta without publish or withdraw");
	/* RFC 8182: no URI twice in a snapshot; nor in one delta. */
	if (s->nu > 1)
		qsort(s->uh, s->nu, sizeof(*s->uh), cmp_uhash);
	for (i = 1; i < s->nu; i++)
		if (memcmp(s->uh[i - 1].h, s->uh[i].h, 32) == 0)
			return cm_err_set(s->err, CM_EINVAL, s->name,
			    "the URI of element #%zu appears twice (again at "
			    "#%zu)", s->uh[i - 1].idx + 1, s->uh[i].idx + 1);
	return 0;
}

static int
run(struct st *s, const uint8_t *xml, size_t len)
{
	const xmlError	*xe;
	size_t		 off = 0, n;
	size_t		 ml;

	do {
		n = len - off > CHUNK ? CHUNK : len - off;
		if (xmlParseChunk(s->ctxt, (const char *)xml + off, (int)n,
		    off + n == len) != 0 || s->failed)
			break;
		off += n;
	} while (off < len);
	if (s->failed)
		return -1;
	if (!s->ctxt->wellFormed || off < len) {
		xe = xmlCtxtGetLastError(s->ctxt);
		cm_err_set(s->err, CM_EINVAL, s->name,
		    "malformed XML at line %d: %s", xe ? xe->line : 0,
		    xe && xe->message ? xe->message : "parse error");
		/* libxml2 messages end with a newline. */
		if (s->err != NULL && (ml = strlen(s->err->msg)) > 0 &&
		    s->err->msg[ml - 1] == '\n')
			s->err->msg[ml - 1] = '\0';
		return -1;
	}
	return final_checks(s);
}

int
pub_rrdp_parse_stream(const char *name, const uint8_t *xml, size_t len,
    enum pub_rrdp_kind expect, const struct pub_rrdp_handler *h, void *arg,
    struct cm_err *err)
{
	static const struct pub_rrdp_handler none = { NULL, NULL, NULL };
	xmlSAXHandler	sax;
	struct st	s;
	int		rc;

	if (expect != PUB_RRDP_NOTIFICATION && expect != PUB_RRDP_SNAPSHOT &&
	    expect != PUB_RRDP_DELTA)
		return cm_err_set(err, CM_EINVAL, name, "unknown RRDP kind");
	memset(&sax, 0, sizeof(sax));
	sax.initialized = XML_SAX2_MAGIC;
	sax.startElementNs = sax_start;
	sax.endElementNs = sax_end;
	sax.characters = sax_text;
	sax.ignorableWhitespace = sax_text;
	sax.cdataBlock = sax_text;
	sax.processingInstruction = sax_pi;
	sax.internalSubset = sax_dtd;
	sax.externalSubset = sax_dtd;
	sax.entityDecl = sax_entity;
	memset(&s, 0, sizeof(s));
	s.name = name;
	s.kind = expect;
	s.h = h != NULL ? h : &none;
	s.arg = arg;
	s.err = err;
	xmlInitParser();
	if ((s.ctxt = xmlCreatePushParserCtxt(&sax, &s, NULL, 0, name)) == NULL)
		return cm_err_set(err, CM_ENOMEM, name, "out of memory");
	/* No XML_PARSE_NOENT, DTDLOAD, XINCLUDE or HUGE. */
	xmlCtxtUseOptions(s.ctxt, XML_PARSE_NONET | XML_PARSE_NOERROR |
	    XML_PARSE_NOWARNING);
	rc = run(&s, xml, len);
	xmlFreeParserCtxt(s.ctxt);
	free(s.cur.uri);
	free(s.cur.data);
	free(s.snap_uri);
	free(s.dser);
	free(s.uh);
	cm_buf_free(&s.text);
	return rc;
}
