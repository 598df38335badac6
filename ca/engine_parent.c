/*
 * ca_eng child side of RFC 6492 (up-down): a CA of ours whose parent is
 * operated elsewhere (another Cairn, Krill, an RIR).  The parent is known
 * from its RFC 8183 parent_response (table ca_parent, migration 0005);
 * engine_parent_io.c records it and makes the exchanges.
 *
 * A round with the parent is a few signed exchanges (list, then issue or
 * revoke as needed), each message signed with the CA's BPKI identity and
 * each reply verified against the parent's BPKI trust anchor.  The network
 * is never used inside a database transaction: what the parent answers is
 * installed afterwards in one transaction per certificate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "ca/cert.h"
#include "ca/csr.h"
#include "ca/engine_int.h"
#include "ca/updown.h"
#include "common/cm_buf.h"
#include "common/cm_enc.h"
#include "common/cm_log.h"

/* After a failed round the parent is asked again this soon (at most). */
#define RETRY_AFTER		300
/* A certificate is renewed when it has less than this left. */
#define RENEW_BEFORE		(30LL * 86400)

/* ---- what the parent lists -------------------------------------------- */

/* The entitlement of class cl as a set. */
static int
class_res(const struct eng_parent *pi, const struct ca_ud_class *cl,
    struct ca_res **out, struct cm_err *err)
{
	return eng_res_parse(cl->res_as, cl->res_v4, cl->res_v6, pi->parent,
	    out, err);
}

static int
cert_key_id(const uint8_t *der, size_t len, char id[HSM_KEY_ID_LEN + 1],
    struct cm_err *err)
{
	const uint8_t	*q = der;
	X509		*x;
	int		 rc;

	if ((x = d2i_X509(NULL, &q, (long)len)) == NULL)
		return cm_err_set(err, CM_EINVAL, "up-down", "a listed "
		    "certificate does not parse");
	rc = hsm_pubkey_id(X509_get0_pubkey(x), id, err);
	X509_free(x);
	return rc;
}

/* The listed certificate of key id in cl, or NULL. */
static const struct ca_ud_cert *
listed(const struct ca_ud_class *cl, const char *id)
{
	char	k[HSM_KEY_ID_LEN + 1];
	size_t	i;

	if (cl == NULL || *id == '\0')
		return NULL;
	for (i = 0; i < cl->ncerts; i++) {
		struct cm_err e2;

		if (cert_key_id(cl->certs[i].der, cl->certs[i].der_len, k,
		    &e2) == 0 && strcmp(k, id) == 0)
			return &cl->certs[i];
	}
	return NULL;
}

/*
 * Checks a certificate the parent issued to key id: it parses as an RPKI
 * CA certificate, certifies that key with our SIA, is signed by the
 * parent's certificate issuer (DER), and holds resources.  *out is the
 * parsed certificate.
 */
static int
check_issued(const struct eng_parent *pi, const struct ca_ud_cert *uc,
    const uint8_t *issuer, size_t ilen, const char *id, struct ca_cert **out,
    struct cm_err *err)
{
	struct ca_cert	*c = NULL;
	const uint8_t	*q = issuer;
	X509		*ix = NULL;
	char		 k[HSM_KEY_ID_LEN + 1];
	int		 rc = -1;

	if (ca_cert_parse(uc->cert_url, uc->der, uc->der_len, &c, err) == -1)
		goto out;
	if (c->kind != CA_CERT_CA) {
		cm_err_set(err, CM_EINVAL, uc->cert_url, "not a CA certificate");
		goto out;
	}
	if (hsm_pubkey_id(X509_get0_pubkey(c->x509), k, err) == -1)
		goto out;
	if (strcmp(k, id) != 0) {
		cm_err_set(err, CM_EINVAL, uc->cert_url, "certifies key %s, not "
		    "ours (%s)", k, id);
		goto out;
	}
	if (c->sia_repo == NULL || strcmp(c->sia_repo, pi->repo) != 0) {
		cm_err_set(err, CM_EINVAL, uc->cert_url, "caRepository %s is not "
		    "ours (%s)", c->sia_repo != NULL ? c->sia_repo : "(none)",
		    pi->repo);
		goto out;
	}
	if ((ix = d2i_X509(NULL, &q, (long)ilen)) == NULL ||
	    X509_verify(c->x509, X509_get0_pubkey(ix)) != 1) {
		cm_err_set(err, CM_EPERM, uc->cert_url, "not signed by the "
		    "parent's certificate");
		goto out;
	}
	if (ca_res_is_empty(c->res)) {
		cm_err_set(err, CM_EINVAL, uc->cert_url, "certifies no resources");
		goto out;
	}
	*out = c;
	c = NULL;
	rc = 0;
out:
	X509_free(ix);
	ca_cert_free(c);
	return rc;
}

/* ---- installing and retiring ------------------------------------------ */

struct install_arg {
	struct ca_eng		*e;
	const struct eng_parent	*pi;
	const char		*actor, *key_id, *state, *class_name;
	const struct ca_ud_cert	*uc;
	const struct ca_cert	*cert;
};

static int
install_tx(struct db *db, void *arg, struct cm_err *err)
{
	struct install_arg	*a = arg;
	struct db_params	 p;
	struct eng_ca		 c;
	char			*t[3] = { NULL, NULL, NULL };
	int			 active = strcmp(a->state, "active") == 0;
	int			 n, rc = -1;

	memset(&c, 0, sizeof(c));
	db_params_init(&p);
	db_param_int(&p, a->pi->ca_id);
	if (db_exec(db, "SELECT id FROM ca WHERE id = $1 FOR UPDATE", &p, NULL,
	    err) == -1)
		return -1;
	/* A key roll step taken meanwhile (activate) changed the states. */
	db_params_init(&p);
	db_param_text(&p, a->key_id);
	db_param_text(&p, a->state);
	if ((n = db_exec(db, "SELECT 1 FROM ca_key WHERE id = $1 AND state <> $2",
	    &p, NULL, err)) == -1)
		return -1;
	if (n > 0)
		return cm_err_set(err, CM_ESTATE, a->pi->handle, "key %s is no "
		    "longer %s; the next round will see to it", a->key_id,
		    a->state);
	db_params_init(&p);
	db_param_text(&p, a->key_id);
	db_param_int(&p, a->pi->ca_id);
	db_param_text(&p, a->class_name);
	db_param_text(&p, a->state);
	db_param_bytea(&p, a->uc->der, a->uc->der_len);
	db_param_text(&p, a->uc->cert_url);
	if (db_exec(db, "INSERT INTO ca_key (id, ca_id, class, state, cert, "
	    "cert_uri, activated_at) VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN "
	    "$4 = 'active' THEN now() END) ON CONFLICT (id) DO UPDATE SET "
	    "cert = $5, cert_uri = $6, class = $3", &p, NULL, err) == -1)
		goto out;
	if (active) {
		if (eng_res_texts(a->cert->res, t, err) == -1)
			goto out;
		db_params_init(&p);
		db_param_int(&p, a->pi->ca_id);
		db_param_text(&p, t[0]);
		db_param_text(&p, t[1]);
		db_param_text(&p, t[2]);
		if (db_exec(db, "UPDATE ca_resources SET asn = $2, ipv4 = $3, "
		    "ipv6 = $4, updated_at = now() WHERE ca_id = $1", &p, NULL,
		    err) == -1)
			goto out;
	}
	if (eng_load_ca_key(a->e, db, a->pi->handle, a->key_id, &c, err) == -1)
		goto out;
	/* As for a hosted CA whose certificate changed. */
	if ((active ? eng_after_recert(a->e, db, &c, err) :
	    eng_publish_pp(a->e, db, &c, err)) == -1 ||
	    eng_audit(db, a->actor, "parent.certificate", a->pi->ca_id,
	    a->key_id, err) == -1)
		goto out;
	rc = 0;
out:
	eng_free_texts(t);
	eng_ctx_clear(&c);
	return rc;
}

/* The parent no longer entitles us: withdraw everything, retire the keys. */
static int
retire_tx(struct db *db, void *arg, struct cm_err *err)
{
	struct install_arg	*a = arg;
	struct db_params	 p;
	struct db_res		*r = NULL, *o = NULL;
	struct eng_ca		 c;
	int			 i, j, n, m, rc = -1;

	memset(&c, 0, sizeof(c));
	db_params_init(&p);
	db_param_int(&p, a->pi->ca_id);
	if ((n = db_exec(db, "SELECT id FROM ca_key WHERE ca_id = $1 AND state "
	    "<> 'revoked'", &p, &r, err)) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		const char *k = db_res_text(r, i, 0);

		if (eng_load_ca_key(a->e, db, a->pi->handle, k, &c, err) == -1)
			goto out;
		db_params_init(&p);
		db_param_text(&p, k);
		if ((m = db_exec(db, "SELECT uri FROM issued_object WHERE key_id = "
		    "$1 AND withdrawn_at IS NULL", &p, &o, err)) == -1)
			goto out;
		for (j = 0; j < m; j++)
			if (eng_withdraw(db, &c, db_res_text(o, j, 0), err) == -1)
				goto out;
		db_res_free(o);
		o = NULL;
		eng_ctx_clear(&c);
		db_params_init(&p);
		db_param_text(&p, k);
		if (db_exec(db, "UPDATE ca_key SET state = 'revoked', revoked_at = "
		    "now() WHERE id = $1", &p, NULL, err) == -1)
			goto out;
	}
	db_params_init(&p);
	db_param_int(&p, a->pi->ca_id);
	if (db_exec(db, "UPDATE ca_resources SET asn = '', ipv4 = '', ipv6 = '', "
	    "updated_at = now() WHERE ca_id = $1", &p, NULL, err) == -1 ||
	    eng_audit(db, a->actor, "parent.revoked", a->pi->ca_id,
	    a->pi->parent, err) == -1)
		goto out;
	rc = 0;
out:
	eng_ctx_clear(&c);
	db_res_free(o);
	db_res_free(r);
	return rc;
}

int
eng_parent_cert_key(const uint8_t *der, size_t len, char id[HSM_KEY_ID_LEN + 1],
    struct cm_err *err)
{
	return cert_key_id(der, len, id, err);
}

int
eng_parent_install(struct ca_eng *e, struct db *db, const struct eng_parent *pi,
    const struct ca_ud_class *cl, const struct ca_ud_cert *uc,
    const char *key_id, const char *state, const char *actor,
    struct cm_err *err)
{
	struct install_arg	 ia;
	struct ca_cert		*cert = NULL;
	int			 rc;

	if (check_issued(pi, uc, cl->issuer, cl->issuer_len, key_id, &cert,
	    err) == -1)
		return -1;
	memset(&ia, 0, sizeof(ia));
	ia.e = e;
	ia.pi = pi;
	ia.actor = actor;
	ia.key_id = key_id;
	ia.state = state;
	ia.class_name = cl->class_name;
	ia.uc = uc;
	ia.cert = cert;
	rc = install_tx(db, &ia, err);
	ca_cert_free(cert);
	return rc;
}

int
eng_parent_retire(struct ca_eng *e, struct db *db, const struct eng_parent *pi,
    const char *actor, struct cm_err *err)
{
	struct install_arg ia;

	memset(&ia, 0, sizeof(ia));
	ia.e = e;
	ia.pi = pi;
	ia.actor = actor;
	return retire_tx(db, &ia, err);
}

/* ---- requests --------------------------------------------------------- */

/*
 * Asks the parent to certify key (id) and installs the certificate in
 * state ("active" or "pending").
 */
static int
request_cert(struct ca_eng *e, struct eng_parent *pi, const char *class_name,
    struct hsm_key *key, const char *state, const char *actor,
    struct cm_err *err)
{
	struct ca_ud_msg	 q;
	struct ca_ud_msg	*a = NULL;
	struct ca_ud_class	*cl;
	struct ca_cert		*cert = NULL;
	struct install_arg	 ia;
	char			 mft[ENG_URI_MAX];
	int			 rc = -1;

	memset(&q, 0, sizeof(q));
	q.type = CA_UD_ISSUE;
	snprintf(mft, sizeof(mft), "%s%.16s.mft", pi->repo, hsm_key_id(key));
	if ((q.class_name = strdup(class_name)) == NULL) {
		cm_err_set(err, CM_ENOMEM, pi->handle, "out of memory");
		goto out;
	}
	if (ca_csr_make(key, pi->repo, mft, e->conf.notify_uri, &q.pkcs10,
	    &q.pkcs10_len, err) == -1 ||
	    eng_parent_exchange(e, pi, &q, CA_UD_ISSUE_RESPONSE, &a, err) == -1)
		goto out;
	cl = &a->classes[0];
	if (check_issued(pi, &cl->certs[0], cl->issuer, cl->issuer_len,
	    hsm_key_id(key), &cert, err) == -1)
		goto out;
	memset(&ia, 0, sizeof(ia));
	ia.e = e;
	ia.pi = pi;
	ia.actor = actor;
	ia.key_id = hsm_key_id(key);
	ia.state = state;
	ia.class_name = cl->class_name;
	ia.uc = &cl->certs[0];
	ia.cert = cert;
	if (db_tx(e->db, NULL, install_tx, &ia, err) == -1)
		goto out;
	cm_info("%s: %s certified key %s (%s)", pi->handle, pi->parent,
	    hsm_key_id(key), cl->certs[0].cert_url);
	rc = 0;
out:
	ca_cert_free(cert);
	ca_ud_free(a);
	free(q.class_name);
	free(q.pkcs10);
	free(q.sender);
	free(q.recipient);
	return rc;
}

static int
request_revoke(struct ca_eng *e, struct eng_parent *pi, const char *class_name,
    const char *id, struct cm_err *err)
{
	struct ca_ud_msg	 q;
	struct ca_ud_msg	*a = NULL;
	int			 rc = -1;

	memset(&q, 0, sizeof(q));
	q.type = CA_UD_REVOKE;
	if (cm_hex_decode(id, q.ski, 20) == -1)
		return cm_err_set(err, CM_EINVAL, pi->handle, "bad key id %s", id);
	if ((q.class_name = strdup(class_name)) == NULL) {
		cm_err_set(err, CM_ENOMEM, pi->handle, "out of memory");
		goto out;
	}
	if (eng_parent_exchange(e, pi, &q, CA_UD_REVOKE_RESPONSE, &a, err) == -1)
		goto out;
	cm_info("%s: %s revoked the certificate of key %s", pi->handle,
	    pi->parent, id);
	rc = 0;
out:
	ca_ud_free(a);
	free(q.class_name);
	free(q.sender);
	free(q.recipient);
	return rc;
}

/* A new key in the signer, certified by the parent as state. */
static int
request_new_key(struct ca_eng *e, struct eng_parent *pi, const char *class_name,
    const char *state, const char *actor, struct cm_err *err)
{
	struct hsm_key	*key = NULL;
	struct cm_err	 e2;
	char		 label[HSM_LABEL_MAX];

	snprintf(label, sizeof(label), "cairn ca %.64s", pi->handle);
	if (hsm_key_create(e->hsm, label, &key, err) == -1)
		return -1;
	if (request_cert(e, pi, class_name, key, state, actor, err) == -1) {
		if (hsm_key_destroy(key, &e2) == -1)
			cm_warn("%s: a key was left in the signer: %s",
			    pi->handle, e2.msg);
		return -1;
	}
	hsm_key_free(key);
	return 0;
}

/* The existing key id asked again (re-issue or renewal). */
static int
request_same_key(struct ca_eng *e, struct eng_parent *pi, const char *class_name,
    const char *id, const char *state, const char *actor, struct cm_err *err)
{
	struct hsm_key	*key = NULL;
	int		 rc;

	if (hsm_key_find(e->hsm, id, &key, err) == -1)
		return -1;
	rc = request_cert(e, pi, class_name, key, state, actor, err);
	hsm_key_free(key);
	return rc;
}

/* ---- a round ---------------------------------------------------------- */

/*
 * Whether the listed certificate uc of our active key must be asked for
 * again: its resources differ from the entitlement, or it is due for
 * renewal (and a renewal would make it last longer).
 */
static int
must_reissue(struct ca_eng *e, const struct eng_parent *pi,
    const struct ca_ud_class *cl, const struct ca_res *ent,
    const struct ca_ud_cert *uc, struct cm_err *err)
{
	struct ca_cert	*c = NULL;
	int		 rc;

	if (ca_cert_parse(uc->cert_url, uc->der, uc->der_len, &c, err) == -1)
		return -1;
	rc = !ca_res_equal(c->res, ent) ||
	    ((int64_t)c->not_after < eng_now(e) + RENEW_BEFORE &&
	    c->not_after < cl->notafter);
	(void)pi;
	ca_cert_free(c);
	return rc;
}

static int
round_with(struct ca_eng *e, struct eng_parent *pi, const char *actor,
    struct ca_res **entp, char class_name[ENG_CLASS_MAX], struct cm_err *err)
{
	struct ca_ud_msg		 q;
	struct ca_ud_msg		*a = NULL;
	const struct ca_ud_class	*cl = NULL;
	const struct ca_ud_cert		*uc;
	struct ca_cert			*cert = NULL;
	struct install_arg		 ia;
	char				 k[HSM_KEY_ID_LEN + 1];
	size_t				 i;
	int				 st, changed = 0, rc = -1;

	memset(&q, 0, sizeof(q));
	q.type = CA_UD_LIST;
	if (eng_parent_exchange(e, pi, &q, CA_UD_LIST_RESPONSE, &a, err) == -1)
		goto out;
	if (a->nclasses > 0) {
		cl = &a->classes[0];
		if (a->nclasses > 1)
			cm_warn("%s: %s lists %zu resource classes; only \"%s\" "
			    "is used", pi->handle, pi->parent, a->nclasses,
			    cl->class_name);
		snprintf(class_name, ENG_CLASS_MAX, "%s", cl->class_name);
		if (class_res(pi, cl, entp, err) == -1)
			goto out;
	} else if ((*entp = ca_res_new()) == NULL) {
		cm_err_set(err, CM_ENOMEM, pi->handle, "out of memory");
		goto out;
	}
	/*
	 * Certificates for keys that are no longer ours (a finished roll);
	 * the old key of a roll under way keeps its certificate until the
	 * roll finishes.
	 */
	for (i = 0; cl != NULL && i < cl->ncerts; i++) {
		if (cert_key_id(cl->certs[i].der, cl->certs[i].der_len, k,
		    err) == -1)
			goto out;
		if (strcmp(k, pi->active) != 0 && strcmp(k, pi->pending) != 0 &&
		    strcmp(k, pi->old) != 0 && request_revoke(e, pi, cl->class_name, k, err) == -1)
			goto out;
	}
	if (cl == NULL || ca_res_is_empty(*entp)) {
		if (pi->active[0] == '\0' && pi->pending[0] == '\0') {
			rc = 0;
			goto out;
		}
		cm_warn("%s: %s no longer entitles it to anything; its "
		    "publication point is withdrawn", pi->handle, pi->parent);
		memset(&ia, 0, sizeof(ia));
		ia.e = e;
		ia.pi = pi;
		ia.actor = actor;
		rc = db_tx(e->db, NULL, retire_tx, &ia, err) == -1 ? -1 : 1;
		goto out;
	}
	if (pi->active[0] == '\0') {
		if (request_new_key(e, pi, cl->class_name, "active", actor,
		    err) == -1)
			goto out;
		changed = 1;
	} else if ((uc = listed(cl, pi->active)) == NULL ||
	    (st = must_reissue(e, pi, cl, *entp, uc, err)) == 1) {
		/* Revoked by the parent, resized, or due: ask again. */
		if (request_same_key(e, pi, cl->class_name, pi->active,
		    "active", actor, err) == -1)
			goto out;
		changed = 1;
	} else if (st == -1)
		goto out;
	else if (uc->der_len != pi->certlen ||
	    memcmp(uc->der, pi->cert, pi->certlen) != 0) {
		/* Re-issued by the parent on its own (its key roll, say). */
		if (check_issued(pi, uc, cl->issuer, cl->issuer_len, pi->active,
		    &cert, err) == -1)
			goto out;
		memset(&ia, 0, sizeof(ia));
		ia.e = e;
		ia.pi = pi;
		ia.actor = actor;
		ia.key_id = pi->active;
		ia.state = "active";
		ia.class_name = cl->class_name;
		ia.uc = uc;
		ia.cert = cert;
		if (db_tx(e->db, NULL, install_tx, &ia, err) == -1)
			goto out;
		changed = 1;
	}
	/* A key roll under way: the new key needs its certificate too. */
	if (pi->pending[0] != '\0' && listed(cl, pi->pending) == NULL) {
		if (request_same_key(e, pi, cl->class_name, pi->pending,
		    "pending", actor, err) == -1)
			goto out;
		changed = 1;
	}
	rc = changed;
out:
	ca_cert_free(cert);
	ca_ud_free(a);
	free(q.sender);
	free(q.recipient);
	return rc;
}

/*
 * An offline parent certifies the new key in a later exchange of files:
 * until then the key is pending without a certificate (and cannot be
 * activated).
 */
struct pending_arg {
	const struct eng_parent	*pi;
	const char		*key_id, *actor;
};

static int
pending_tx(struct db *db, void *arg, struct cm_err *err)
{
	struct pending_arg	*a = arg;
	struct db_params	 p;

	db_params_init(&p);
	db_param_text(&p, a->key_id);
	db_param_int(&p, a->pi->ca_id);
	db_param_text(&p, a->pi->klass[0] != '\0' ? a->pi->klass : "default");
	if (db_exec(db, "INSERT INTO ca_key (id, ca_id, class, state) VALUES "
	    "($1, $2, $3, 'pending')", &p, NULL, err) == -1 ||
	    eng_audit(db, a->actor, "keyroll.start", a->pi->ca_id, a->key_id,
	    err) == -1)
		return -1;
	return 0;
}

static int
offline_pending(struct ca_eng *e, const struct eng_parent *pi,
    struct hsm_key *key, const char *actor, struct cm_err *err)
{
	struct pending_arg a = { pi, hsm_key_id(key), actor };

	return db_tx(e->db, NULL, pending_tx, &a, err);
}

int
eng_parent_roll_start(struct ca_eng *e, const char *handle,
    struct hsm_key *key, const char *actor, struct cm_err *err)
{
	struct eng_parent	pi;
	int		rc;

	if (eng_parent_begin(e, handle, &pi, err) == -1)
		return -1;
	if (pi.active[0] == '\0')
		rc = cm_err_set(err, CM_ESTATE, handle, "no certified key to "
		    "roll (the parent has not certified one yet)");
	else if (pi.offline)
		rc = offline_pending(e, &pi, key, actor, err);
	else
		rc = request_cert(e, &pi, pi.klass, key, "pending", actor, err);
	eng_parent_end(e, handle, &pi);
	return rc;
}

int
eng_parent_revoke(struct ca_eng *e, const char *handle, const char *key_id,
    struct cm_err *err)
{
	struct eng_parent	pi;
	int		rc;

	if (eng_parent_begin(e, handle, &pi, err) == -1)
		return -1;
	/* An offline parent is asked in the next request file. */
	rc = pi.offline ? 0 : request_revoke(e, &pi, pi.klass[0] != '\0' ?
	    pi.klass : "default", key_id, err);
	eng_parent_end(e, handle, &pi);
	return rc;
}

/* Records the outcome of a round and when the next one is due. */
static void
schedule(struct ca_eng *e, const struct eng_parent *pi, const struct ca_res *ent,
    const char *class_name, const struct cm_err *failed)
{
	struct db_params	 p;
	struct cm_err		 e2;
	char			*t[3] = { NULL, NULL, NULL };
	int64_t			 now = eng_now(e), next;

	next = e->conf.parent_sync;
	if (failed != NULL && next > RETRY_AFTER)
		next = RETRY_AFTER;
	db_params_init(&p);
	db_param_int(&p, pi->ca_id);
	db_param_int(&p, now + next);
	if (failed != NULL) {
		db_param_text(&p, failed->msg);
		if (db_exec(e->db, "UPDATE ca_parent SET next_sync = "
		    "to_timestamp($2::bigint), last_error = $3 WHERE ca_id = $1",
		    &p, NULL, &e2) == -1)
			cm_error("%s: %s", pi->handle, e2.msg);
		return;
	}
	if (ent == NULL || eng_res_texts(ent, t, &e2) == -1) {
		eng_free_texts(t);
		t[0] = t[1] = t[2] = NULL;
	}
	db_param_int(&p, now);
	db_param_text(&p, *class_name != '\0' ? class_name : NULL);
	db_param_text(&p, t[0] != NULL ? t[0] : "");
	db_param_text(&p, t[1] != NULL ? t[1] : "");
	db_param_text(&p, t[2] != NULL ? t[2] : "");
	if (db_exec(e->db, "UPDATE ca_parent SET next_sync = "
	    "to_timestamp($2::bigint), last_sync = to_timestamp($3::bigint), "
	    "last_error = NULL, class = $4, asn = $5, ipv4 = $6, ipv6 = $7 "
	    "WHERE ca_id = $1", &p, NULL, &e2) == -1)
		cm_error("%s: %s", pi->handle, e2.msg);
	eng_free_texts(t);
}

int
ca_eng_parent_sync(struct ca_eng *e, const char *handle, const char *actor,
    struct cm_err *err)
{
	struct eng_parent	 pi;
	struct ca_res	*ent = NULL;
	char		 class_name[ENG_CLASS_MAX] = "";
	int		 rc;

	if (eng_parent_begin(e, handle, &pi, err) == -1)
		return -1;
	rc = round_with(e, &pi, actor, &ent, class_name, err);
	if (rc == -1) {
		char ctx[ENG_PARENT_HANDLE_MAX + 16];

		snprintf(ctx, sizeof(ctx), "up-down with %s", pi.parent);
		cm_err_wrap(err, ctx);
	}
	schedule(e, &pi, ent, class_name, rc == -1 ? err : NULL);
	ca_res_free(ent);
	eng_parent_end(e, handle, &pi);
	return rc;
}

int
ca_eng_parent_sync_due(struct ca_eng *e, int max, struct cm_err *err)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	struct cm_err		 one;
	int			 i, n, changed = 0;

	if (e->post == NULL)
		return 0;
	db_params_init(&p);
	db_param_int(&p, eng_now(e));
	db_param_int(&p, max);
	if ((n = db_exec(e->db, "SELECT c.handle FROM ca_parent p JOIN ca c ON "
	    "c.id = p.ca_id WHERE c.deleted_at IS NULL AND NOT p.offline AND "
	    "p.next_sync <= "
	    "to_timestamp($1::bigint) ORDER BY p.next_sync LIMIT $2", &p, &r,
	    err)) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		switch (ca_eng_parent_sync(e, db_res_text(r, i, 0), "engine",
		    &one)) {
		case -1:
			cm_error("%s: %s", db_res_text(r, i, 0), one.msg);
			break;
		case 1:
			changed++;
			break;
		}
	}
	db_res_free(r);
	return changed;
}
