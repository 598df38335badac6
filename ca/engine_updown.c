/*
 * ca_eng parent side of RFC 6492 (up-down): delegated children, that is
 * CAs run elsewhere (Krill, rpkid, another Cairn) whose certificates a
 * hosted CA issues on request.  One resource class, "default".
 *
 * The certificates issued to child C with key K are objects of the parent's
 * publication point with subject "child C K" and file name <K>.cer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "ca/bpki.h"
#include "ca/cert.h"
#include "ca/cms_msg.h"
#include "ca/csr.h"
#include "ca/engine_int.h"
#include "ca/updown.h"
#include "common/cm_enc.h"
#include "common/cm_log.h"

#define UD_CLASS	"default"

struct child_arg {
	struct ca_eng		*e;
	const char		*parent, *child, *actor;
	const struct ca_res	*res;
	const uint8_t		*bpki;
	size_t			 bpkilen;
	const struct ca_ud_msg	*req;
	struct ca_ud_msg	*resp;
	int			 changed;
	int			 force;		/* child_add: replace a tombstone */
};

/*
 * A removed child leaves a tombstone (its row, with deleted_at): its BPKI
 * identity, so that its later requests are still verified and answered
 * with what a removed child is told (answer_removed()), and its replay
 * mark.  Registering the handle again with the same identity revives the
 * row (the replay mark stays); another identity is refused unless forced,
 * for the old one would lose its answers.  Returns 1 when revived, 0 when
 * the caller inserts a new row (2: after forgetting a tombstone), -1.
 */
static int
readd_tombstone(struct db *db, struct child_arg *a, int64_t ca_id,
    char *t[3], struct cm_err *err)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	const uint8_t		*d;
	size_t			 dl;
	int			 same, rc = -1;

	db_params_init(&p);
	db_param_int(&p, ca_id);
	db_param_text(&p, a->child);
	if (db_exec(db, "SELECT id_cert, to_char(deleted_at AT TIME ZONE 'UTC', "
	    "'YYYY-MM-DD HH24:MI:SS\"Z\"') FROM ca_child WHERE ca_id = $1 AND "
	    "handle = $2 AND deleted_at IS NOT NULL FOR UPDATE", &p, &r,
	    err) == -1)
		return -1;
	if (db_res_rows(r) != 1) {
		rc = 0;
		goto out;
	}
	if (db_res_bytea(r, 0, 0, &d, &dl, err) == -1)
		goto out;
	same = dl == a->bpkilen && memcmp(d, a->bpki, dl) == 0;
	if (!same && !a->force) {
		cm_err_set(err, CM_EEXIST, a->child, "%s removed a child with "
		    "this handle on %s and still answers its BPKI identity; "
		    "this request has another identity (force to replace it)",
		    a->parent, db_res_text(r, 0, 1));
		goto out;
	}
	db_params_init(&p);
	db_param_int(&p, ca_id);
	db_param_text(&p, a->child);
	if (!same) {
		cm_info("%s: the tombstone of removed child %s is replaced by "
		    "another BPKI identity", a->parent, a->child);
		rc = db_exec(db, "DELETE FROM ca_child WHERE ca_id = $1 AND "
		    "handle = $2 AND deleted_at IS NOT NULL", &p, NULL, err) ==
		    -1 ? -1 : 2;
		goto out;
	}
	db_param_text(&p, t[0]);
	db_param_text(&p, t[1]);
	db_param_text(&p, t[2]);
	if (db_exec(db, "UPDATE ca_child SET deleted_at = NULL, created_at = "
	    "now(), asn = $3, ipv4 = $4, ipv6 = $5 WHERE ca_id = $1 AND "
	    "handle = $2", &p, NULL, err) == -1)
		goto out;
	rc = 1;
out:
	db_res_free(r);
	return rc;
}

static int
child_add_tx(struct db *db, void *arg, struct cm_err *err)
{
	struct child_arg	*a = arg;
	struct eng_ca		 c;
	struct db_params	 p;
	char			*t[3] = { NULL, NULL, NULL };
	int			 in, st, rc = -1;

	if (eng_load_ca(a->e, db, a->parent, &c, err) == -1)
		return -1;
	if ((in = ca_res_contains(c.res, a->res, err)) == -1)
		goto out;
	if (!in) {
		cm_err_set(err, CM_EINVAL, a->child, "entitlement is not within "
		    "the resources of %s", a->parent);
		goto out;
	}
	if (eng_res_texts(a->res, t, err) == -1)
		goto out;
	if ((st = readd_tombstone(db, a, c.id, t, err)) == -1)
		goto out;
	if (st == 1)
		goto audit;
	db_params_init(&p);
	db_param_int(&p, c.id);
	db_param_text(&p, a->child);
	db_param_bytea(&p, a->bpki, a->bpkilen);
	db_param_text(&p, t[0]);
	db_param_text(&p, t[1]);
	db_param_text(&p, t[2]);
	if (db_exec(db, "INSERT INTO ca_child (ca_id, handle, id_cert, asn, ipv4, "
	    "ipv6) VALUES ($1, $2, $3, $4, $5, $6)", &p, NULL, err) == -1) {
		if (err->code == CM_EEXIST)
			cm_err_set(err, CM_EEXIST, a->child, "%s already has a "
			    "child with this handle", a->parent);
		goto out;
	}
audit:
	if (eng_audit(db, a->actor, st == 2 ? "child.replace" : "child.add",
	    c.id, a->child, err) == -1)
		goto out;
	rc = 0;
out:
	eng_free_texts(t);
	eng_ctx_clear(&c);
	return rc;
}

static int
child_add(struct ca_eng *e, const char *parent, const char *child,
    const struct ca_res *entitlement, const uint8_t *bpki_ta, size_t len,
    int force, const char *actor, struct cm_err *err)
{
	struct child_arg a;

	if (!eng_handle_ok(child))
		return cm_err_set(err, CM_EINVAL, child, "bad child handle");
	memset(&a, 0, sizeof(a));
	a.e = e;
	a.force = force;
	a.parent = parent;
	a.child = child;
	a.actor = actor;
	a.res = entitlement;
	a.bpki = bpki_ta;
	a.bpkilen = len;
	return db_tx(e->db, NULL, child_add_tx, &a, err);
}

int
ca_eng_child_add(struct ca_eng *e, const char *parent, const char *child,
    const struct ca_res *entitlement, const uint8_t *bpki_ta, size_t len,
    const char *actor, struct cm_err *err)
{
	return child_add(e, parent, child, entitlement, bpki_ta, len, 0, actor,
	    err);
}

int
ca_eng_child_replace(struct ca_eng *e, const char *parent, const char *child,
    const struct ca_res *entitlement, const uint8_t *bpki_ta, size_t len,
    const char *actor, struct cm_err *err)
{
	return child_add(e, parent, child, entitlement, bpki_ta, len, 1, actor,
	    err);
}

/* ---- serving requests ------------------------------------------------- */

/* Fills resp as an error_response with status and its RFC text. */
static int
ud_error(struct child_arg *a, int status, const char *detail)
{
	struct ca_ud_msg *m = a->resp;
	char		  d[512];

	m->type = CA_UD_ERROR_RESPONSE;
	m->status = status;
	snprintf(d, sizeof(d), "%s%s%s", ca_ud_status_text(status),
	    detail != NULL ? ": " : "", detail != NULL ? detail : "");
	m->description = strdup(d);
	return 0;
}

/*
 * The child's entitlement as a set; 0, 1 (no such child), 2 (a removed
 * child: its tombstone), -1.
 */
static int
load_child(struct db *db, const struct eng_ca *c, const char *child,
    struct ca_res **out, struct cm_err *err)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	struct ca_res		*res;
	int			 rc = -1;

	db_params_init(&p);
	db_param_int(&p, c->id);
	db_param_text(&p, child);
	if (db_exec(db, "SELECT asn, ipv4, ipv6, deleted_at IS NOT NULL FROM "
	    "ca_child WHERE ca_id = $1 AND handle = $2 ORDER BY deleted_at IS "
	    "NOT NULL LIMIT 1", &p, &r, err) == -1)
		return -1;
	if (db_res_rows(r) != 1 || strcmp(db_res_text(r, 0, 3), "t") == 0) {
		rc = db_res_rows(r) != 1 ? 1 : 2;
		db_res_free(r);
		return rc;
	}
	if (eng_res_parse(db_res_text(r, 0, 0), db_res_text(r, 0, 1),
	    db_res_text(r, 0, 2), child, &res, err) == -1)
		goto out;
	*out = res;
	rc = 0;
out:
	db_res_free(r);
	return rc;
}

/*
 * Re-issues (same key, SIA and file) or withdraws the certificates issued
 * to child so that none holds more than ent.  Returns how many changed.
 */
static int
fit_child_certs(struct ca_eng *e, struct db *db, struct eng_ca *c,
    const char *child, const struct ca_res *ent, struct cm_err *err)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	struct ca_cert		*old = NULL;
	struct ca_res		*cut = NULL;
	struct ca_cert_spec	 s;
	const uint8_t		*d;
	size_t			 dl;
	char			 subj[ENG_HANDLE_MAX + 8];
	int			 i, n, changed = 0, rc = -1;

	snprintf(subj, sizeof(subj), "child %s %%", child);
	db_params_init(&p);
	db_param_int(&p, c->id);
	db_param_text(&p, subj);
	if ((n = db_exec(db, "SELECT uri, der, subject, name FROM issued_object "
	    "WHERE ca_id = $1 AND subject LIKE $2 AND kind = 'cer' AND "
	    "withdrawn_at IS NULL", &p, &r, err)) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		ca_cert_free(old);
		ca_res_free(cut);
		old = NULL;
		cut = NULL;
		if (db_res_bytea(r, i, 1, &d, &dl, err) == -1 ||
		    ca_cert_parse(db_res_text(r, i, 0), d, dl, &old, err) == -1 ||
		    ca_res_intersect(old->res, ent, &cut, err) == -1)
			goto out;
		if (ca_res_equal(cut, old->res))
			continue;
		changed++;
		if (ca_res_is_empty(cut)) {
			if (eng_withdraw(db, c, db_res_text(r, i, 0), err) == -1)
				goto out;
			continue;
		}
		memset(&s, 0, sizeof(s));
		s.kind = CA_CERT_CA;
		s.subject_key = X509_get0_pubkey(old->x509);
		s.not_after = old->not_after;
		s.sia_repo = old->sia_repo;
		s.sia_mft = old->sia_mft;
		s.sia_notify = old->sia_notify;
		s.res = cut;
		if (eng_issue_cert(e, db, c, &s, db_res_text(r, i, 3),
		    db_res_text(r, i, 2), 0, 0, NULL, NULL, err) == -1)
			goto out;
	}
	rc = changed;
out:
	ca_cert_free(old);
	ca_res_free(cut);
	db_res_free(r);
	return rc;
}

int
eng_fit_delegated(struct ca_eng *e, struct db *db, struct eng_ca *c,
    struct cm_err *err)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	struct ca_res		*cur = NULL, *cut = NULL;
	char			*t[3] = { NULL, NULL, NULL };
	int			 i, n, in, changed = 0, rc = -1;

	db_params_init(&p);
	db_param_int(&p, c->id);
	if ((n = db_exec(db, "SELECT handle, asn, ipv4, ipv6 FROM ca_child WHERE "
	    "ca_id = $1 AND deleted_at IS NULL ORDER BY handle", &p, &r,
	    err)) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		const char *h = db_res_text(r, i, 0);

		ca_res_free(cur);
		ca_res_free(cut);
		cur = cut = NULL;
		eng_free_texts(t);
		t[0] = t[1] = t[2] = NULL;
		if (eng_res_parse(db_res_text(r, i, 1), db_res_text(r, i, 2),
		    db_res_text(r, i, 3), h, &cur, err) == -1 ||
		    (in = ca_res_contains(c->res, cur, err)) == -1)
			goto out;
		if (in)
			continue;
		if (ca_res_intersect(c->res, cur, &cut, err) == -1 ||
		    eng_res_texts(cut, t, err) == -1)
			goto out;
		db_params_init(&p);
		db_param_int(&p, c->id);
		db_param_text(&p, h);
		db_param_text(&p, t[0]);
		db_param_text(&p, t[1]);
		db_param_text(&p, t[2]);
		if (db_exec(db, "UPDATE ca_child SET asn = $3, ipv4 = $4, ipv6 = "
		    "$5 WHERE ca_id = $1 AND handle = $2 AND deleted_at IS NULL",
		    &p, NULL, err) == -1 ||
		    fit_child_certs(e, db, c, h, cut, err) == -1)
			goto out;
		cm_info("%s: the entitlement of delegated child %s shrank with "
		    "its parent's resources", c->handle, h);
		changed++;
	}
	rc = changed;
out:
	eng_free_texts(t);
	ca_res_free(cur);
	ca_res_free(cut);
	db_res_free(r);
	return rc;
}

static int
child_set_tx(struct db *db, void *arg, struct cm_err *err)
{
	struct child_arg	*a = arg;
	struct eng_ca		 c;
	struct db_params	 p;
	struct ca_res		*cur = NULL;
	char			*t[3] = { NULL, NULL, NULL };
	int			 in, st, n, rc = -1;

	if (eng_load_ca(a->e, db, a->parent, &c, err) == -1)
		return -1;
	if ((st = load_child(db, &c, a->child, &cur, err)) == -1)
		goto out;
	if (st != 0) {
		cm_err_set(err, CM_ENOTFOUND, a->child, "%s has no such child",
		    a->parent);
		goto out;
	}
	a->changed = 0;
	if (ca_res_equal(cur, a->res)) {
		rc = 0;
		goto out;
	}
	if ((in = ca_res_contains(c.res, a->res, err)) == -1)
		goto out;
	if (!in) {
		cm_err_set(err, CM_EINVAL, a->child, "entitlement is not within "
		    "the resources of %s", a->parent);
		goto out;
	}
	if (eng_res_texts(a->res, t, err) == -1)
		goto out;
	db_params_init(&p);
	db_param_int(&p, c.id);
	db_param_text(&p, a->child);
	db_param_text(&p, t[0]);
	db_param_text(&p, t[1]);
	db_param_text(&p, t[2]);
	if (db_exec(db, "UPDATE ca_child SET asn = $3, ipv4 = $4, ipv6 = $5 "
	    "WHERE ca_id = $1 AND handle = $2 AND deleted_at IS NULL", &p, NULL,
	    err) == -1 ||
	    (n = fit_child_certs(a->e, db, &c, a->child, a->res, err)) == -1 ||
	    (n > 0 && eng_publish_pp(a->e, db, &c, err) == -1) ||
	    eng_audit(db, a->actor, "child.resources", c.id, a->child, err) == -1)
		goto out;
	a->changed = 1;
	rc = 0;
out:
	eng_free_texts(t);
	ca_res_free(cur);
	eng_ctx_clear(&c);
	return rc;
}

int
ca_eng_child_set_resources(struct ca_eng *e, const char *parent,
    const char *child, const struct ca_res *entitlement, const char *actor,
    struct cm_err *err)
{
	struct child_arg a;

	memset(&a, 0, sizeof(a));
	a.e = e;
	a.parent = parent;
	a.child = child;
	a.actor = actor;
	a.res = entitlement;
	if (db_tx(e->db, NULL, child_set_tx, &a, err) == -1)
		return -1;
	return a.changed;
}

static int
child_remove_tx(struct db *db, void *arg, struct cm_err *err)
{
	struct child_arg	*a = arg;
	struct eng_ca		 c;
	struct db_params	 p;
	struct ca_res		*none = NULL;
	int			 n, rc = -1;

	if (eng_load_ca(a->e, db, a->parent, &c, err) == -1)
		return -1;
	db_params_init(&p);
	db_param_int(&p, c.id);
	db_param_text(&p, a->child);
	if ((n = db_exec(db, "UPDATE ca_child SET deleted_at = now() WHERE "
	    "ca_id = $1 AND handle = $2 AND deleted_at IS NULL", &p, NULL,
	    err)) == -1)
		goto out;
	if (n == 0) {
		cm_err_set(err, CM_ENOTFOUND, a->child, "%s has no such child",
		    a->parent);
		goto out;
	}
	if ((none = ca_res_new()) == NULL) {
		cm_err_set(err, CM_ENOMEM, a->child, "out of memory");
		goto out;
	}
	/* Nothing is left of an empty entitlement: every certificate goes. */
	if ((n = fit_child_certs(a->e, db, &c, a->child, none, err)) == -1 ||
	    (n > 0 && eng_publish_pp(a->e, db, &c, err) == -1) ||
	    eng_audit(db, a->actor, "child.remove", c.id, a->child, err) == -1)
		goto out;
	rc = 0;
out:
	ca_res_free(none);
	eng_ctx_clear(&c);
	return rc;
}

int
ca_eng_child_remove(struct ca_eng *e, const char *parent, const char *child,
    const char *actor, struct cm_err *err)
{
	struct child_arg a;

	memset(&a, 0, sizeof(a));
	a.e = e;
	a.parent = parent;
	a.child = child;
	a.actor = actor;
	return db_tx(e->db, NULL, child_remove_tx, &a, err);
}

static char *
dup_or_empty(const char *s)
{
	return strdup(s != NULL ? s : "");
}

/*
 * The "default" class for child: its entitlement (within the parent's),
 * the parent's certificate, and the certificates issued to the child
 * (only the one of key only_key when that is not NULL).
 */
static int
build_class(struct db *db, const struct eng_ca *c, const char *child,
    const struct ca_res *ent, const char *only_key, struct ca_ud_class *cl,
    struct cm_err *err)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	struct ca_res		*eff = NULL;
	char			*t[3] = { NULL, NULL, NULL }, subj[128];
	const uint8_t		*d;
	size_t			 dl;
	int			 n, i, rc = -1;
	uint8_t			*der = NULL;
	int			 len;

	memset(cl, 0, sizeof(*cl));
	if (ca_res_intersect(c->res, ent, &eff, err) == -1 ||
	    eng_res_texts(eff, t, err) == -1)
		goto out;
	cl->class_name = strdup(UD_CLASS);
	cl->cert_url = strdup(c->cert_uri);
	cl->res_as = t[0];
	cl->res_v4 = t[1];
	cl->res_v6 = t[2];
	t[0] = t[1] = t[2] = NULL;
	cl->notafter = (time_t)c->not_after;
	if ((len = i2d_X509(c->cert, &der)) <= 0 ||
	    (cl->issuer = malloc((size_t)len)) == NULL) {
		cm_err_set(err, CM_ENOMEM, child, "out of memory");
		goto out;
	}
	memcpy(cl->issuer, der, (size_t)len);
	cl->issuer_len = (size_t)len;
	snprintf(subj, sizeof(subj), "child %s %s", child,
	    only_key != NULL ? only_key : "%");
	db_params_init(&p);
	db_param_int(&p, c->id);
	db_param_text(&p, subj);
	if ((n = db_exec(db, "SELECT uri, der FROM issued_object WHERE ca_id = $1 "
	    "AND subject LIKE $2 AND withdrawn_at IS NULL ORDER BY uri", &p, &r,
	    err)) == -1)
		goto out;
	if (n > 0 && (cl->certs = calloc((size_t)n, sizeof(*cl->certs))) == NULL) {
		cm_err_set(err, CM_ENOMEM, child, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct ca_ud_cert *uc = &cl->certs[cl->ncerts++];

		if (db_res_bytea(r, i, 1, &d, &dl, err) == -1 ||
		    (uc->der = malloc(dl)) == NULL ||
		    (uc->cert_url = strdup(db_res_text(r, i, 0))) == NULL) {
			cm_err_set(err, CM_ENOMEM, child, "out of memory");
			goto out;
		}
		memcpy(uc->der, d, dl);
		uc->der_len = dl;
	}
	rc = 0;
out:
	OPENSSL_free(der);
	db_res_free(r);
	eng_free_texts(t);
	ca_res_free(eff);
	return rc;
}

static int
one_class(struct child_arg *a, struct cm_err *err)
{
	if ((a->resp->classes = calloc(1, sizeof(*a->resp->classes))) == NULL)
		return cm_err_set(err, CM_ENOMEM, "up-down", "out of memory");
	a->resp->nclasses = 1;
	return 0;
}

/* issue: certify the key of the request, within the entitlement. */
static int
ud_issue(struct child_arg *a, struct db *db, struct eng_ca *c,
    const struct ca_res *ent, struct cm_err *err)
{
	const struct ca_ud_msg	*q = a->req;
	struct ca_csr		*csr = NULL;
	struct ca_res		*want = NULL, *grant = NULL, *tmp = NULL;
	struct ca_cert_spec	 s;
	struct db_params	 p;
	char			 id[HSM_KEY_ID_LEN + 1], name[32], subj[128],
				 who[ENG_HANDLE_MAX + 16];
	struct cm_err		 why;
	int64_t			 now = eng_now(a->e);
	int			 n, rc = -1;

	if (strcmp(q->class_name, UD_CLASS) != 0)
		return ud_error(a, CA_UD_E_NO_CLASS, q->class_name);
	snprintf(who, sizeof(who), "%s request", a->child);
	if (ca_csr_parse(who, CA_CSR_CA, q->pkcs10, q->pkcs10_len, &csr,
	    &why) == -1)
		return ud_error(a, CA_UD_E_BAD_CSR, why.msg);
	/* What is granted: entitlement ∩ parent's ∩ request (if limited). */
	if (ca_res_intersect(c->res, ent, &grant, err) == -1)
		goto out;
	if (q->req_as != NULL || q->req_v4 != NULL || q->req_v6 != NULL) {
		if ((want = ca_res_dup(grant)) == NULL)
			goto oom;
		if ((q->req_as != NULL && ca_res_parse(want, CA_RES_AS, q->req_as,
		    who, err) == -1) ||
		    (q->req_v4 != NULL && ca_res_parse(want, CA_RES_V4, q->req_v4,
		    who, err) == -1) ||
		    (q->req_v6 != NULL && ca_res_parse(want, CA_RES_V6, q->req_v6,
		    who, err) == -1) ||
		    ca_res_intersect(grant, want, &tmp, err) == -1)
			goto out;
		ca_res_free(grant);
		grant = tmp;
		tmp = NULL;
	}
	if (ca_res_is_empty(grant)) {
		rc = ud_error(a, CA_UD_E_NO_RESOURCES, NULL);
		goto out;
	}
	if (hsm_pubkey_id(csr->key, id, err) == -1)
		goto out;
	/* A key certified for someone else (or for us) is refused (1204). */
	snprintf(subj, sizeof(subj), "child %s %s", a->child, id);
	eng_keyname(id, "cer", name, sizeof(name));
	db_params_init(&p);
	db_param_text(&p, id);
	db_param_text(&p, subj);
	db_param_text(&p, name);
	if ((n = db_exec(db, "SELECT 1 FROM ca_key WHERE id = $1 UNION ALL "
	    "SELECT 1 FROM issued_object WHERE withdrawn_at IS NULL AND "
	    "kind = 'cer' AND name = $3 AND subject <> $2", &p, NULL,
	    err)) == -1)
		goto out;
	if (n > 0) {
		rc = ud_error(a, CA_UD_E_KEY_USED, id);
		goto out;
	}
	memset(&s, 0, sizeof(s));
	s.kind = CA_CERT_CA;
	s.subject_key = csr->key;
	s.not_after = (time_t)eng_min(now + a->e->conf.ca_validity, c->not_after);
	s.sia_repo = csr->sia_repo;
	s.sia_mft = csr->sia_mft;
	s.sia_notify = csr->sia_notify;
	s.res = grant;
	/*
	 * A re-issue (same key) replaces the file and revokes the old
	 * certificate.  Delegated children ask again themselves: no renewal.
	 */
	if (eng_issue_cert(a->e, db, c, &s, name, subj, 0, 0, NULL, NULL,
	    err) == -1 ||
	    eng_publish_pp(a->e, db, c, err) == -1 ||
	    eng_audit(db, a->actor, "child.issue", c->id, subj, err) == -1)
		goto out;
	a->resp->type = CA_UD_ISSUE_RESPONSE;
	if (one_class(a, err) == -1 ||
	    build_class(db, c, a->child, ent, id, &a->resp->classes[0], err) == -1)
		goto out;
	/* The response carries the granted set on the certificate. */
	rc = 0;
	goto out;
oom:
	cm_err_set(err, CM_ENOMEM, a->child, "out of memory");
out:
	ca_res_free(want);
	ca_res_free(grant);
	ca_res_free(tmp);
	ca_csr_free(csr);
	return rc;
}

static int
ud_revoke(struct child_arg *a, struct db *db, struct eng_ca *c,
    struct cm_err *err)
{
	const struct ca_ud_msg	*q = a->req;
	struct db_params	 p;
	struct db_res		*r = NULL;
	char			 id[HSM_KEY_ID_LEN + 1], subj[128];
	int			 rc = -1;

	if (strcmp(q->class_name, UD_CLASS) != 0)
		return ud_error(a, CA_UD_E_REVOKE_NO_CLASS, q->class_name);
	cm_hex_encode(q->ski, 20, id);
	snprintf(subj, sizeof(subj), "child %s %s", a->child, id);
	db_params_init(&p);
	db_param_int(&p, c->id);
	db_param_text(&p, subj);
	if (db_exec(db, "SELECT uri FROM issued_object WHERE ca_id = $1 AND "
	    "subject = $2 AND withdrawn_at IS NULL", &p, &r, err) == -1)
		return -1;
	if (db_res_rows(r) != 1) {
		db_res_free(r);
		return ud_error(a, CA_UD_E_REVOKE_NO_KEY, id);
	}
	if (eng_withdraw(db, c, db_res_text(r, 0, 0), err) == -1 ||
	    eng_publish_pp(a->e, db, c, err) == -1 ||
	    eng_audit(db, a->actor, "child.revoke", c->id, subj, err) == -1)
		goto out;
	a->resp->type = CA_UD_REVOKE_RESPONSE;
	a->resp->class_name = strdup(UD_CLASS);
	memcpy(a->resp->ski, q->ski, 20);
	rc = 0;
out:
	db_res_free(r);
	return rc;
}

/*
 * What a removed child is told (its certificates were revoked when it was
 * removed): a list of no resource classes, so that it withdraws what it
 * publishes and retires its keys as when its entitlement ends; an issue
 * names a class it no longer has (1201); a revoke of a key that was
 * certified for it is confirmed, for that certificate is revoked (1302
 * for a key that never was).
 */
static int
answer_removed(struct child_arg *a, struct db *db, const struct eng_ca *c,
    struct cm_err *err)
{
	const struct ca_ud_msg	*q = a->req;
	struct db_params	 p;
	char			 id[HSM_KEY_ID_LEN + 1], subj[128];
	int			 n;

	cm_info("%s: request from removed child %s: %s", a->parent, a->child,
	    ca_ud_type_name(q->type));
	switch (q->type) {
	case CA_UD_LIST:
		a->resp->type = CA_UD_LIST_RESPONSE;
		return 0;
	case CA_UD_ISSUE:
		return ud_error(a, CA_UD_E_NO_CLASS, "the child was removed");
	case CA_UD_REVOKE:
		cm_hex_encode(q->ski, 20, id);
		snprintf(subj, sizeof(subj), "child %s %s", a->child, id);
		db_params_init(&p);
		db_param_int(&p, c->id);
		db_param_text(&p, subj);
		if ((n = db_exec(db, "SELECT 1 FROM issued_object WHERE ca_id = "
		    "$1 AND subject = $2 LIMIT 1", &p, NULL, err)) == -1)
			return -1;
		if (n == 0)
			return ud_error(a, CA_UD_E_REVOKE_NO_KEY, id);
		a->resp->type = CA_UD_REVOKE_RESPONSE;
		if ((a->resp->class_name = strdup(q->class_name)) == NULL)
			return cm_err_set(err, CM_ENOMEM, a->child,
			    "out of memory");
		memcpy(a->resp->ski, q->ski, 20);
		return 0;
	default:
		return ud_error(a, CA_UD_E_TYPE, ca_ud_type_name(q->type));
	}
}

static int
updown_tx(struct db *db, void *arg, struct cm_err *err)
{
	struct child_arg	*a = arg;
	struct eng_ca		 c;
	struct ca_res		*ent = NULL;
	int			 st, rc = -1;

	/* A retried transaction starts from a fresh response. */
	ca_ud_free(a->resp);
	if ((a->resp = calloc(1, sizeof(*a->resp))) == NULL)
		return cm_err_set(err, CM_ENOMEM, "up-down", "out of memory");
	a->resp->sender = dup_or_empty(a->parent);
	a->resp->recipient = dup_or_empty(a->child);
	if (eng_load_ca(a->e, db, a->parent, &c, err) == -1)
		return -1;
	if ((st = load_child(db, &c, a->child, &ent, err)) == -1)
		goto out;
	if (st == 2) {
		/* Over CMS, only a tombstone's identity verifies (child_ta()). */
		rc = answer_removed(a, db, &c, err);
		goto out;
	}
	if (st == 1) {
		/* RFC 6492 has no code for an unknown child: 1201 is closest. */
		rc = ud_error(a, CA_UD_E_NO_CLASS, "unknown child");
		goto out;
	}
	switch (a->req->type) {
	case CA_UD_LIST:
		a->resp->type = CA_UD_LIST_RESPONSE;
		rc = one_class(a, err) == -1 || build_class(db, &c, a->child, ent,
		    NULL, &a->resp->classes[0], err) == -1 ? -1 : 0;
		break;
	case CA_UD_ISSUE:
		rc = ud_issue(a, db, &c, ent, err);
		break;
	case CA_UD_REVOKE:
		rc = ud_revoke(a, db, &c, err);
		break;
	default:
		rc = ud_error(a, CA_UD_E_TYPE, ca_ud_type_name(a->req->type));
		break;
	}
out:
	ca_res_free(ent);
	eng_ctx_clear(&c);
	return rc;
}

int
ca_eng_updown(struct ca_eng *e, const char *parent, const struct ca_ud_msg *req,
    struct ca_ud_msg **resp, struct cm_err *err)
{
	struct child_arg a;

	*resp = NULL;
	memset(&a, 0, sizeof(a));
	a.e = e;
	a.parent = parent;
	a.child = req->sender;
	a.req = req;
	a.actor = req->sender;
	if (strcmp(req->recipient, parent) != 0)
		return cm_err_set(err, CM_EPERM, req->sender, "message for %s "
		    "sent to %s", req->recipient, parent);
	if (db_tx(e->db, NULL, updown_tx, &a, err) == -1) {
		ca_ud_free(a.resp);
		/* Our failure, not the child's: 2001 (RFC 6492 §3.6). */
		if ((a.resp = calloc(1, sizeof(*a.resp))) == NULL)
			return -1;
		a.resp->sender = dup_or_empty(parent);
		a.resp->recipient = dup_or_empty(req->sender);
		ud_error(&a, CA_UD_E_INTERNAL, NULL);
		cm_error("up-down %s -> %s: %s", req->sender, parent, err->msg);
	}
	*resp = a.resp;
	return 0;
}

/* ---- BPKI identity and the CMS transport ------------------------------ */

struct ident_arg {
	struct ca_eng	*e;
	const char	*handle;
	struct hsm_key	*newkey;	/* created outside, used if none yet */
	int		 need_key;	/* out: none yet and newkey NULL */
	char		 key_id[HSM_KEY_ID_LEN + 1];
	uint8_t		*der;
	size_t		 len;
};

static int
ident_tx(struct db *db, void *arg, struct cm_err *err)
{
	struct ident_arg	*a = arg;
	struct db_params	 p;
	struct db_res		*r = NULL;
	const uint8_t		*d;
	size_t			 dl;
	X509			*ta = NULL;
	unsigned char		*buf = NULL;
	int			 n, rc = -1;

	free(a->der);
	a->der = NULL;
	a->need_key = 0;
	db_params_init(&p);
	db_param_text(&p, a->handle);
	if (db_exec(db, "SELECT id_key, id_cert FROM ca WHERE handle = $1 AND "
	    "deleted_at IS NULL FOR UPDATE", &p, &r, err) == -1)
		return -1;
	if (db_res_rows(r) != 1) {
		cm_err_set(err, CM_ENOTFOUND, a->handle, "no such CA");
		goto out;
	}
	if (!db_res_isnull(r, 0, 1)) {
		snprintf(a->key_id, sizeof(a->key_id), "%s", db_res_text(r, 0, 0));
		if (db_res_bytea(r, 0, 1, &d, &dl, err) == -1 ||
		    (a->der = malloc(dl)) == NULL)
			goto out;
		memcpy(a->der, d, dl);
		a->len = dl;
		rc = 0;
		goto out;
	}
	if (a->newkey == NULL) {
		a->need_key = 1;	/* the caller makes a key and comes back */
		rc = 0;
		goto out;
	}
	if (ca_bpki_ta(a->newkey, a->handle, (time_t)eng_now(a->e), 20, &ta,
	    err) == -1)
		goto out;
	if ((n = i2d_X509(ta, &buf)) <= 0 || (a->der = malloc((size_t)n)) ==
	    NULL) {
		cm_err_set(err, CM_ENOMEM, a->handle, "out of memory");
		goto out;
	}
	memcpy(a->der, buf, (size_t)n);
	a->len = (size_t)n;
	snprintf(a->key_id, sizeof(a->key_id), "%s", hsm_key_id(a->newkey));
	db_params_init(&p);
	db_param_text(&p, a->handle);
	db_param_text(&p, a->key_id);
	db_param_bytea(&p, a->der, a->len);
	if (db_exec(db, "UPDATE ca SET id_key = $2, id_cert = $3 WHERE handle = $1",
	    &p, NULL, err) == -1)
		goto out;
	rc = 0;
out:
	OPENSSL_free(buf);
	X509_free(ta);
	db_res_free(r);
	return rc;
}

int
ca_eng_bpki(struct ca_eng *e, const char *handle, uint8_t **der, size_t *len,
    char key_id[HSM_KEY_ID_LEN + 1], struct cm_err *err)
{
	struct ident_arg	 a;
	struct cm_err		 e2;
	char			 label[HSM_LABEL_MAX];
	int			 rc;

	memset(&a, 0, sizeof(a));
	a.e = e;
	a.handle = handle;
	rc = db_tx(e->db, NULL, ident_tx, &a, err);
	if (rc == 0 && a.need_key) {
		/* First use: an identity key in the signer. */
		snprintf(label, sizeof(label), "cairn bpki %.64s", handle);
		if (hsm_key_create(e->hsm, label, &a.newkey, err) == -1)
			return -1;
		rc = db_tx(e->db, NULL, ident_tx, &a, err);
		if (rc != 0 || strcmp(a.key_id, hsm_key_id(a.newkey)) != 0) {
			/* Failed, or another process made one first. */
			if (hsm_key_destroy(a.newkey, &e2) == -1)
				cm_warn("%s: a BPKI key was left in the signer",
				    handle);
		} else
			hsm_key_free(a.newkey);
	}
	if (rc != 0) {
		free(a.der);
		return -1;
	}
	*der = a.der;
	*len = a.len;
	if (key_id != NULL)
		snprintf(key_id, HSM_KEY_ID_LEN + 1, "%s", a.key_id);
	return 0;
}

/* The BPKI trust anchor (DER) the parent registered for child. */
static int
child_ta(struct ca_eng *e, const char *parent, const char *child, X509 **out,
    struct cm_err *err)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	const uint8_t		*d, *q;
	size_t			 dl;
	int			 rc = -1;

	db_params_init(&p);
	db_param_text(&p, parent);
	db_param_text(&p, child);
	/* A removed child's tombstone too: it is told it was removed. */
	if (db_exec(e->db, "SELECT k.id_cert FROM ca_child k JOIN ca c ON c.id = "
	    "k.ca_id WHERE c.handle = $1 AND k.handle = $2", &p, &r, err) == -1)
		return -1;
	if (db_res_rows(r) != 1) {
		cm_err_set(err, CM_EPERM, child, "not a child of %s", parent);
		goto out;
	}
	if (db_res_bytea(r, 0, 0, &d, &dl, err) == -1)
		goto out;
	q = d;
	if ((*out = d2i_X509(NULL, &q, (long)dl)) == NULL) {
		cm_err_set(err, CM_ESTATE, child, "its BPKI certificate is corrupt");
		goto out;
	}
	rc = 0;
out:
	db_res_free(r);
	return rc;
}

/*
 * Replay protection (RFC 6492 §3.1): the message's signing time must be
 * later than that of the last message accepted from the child; it becomes
 * the new mark.  One statement, so two copies of a message racing each other
 * cannot both pass.
 */
static int
accept_signing_time(struct ca_eng *e, const char *parent, const char *child,
    int64_t t, struct cm_err *err)
{
	struct db_params	p;
	int			n;

	db_params_init(&p);
	db_param_text(&p, parent);
	db_param_text(&p, child);
	db_param_int(&p, t);
	if ((n = db_exec(e->db, "UPDATE ca_child k SET last_signing_time = "
	    "to_timestamp($3::bigint) FROM ca c WHERE c.id = k.ca_id AND "
	    "c.handle = $1 AND k.handle = $2 AND "
	    "(k.last_signing_time IS NULL OR k.last_signing_time < "
	    "to_timestamp($3::bigint))", &p, NULL, err)) == -1)
		return -1;
	if (n == 0)
		return cm_err_set(err, CM_EPERM, child, "replayed or out-of-order "
		    "message (signing time not after the last one accepted)");
	return 0;
}

int
ca_eng_updown_cms(struct ca_eng *e, const char *parent, const uint8_t *der,
    size_t len, uint8_t **out, size_t *outlen, struct cm_err *err)
{
	struct ca_ud_msg	*q = NULL, *resp = NULL;
	struct ca_ud_error	 ue;
	struct ca_cms_msg	 m;
	struct cm_buf		 xml = CM_BUF_INIT;
	struct hsm_key		*idkey = NULL;
	X509			*cta = NULL, *pta = NULL;
	EVP_PKEY		*ee = NULL;
	uint8_t			*peek = NULL, *tader = NULL;
	const uint8_t		*tp;
	size_t			 plen, talen;
	char			 idk[HSM_KEY_ID_LEN + 1], sender[ENG_HANDLE_MAX + 1];
	int			 rc = -1;

	*out = NULL;
	memset(&m, 0, sizeof(m));
	/* Who says they sent it (unverified), to pick the trust anchor. */
	if (ca_bpki_peek(der, len, &peek, &plen, err) == -1)
		return -1;
	if (ca_ud_parse("up-down", peek, plen, &q, &ue) == -1) {
		*err = ue.err;
		goto out;
	}
	snprintf(sender, sizeof(sender), "%s", q->sender);
	ca_ud_free(q);
	q = NULL;
	if (child_ta(e, parent, sender, &cta, err) == -1 ||
	    ca_cms_msg_verify(sender, der, len, cta, (time_t)eng_now(e), &m,
	    err) == -1)
		goto out;
	if (ca_ud_parse(sender, m.xml, m.xml_len, &q, &ue) == -1) {
		*err = ue.err;
		goto out;
	}
	if (strcmp(q->sender, sender) != 0) {
		cm_err_set(err, CM_EPERM, sender, "signed message names another "
		    "sender");
		goto out;
	}
	if (accept_signing_time(e, parent, sender, (int64_t)m.signing_time,
	    err) == -1)
		goto out;
	if (ca_eng_updown(e, parent, q, &resp, err) == -1 ||
	    ca_ud_write(resp, &xml, err) == -1 ||
	    ca_eng_bpki(e, parent, &tader, &talen, idk, err) == -1 ||
	    hsm_key_find(e->hsm, idk, &idkey, err) == -1 ||
	    eng_ee_key(e, &ee, err) == -1)
		goto out;
	tp = tader;
	if ((pta = d2i_X509(NULL, &tp, (long)talen)) == NULL) {
		cm_err_set(err, CM_ESTATE, parent, "BPKI certificate is corrupt");
		goto out;
	}
	rc = ca_bpki_sign(pta, idkey, ee, xml.data, xml.len, (time_t)eng_now(e),
	    out, outlen, err);
out:
	free(peek);
	free(tader);
	ca_cms_msg_free(&m);
	ca_ud_free(q);
	ca_ud_free(resp);
	cm_buf_free(&xml);
	hsm_key_free(idkey);
	X509_free(cta);
	X509_free(pta);
	EVP_PKEY_free(ee);
	return rc;
}
