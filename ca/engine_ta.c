/*
 * ca_eng trust anchor key roll (RFC 9691).  The procedure for operators is
 * in docs/ta-keyroll.md; the steps are described in engine.h.
 *
 * During the roll the trust anchor has two keys: the active (old) one and
 * a pending (new) one with its own self-signed certificate, in the same
 * directory as the old one, and its own publication point (ca_key.repo_uri
 * and publisher_id).  The old key's publication point stays the master
 * copy: every change to the trust anchor goes through eng_publish_pp() of
 * its active key, which calls eng_ta_sync() first, so the new key's
 * publication point follows in the same transaction.  A certificate in
 * the new publication point (file "next-<name>", subject "next <subject>"
 * of its original) is re-issued when its original was written after it (a
 * higher issued_object id).  At finish the
 * new key moves into the old key's publication point (see finish_tx()).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "ca/cert.h"
#include "ca/engine_int.h"
#include "ca/sigobj.h"
#include "ca/tak.h"
#include "ca/tal.h"
#include "common/cm_log.h"

/* Certificates the trust anchor issued to CAs, hosted or delegated. */
#define TA_CHILD_CERTS	"kind = 'cer' AND (subject LIKE 'cer %' OR " \
			"subject LIKE 'child %')"
/*
 * Their copies under the new key carry the original's subject and file name
 * after these prefixes, so that nothing looking for a child's certificate
 * by subject or file name (the schedule; RFC 6492 list, issue and revoke)
 * finds two during the roll.
 */
#define TA_COPY		"next "
#define TA_COPY_FILE	"next-"
#define TA_COPIES	"kind = 'cer' AND subject LIKE 'next %'"

struct ta_arg {
	struct ca_eng	*e;
	const char	*handle, *actor;
	struct hsm_key	*key;				/* start: new key */
	int		 force;
	char		 old_id[HSM_KEY_ID_LEN + 1];	/* finish: retired */
};

/* The publisher of the trust anchor's certificates ("<handle>-ta"). */
static int
ta_publisher(struct db *db, const char *handle, int64_t *id,
    struct cm_err *err)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	int			 rc;

	db_params_init(&p);
	db_param_text(&p, handle);
	if (db_exec(db, "SELECT id FROM publisher WHERE handle = $1 || '-ta'",
	    &p, &r, err) == -1)
		return -1;
	rc = db_res_rows(r) == 1 ? db_res_int64(r, 0, 0, id, err) :
	    cm_err_set(err, CM_ESTATE, handle, "no publisher %s-ta", handle);
	db_res_free(r);
	return rc;
}

/*
 * The TAL URIs of a trust anchor key whose certificate is at cert_uri:
 * https (when configured, same file name), then rsync.  Returns how many.
 */
static size_t
key_uris(const struct ca_eng *e, const char *cert_uri,
    char https[ENG_URI_MAX], char *uris[2])
{
	const char	*f = strrchr(cert_uri, '/');
	size_t		 n = 0;

	if (e->conf.https_base != NULL && f != NULL) {
		snprintf(https, ENG_URI_MAX, "%s%s", e->conf.https_base, f + 1);
		uris[n++] = https;
	}
	uris[n++] = (char *)cert_uri;
	return n;
}

static void
takey_of(const struct ca_eng *e, const struct eng_ca *c, struct ca_takey *k,
    char https[ENG_URI_MAX], char *uris[2])
{
	memset(k, 0, sizeof(*k));
	k->uris = uris;
	k->nuris = key_uris(e, c->cert_uri, https, uris);
	k->key = X509_get0_pubkey(c->cert);
}

/*
 * Issues the TAK of c's key, "<key>.tak" in its publication point, naming
 * pred or succ (either may be NULL) besides c's key; subject records which.
 */
static int
put_tak(struct ca_eng *e, struct db *db, const struct eng_ca *c,
    const struct eng_ca *pred, const struct eng_ca *succ, const char *subject,
    struct cm_err *err)
{
	struct ca_takey		 cur, pk, sk;
	struct ca_tak		 t;
	struct ca_sigobj_spec	 ss;
	struct eng_obj		 o;
	EVP_PKEY		*ee = NULL;
	uint8_t			*der = NULL;
	size_t			 len;
	int64_t			 now = eng_now(e);
	char			 h1[ENG_URI_MAX], h2[ENG_URI_MAX], h3[ENG_URI_MAX],
				 uri[ENG_URI_MAX], crl[ENG_URI_MAX], name[32];
	char			*u1[2], *u2[2], *u3[2];
	int			 rc = -1;

	memset(&t, 0, sizeof(t));
	memset(&o, 0, sizeof(o));
	takey_of(e, c, &cur, h1, u1);
	t.current = &cur;
	if (pred != NULL) {
		takey_of(e, pred, &pk, h2, u2);
		t.predecessor = &pk;
	}
	if (succ != NULL) {
		takey_of(e, succ, &sk, h3, u3);
		t.successor = &sk;
	}
	eng_keyname(c->key_id, "tak", name, sizeof(name));
	snprintf(uri, sizeof(uri), "%s%s", c->repo, name);
	snprintf(crl, sizeof(crl), "%s%s", c->repo, c->crl_name);
	if (eng_sigobj_spec(e, c, uri, crl, now, &ss, &ee, o.serial,
	    err) == -1 ||
	    ca_sigobj_tak(&ss, &t, &der, &len, NULL, err) == -1)
		goto out;
	o.kind = "tak";
	o.name = name;
	o.der = der;
	o.len = len;
	o.not_before = now - ENG_BACKDATE;
	o.not_after = (int64_t)ss.not_after;
	o.subject = subject;
	if (eng_renew_at(e, db, c, ca_sched_seed(c->key_id, strlen(c->key_id),
	    (uint64_t)now), o.not_after, &o.reissue_at, err) == -1 ||
	    eng_put(db, c, &o, err) == -1)
		goto out;
	rc = 0;
out:
	free(der);
	EVP_PKEY_free(ee);
	return rc;
}

/*
 * The TAK of c's key: 0 none, 1 there but due or naming other keys than
 * subject says, 2 current; -1.
 */
static int
tak_state(struct ca_eng *e, struct db *db, const struct eng_ca *c,
    const char *subject, struct cm_err *err)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	char			 name[32], uri[ENG_URI_MAX];
	int64_t			 fresh;
	int			 n, rc;

	eng_keyname(c->key_id, "tak", name, sizeof(name));
	snprintf(uri, sizeof(uri), "%s%s", c->repo, name);
	db_params_init(&p);
	db_param_text(&p, uri);
	db_param_text(&p, subject);
	db_param_int(&p, eng_now(e));
	if ((n = db_exec(db, "SELECT (subject = $2 AND (reissue_at IS NULL OR "
	    "reissue_at > to_timestamp($3::bigint)))::int FROM issued_object "
	    "WHERE uri = $1 AND withdrawn_at IS NULL", &p, &r, err)) == -1)
		return -1;
	if (n == 0)
		rc = 0;
	else if (db_res_int64(r, 0, 0, &fresh, err) == -1)
		rc = -1;
	else
		rc = fresh ? 2 : 1;
	db_res_free(r);
	return rc;
}

/* Issues the certificate cert (of any key of c) again with key k. */
static int
copy_cert(struct ca_eng *e, struct db *db, const struct eng_ca *k,
    const uint8_t *der, size_t len, const char *name, const char *subject,
    int renew, struct cm_err *err)
{
	struct ca_cert		*old = NULL;
	struct ca_cert_spec	 s;
	uint8_t			*out = NULL;
	size_t			 outlen;
	char			 id[HSM_KEY_ID_LEN + 1];
	struct db_params	 q;
	char			 uri[ENG_URI_MAX];
	int			 rc = -1;

	if (ca_cert_parse(name, der, len, &old, err) == -1)
		return -1;
	memset(&s, 0, sizeof(s));
	s.kind = CA_CERT_CA;
	s.subject_key = X509_get0_pubkey(old->x509);
	s.not_after = (time_t)eng_min((int64_t)old->not_after, k->not_after);
	s.sia_repo = old->sia_repo;
	s.sia_mft = old->sia_mft;
	s.sia_notify = old->sia_notify;
	s.res = old->res;
	if (eng_issue_cert(e, db, k, &s, name, subject, renew,
	    (uint64_t)eng_now(e), &out, &outlen, err) == -1)
		goto out;
	/* A hosted child's key row holds its certificate (finish only). */
	if (renew && strncmp(subject, "cer ", 4) == 0) {
		if (hsm_pubkey_id(X509_get0_pubkey(old->x509), id, err) == -1)
			goto out;
		snprintf(uri, sizeof(uri), "%s%s", k->repo, name);
		db_params_init(&q);
		db_param_text(&q, id);
		db_param_bytea(&q, out, outlen);
		db_param_text(&q, uri);
		if (db_exec(db, "UPDATE ca_key SET cert = $2, cert_uri = $3 "
		    "WHERE id = $1", &q, NULL, err) == -1)
			goto out;
	}
	rc = 0;
out:
	free(out);
	ca_cert_free(old);
	return rc;
}

/*
 * Brings the child certificates of new key n in line with those of the
 * active key c.  Returns the number of changes, or -1.
 */
static int
sync_children(struct ca_eng *e, struct db *db, const struct eng_ca *c,
    const struct eng_ca *n, struct cm_err *err)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	const uint8_t		*d;
	size_t			 dl;
	char			 subj[ENG_URI_MAX], name[ENG_URI_MAX];
	int			 i, rows, changed = 0, rc = -1;

	db_params_init(&p);
	db_param_text(&p, c->key_id);
	db_param_text(&p, n->key_id);
	if ((rows = db_exec(db, "SELECT o.name, o.subject, o.der FROM "
	    "issued_object o WHERE o.key_id = $1 AND o.withdrawn_at IS NULL AND "
	    "o." TA_CHILD_CERTS " AND NOT EXISTS (SELECT 1 FROM issued_object x "
	    "WHERE x.key_id = $2 AND x.name = '" TA_COPY_FILE "' || o.name AND "
	    "x.withdrawn_at IS NULL AND x.id > o.id) ORDER BY o.id", &p, &r,
	    err)) == -1)
		return -1;
	for (i = 0; i < rows; i++, changed++) {
		snprintf(subj, sizeof(subj), TA_COPY "%s", db_res_text(r, i, 1));
		snprintf(name, sizeof(name), TA_COPY_FILE "%s",
		    db_res_text(r, i, 0));
		if (db_res_bytea(r, i, 2, &d, &dl, err) == -1 ||
		    copy_cert(e, db, n, d, dl, name, subj, 0, err) == -1)
			goto out;
	}
	db_res_free(r);
	r = NULL;
	/* Certificates the old key withdrew (a deleted or removed child). */
	if ((rows = db_exec(db, "SELECT x.uri FROM issued_object x WHERE "
	    "x.key_id = $2 AND x.withdrawn_at IS NULL AND x." TA_COPIES
	    " AND NOT EXISTS (SELECT 1 FROM issued_object o WHERE o.key_id = $1 "
	    "AND '" TA_COPY_FILE "' || o.name = x.name AND o.withdrawn_at IS "
	    "NULL)", &p, &r,
	    err)) == -1)
		return -1;
	for (i = 0; i < rows; i++, changed++)
		if (eng_withdraw(db, n, db_res_text(r, i, 0), err) == -1)
			goto out;
	rc = changed;
out:
	db_res_free(r);
	return rc;
}

int
eng_ta_sync(struct ca_eng *e, struct db *db, struct eng_ca *c,
    struct cm_err *err)
{
	struct eng_ca	 n;
	char		 id[HSM_KEY_ID_LEN + 1], subj[HSM_KEY_ID_LEN + 32];
	int		 st, changed, rc = -1;

	if (!c->is_ta || strcmp(c->key_state, "active") != 0)
		return 0;
	if ((st = eng_key_in_state(db, c->id, "pending", id, NULL, err)) == -1)
		return -1;
	if (st == 1) {
		/* No roll: a TAK left from the last one names only this key. */
		if ((st = tak_state(e, db, c, "tak", err)) == -1)
			return -1;
		return st == 1 ? put_tak(e, db, c, NULL, NULL, "tak", err) : 0;
	}
	if (eng_load_ca_key(e, db, c->handle, id, &n, err) == -1)
		return -1;
	if ((changed = sync_children(e, db, c, &n, err)) == -1)
		goto out;
	snprintf(subj, sizeof(subj), "tak successor %s", n.key_id);
	if ((st = tak_state(e, db, c, subj, err)) == -1 ||
	    (st != 2 && put_tak(e, db, c, NULL, &n, subj, err) == -1))
		goto out;
	snprintf(subj, sizeof(subj), "tak predecessor %s", c->key_id);
	if ((st = tak_state(e, db, &n, subj, err)) == -1 ||
	    (st != 2 && put_tak(e, db, &n, c, NULL, subj, err) == -1))
		goto out;
	if (st != 2)
		changed++;
	if (changed > 0 && eng_publish_pp(e, db, &n, err) == -1)
		goto out;
	rc = 0;
out:
	eng_ctx_clear(&n);
	return rc;
}

/* ---- start ------------------------------------------------------------ */

static int
load_ta(struct ca_eng *e, struct db *db, const char *handle, struct eng_ca *c,
    struct cm_err *err)
{
	if (eng_load_ca(e, db, handle, c, err) == -1)
		return -1;
	if (!c->is_ta) {
		eng_ctx_clear(c);
		return cm_err_set(err, CM_EINVAL, handle, "not a trust anchor "
		    "(a hosted CA rolls its key with keyroll)");
	}
	return 0;
}

static int
start_tx(struct db *db, void *arg, struct cm_err *err)
{
	struct ta_arg		*a = arg;
	struct ca_eng		*e = a->e;
	struct eng_ca		 c, n;
	struct eng_obj		 o;
	struct db_params	 p;
	struct db_res		*r = NULL;
	uint8_t			*der = NULL;
	const char		*kid = hsm_key_id(a->key);
	int64_t			 now = eng_now(e), npub, tapub, own;
	char			 repo[ENG_URI_MAX], mft[ENG_URI_MAX],
				 tadir[ENG_URI_MAX], name[ENG_HANDLE_MAX + 24],
				 uri[ENG_URI_MAX], pubh[ENG_HANDLE_MAX + 24],
				 id[HSM_KEY_ID_LEN + 1];
	int			 st, rc = -1;

	memset(&n, 0, sizeof(n));
	if (load_ta(e, db, a->handle, &c, err) == -1)
		return -1;
	if ((st = eng_key_in_state(db, c.id, "pending", id, NULL, err)) == -1)
		goto out;
	if (st == 0) {
		cm_err_set(err, CM_EEXIST, a->handle, "a key roll is already "
		    "under way (new key %s)", id);
		goto out;
	}
	/* What the trust anchor signs itself besides CA certificates. */
	db_params_init(&p);
	db_param_text(&p, c.key_id);
	if (db_exec(db, "SELECT count(*) FROM issued_object WHERE key_id = $1 "
	    "AND withdrawn_at IS NULL AND (kind IN ('roa', 'asa') OR subject "
	    "LIKE 'router %')", &p, &r, err) == -1 ||
	    db_res_int64(r, 0, 0, &own, err) == -1)
		goto out;
	if (own > 0) {
		cm_err_set(err, CM_ESTATE, a->handle, "the trust anchor signs %lld "
		    "ROAs, ASPAs or router certificates itself; move them to a "
		    "CA below it before rolling its key", (long long)own);
		goto out;
	}
	db_res_free(r);
	r = NULL;

	/* The new publication point, its publisher and the certificate. */
	snprintf(repo, sizeof(repo), "%s%s-%.16s/", e->conf.rsync_base,
	    a->handle, kid);
	snprintf(pubh, sizeof(pubh), "%s-%.16s", a->handle, kid);
	snprintf(mft, sizeof(mft), "%s%.16s.mft", repo, kid);
	snprintf(tadir, sizeof(tadir), "%s%s-ta/", e->conf.rsync_base,
	    a->handle);
	snprintf(name, sizeof(name), "%s-%.16s.cer", a->handle, kid);
	snprintf(uri, sizeof(uri), "%s%s", tadir, name);
	if (eng_insert_publisher(db, pubh, repo, &npub, err) == -1 ||
	    ta_publisher(db, a->handle, &tapub, err) == -1 ||
	    eng_ta_cert(e, a->key, c.res, repo, mft, now + e->conf.ta_validity,
	    a->handle, &o, &der, err) == -1)
		goto out;
	db_params_init(&p);
	db_param_text(&p, kid);
	db_param_int(&p, c.id);
	db_param_bytea(&p, der, o.len);
	db_param_text(&p, uri);
	db_param_text(&p, repo);
	db_param_int(&p, npub);
	db_param_int(&p, now);
	if (db_exec(db, "INSERT INTO ca_key (id, ca_id, state, cert, cert_uri, "
	    "repo_uri, publisher_id, created_at) VALUES ($1, $2, 'pending', $3, "
	    "$4, $5, $6, to_timestamp($7::bigint))", &p, NULL, err) == -1 ||
	    eng_load_ca_key(e, db, a->handle, kid, &n, err) == -1)
		goto out;
	o.name = name;
	o.repo = tadir;
	o.publisher = tapub;
	/*
	 * The old key's CRL and manifest: eng_ta_sync() first fills the new
	 * publication point (children, TAKs, CRL, manifest).
	 */
	if (eng_put(db, &n, &o, err) == -1 ||
	    eng_publish_pp(e, db, &c, err) == -1 ||
	    eng_audit(db, a->actor, "ta.keyroll.start", c.id, kid, err) == -1)
		goto out;
	rc = 0;
out:
	db_res_free(r);
	OPENSSL_free(der);
	eng_ctx_clear(&n);
	eng_ctx_clear(&c);
	return rc;
}

int
ca_eng_ta_keyroll_start(struct ca_eng *e, const char *handle,
    const char *actor, struct cm_err *err)
{
	struct ta_arg	 a;
	char		 label[HSM_LABEL_MAX];

	memset(&a, 0, sizeof(a));
	a.e = e;
	a.handle = handle;
	a.actor = actor;
	snprintf(label, sizeof(label), "cairn ta %.64s (rolled)", handle);
	if (eng_new_key_tx(e, handle, label, start_tx, &a, &a.key, err) == -1)
		return -1;
	cm_info("%s: trust anchor key roll started, new key %s", handle,
	    hsm_key_id(a.key));
	hsm_key_free(a.key);
	return 0;
}

/* ---- finish ----------------------------------------------------------- */

int
eng_ta_cert(struct ca_eng *e, struct hsm_key *key, const struct ca_res *res,
    const char *repo, const char *mft, int64_t not_after, const char *who,
    struct eng_obj *o, uint8_t **der, struct cm_err *err)
{
	struct ca_cert_spec	 s;
	X509			*x = NULL;
	int64_t			 now = eng_now(e);
	int			 len, rc = -1;

	memset(&s, 0, sizeof(s));
	memset(o, 0, sizeof(*o));
	s.kind = CA_CERT_TA;
	s.subject_key = hsm_key_pubkey(key);
	s.issuer_key = key;
	s.not_before = (time_t)(now - ENG_BACKDATE);
	s.not_after = (time_t)not_after;
	s.sia_repo = repo;
	s.sia_mft = mft;
	s.sia_notify = e->conf.notify_uri;
	s.res = res;
	if (eng_serial(s.serial, &s.serial_len, o->serial, err) == -1 ||
	    ca_cert_issue(&s, &x, err) == -1)
		goto out;
	if ((len = i2d_X509(x, der)) <= 0) {
		cm_err_ssl(err, who, "cannot encode the TA certificate");
		goto out;
	}
	o->kind = "cer";
	o->der = *der;
	o->len = (size_t)len;
	o->not_before = now - ENG_BACKDATE;
	o->not_after = not_after;
	o->subject = "ta";
	rc = 0;
out:
	X509_free(x);
	return rc;
}

/*
 * The new key's self-signed certificate issued again (same key, URI and
 * notAfter) with SIA in n's publication point, the trust anchor's own.
 */
static int
recert_ta(struct ca_eng *e, struct db *db, const struct eng_ca *n,
    int64_t tapub, struct cm_err *err)
{
	struct eng_obj		 o;
	uint8_t			*der = NULL;
	char			 mft[ENG_URI_MAX], dir[ENG_URI_MAX];
	const char		*f = strrchr(n->cert_uri, '/');
	int			 rc = -1;

	snprintf(mft, sizeof(mft), "%s%s", n->repo, n->mft_name);
	snprintf(dir, sizeof(dir), "%.*s", (int)(f + 1 - n->cert_uri),
	    n->cert_uri);
	if (eng_ta_cert(e, n->key, n->res, n->repo, mft, n->not_after,
	    n->handle, &o, &der, err) == -1)
		goto out;
	o.name = f + 1;
	o.repo = dir;
	o.publisher = tapub;
	if (eng_put(db, n, &o, err) == -1 ||
	    eng_set_key_cert(db, n->key_id, der, o.len, err) == -1)
		goto out;
	rc = 0;
out:
	OPENSSL_free(der);
	return rc;
}

/*
 * The new key moves into the trust anchor's own publication point, where
 * the children's certificates have been all along: the certificates the
 * children's products name in their AIA keep their URIs (FORT 1.5 reads
 * the issuer through the AIA), only their issuer changes.
 */
static int
finish_tx(struct db *db, void *arg, struct cm_err *err)
{
	struct ta_arg		*a = arg;
	struct ca_eng		*e = a->e;
	struct eng_ca		 c, n, w;
	struct db_params	 p;
	struct db_res		*r = NULL, *kids = NULL;
	const uint8_t		*d;
	size_t			 dl;
	int64_t			 created, tapub, now = eng_now(e);
	char			 id[HSM_KEY_ID_LEN + 1], tadir[ENG_URI_MAX];
	int			 i, rows, nkids, st, rc = -1;

	memset(&n, 0, sizeof(n));
	if (load_ta(e, db, a->handle, &c, err) == -1)
		return -1;
	if ((st = eng_key_in_state(db, c.id, "pending", id, &created, err)) == -1)
		goto out;
	if (st == 1) {
		cm_err_set(err, CM_ESTATE, a->handle, "no trust anchor key roll "
		    "under way (start one first)");
		goto out;
	}
	/* RFC 9691 §6: relying parties must have had time to take the TAL. */
	if (!a->force && now - created < e->conf.ta_acceptance) {
		cm_err_set(err, CM_ESTATE, a->handle, "the new key's acceptance "
		    "period (RFC 9691) ends in %lld s: distribute the new TAL "
		    "(cairnd tal %s --next) and wait, or force", (long long)
		    (e->conf.ta_acceptance - (now - created)), a->handle);
		goto out;
	}
	snprintf(a->old_id, sizeof(a->old_id), "%s", c.key_id);
	snprintf(tadir, sizeof(tadir), "%s%s-ta/", e->conf.rsync_base,
	    a->handle);
	if (ta_publisher(db, a->handle, &tapub, err) == -1 ||
	    eng_load_ca_key(e, db, a->handle, id, &n, err) == -1)
		goto out;

	/* The new key's interim publication point goes, keeping its copies. */
	db_params_init(&p);
	db_param_text(&p, n.key_id);
	db_param_text(&p, n.repo);
	if ((nkids = db_exec(db, "SELECT der, name, subject FROM issued_object "
	    "WHERE key_id = $1 AND withdrawn_at IS NULL AND starts_with(uri, $2) "
	    "AND " TA_COPIES " ORDER BY id", &p, &kids, err)) == -1 ||
	    (rows = db_exec(db, "SELECT uri FROM issued_object WHERE key_id = $1 "
	    "AND withdrawn_at IS NULL AND starts_with(uri, $2)", &p, &r,
	    err)) == -1)
		goto out;
	for (i = 0; i < rows; i++)
		if (eng_withdraw(db, &n, db_res_text(r, i, 0), err) == -1)
			goto out;
	db_res_free(r);
	r = NULL;
	eng_ctx_clear(&n);

	db_params_init(&p);
	db_param_text(&p, c.key_id);
	db_param_int(&p, now);
	if (db_exec(db, "UPDATE ca_key SET state = 'revoked', retired_at = "
	    "to_timestamp($2::bigint), revoked_at = to_timestamp($2::bigint) "
	    "WHERE id = $1", &p, NULL, err) == -1)
		goto out;
	db_params_init(&p);
	db_param_text(&p, id);
	db_param_int(&p, now);
	if (db_exec(db, "UPDATE ca_key SET state = 'active', activated_at = "
	    "to_timestamp($2::bigint), repo_uri = NULL, publisher_id = NULL "
	    "WHERE id = $1", &p, NULL, err) == -1 ||
	    eng_load_ca(e, db, a->handle, &n, err) == -1 ||
	    recert_ta(e, db, &n, tapub, err) == -1)
		goto out;
	eng_ctx_clear(&n);
	if (eng_load_ca(e, db, a->handle, &n, err) == -1)
		goto out;
	/*
	 * The children's certificates, now with renewal times, replace the
	 * old key's at the same URIs; hosted children's keys record them.
	 */
	for (i = 0; i < nkids; i++)
		if (db_res_bytea(kids, i, 0, &d, &dl, err) == -1 ||
		    copy_cert(e, db, &n, d, dl, db_res_text(kids, i, 1) +
		    strlen(TA_COPY_FILE), db_res_text(kids, i, 2) +
		    strlen(TA_COPY), 1, err) == -1)
			goto out;
	/* What is left of the old key: its certificate, CRL, manifest, TAK. */
	db_params_init(&p);
	db_param_text(&p, c.key_id);
	if ((rows = db_exec(db, "SELECT uri FROM issued_object WHERE key_id = $1 "
	    "AND withdrawn_at IS NULL ORDER BY id", &p, &r, err)) == -1)
		goto out;
	for (i = 0; i < rows; i++) {
		const char *u = db_res_text(r, i, 0);

		w = c;		/* shallow: only its publisher differs */
		if (strncmp(u, tadir, strlen(tadir)) == 0)
			w.publisher_id = tapub;
		if (eng_withdraw(db, &w, u, err) == -1)
			goto out;
	}
	if (put_tak(e, db, &n, NULL, NULL, "tak", err) == -1 ||
	    eng_publish_pp(e, db, &n, err) == -1 ||
	    eng_audit(db, a->actor, "ta.keyroll.finish", c.id, a->old_id,
	    err) == -1)
		goto out;
	rc = 0;
out:
	db_res_free(r);
	db_res_free(kids);
	eng_ctx_clear(&n);
	eng_ctx_clear(&c);
	return rc;
}

int
ca_eng_ta_keyroll_finish(struct ca_eng *e, const char *handle, int force,
    const char *actor, struct cm_err *err)
{
	struct ta_arg	 a;

	memset(&a, 0, sizeof(a));
	a.e = e;
	a.handle = handle;
	a.actor = actor;
	a.force = force;
	if (db_tx(e->db, NULL, finish_tx, &a, err) == -1)
		return -1;
	/* Committed: nothing depends on the old key any more. */
	eng_key_delete(e, handle, a.old_id, "trust anchor key");
	cm_info("%s: trust anchor key roll finished, key %s retired", handle,
	    a.old_id);
	return 0;
}

/* ---- TAL --------------------------------------------------------------- */

int
ca_eng_tal_key(struct ca_eng *e, const char *handle, int next, char **out,
    struct cm_err *err)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	struct hsm_key		*k = NULL;
	char			*uris[2], https[ENG_URI_MAX];
	size_t			 n;
	int			 i, rows, row = -1, rc = -1;

	db_params_init(&p);
	db_param_text(&p, handle);
	if ((rows = db_exec(e->db, "SELECT k.id, k.cert_uri, k.state FROM ca c "
	    "JOIN ca_key k ON k.ca_id = c.id WHERE c.handle = $1 AND "
	    "c.kind = 'ta' AND c.deleted_at IS NULL AND k.state IN ('active', "
	    "'pending')", &p, &r, err)) == -1)
		return -1;
	for (i = 0; i < rows; i++)
		if (strcmp(db_res_text(r, i, 2), next ? "pending" : "active") == 0)
			row = i;
	if (rows == 0)
		cm_err_set(err, CM_ENOTFOUND, handle, "no such trust anchor");
	else if (row == -1)
		cm_err_set(err, CM_ESTATE, handle, "no trust anchor key roll "
		    "under way: there is no next TAL");
	else if (hsm_key_find(e->hsm, db_res_text(r, row, 0), &k, err) == 0) {
		n = key_uris(e, db_res_text(r, row, 1), https, uris);
		rc = ca_tal_write(NULL, 0, (const char *const *)uris, n,
		    hsm_key_pubkey(k), out, err);
	}
	hsm_key_free(k);
	db_res_free(r);
	return rc;
}
