/*
 * ca_eng internal validator: before a transaction that changed a
 * publication point commits, what it wrote is checked the way a relying
 * party would check it.  A failure rolls the whole change back, so nothing
 * that fails is ever published; the caller logs it as an alert.
 *
 * Checked for one key of one CA: the new CRL (strict parse, signed by the
 * CA key, lists every unexpired revoked serial); the new manifest (strict
 * parse, EE certificate signed by the CA key, lists exactly the key's
 * current files with their hashes); every object the transaction wrote
 * (strict parse; signed by the CA key; resources within the CA's).  The
 * cost is that of the change plus one pass over the manifest's file list,
 * never a re-parse of the whole publication point.
 *
 * ca_eng_check() runs the same checks over everything every CA currently
 * publishes, and requires each object to be valid at the engine's now: a
 * whole-repository audit, for tests and operators.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/x509.h>

#include "ca/aspa.h"
#include "ca/cert.h"
#include "ca/crl.h"
#include "ca/engine_int.h"
#include "ca/mft.h"
#include "ca/roa.h"
#include "ca/tak.h"
#include "common/cm_log.h"

static int
fail(struct cm_err *err, const char *uri, const char *why)
{
	return cm_err_set(err, CM_ESTATE, uri, "internal validation failed, "
	    "nothing published: %s", why);
}

/* x is signed by c's key and its resources lie within c's. */
static int
check_issued(const struct eng_ca *c, X509 *x, const char *uri,
    struct cm_err *err)
{
	struct ca_res	*r = NULL;
	int		 in;

	if (X509_verify(x, X509_get0_pubkey(c->cert)) != 1)
		return fail(err, uri, "not signed by the CA's key");
	if (ca_res_from_x509(x, uri, &r, err) == -1)
		return -1;
	/* Inherit (manifest EE certificates) is within by definition. */
	if (ca_res_is_inherit(r, CA_RES_AS) || ca_res_is_inherit(r, CA_RES_V4) ||
	    ca_res_is_inherit(r, CA_RES_V6)) {
		ca_res_free(r);
		return 0;
	}
	in = ca_res_contains(c->res, r, err);
	ca_res_free(r);
	if (in == -1)
		return -1;
	return in ? 0 : fail(err, uri, "resources beyond the CA's");
}

/* now 0: no check; else notBefore <= now < notAfter. */
static int
check_valid_at(X509 *x, int64_t now, const char *uri, struct cm_err *err)
{
	time_t	t = (time_t)now;

	if (now == 0)
		return 0;
	if (X509_cmp_time(X509_get0_notBefore(x), &t) > 0)
		return fail(err, uri, "not yet valid");
	if (X509_cmp_time(X509_get0_notAfter(x), &t) <= 0)
		return fail(err, uri, "expired");
	return 0;
}

static int
check_object(const struct eng_ca *c, const char *kind, const char *uri,
    const uint8_t *der, size_t len, int64_t now, struct cm_err *err)
{
	struct ca_roa	*roa = NULL;
	struct ca_aspa	*aspa = NULL;
	struct ca_tak	*tak = NULL;
	struct ca_cert	*cert = NULL;
	X509		*ee = NULL;
	int		 rc = -1;

	if (strcmp(kind, "roa") == 0) {
		if (ca_roa_parse(uri, der, len, &roa, &ee, err) == 0 &&
		    check_valid_at(ee, now, uri, err) == 0)
			rc = check_issued(c, ee, uri, err);
	} else if (strcmp(kind, "asa") == 0) {
		if (ca_aspa_parse(uri, der, len, &aspa, &ee, err) == 0 &&
		    check_valid_at(ee, now, uri, err) == 0)
			rc = check_issued(c, ee, uri, err);
	} else if (strcmp(kind, "tak") == 0) {
		/* The parser checks that the TAK's current key is the AKI. */
		if (ca_tak_parse(uri, der, len, &tak, &ee, err) == 0 &&
		    check_valid_at(ee, now, uri, err) == 0)
			rc = check_issued(c, ee, uri, err);
	} else if (strcmp(kind, "cer") == 0) {
		if (ca_cert_parse(uri, der, len, &cert, err) == 0 &&
		    check_valid_at(cert->x509, now, uri, err) == 0)
			rc = cert->kind == CA_CERT_TA ? 0 :
			    check_issued(c, cert->x509, uri, err);
	} else
		rc = 0;		/* CRL and manifest: checked below */
	X509_free(ee);
	ca_roa_free(roa);
	ca_aspa_free(aspa);
	ca_tak_free(tak);
	ca_cert_free(cert);
	return rc;
}

/* The CRL lists every serial revoked by the key and not yet expired. */
static int
check_crl(const struct eng_ca *c, struct db *db, const char *uri,
    const uint8_t *der, size_t len, int64_t now, int dated,
    struct cm_err *err)
{
	struct ca_crl		*crl = NULL;
	struct db_params	 p;
	struct db_res		*r = NULL;
	STACK_OF(X509_REVOKED)	*rev;
	int			 n, i, rc = -1;

	if (ca_crl_parse(uri, der, len, &crl, err) == -1)
		return -1;
	if (X509_CRL_verify(crl->crl, X509_get0_pubkey(c->cert)) != 1) {
		fail(err, uri, "CRL not signed by the CA's key");
		goto out;
	}
	if (dated && (crl->this_update > now || crl->next_update <= now)) {
		fail(err, uri, "CRL not current (thisUpdate/nextUpdate)");
		goto out;
	}
	/*
	 * The serials unexpired when the CRL was made; a later check (dated)
	 * sees some of them expired since, still listed, and rightly so.
	 */
	db_params_init(&p);
	db_param_text(&p, c->key_id);
	db_param_int(&p, dated ? (int64_t)crl->this_update : now);
	if ((n = db_exec(db, "SELECT serial::text FROM revoked_cert WHERE "
	    "key_id = $1 AND expires_at > to_timestamp($2::bigint)", &p, &r,
	    err)) == -1)
		goto out;
	rev = X509_CRL_get_REVOKED(crl->crl);
	if (sk_X509_REVOKED_num(rev) != n && !(n == 0 && rev == NULL)) {
		fail(err, uri, "the CRL does not list exactly the revoked serials");
		goto out;
	}
	for (i = 0; i < n; i++) {
		BIGNUM		*bn = NULL;
		ASN1_INTEGER	*ai;
		X509_REVOKED	*found = NULL;

		if (BN_dec2bn(&bn, db_res_text(r, i, 0)) == 0 ||
		    (ai = BN_to_ASN1_INTEGER(bn, NULL)) == NULL) {
			BN_free(bn);
			fail(err, uri, "bad revoked serial");
			goto out;
		}
		X509_CRL_get0_by_serial(crl->crl, &found, ai);
		ASN1_INTEGER_free(ai);
		BN_free(bn);
		if (found == NULL) {
			fail(err, uri, "a revoked serial is missing from the CRL");
			goto out;
		}
	}
	rc = 0;
out:
	db_res_free(r);
	ca_crl_free(crl);
	return rc;
}

/* The manifest lists exactly the key's current files, with their hashes. */
static int
check_mft(const struct eng_ca *c, struct db *db, const char *uri,
    const uint8_t *der, size_t len, int64_t now, struct cm_err *err)
{
	struct ca_mft		*m = NULL;
	X509			*ee = NULL;
	struct db_params	 p;
	struct db_res		*r = NULL;
	const uint8_t		*h;
	size_t			 hl, i;
	int			 n, rc = -1;

	if (ca_mft_parse(uri, der, len, &m, &ee, err) == -1)
		return -1;
	if (check_issued(c, ee, uri, err) == -1 ||
	    check_valid_at(ee, now, uri, err) == -1)
		goto out;
	if (now != 0 && (m->this_update > now || m->next_update <= now)) {
		fail(err, uri, "manifest not current (thisUpdate/nextUpdate)");
		goto out;
	}
	db_params_init(&p);
	db_param_int(&p, c->id);
	db_param_text(&p, c->key_id);
	db_param_text(&p, c->repo);
	if ((n = db_exec(db, "SELECT name, hash FROM issued_object WHERE "
	    "ca_id = $1 AND key_id = $2 AND withdrawn_at IS NULL AND kind <> "
	    "'mft' AND starts_with(uri, $3) ORDER BY name", &p, &r, err)) == -1)
		goto out;
	if ((size_t)n != m->nfiles) {
		fail(err, uri, "the manifest does not list exactly the files");
		goto out;
	}
	for (i = 0; i < m->nfiles; i++) {
		if (strcmp(m->files[i].name, db_res_text(r, (int)i, 0)) != 0 ||
		    db_res_bytea(r, (int)i, 1, &h, &hl, err) == -1 || hl != 32 ||
		    memcmp(h, m->files[i].hash, 32) != 0) {
			fail(err, uri, "a manifest entry does not match its file");
			goto out;
		}
	}
	rc = 0;
out:
	db_res_free(r);
	X509_free(ee);
	ca_mft_free(m);
	return rc;
}

/*
 * Checks the current objects of c's key: with all 0 those this transaction
 * wrote (issued_at is the transaction's start time, and the CA's rows are
 * locked); with all 1 every one, each also valid at the engine's now.
 * Returns the number checked, or -1.
 */
static int
check_key(struct ca_eng *e, struct db *db, const struct eng_ca *c, int all,
    struct cm_err *err)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	const uint8_t		*d;
	size_t			 dl;
	int			 i, n, rc = -1;
	int64_t			 now = eng_now(e);
	const char		*kind, *uri;

	db_params_init(&p);
	db_param_text(&p, c->key_id);
	db_param_int(&p, all);
	if ((n = db_exec(db, "SELECT kind, uri, der FROM issued_object WHERE "
	    "key_id = $1 AND withdrawn_at IS NULL AND ($2::int = 1 OR "
	    "issued_at = now())", &p, &r, err)) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		kind = db_res_text(r, i, 0);
		uri = db_res_text(r, i, 1);
		if (db_res_bytea(r, i, 2, &d, &dl, err) == -1)
			goto out;
		if (strcmp(kind, "crl") == 0) {
			if (check_crl(c, db, uri, d, dl, now, all, err) == -1)
				goto out;
		} else if (strcmp(kind, "mft") == 0) {
			if (check_mft(c, db, uri, d, dl, all ? now : 0,
			    err) == -1)
				goto out;
		} else if (check_object(c, kind, uri, d, dl, all ? now : 0,
		    err) == -1)
			goto out;
	}
	rc = n;
out:
	db_res_free(r);
	return rc;
}

int
eng_check_pp(struct ca_eng *e, struct db *db, const struct eng_ca *c,
    struct cm_err *err)
{
	if (check_key(e, db, c, 0, err) == -1) {
		cm_error("ALERT %s: %s", c->handle, err->msg);
		return -1;
	}
	return 0;
}

struct check_arg {
	struct ca_eng	*e;
	const char	*handle, *key_id;
	int		 n;
};

static int
check_tx(struct db *db, void *arg, struct cm_err *err)
{
	struct check_arg	*a = arg;
	struct eng_ca		 c;
	int			 n;

	if (eng_load_ca_key(a->e, db, a->handle, a->key_id, &c, err) == -1)
		return -1;
	n = check_key(a->e, db, &c, 1, err);
	eng_ctx_clear(&c);
	if (n == -1)
		return -1;
	a->n = n;
	return 0;
}

int
ca_eng_check(struct ca_eng *e, struct cm_err *err)
{
	struct db_res		*r = NULL;
	struct check_arg	 a = { e, NULL, NULL, 0 };
	int			 i, n, total = 0;

	/*
	 * A revoked key publishes nothing any more, nor does a pending key
	 * that its offline parent has not certified yet.
	 */
	if ((n = db_exec(e->db, "SELECT c.handle, k.id FROM ca c JOIN ca_key k "
	    "ON k.ca_id = c.id WHERE c.deleted_at IS NULL AND k.state <> "
	    "'revoked' AND k.cert IS NOT NULL ORDER BY c.id, k.id", NULL, &r,
	    err)) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		a.handle = db_res_text(r, i, 0);
		a.key_id = db_res_text(r, i, 1);
		if (db_tx(e->db, NULL, check_tx, &a, err) == -1) {
			cm_err_wrap(err, a.handle);
			db_res_free(r);
			return -1;
		}
		total += a.n;
	}
	db_res_free(r);
	return total;
}
