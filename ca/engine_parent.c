/*
 * ca_eng child side of RFC 6492 (up-down): a CA of ours whose parent is
 * operated elsewhere (another Cairn, Krill, an RIR).  The parent is known
 * from its RFC 8183 parent_response (table ca_parent, migration 0005);
 * engine_parent_io.c records it and makes the exchanges, engine_class.c
 * keeps what each resource class the parent lists needs.
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
 * CA certificate, certifies that key with SIA repo, is signed by the
 * parent's certificate issuer (DER), and holds resources.  *out is the
 * parsed certificate.
 */
static int
check_issued(const char *repo, const struct ca_ud_cert *uc,
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
	if (c->sia_repo == NULL || strcmp(c->sia_repo, repo) != 0) {
		cm_err_set(err, CM_EINVAL, uc->cert_url, "caRepository %s is not "
		    "ours (%s)", c->sia_repo != NULL ? c->sia_repo : "(none)",
		    repo);
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
	const char		*repo;		/* the class's publication point */
	const struct ca_ud_cert	*uc;
};

static int
install_tx(struct db *db, void *arg, struct cm_err *err)
{
	struct install_arg	*a = arg;
	struct db_params	 p;
	struct eng_ca		 c;
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
	/* The CA's own directory is NULL there, as for every other CA. */
	db_param_text(&p, strcmp(a->repo, a->pi->repo) != 0 ? a->repo : NULL);
	if (db_exec(db, "INSERT INTO ca_key (id, ca_id, class, state, cert, "
	    "cert_uri, repo_uri, activated_at) VALUES ($1, $2, $3, $4, $5, $6, "
	    "$7, CASE WHEN $4 = 'active' THEN now() END) ON CONFLICT (id) DO "
	    "UPDATE SET cert = $5, cert_uri = $6, class = $3", &p, NULL,
	    err) == -1)
		goto out;
	if (active && eng_class_union(db, a->pi, err) == -1)
		goto out;
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
	eng_ctx_clear(&c);
	return rc;
}

/*
 * The parent no longer entitles us in class class_name (NULL: in any
 * class): withdraw everything its keys signed, retire the keys.
 */
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
	db_param_text(&p, a->class_name);
	if ((n = db_exec(db, "SELECT id FROM ca_key WHERE ca_id = $1 AND state "
	    "<> 'revoked' AND ($2::text IS NULL OR class = $2) ORDER BY id", &p,
	    &r, err)) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		const char *k = db_res_text(r, i, 0);

		/* A pending key of an offline parent never published. */
		if (eng_load_ca_key(a->e, db, a->pi->handle, k, &c, err) == 0) {
			db_params_init(&p);
			db_param_text(&p, k);
			if ((m = db_exec(db, "SELECT uri FROM issued_object WHERE "
			    "key_id = $1 AND withdrawn_at IS NULL", &p, &o,
			    err)) == -1)
				goto out;
			for (j = 0; j < m; j++)
				if (eng_withdraw(db, &c, db_res_text(o, j, 0),
				    err) == -1)
					goto out;
			db_res_free(o);
			o = NULL;
			eng_ctx_clear(&c);
		} else if (err->code != CM_ESTATE && err->code != CM_ENOTFOUND)
			goto out;
		db_params_init(&p);
		db_param_text(&p, k);
		if (db_exec(db, "UPDATE ca_key SET state = 'revoked', revoked_at = "
		    "now() WHERE id = $1", &p, NULL, err) == -1)
			goto out;
	}
	db_params_init(&p);
	db_param_int(&p, a->pi->ca_id);
	db_param_text(&p, a->class_name);
	if (db_exec(db, "DELETE FROM ca_parent_class WHERE ca_id = $1 AND "
	    "($2::text IS NULL OR class = $2)", &p, NULL, err) == -1 ||
	    eng_class_union(db, a->pi, err) == -1 ||
	    eng_audit(db, a->actor, a->class_name != NULL ?
	    "parent.class-gone" : "parent.revoked", a->pi->ca_id,
	    a->class_name != NULL ? a->class_name : a->pi->parent, err) == -1)
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

/* Checks uc for key_id in class cl and installs it (its own transaction). */
static int
install(struct ca_eng *e, struct db *db, const struct eng_parent *pi,
    const struct ca_ud_class *cl, const struct ca_ud_cert *uc,
    const char *repo, const char *key_id, const char *state,
    const char *actor, int own_tx, struct cm_err *err)
{
	struct install_arg	 ia;
	struct ca_cert		*cert = NULL;

	if (check_issued(repo, uc, cl->issuer, cl->issuer_len, key_id, &cert,
	    err) == -1)
		return -1;
	ca_cert_free(cert);
	memset(&ia, 0, sizeof(ia));
	ia.e = e;
	ia.pi = pi;
	ia.actor = actor;
	ia.key_id = key_id;
	ia.state = state;
	ia.class_name = cl->class_name;
	ia.repo = repo;
	ia.uc = uc;
	return own_tx ? db_tx(db, NULL, install_tx, &ia, err) :
	    install_tx(db, &ia, err);
}

int
eng_parent_install(struct ca_eng *e, struct db *db, const struct eng_parent *pi,
    const struct ca_ud_class *cl, const struct ca_ud_cert *uc,
    const char *key_id, const char *state, const char *actor,
    struct cm_err *err)
{
	return install(e, db, pi, cl, uc, pi->repo, key_id, state, actor, 0,
	    err);
}

static int
retire(struct ca_eng *e, struct db *db, const struct eng_parent *pi,
    const char *class_name, const char *actor, int own_tx, struct cm_err *err)
{
	struct install_arg ia;

	memset(&ia, 0, sizeof(ia));
	ia.e = e;
	ia.pi = pi;
	ia.actor = actor;
	ia.class_name = class_name;
	return own_tx ? db_tx(db, NULL, retire_tx, &ia, err) :
	    retire_tx(db, &ia, err);
}

int
eng_parent_retire(struct ca_eng *e, struct db *db, const struct eng_parent *pi,
    const char *actor, struct cm_err *err)
{
	return retire(e, db, pi, NULL, actor, 0, err);
}

/* ---- requests --------------------------------------------------------- */

/*
 * Asks the parent to certify key (id) in class class_name, whose
 * publication point is repo, and installs the certificate in state
 * ("active" or "pending").
 */
static int
request_cert(struct ca_eng *e, struct eng_parent *pi, const char *class_name,
    const char *repo, struct hsm_key *key, const char *state,
    const char *actor, struct cm_err *err)
{
	struct ca_ud_msg	 q;
	struct ca_ud_msg	*a = NULL;
	struct ca_ud_class	*cl;
	char			 mft[ENG_URI_MAX];
	int			 rc = -1;

	memset(&q, 0, sizeof(q));
	q.type = CA_UD_ISSUE;
	snprintf(mft, sizeof(mft), "%s%.16s.mft", repo, hsm_key_id(key));
	if ((q.class_name = strdup(class_name)) == NULL) {
		cm_err_set(err, CM_ENOMEM, pi->handle, "out of memory");
		goto out;
	}
	if (ca_csr_make(key, repo, mft, e->conf.notify_uri, &q.pkcs10,
	    &q.pkcs10_len, err) == -1 ||
	    eng_parent_exchange(e, pi, &q, CA_UD_ISSUE_RESPONSE, &a, err) == -1)
		goto out;
	cl = &a->classes[0];
	if (strcmp(cl->class_name, class_name) != 0) {
		cm_err_set(err, CM_EINVAL, pi->parent, "asked to certify in class "
		    "\"%s\", answered for class \"%s\"", class_name,
		    cl->class_name);
		goto out;
	}
	if (install(e, e->db, pi, cl, &cl->certs[0], repo, hsm_key_id(key),
	    state, actor, 1, err) == -1)
		goto out;
	cm_info("%s: %s certified key %s in class %s (%s)", pi->handle,
	    pi->parent, hsm_key_id(key), class_name, cl->certs[0].cert_url);
	rc = 0;
out:
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
    const char *repo, const char *state, const char *actor,
    struct cm_err *err)
{
	struct hsm_key	*key = NULL;
	char		 label[HSM_LABEL_MAX];

	snprintf(label, sizeof(label), "cairn ca %.64s", pi->handle);
	if (hsm_key_create(e->hsm, label, &key, err) == -1)
		return -1;
	if (request_cert(e, pi, class_name, repo, key, state, actor,
	    err) == -1) {
		eng_key_discard(key, pi->handle);
		return -1;
	}
	hsm_key_free(key);
	return 0;
}

/* The existing key id asked again (re-issue or renewal). */
static int
request_same_key(struct ca_eng *e, struct eng_parent *pi, const char *class_name,
    const char *repo, const char *id, const char *state, const char *actor,
    struct cm_err *err)
{
	struct hsm_key	*key = NULL;
	int		 rc;

	if (hsm_key_find(e->hsm, id, &key, err) == -1)
		return -1;
	rc = request_cert(e, pi, class_name, repo, key, state, actor, err);
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
must_reissue(struct ca_eng *e, const struct ca_ud_class *cl,
    const struct ca_res *ent, const struct ca_ud_cert *uc, struct cm_err *err)
{
	struct ca_cert	*c = NULL;
	int		 rc;

	if (ca_cert_parse(uc->cert_url, uc->der, uc->der_len, &c, err) == -1)
		return -1;
	rc = !ca_res_equal(c->res, ent) ||
	    ((int64_t)c->not_after < eng_now(e) + RENEW_BEFORE &&
	    c->not_after < cl->notafter);
	ca_cert_free(c);
	return rc;
}

static struct eng_pclass *
find_class(struct eng_parent *pi, const char *name)
{
	size_t i;

	for (i = 0; i < pi->nclasses; i++)
		if (strcmp(pi->classes[i].name, name) == 0)
			return &pi->classes[i];
	return NULL;
}

/*
 * One class of the list: certificates for keys of ours that are no longer
 * (a finished roll) are revoked, the class is retired when it entitles to
 * nothing, and its active key (a new one for a new class) and a roll's
 * pending key are certified over its entitlement ent.  Returns 1 when
 * something changed, 0, or -1.
 */
static int
sync_class(struct ca_eng *e, struct eng_parent *pi,
    const struct ca_ud_class *cl, const struct ca_res *ent, const char *actor,
    struct cm_err *err)
{
	struct eng_pclass	*pc = find_class(pi, cl->class_name);
	const struct ca_ud_cert	*uc;
	char			 k[HSM_KEY_ID_LEN + 1], repo[ENG_URI_MAX];
	size_t			 i;
	int			 st, changed = 0;

	if (pc != NULL)
		pc->seen = 1;
	/* The old key of a roll under way keeps its certificate till the end. */
	for (i = 0; i < cl->ncerts; i++) {
		if (cert_key_id(cl->certs[i].der, cl->certs[i].der_len, k,
		    err) == -1)
			return -1;
		if ((pc == NULL || (strcmp(k, pc->active) != 0 &&
		    strcmp(k, pc->pending) != 0 && strcmp(k, pc->old) != 0)) &&
		    request_revoke(e, pi, cl->class_name, k, err) == -1)
			return -1;
	}
	if (ca_res_is_empty(ent)) {
		if (pc == NULL || (pc->active[0] == '\0' &&
		    pc->pending[0] == '\0'))
			return 0;
		cm_warn("%s: %s no longer entitles it to anything in class %s; "
		    "the class's publication point is withdrawn", pi->handle,
		    pi->parent, cl->class_name);
		return retire(e, e->db, pi, cl->class_name, actor, 1, err) ==
		    -1 ? -1 : 1;
	}
	if (eng_class_repo(e, pi, cl->class_name, repo, err) == -1 ||
	    eng_class_note(e, pi, cl, repo, err) == -1)
		return -1;
	if (pc == NULL || pc->active[0] == '\0') {
		if (request_new_key(e, pi, cl->class_name, repo, "active", actor,
		    err) == -1)
			return -1;
		changed = 1;
	} else if ((uc = listed(cl, pc->active)) == NULL ||
	    (st = must_reissue(e, cl, ent, uc, err)) == 1) {
		/* Revoked by the parent, resized, or due: ask again. */
		if (request_same_key(e, pi, cl->class_name, repo, pc->active,
		    "active", actor, err) == -1)
			return -1;
		changed = 1;
	} else if (st == -1)
		return -1;
	else if (uc->der_len != pc->certlen ||
	    memcmp(uc->der, pc->cert, pc->certlen) != 0) {
		/* Re-issued by the parent on its own (its key roll, say). */
		if (install(e, e->db, pi, cl, uc, repo, pc->active, "active",
		    actor, 1, err) == -1)
			return -1;
		changed = 1;
	}
	/* A key roll under way: the new key needs its certificate too. */
	if (pc != NULL && pc->pending[0] != '\0' &&
	    listed(cl, pc->pending) == NULL) {
		if (request_same_key(e, pi, cl->class_name, repo, pc->pending,
		    "pending", actor, err) == -1)
			return -1;
		changed = 1;
	}
	return changed;
}

/*
 * A round: the list, then each class it names in turn (RFC 6492 §3.3.2:
 * one key per class, each with its own certificate, issuer and
 * entitlement); classes of ours that it no longer names are retired.  The
 * entitlement of all classes goes to *entp, the first class's name to
 * class_name.
 */
static int
round_with(struct ca_eng *e, struct eng_parent *pi, const char *actor,
    struct ca_res **entp, char class_name[ENG_CLASS_MAX], struct cm_err *err)
{
	struct ca_ud_msg	 q;
	struct ca_ud_msg	*a = NULL;
	struct ca_res		*ent = NULL, *u = NULL;
	struct cm_err		 e2;
	char			 ctx[ENG_CLASS_MAX + 8];
	size_t			 i;
	int			 n, changed = 0, failed = 0, rc = -1;

	memset(&q, 0, sizeof(q));
	q.type = CA_UD_LIST;
	if ((*entp = ca_res_new()) == NULL) {
		cm_err_set(err, CM_ENOMEM, pi->handle, "out of memory");
		goto out;
	}
	if (eng_parent_exchange(e, pi, &q, CA_UD_LIST_RESPONSE, &a, err) == -1)
		goto out;
	if (a->nclasses > 0)
		snprintf(class_name, ENG_CLASS_MAX, "%s",
		    a->classes[0].class_name);
	/* A class that fails does not hold up the others. */
	for (i = 0; i < a->nclasses; i++) {
		const struct ca_ud_class *cl = &a->classes[i];
		struct cm_err *ce = failed ? &e2 : err;
		struct eng_pclass *pc = find_class(pi, cl->class_name);

		/* Listed, even if it fails here: not retired below. */
		if (pc != NULL)
			pc->seen = 1;
		ca_res_free(ent);
		ent = NULL;
		if (strlen(cl->class_name) >= ENG_CLASS_MAX) {
			cm_err_set(ce, CM_EINVAL, pi->parent, "class name "
			    "\"%.32s...\" is too long", cl->class_name);
			n = -1;
		} else if (class_res(pi, cl, &ent, ce) == -1)
			n = -1;
		else
			n = sync_class(e, pi, cl, ent, actor, ce);
		if (n == -1) {
			snprintf(ctx, sizeof(ctx), "class %.*s", ENG_CLASS_MAX,
			    cl->class_name);
			cm_err_wrap(ce, ctx);
			if (failed)
				cm_error("%s: %s", pi->handle, ce->msg);
			failed = 1;
			continue;
		}
		if (ca_res_union(*entp, ent, &u, err) == -1)
			goto out;
		changed |= n;
		ca_res_free(*entp);
		*entp = u;
		u = NULL;
		ca_res_free(ent);
		ent = NULL;
	}
	/* A class that is gone takes its keys and objects with it. */
	for (i = 0; i < pi->nclasses; i++) {
		const struct eng_pclass *pc = &pi->classes[i];

		if (pc->seen || (pc->active[0] == '\0' && pc->pending[0] == '\0'))
			continue;
		cm_warn("%s: %s no longer lists class %s; the class's "
		    "publication point is withdrawn", pi->handle, pi->parent,
		    pc->name);
		if (retire(e, e->db, pi, pc->name, actor, 1, err) == -1) {
			cm_err_wrap(err, pc->name);
			goto out;
		}
		changed = 1;
	}
	if (changed && ca_res_is_empty(*entp) && pi->nclasses > 1)
		cm_warn("%s: %s no longer entitles it to anything", pi->handle,
		    pi->parent);
	/* The first failure is the round's (the others are logged). */
	if (failed || eng_class_forget(e, pi, a, err) == -1)
		goto out;
	rc = changed;
out:
	ca_res_free(ent);
	ca_res_free(u);
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
		rc = request_cert(e, &pi, pi.klass, pi.classes[0].repo, key,
		    "pending", actor, err);
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

