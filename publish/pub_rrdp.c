/* RRDP writers: snapshot, delta (streaming) and notification. */
#include "publish/pub_rrdp.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include "common/cm_enc.h"
#include "publish/pub_uri.h"
#include "publish/pub_uuid.h"
#include "publish/pub_xml.h"

static const char *
kind_name(enum pub_rrdp_kind kind)
{
	switch (kind) {
	case PUB_RRDP_NOTIFICATION:
		return "notification";
	case PUB_RRDP_SNAPSHOT:
		return "snapshot";
	case PUB_RRDP_DELTA:
		return "delta";
	}
	return "?";
}

static int
nomem(struct cm_err *err)
{
	return cm_err_set(err, CM_ENOMEM, NULL, "RRDP: out of memory");
}

/*
 * Object URIs in RRDP: rsync, bounded, no control characters.  The narrow
 * rules of pub_uri_check_object() apply where publishers hand URIs in;
 * here anything else that escapes safely is written and read.
 */
int
pub_rrdp_check_uri(const char *uri, struct cm_err *err)
{
	size_t	n = strlen(uri);

	if (n > PUB_URI_MAX || strncmp(uri, "rsync://", 8) != 0 || n == 8)
		return cm_err_set(err, CM_EINVAL, NULL,
		    "RRDP object URI \"%.200s\": must be rsync:// and at most "
		    "%d bytes", uri, PUB_URI_MAX);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)uri[i] < 0x20 || uri[i] == 0x7f)
			return cm_err_set(err, CM_EINVAL, NULL,
			    "RRDP object URI: control character 0x%02x at "
			    "offset %zu", (unsigned char)uri[i], i);
	return 0;
}

static int
root_open(struct cm_buf *b, const char *root, const char *session,
    uint64_t serial, struct cm_err *err)
{
	if (!pub_uuid_is_v4(session))
		return cm_err_set(err, CM_EINVAL, NULL,
		    "RRDP %s: session_id \"%.64s\" is not a v4 UUID", root,
		    session);
	if (serial == 0 || serial >= UINT64_C(1) << 63)
		return cm_err_set(err, CM_EINVAL, NULL,
		    "RRDP %s: serial must be positive", root);
	if (cm_buf_printf(b, "<%s xmlns=\"" PUB_RRDP_NS "\" version=\"1\" "
	    "session_id=\"%s\" serial=\"%" PRIu64 "\">\n", root, session,
	    serial) == -1)
		return nomem(err);
	return 0;
}

int
pub_rrdp_begin(struct pub_rrdp_writer *w, struct cm_buf *out,
    enum pub_rrdp_kind kind, const char *session, uint64_t serial,
    struct cm_err *err)
{
	memset(w, 0, sizeof(*w));
	if (kind != PUB_RRDP_SNAPSHOT && kind != PUB_RRDP_DELTA)
		return cm_err_set(err, CM_EINVAL, NULL,
		    "RRDP: only snapshots and deltas are streamed");
	if (root_open(out, kind_name(kind), session, serial, err) == -1)
		return -1;
	w->out = out;
	w->kind = kind;
	w->open = 1;
	return 0;
}

static int
put_hash(struct cm_buf *b, const uint8_t hash[32])
{
	char	hex[65];

	cm_hex_encode(hash, 32, hex);
	return cm_buf_puts(b, " hash=\"") == -1 || cm_buf_add(b, hex, 64) == -1 ||
	    cm_buf_puts(b, "\"") == -1 ? -1 : 0;
}

int
pub_rrdp_write_publish(struct pub_rrdp_writer *w, const char *uri,
    const uint8_t *replaces, const uint8_t *obj, size_t len,
    struct cm_err *err)
{
	if (!w->open)
		return cm_err_set(err, CM_ESTATE, NULL, "RRDP: writer not open");
	if (replaces != NULL && w->kind == PUB_RRDP_SNAPSHOT)
		return cm_err_set(err, CM_EINVAL, uri,
		    "RRDP snapshot: publish carries no hash");
	if (len == 0)
		return cm_err_set(err, CM_EINVAL, uri, "RRDP: empty object");
	if (pub_rrdp_check_uri(uri, err) == -1)
		return -1;
	if (cm_buf_puts(w->out, "  <publish uri=\"") == -1)
		return nomem(err);
	if (pub_xml_escape(w->out, uri, err) == -1)
		return cm_err_wrap(err, "RRDP publish uri");
	if (cm_buf_puts(w->out, "\"") == -1 ||
	    (replaces != NULL && put_hash(w->out, replaces) == -1) ||
	    cm_buf_puts(w->out, ">") == -1 ||
	    cm_b64_encode(obj, len, w->out) == -1 ||
	    cm_buf_puts(w->out, "</publish>\n") == -1)
		return nomem(err);
	w->count++;
	return 0;
}

int
pub_rrdp_write_withdraw(struct pub_rrdp_writer *w, const char *uri,
    const uint8_t hash[32], struct cm_err *err)
{
	if (!w->open)
		return cm_err_set(err, CM_ESTATE, NULL, "RRDP: writer not open");
	if (w->kind != PUB_RRDP_DELTA)
		return cm_err_set(err, CM_EINVAL, uri,
		    "RRDP snapshot: withdraw only appears in deltas");
	if (hash == NULL)
		return cm_err_set(err, CM_EINVAL, uri,
		    "RRDP delta: withdraw needs the hash of the object");
	if (pub_rrdp_check_uri(uri, err) == -1)
		return -1;
	if (cm_buf_puts(w->out, "  <withdraw uri=\"") == -1)
		return nomem(err);
	if (pub_xml_escape(w->out, uri, err) == -1)
		return cm_err_wrap(err, "RRDP withdraw uri");
	if (cm_buf_puts(w->out, "\"") == -1 || put_hash(w->out, hash) == -1 ||
	    cm_buf_puts(w->out, "/>\n") == -1)
		return nomem(err);
	w->count++;
	return 0;
}

int
pub_rrdp_end(struct pub_rrdp_writer *w, struct cm_err *err)
{
	if (!w->open)
		return cm_err_set(err, CM_ESTATE, NULL, "RRDP: writer not open");
	w->open = 0;
	if (w->kind == PUB_RRDP_DELTA && w->count == 0)
		return cm_err_set(err, CM_EINVAL, NULL,
		    "RRDP delta: must contain at least one publish or withdraw");
	if (cm_buf_printf(w->out, "</%s>\n", kind_name(w->kind)) == -1)
		return nomem(err);
	return 0;
}

static int
put_ref(struct cm_buf *b, const char *elem, const struct pub_rrdp_ref *r,
    const char *notify_uri, struct cm_err *err)
{
	if (r->uri == NULL || pub_uri_check_https(r->uri, err) == -1)
		return cm_err_wrap(err, elem);
	if (notify_uri != NULL && !pub_uri_same_origin(r->uri, notify_uri))
		return cm_err_set(err, CM_EINVAL, r->uri,
		    "RRDP %s: not the same origin as %.200s (RFC 9674)",
		    elem, notify_uri);
	if (cm_buf_printf(b, "  <%s", elem) == -1 ||
	    (strcmp(elem, "delta") == 0 &&
	    cm_buf_printf(b, " serial=\"%" PRIu64 "\"", r->serial) == -1))
		return nomem(err);
	if (pub_xml_put_attr(b, "uri", r->uri, err) == -1)
		return -1;
	if (put_hash(b, r->hash) == -1 || cm_buf_puts(b, "/>\n") == -1)
		return nomem(err);
	return 0;
}

int
pub_rrdp_notification(struct cm_buf *out, const char *session,
    uint64_t serial, const struct pub_rrdp_ref *snapshot,
    const struct pub_rrdp_ref *deltas, size_t ndeltas,
    const char *notify_uri, struct cm_err *err)
{
	size_t	i;

	if (snapshot == NULL)
		return cm_err_set(err, CM_EINVAL, NULL,
		    "RRDP notification: needs a snapshot");
	if (ndeltas > serial)
		return cm_err_set(err, CM_EINVAL, NULL,
		    "RRDP notification: more deltas than serials");
	for (i = 0; i < ndeltas; i++)
		if (deltas[i].serial != serial - i)
			return cm_err_set(err, CM_EINVAL, NULL,
			    "RRDP notification: delta %zu has serial %" PRIu64
			    ", expected %" PRIu64 " (newest first, contiguous)",
			    i, deltas[i].serial, serial - i);
	if (notify_uri != NULL && pub_uri_check_https(notify_uri, err) == -1)
		return cm_err_wrap(err, "RRDP notification URI");
	if (root_open(out, "notification", session, serial, err) == -1 ||
	    put_ref(out, "snapshot", snapshot, notify_uri, err) == -1)
		return -1;
	for (i = 0; i < ndeltas; i++)
		if (put_ref(out, "delta", &deltas[i], notify_uri, err) == -1)
			return -1;
	if (cm_buf_puts(out, "</notification>\n") == -1)
		return nomem(err);
	return 0;
}

size_t
pub_rrdp_deltas_fit(size_t snapshot_size, const struct pub_rrdp_ref *deltas,
    size_t ndeltas, size_t max_count)
{
	size_t	i, sum = 0;

	for (i = 0; i < ndeltas && i < max_count; i++) {
		if (deltas[i].size > snapshot_size - sum)
			break;
		sum += deltas[i].size;
	}
	return i;
}

size_t
pub_rrdp_deltas_keep(size_t snapshot_size, const struct pub_rrdp_ref *deltas,
    const int64_t *created, size_t ndeltas, size_t max_count, int64_t now,
    int64_t min_history)
{
	size_t	i, sum = 0;

	for (i = 0; i < ndeltas; i++) {
		/* RFC 8182 §3.3.2: never more than the snapshot, young or old. */
		if (deltas[i].size > snapshot_size - sum)
			break;
		sum += deltas[i].size;
		if (i >= max_count && now - created[i] >= min_history)
			break;
	}
	return i;
}

int
pub_rrdp_file_uri(const char *base, const char *session, uint64_t serial,
    enum pub_rrdp_kind kind, char *out, size_t size, struct cm_err *err)
{
	uint8_t	r[16];
	char	hex[33];
	size_t	bl = strlen(base);
	int	n;

	if (kind != PUB_RRDP_SNAPSHOT && kind != PUB_RRDP_DELTA)
		return cm_err_set(err, CM_EINVAL, NULL,
		    "RRDP: only snapshots and deltas have random URIs");
	if (pub_uri_check_https(base, err) == -1)
		return cm_err_wrap(err, "RRDP base URI");
	if (!pub_uuid_is_v4(session) || serial == 0)
		return cm_err_set(err, CM_EINVAL, NULL,
		    "RRDP: bad session or serial for a file URI");
	if (bl > 0 && base[bl - 1] == '/')
		bl--;
	/* Unpredictable, so that no cache ever holds a 404 for it. */
	if (RAND_bytes(r, sizeof(r)) != 1)
		return cm_err_ssl(err, NULL, "RAND_bytes");
	cm_hex_encode(r, sizeof(r), hex);
	n = snprintf(out, size, "%.*s/%s/%" PRIu64 "/%s/%s.xml", (int)bl, base,
	    session, serial, hex, kind_name(kind));
	if (n < 0 || (size_t)n >= size)
		return cm_err_set(err, CM_ELIMIT, NULL,
		    "RRDP: file URI longer than %zu bytes", size);
	return 0;
}
