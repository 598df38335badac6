/*
 * ca_eng child side of RFC 6492: the remote parent of a CA (from its RFC
 * 8183 parent_response, table ca_parent) and the signed exchanges with it.
 * engine_parent.c decides what to ask.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "ca/bpki.h"
#include "ca/cms_msg.h"
#include "ca/engine_int.h"
#include "ca/updown.h"
#include "common/cm_buf.h"
#include "common/cm_log.h"

void
ca_eng_set_transport(struct ca_eng *e, ca_eng_post_fn fn, void *arg)
{
	e->post = fn;
	e->post_arg = arg;
}

const char *
ca_eng_updown_uri(const struct ca_eng *e)
{
	return e->conf.updown_uri;
}

/* ---- creating the CA and recording its parent ------------------------ */

struct remote_arg {
	struct ca_eng	*e;
	const char	*handle, *actor;
	const char	*parent, *child, *uri;
	const uint8_t	*ta;
	size_t		 talen;
};

static int
remote_create_tx(struct db *db, void *arg, struct cm_err *err)
{
	struct remote_arg	*a = arg;
	struct db_params	 p;
	struct db_res		*r = NULL;
	char			 repo[ENG_URI_MAX];
	int64_t			 id;
	int			 n;

	db_params_init(&p);
	db_param_text(&p, a->handle);
	/* Hosted without a parent here: its parent is remote. */
	if ((n = db_exec(db, "SELECT kind = 'hosted' AND parent_id IS NULL FROM "
	    "ca WHERE handle = $1 AND deleted_at IS NULL", &p, &r, err)) == -1)
		return -1;
	if (n == 1) {
		n = strcmp(db_res_text(r, 0, 0), "t") == 0;
		db_res_free(r);
		if (n)
			return 0;	/* already one of ours with a remote parent */
		return cm_err_set(err, CM_EEXIST, a->handle, "a CA with this "
		    "handle exists and its parent is operated here");
	}
	db_res_free(r);
	r = NULL;
	snprintf(repo, sizeof(repo), "%s%s/", a->e->conf.rsync_base, a->handle);
	db_params_init(&p);
	db_param_text(&p, a->handle);
	db_param_text(&p, repo);
	if (db_exec(db, "INSERT INTO ca (handle, kind, repo_uri) VALUES ($1, "
	    "'hosted', $2) RETURNING id", &p, &r, err) == -1 ||
	    db_res_int64(r, 0, 0, &id, err) == -1) {
		db_res_free(r);
		return -1;
	}
	db_res_free(r);
	db_params_init(&p);
	db_param_int(&p, id);
	if (db_exec(db, "INSERT INTO ca_resources (ca_id) VALUES ($1)", &p, NULL,
	    err) == -1)
		return -1;
	db_params_init(&p);
	db_param_text(&p, a->handle);
	db_param_text(&p, repo);
	if (db_exec(db, "INSERT INTO publisher (handle, base_uri) VALUES ($1, $2)",
	    &p, NULL, err) == -1)
		return -1;
	return eng_audit(db, a->actor, "ca.create-remote", id, a->handle, err);
}

int
ca_eng_remote_create(struct ca_eng *e, const char *handle, const char *actor,
    struct cm_err *err)
{
	struct remote_arg	 a;
	uint8_t			*der = NULL;
	size_t			 len;

	if (!eng_handle_ok(handle))
		return cm_err_set(err, CM_EINVAL, handle, "a handle is 1-64 "
		    "letters, digits, '-', '_' or '.', starting with a letter "
		    "or digit");
	memset(&a, 0, sizeof(a));
	a.e = e;
	a.handle = handle;
	a.actor = actor;
	if (db_tx(e->db, NULL, remote_create_tx, &a, err) == -1)
		return -1;
	/* The identity now, so that the child_request can be made at once. */
	if (ca_eng_bpki(e, handle, &der, &len, NULL, err) == -1)
		return -1;
	free(der);
	return 0;
}

static int
parent_set_tx(struct db *db, void *arg, struct cm_err *err)
{
	struct remote_arg	*a = arg;
	struct db_params	 p;
	struct db_res		*r = NULL;
	int64_t			 id;
	int			 n;

	db_params_init(&p);
	db_param_text(&p, a->handle);
	if ((n = db_exec(db, "SELECT id FROM ca WHERE handle = $1 AND kind = "
	    "'hosted' AND parent_id IS NULL AND deleted_at IS NULL FOR UPDATE",
	    &p, &r, err)) == -1)
		return -1;
	if (n != 1 || db_res_int64(r, 0, 0, &id, err) == -1) {
		db_res_free(r);
		return cm_err_set(err, CM_ENOTFOUND, a->handle, "no CA with a "
		    "remote parent by this handle (make its child_request "
		    "first)");
	}
	db_res_free(r);
	db_params_init(&p);
	db_param_int(&p, id);
	db_param_text(&p, a->parent);
	db_param_text(&p, a->child);
	db_param_text(&p, a->uri);
	db_param_bytea(&p, a->ta, a->talen);
	if (db_exec(db, "INSERT INTO ca_parent (ca_id, parent_handle, "
	    "child_handle, service_uri, id_cert) VALUES ($1, $2, $3, $4, $5) "
	    "ON CONFLICT (ca_id) DO UPDATE SET parent_handle = $2, "
	    "child_handle = $3, service_uri = $4, id_cert = $5, next_sync = "
	    "now(), last_error = NULL, last_signing_time = NULL, updated_at = "
	    "now()", &p, NULL, err) == -1)
		return -1;
	return eng_audit(db, a->actor, "parent.set", id, a->parent, err);
}

int
ca_eng_parent_set(struct ca_eng *e, const char *handle,
    const char *parent_handle, const char *child_handle,
    const char *service_uri, const uint8_t *parent_ta, size_t len,
    const char *actor, struct cm_err *err)
{
	struct remote_arg	 a;
	const uint8_t		*q = parent_ta;
	X509			*x;
	EVP_PKEY		*k;
	int			 ok;

	if (strncmp(service_uri, "http://", 7) != 0 &&
	    strncmp(service_uri, "https://", 8) != 0)
		return cm_err_set(err, CM_EINVAL, handle, "service_uri must be "
		    "http:// or https://, not \"%s\"", service_uri);
	if (strlen(service_uri) >= ENG_URI_MAX ||
	    strlen(parent_handle) > ENG_PARENT_HANDLE_MAX ||
	    strlen(child_handle) > ENG_PARENT_HANDLE_MAX)
		return cm_err_set(err, CM_EINVAL, handle, "parent_response field "
		    "too long");
	if ((x = d2i_X509(NULL, &q, (long)len)) == NULL || q != parent_ta + len) {
		X509_free(x);
		return cm_err_set(err, CM_EINVAL, handle, "parent_bpki_ta is not "
		    "one DER certificate");
	}
	k = X509_get0_pubkey(x);
	ok = k != NULL && X509_verify(x, k) == 1;
	X509_free(x);
	if (!ok)
		return cm_err_set(err, CM_EINVAL, handle, "parent_bpki_ta is not "
		    "self-signed");
	memset(&a, 0, sizeof(a));
	a.e = e;
	a.handle = handle;
	a.actor = actor;
	a.parent = parent_handle;
	a.child = child_handle;
	a.uri = service_uri;
	a.ta = parent_ta;
	a.talen = len;
	return db_tx(e->db, NULL, parent_set_tx, &a, err);
}

int
ca_eng_parent_show(struct ca_eng *e, const char *handle, char **out,
    struct cm_err *err)
{
	static const char *names[] = { "parent", "child-handle", "service-uri",
	    "class", "entitlement", "key", "last-sync", "next-sync",
	    "last-error", "mode", "parent-mft" };
	struct db_params	 p;
	struct db_res		*r = NULL;
	struct cm_buf		 b = CM_BUF_INIT;
	size_t			 i;
	int			 n;

	*out = NULL;
	db_params_init(&p);
	db_param_text(&p, handle);
	if ((n = db_exec(e->db, "SELECT p.parent_handle, p.child_handle, "
	    "p.service_uri, coalesce((SELECT string_agg(pc.class || ' (as=' || "
	    "pc.asn || ' v4=' || pc.ipv4 || ' v6=' || pc.ipv6 || ' at ' || "
	    "pc.repo_uri || ')', ', ' ORDER BY pc.class) FROM ca_parent_class pc "
	    "WHERE pc.ca_id = c.id), p.class, '-'), 'as=' || p.asn || ' v4=' || "
	    "p.ipv4 || ' v6=' || p.ipv6, coalesce((SELECT string_agg(k.id, ' ' "
	    "ORDER BY k.repo_uri IS NOT NULL, k.class, k.id) FROM ca_key k "
	    "WHERE k.ca_id = c.id AND k.state = 'active'), '-'), "
	    "coalesce(to_char(p.last_sync AT TIME ZONE 'UTC', "
	    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '-'), CASE WHEN p.offline THEN "
	    "'-' ELSE to_char(p.next_sync AT TIME ZONE 'UTC', "
	    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') END, "
	    "coalesce(p.last_error, '-'), CASE WHEN p.offline THEN 'offline "
	    "(RFC 6492 in files)' ELSE 'online' END, coalesce((SELECT "
	    "'valid until ' || to_char(min(m.next_update) AT TIME ZONE 'UTC', "
	    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') || ' (mirrored here)' FROM "
	    "mirror_point m WHERE m.parent = p.parent_handle HAVING "
	    "min(m.next_update) IS NOT NULL), '-') FROM ca c JOIN ca_parent p ON p.ca_id "
	    "= c.id WHERE c.handle = $1 AND c.deleted_at IS NULL", &p, &r,
	    err)) == -1)
		return -1;
	if (n != 1) {
		db_res_free(r);
		return cm_err_set(err, CM_ENOTFOUND, handle, "no CA with a remote "
		    "parent by this handle");
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		cm_buf_printf(&b, "%-12s %s\n", names[i],
		    db_res_text(r, 0, (int)i));
	db_res_free(r);
	if (cm_buf_add(&b, "", 1) == -1) {
		cm_buf_free(&b);
		return cm_err_set(err, CM_ENOMEM, handle, "out of memory");
	}
	*out = (char *)cm_buf_steal(&b, NULL);
	return 0;
}

/* ---- one exchange ----------------------------------------------------- */
static void
pinfo_clear(struct eng_parent *pi)
{
	size_t i;

	X509_free(pi->ta);
	free(pi->cert);
	for (i = 0; i < pi->nclasses; i++)
		free(pi->classes[i].cert);
	free(pi->classes);
	memset(pi, 0, sizeof(*pi));
}

/*
 * Rounds, key roll requests and revocations of one CA are serialised
 * across processes (the daemon's schedule, `cairnd parent sync`, a key
 * roll) by a session-level advisory lock on the CA's handle, taken before
 * its state is read and released after what the parent answered is
 * installed; otherwise one could revoke a key that the other just had
 * certified.
 */
#define ROUND_LOCK	"1128350542"

static int
round_lock(struct ca_eng *e, const char *handle, int on, struct cm_err *err)
{
	struct db_params p;

	db_params_init(&p);
	db_param_text(&p, handle);
	return db_exec(e->db, on ? "SELECT pg_advisory_lock(" ROUND_LOCK
	    ", hashtext($1))" : "SELECT pg_advisory_unlock(" ROUND_LOCK
	    ", hashtext($1))", &p, NULL, err) == -1 ? -1 : 0;
}

static int load_pinfo(struct ca_eng *, const char *, struct eng_parent *,
    struct cm_err *);

int
eng_parent_begin(struct ca_eng *e, const char *handle, struct eng_parent *pi,
    struct cm_err *err)
{
	struct cm_err e2;

	memset(pi, 0, sizeof(*pi));
	if (round_lock(e, handle, 1, err) == -1)
		return -1;
	if (load_pinfo(e, handle, pi, err) == -1) {
		if (round_lock(e, handle, 0, &e2) == -1)
			cm_error("%s: %s", handle, e2.msg);
		return -1;
	}
	return 0;
}

void
eng_parent_end(struct ca_eng *e, const char *handle, struct eng_parent *pi)
{
	struct cm_err e2;

	pinfo_clear(pi);
	if (round_lock(e, handle, 0, &e2) == -1)
		cm_error("%s: %s", handle, e2.msg);
}

/* The class of row i of the keys (id, state, cert, class, repo), made. */
static struct eng_pclass *
class_of(struct eng_parent *pi, struct db_res *r, int i, struct cm_err *err)
{
	struct eng_pclass	*pc;
	const char		*name = db_res_text(r, i, 3);
	size_t			 j;

	for (j = 0; j < pi->nclasses; j++)
		if (strcmp(pi->classes[j].name, name) == 0)
			return &pi->classes[j];
	if ((pc = reallocarray(pi->classes, pi->nclasses + 1,
	    sizeof(*pc))) == NULL) {
		cm_err_set(err, CM_ENOMEM, pi->handle, "out of memory");
		return NULL;
	}
	pi->classes = pc;
	pc = &pi->classes[pi->nclasses++];
	memset(pc, 0, sizeof(*pc));
	snprintf(pc->name, sizeof(pc->name), "%s", name);
	snprintf(pc->repo, sizeof(pc->repo), "%s", db_res_text(r, i, 4));
	return pc;
}

static int
add_key(struct eng_parent *pi, struct db_res *r, int i, struct cm_err *err)
{
	struct eng_pclass	*pc;
	const char		*state = db_res_text(r, i, 1);
	const uint8_t		*d;
	size_t			 dl;

	if ((pc = class_of(pi, r, i, err)) == NULL)
		return -1;
	if (strcmp(state, "pending") == 0) {
		snprintf(pc->pending, sizeof(pc->pending), "%s",
		    db_res_text(r, i, 0));
		return 0;
	}
	if (strcmp(state, "old") == 0) {
		snprintf(pc->old, sizeof(pc->old), "%s", db_res_text(r, i, 0));
		return 0;
	}
	snprintf(pc->active, sizeof(pc->active), "%s", db_res_text(r, i, 0));
	if (db_res_bytea(r, i, 2, &d, &dl, err) == -1)
		return -1;
	if ((pc->cert = malloc(dl)) == NULL)
		return cm_err_set(err, CM_ENOMEM, pi->handle, "out of memory");
	memcpy(pc->cert, d, dl);
	pc->certlen = dl;
	return 0;
}

static int
load_pinfo(struct ca_eng *e, const char *handle, struct eng_parent *pi,
    struct cm_err *err)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	const uint8_t		*d, *q;
	size_t			 dl;
	int			 i, n, rc = -1;

	memset(pi, 0, sizeof(*pi));
	pi->handle = handle;
	db_params_init(&p);
	db_param_text(&p, handle);
	if ((n = db_exec(e->db, "SELECT c.id, c.repo_uri, p.parent_handle, "
	    "p.child_handle, p.service_uri, p.id_cert, coalesce(extract(epoch "
	    "FROM p.last_sent_time)::bigint, 0), coalesce(extract(epoch FROM "
	    "p.last_signing_time)::bigint, 0), p.offline FROM ca c JOIN ca_parent p ON "
	    "p.ca_id = c.id WHERE c.handle = $1 AND c.deleted_at IS NULL", &p,
	    &r, err)) == -1)
		return -1;
	if (n != 1) {
		cm_err_set(err, CM_ENOTFOUND, handle, "no CA with a remote parent "
		    "by this handle (import its parent_response first)");
		goto out;
	}
	snprintf(pi->repo, sizeof(pi->repo), "%s", db_res_text(r, 0, 1));
	snprintf(pi->parent, sizeof(pi->parent), "%s", db_res_text(r, 0, 2));
	snprintf(pi->child, sizeof(pi->child), "%s", db_res_text(r, 0, 3));
	snprintf(pi->uri, sizeof(pi->uri), "%s", db_res_text(r, 0, 4));
	pi->offline = strcmp(db_res_text(r, 0, 8), "t") == 0;
	if (db_res_int64(r, 0, 0, &pi->ca_id, err) == -1 ||
	    db_res_int64(r, 0, 6, &pi->last_sent, err) == -1 ||
	    db_res_int64(r, 0, 7, &pi->last_reply, err) == -1 ||
	    db_res_bytea(r, 0, 5, &d, &dl, err) == -1)
		goto out;
	q = d;
	if ((pi->ta = d2i_X509(NULL, &q, (long)dl)) == NULL) {
		cm_err_set(err, CM_ESTATE, handle, "the parent's stored BPKI "
		    "certificate is corrupt");
		goto out;
	}
	db_res_free(r);
	r = NULL;
	db_params_init(&p);
	db_param_int(&p, pi->ca_id);
	/* The first active key is the one eng_load_ca() picks. */
	if ((n = db_exec(e->db, "SELECT k.id, k.state, k.cert, k.class, "
	    "coalesce(k.repo_uri, c.repo_uri) FROM ca_key k JOIN ca c ON c.id = "
	    "k.ca_id WHERE k.ca_id = $1 AND k.state IN ('active', 'pending', "
	    "'old') ORDER BY k.state <> 'active', k.repo_uri IS NOT NULL, "
	    "k.class, k.id", &p, &r, err)) == -1)
		goto out;
	for (i = 0; i < n; i++)
		if (add_key(pi, r, i, err) == -1)
			goto out;
	if (pi->nclasses > 0 && pi->classes[0].active[0] != '\0') {
		const struct eng_pclass *pc = &pi->classes[0];

		snprintf(pi->active, sizeof(pi->active), "%s", pc->active);
		snprintf(pi->pending, sizeof(pi->pending), "%s", pc->pending);
		snprintf(pi->old, sizeof(pi->old), "%s", pc->old);
		snprintf(pi->klass, sizeof(pi->klass), "%s", pc->name);
		if ((pi->cert = malloc(pc->certlen)) == NULL) {
			cm_err_set(err, CM_ENOMEM, handle, "out of memory");
			goto out;
		}
		memcpy(pi->cert, pc->cert, pc->certlen);
		pi->certlen = pc->certlen;
	} else if (pi->nclasses > 0)
		snprintf(pi->pending, sizeof(pi->pending), "%s",
		    pi->classes[0].pending);
	rc = 0;
out:
	db_res_free(r);
	if (rc == -1)
		pinfo_clear(pi);
	return rc;
}

/*
 * RFC 6492 §3.1 wants each message's signing time later than the last
 * one's, at a resolution of one second: wait until the clock has passed
 * mark (a few seconds at most).
 */
static void
wait_past(struct ca_eng *e, int64_t mark)
{
	int i;

	for (i = 0; i < 30 && eng_now(e) <= mark; i++)
		usleep(100000);
}

static int
record_time(struct ca_eng *e, const struct eng_parent *pi, const char *col,
    int64_t t, struct cm_err *err)
{
	struct db_params	p;
	char			sql[256];
	int			n;

	db_params_init(&p);
	db_param_int(&p, pi->ca_id);
	db_param_int(&p, t);
	/* Conditional: a reply that is not newer than the last is refused. */
	snprintf(sql, sizeof(sql), "UPDATE ca_parent SET %s = "
	    "to_timestamp($2::bigint) WHERE ca_id = $1 AND (%s IS NULL OR %s < "
	    "to_timestamp($2::bigint))", col, col, col);
	if ((n = db_exec(e->db, sql, &p, NULL, err)) == -1)
		return -1;
	if (n == 0 && strcmp(col, "last_sent_time") == 0)
		return cm_err_set(err, CM_ESTATE, pi->handle, "the clock went "
		    "back: signing time %lld is not after that of the last "
		    "request", (long long)t);
	if (n == 0)
		return cm_err_set(err, CM_EPERM, pi->parent, "replayed or "
		    "out-of-order reply (signing time not after the last one "
		    "accepted)");
	return 0;
}

/* Signs q (sender and recipient filled in here) with the CA's identity. */
static int
sign_request(struct ca_eng *e, struct eng_parent *pi, struct ca_ud_msg *q,
    uint8_t **msg, size_t *len, struct cm_err *err)
{
	struct cm_buf	 xml = CM_BUF_INIT;
	struct hsm_key	*idkey = NULL;
	X509		*ta = NULL;
	EVP_PKEY	*ee = NULL;
	uint8_t		*der = NULL;
	const uint8_t	*dp;
	size_t		 dl;
	char		 idk[HSM_KEY_ID_LEN + 1];
	int64_t		 now;
	int		 rc = -1;

	if ((q->sender = strdup(pi->child)) == NULL ||
	    (q->recipient = strdup(pi->parent)) == NULL) {
		cm_err_set(err, CM_ENOMEM, pi->handle, "out of memory");
		goto out;
	}
	if (ca_ud_write(q, &xml, err) == -1 ||
	    ca_eng_bpki(e, pi->handle, &der, &dl, idk, err) == -1 ||
	    hsm_key_find(e->hsm, idk, &idkey, err) == -1 ||
	    eng_ee_key(e, &ee, err) == -1)
		goto out;
	dp = der;
	if ((ta = d2i_X509(NULL, &dp, (long)dl)) == NULL) {
		cm_err_set(err, CM_ESTATE, pi->handle, "BPKI certificate is "
		    "corrupt");
		goto out;
	}
	wait_past(e, pi->last_sent > pi->last_reply ? pi->last_sent :
	    pi->last_reply);
	now = eng_now(e);
	if (ca_bpki_sign(ta, idkey, ee, xml.data, xml.len, (time_t)now, msg,
	    len, err) == -1 ||
	    record_time(e, pi, "last_sent_time", now, err) == -1)
		goto out;
	pi->last_sent = now;
	rc = 0;
out:
	free(der);
	cm_buf_free(&xml);
	hsm_key_free(idkey);
	X509_free(ta);
	EVP_PKEY_free(ee);
	return rc;
}

int
eng_parent_sign(struct ca_eng *e, struct eng_parent *pi, struct ca_ud_msg *q,
    uint8_t **msg, size_t *len, struct cm_err *err)
{
	return sign_request(e, pi, q, msg, len, err);
}

int
eng_parent_accept(struct ca_eng *e, struct eng_parent *pi,
    const uint8_t *reply, size_t rlen, struct ca_ud_msg **out,
    struct cm_err *err)
{
	struct ca_cms_msg	 m;
	struct ca_ud_msg	*a = NULL;
	struct ca_ud_error	 ue;
	int			 rc = -1;

	*out = NULL;
	memset(&m, 0, sizeof(m));
	if (ca_cms_msg_verify(pi->parent, reply, rlen, pi->ta,
	    (time_t)eng_now(e), &m, err) == -1 ||
	    record_time(e, pi, "last_signing_time", (int64_t)m.signing_time,
	    err) == -1)
		goto out;
	pi->last_reply = (int64_t)m.signing_time;
	if (ca_ud_parse(pi->parent, m.xml, m.xml_len, &a, &ue) == -1) {
		*err = ue.err;
		goto out;
	}
	if (strcmp(a->sender, pi->parent) != 0 ||
	    strcmp(a->recipient, pi->child) != 0) {
		cm_err_set(err, CM_EPERM, pi->parent, "reply from \"%s\" to "
		    "\"%s\", expected from \"%s\" to \"%s\"", a->sender,
		    a->recipient, pi->parent, pi->child);
		goto out;
	}
	*out = a;
	a = NULL;
	rc = 0;
out:
	ca_ud_free(a);
	ca_cms_msg_free(&m);
	return rc;
}

int
eng_parent_exchange(struct ca_eng *e, struct eng_parent *pi, struct ca_ud_msg *q,
    enum ca_ud_type want, struct ca_ud_msg **out, struct cm_err *err)
{
	struct ca_ud_msg	*a = NULL;
	uint8_t			*msg = NULL, *reply = NULL;
	size_t			 len, rlen = 0;
	int			 rc = -1;

	*out = NULL;
	if (pi->offline)
		return cm_err_set(err, CM_ESTATE, pi->handle, "the parent %s is "
		    "offline: its messages travel as files (cairnd parent "
		    "offline-request, offline-import)", pi->parent);
	if (e->post == NULL)
		return cm_err_set(err, CM_ESTATE, pi->handle, "no up-down "
		    "transport (the parent is asked by cairnd)");
	if (sign_request(e, pi, q, &msg, &len, err) == -1)
		goto out;
	if (e->post(e->post_arg, pi->uri, msg, len, &reply, &rlen, err) == -1) {
		cm_err_wrap(err, ca_ud_type_name(q->type));
		goto out;
	}
	if (eng_parent_accept(e, pi, reply, rlen, &a, err) == -1)
		goto out;
	if (a->type == CA_UD_ERROR_RESPONSE) {
		cm_err_set(err, CM_EPERM, pi->parent, "%s refused: %d %s",
		    ca_ud_type_name(q->type), a->status, a->description != NULL ?
		    a->description : "");
		goto out;
	}
	if (a->type != want) {
		cm_err_set(err, CM_EINVAL, pi->parent, "answered %s with %s",
		    ca_ud_type_name(q->type), ca_ud_type_name(a->type));
		goto out;
	}
	*out = a;
	a = NULL;
	rc = 0;
out:
	ca_ud_free(a);
	free(msg);
	free(reply);
	return rc;
}
