/*
 * ca_eng publication points: loading a CA, writing objects with their
 * publication intents, and re-issuing the CRL and manifest of a key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "ca/cert.h"
#include "ca/crl.h"
#include "ca/engine_int.h"
#include "ca/mft.h"
#include "ca/sigobj.h"
#include "common/cm_enc.h"
#include "common/cm_log.h"

int64_t
eng_now(const struct ca_eng *e)
{
	return cm_clock_now(e->clock);
}

int64_t
eng_min(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

int
eng_res_texts(const struct ca_res *r, char *t[3], struct cm_err *err)
{
	t[0] = t[1] = t[2] = NULL;
	if (ca_res_print(r, CA_RES_AS, &t[0], err) == -1 ||
	    ca_res_print(r, CA_RES_V4, &t[1], err) == -1 ||
	    ca_res_print(r, CA_RES_V6, &t[2], err) == -1)
		return -1;
	return 0;
}

void
eng_free_texts(char *t[3])
{
	free(t[0]);
	free(t[1]);
	free(t[2]);
}

int
eng_res_parse(const char *as, const char *v4, const char *v6, const char *obj,
    struct ca_res **out, struct cm_err *err)
{
	struct ca_res *r;

	if ((r = ca_res_new()) == NULL)
		return cm_err_set(err, CM_ENOMEM, obj, "out of memory");
	if (ca_res_parse(r, CA_RES_AS, as, obj, err) == -1 ||
	    ca_res_parse(r, CA_RES_V4, v4, obj, err) == -1 ||
	    ca_res_parse(r, CA_RES_V6, v6, obj, err) == -1) {
		ca_res_free(r);
		return -1;
	}
	*out = r;
	return 0;
}

int
eng_handle_ok(const char *h)
{
	size_t i, n = strlen(h);

	if (n == 0 || n > ENG_HANDLE_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		if ((h[i] >= 'a' && h[i] <= 'z') || (h[i] >= 'A' && h[i] <= 'Z') ||
		    (h[i] >= '0' && h[i] <= '9'))
			continue;
		if (i > 0 && (h[i] == '-' || h[i] == '_' || h[i] == '.'))
			continue;
		return 0;
	}
	return 1;
}

void
eng_keyname(const char *key_id, const char *ext, char *out, size_t len)
{
	snprintf(out, len, "%.16s.%s", key_id, ext);
}

int
eng_ee_key(struct ca_eng *e, EVP_PKEY **out, struct cm_err *err)
{
	if (e->ee_nstash > 0) {
		*out = e->ee_stash[--e->ee_nstash];
		e->ee_stash[e->ee_nstash] = NULL;
		return 0;
	}
	if (e->pool != NULL)
		return hsm_pool_get(e->pool, 60000, out, err);
	if ((*out = EVP_RSA_gen(2048)) == NULL)
		return cm_err_ssl(err, "EE key", "RSA key generation failed");
	return 0;
}

int
eng_serial(uint8_t serial[20], size_t *len, char dec[64], struct cm_err *err)
{
	BIGNUM	*bn;
	char	*s;

	if (ca_cert_serial_random(serial, len, err) == -1)
		return -1;
	if ((bn = BN_bin2bn(serial, (int)*len, NULL)) == NULL ||
	    (s = BN_bn2dec(bn)) == NULL) {
		BN_free(bn);
		return cm_err_set(err, CM_ENOMEM, "serial", "out of memory");
	}
	snprintf(dec, 64, "%s", s);
	OPENSSL_free(s);
	BN_free(bn);
	return 0;
}

int
eng_sigobj_spec(struct ca_eng *e, const struct eng_ca *c, const char *uri,
    const char *crl, int64_t now, struct ca_sigobj_spec *ss, EVP_PKEY **ee,
    char serial[64], struct cm_err *err)
{
	memset(ss, 0, sizeof(*ss));
	if (eng_ee_key(e, ee, err) == -1 ||
	    eng_serial(ss->serial, &ss->serial_len, serial, err) == -1)
		return -1;
	ss->issuer = c->cert;
	ss->issuer_key = c->key;
	ss->ee_key = *ee;
	ss->not_before = (time_t)(now - ENG_BACKDATE);
	ss->not_after = (time_t)eng_min(now + e->conf.sched.ee_validity,
	    c->not_after);
	ss->signing_time = (time_t)now;
	ss->object_uri = uri;
	ss->crl_uri = crl;
	ss->issuer_uri = c->cert_uri;
	return 0;
}

void
eng_key_discard(struct hsm_key *k, const char *handle)
{
	struct cm_err	e2;

	if (hsm_key_destroy(k, &e2) == -1)
		cm_warn("%s: a key was left in the signer: %s", handle, e2.msg);
}

int
eng_new_key_tx(struct ca_eng *e, const char *handle, const char *label,
    db_tx_fn fn, void *arg, struct hsm_key **key, struct cm_err *err)
{
	if (hsm_key_create(e->hsm, label, key, err) == -1)
		return -1;
	if (db_tx(e->db, NULL, fn, arg, err) == -1) {
		eng_key_discard(*key, handle);
		*key = NULL;
		return -1;
	}
	return 0;
}

void
eng_key_delete(struct ca_eng *e, const char *handle, const char *key_id,
    const char *what)
{
	struct hsm_key	*k = NULL;
	struct cm_err	 e2;

	if (hsm_key_find(e->hsm, key_id, &k, &e2) == -1 ||
	    hsm_key_destroy(k, &e2) == -1)
		cm_warn("%s: retired %s %s stays in the signer: %s", handle, what,
		    key_id, e2.msg);
}

void
eng_ctx_clear(struct eng_ca *c)
{
	hsm_key_free(c->key);
	X509_free(c->cert);
	ca_res_free(c->res);
	memset(c, 0, sizeof(*c));
}

int
eng_load_ca(struct ca_eng *e, struct db *db, const char *handle,
    struct eng_ca *c, struct cm_err *err)
{
	return eng_load_ca_key(e, db, handle, NULL, c, err);
}

int
eng_load_ca_key(struct ca_eng *e, struct db *db, const char *handle,
    const char *key_id, struct eng_ca *c, struct cm_err *err)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	const uint8_t		*der, *q;
	size_t			 len;
	int64_t			 n;
	int			 rc = -1;

	memset(c, 0, sizeof(*c));
	db_params_init(&p);
	db_param_text(&p, handle);
	db_param_text(&p, key_id);
	/* FOR UPDATE: changes to one CA are serialised. */
	if (db_exec(db,
	    "SELECT c.id, c.kind, coalesce(c.parent_id, 0), "
	    "coalesce(k.repo_uri, c.repo_uri), k.id, k.cert, k.cert_uri, "
	    "k.next_crl_number, k.next_mft_number, "
	    "coalesce(k.publisher_id, pb.id), k.state, (SELECT count(*) FROM "
	    "ca_key a WHERE a.ca_id = c.id AND a.state = 'active'), "
	    "k.state = 'active' AND k.id <> (SELECT a.id FROM ca_key a WHERE "
	    "a.ca_id = c.id AND a.state = 'active' ORDER BY a.repo_uri IS NOT "
	    "NULL, a.class, a.id LIMIT 1) FROM ca c JOIN ca_key k ON k.ca_id = "
	    "c.id AND (($2::text IS NULL AND k.state = 'active') OR k.id = $2) "
	    "JOIN publisher pb ON pb.handle = c.handle "
	    "WHERE c.handle = $1 AND c.deleted_at IS NULL "
	    /*
	     * Several active keys: one per resource class of a remote parent
	     * (engine_parent.c); the CA is the class published in its own
	     * directory.
	     */
	    "ORDER BY k.repo_uri IS NOT NULL, k.class, k.id LIMIT 1 "
	    "FOR UPDATE OF c, k",
	    &p, &r, err) == -1)
		return -1;
	if (db_res_rows(r) != 1) {
		cm_err_set(err, CM_ENOTFOUND, handle, "no such CA");
		goto out;
	}
	snprintf(c->handle, sizeof(c->handle), "%s", handle);
	c->is_ta = strcmp(db_res_text(r, 0, 1), "ta") == 0;
	snprintf(c->repo, sizeof(c->repo), "%s", db_res_text(r, 0, 3));
	snprintf(c->key_id, sizeof(c->key_id), "%s", db_res_text(r, 0, 4));
	snprintf(c->cert_uri, sizeof(c->cert_uri), "%s", db_res_text(r, 0, 6));
	snprintf(c->key_state, sizeof(c->key_state), "%s", db_res_text(r, 0, 10));
	c->secondary = strcmp(db_res_text(r, 0, 12), "t") == 0;
	if (db_res_int64(r, 0, 11, &n, err) == -1)
		goto out;
	c->nactive = (int)n;
	if (db_res_int64(r, 0, 0, &c->id, err) == -1 ||
	    db_res_int64(r, 0, 2, &c->parent_id, err) == -1 ||
	    db_res_int64(r, 0, 7, &c->next_crl, err) == -1 ||
	    db_res_int64(r, 0, 8, &c->next_mft, err) == -1 ||
	    db_res_int64(r, 0, 9, &c->publisher_id, err) == -1 ||
	    db_res_bytea(r, 0, 5, &der, &len, err) == -1)
		goto out;
	q = der;
	if ((c->cert = d2i_X509(NULL, &q, (long)len)) == NULL) {
		cm_err_set(err, CM_ESTATE, handle, "stored certificate is corrupt");
		goto out;
	}
	{
		struct tm	 tm;
		const ASN1_TIME	*t = X509_get0_notAfter(c->cert);

		if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
			cm_err_set(err, CM_ESTATE, handle, "bad notAfter");
			goto out;
		}
		c->not_after = (int64_t)timegm(&tm);
	}
	if (ca_res_from_x509(c->cert, handle, &c->res, err) == -1 ||
	    hsm_key_find(e->hsm, c->key_id, &c->key, err) == -1)
		goto out;
	eng_keyname(c->key_id, "crl", c->crl_name, sizeof(c->crl_name));
	eng_keyname(c->key_id, "mft", c->mft_name, sizeof(c->mft_name));
	rc = 0;
out:
	db_res_free(r);
	if (rc == -1) {
		cm_err_wrap(err, "loading CA");
		eng_ctx_clear(c);
	}
	return rc;
}

/* Revokes an EE or CA certificate of c's key until it expires. */
static int
revoke(struct db *db, const char *key_id, const char *serial,
    const char *not_after_epoch, struct cm_err *err)
{
	struct db_params p;

	db_params_init(&p);
	db_param_text(&p, key_id);
	db_param_text(&p, serial);
	db_param_text(&p, not_after_epoch);
	return db_exec(db, "INSERT INTO revoked_cert (key_id, serial, "
	    "expires_at) VALUES ($1, $2::numeric, to_timestamp($3::bigint)) "
	    "ON CONFLICT DO NOTHING", &p, NULL, err) == -1 ? -1 : 0;
}

int
eng_outbox(struct db *db, int64_t publisher, const char *op, const char *uri,
    const uint8_t *old_hash, const uint8_t *der, size_t len,
    struct cm_err *err)
{
	struct db_params p;

	db_params_init(&p);
	db_param_int(&p, publisher);
	db_param_text(&p, op);
	db_param_text(&p, uri);
	db_param_bytea(&p, old_hash, old_hash != NULL ? 32 : 0);
	db_param_bytea(&p, der, der != NULL ? len : 0);
	return db_exec(db, "INSERT INTO pub_change (publisher_id, op, uri, "
	    "old_hash, data) VALUES ($1, $2, $3, $4, $5)", &p, NULL, err) == -1 ?
	    -1 : 0;
}

/*
 * Retires the current object at uri if there is one: marks it withdrawn,
 * revokes its certificate (EE or child CA) and returns its file hash in
 * old (and 1), or 0 when there was none.
 */
static int
retire(struct db *db, const char *key_id, const char *uri, uint8_t old[32],
    struct cm_err *err)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	const uint8_t		*h;
	size_t			 hl;
	int			 rc = -1;

	db_params_init(&p);
	db_param_text(&p, uri);
	if (db_exec(db, "UPDATE issued_object SET withdrawn_at = now() "
	    "WHERE uri = $1 AND withdrawn_at IS NULL RETURNING hash, "
	    "serial::text, extract(epoch FROM not_after)::bigint::text, kind, "
	    "key_id", &p, &r, err) == -1)
		return -1;
	if (db_res_rows(r) == 0) {
		rc = 0;
		goto out;
	}
	if (db_res_bytea(r, 0, 0, &h, &hl, err) == -1 || hl != 32)
		goto out;
	memcpy(old, h, 32);
	/*
	 * Revoked on the CRL of the key that issued it, which after a key
	 * roll is not necessarily the key now writing at this URI.
	 */
	(void)key_id;
	if (!db_res_isnull(r, 0, 1) && strcmp(db_res_text(r, 0, 3), "crl") != 0 &&
	    revoke(db, db_res_text(r, 0, 4), db_res_text(r, 0, 1),
	    db_res_text(r, 0, 2), err) == -1)
		goto out;
	rc = 1;
out:
	db_res_free(r);
	return rc;
}

int
eng_put(struct db *db, const struct eng_ca *c, const struct eng_obj *o,
    struct cm_err *err)
{
	struct db_params	p;
	uint8_t			hash[32], old[32];
	char			uri[ENG_URI_MAX];
	int			had;

	snprintf(uri, sizeof(uri), "%s%s", o->repo != NULL ? o->repo : c->repo,
	    o->name);
	if ((had = retire(db, c->key_id, uri, old, err)) == -1)
		return -1;
	cm_sha256(o->der, o->len, hash);
	db_params_init(&p);
	db_param_int(&p, c->id);
	db_param_text(&p, c->key_id);
	db_param_text(&p, o->kind);
	db_param_text(&p, o->name);
	db_param_text(&p, uri);
	db_param_bytea(&p, o->der, o->len);
	db_param_bytea(&p, hash, 32);
	db_param_text(&p, o->serial[0] != '\0' ? o->serial : NULL);
	db_param_int(&p, o->not_before);
	db_param_int(&p, o->not_after);
	if (o->reissue_at != 0)
		db_param_int(&p, o->reissue_at);
	else
		db_param_text(&p, NULL);
	db_param_text(&p, o->subject != NULL ? o->subject : "");
	if (db_exec(db, "INSERT INTO issued_object (ca_id, key_id, kind, name, "
	    "uri, der, hash, serial, not_before, not_after, reissue_at, subject) "
	    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8::numeric, "
	    "to_timestamp($9::bigint), to_timestamp($10::bigint), "
	    "to_timestamp($11::bigint), $12)", &p, NULL, err) == -1)
		return -1;
	return eng_outbox(db, o->publisher != 0 ? o->publisher : c->publisher_id,
	    "publish", uri, had ? old : NULL, o->der, o->len, err);
}

int
eng_withdraw(struct db *db, const struct eng_ca *c, const char *uri,
    struct cm_err *err)
{
	uint8_t	old[32];
	int	had;

	if ((had = retire(db, c->key_id, uri, old, err)) == -1)
		return -1;
	if (!had)
		return 0;
	return eng_outbox(db, c->publisher_id, "withdraw", uri, old, NULL, 0, err);
}

int
eng_renew_at(struct ca_eng *e, struct db *db, const struct eng_ca *c,
    uint64_t seed, int64_t not_after, int64_t *out, struct cm_err *err)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	int64_t			 t, follow, latest, floor;
	int			 n;

	*out = ca_sched_ee_renew(&e->conf.sched, seed, not_after);
	if (not_after < c->not_after)
		return 0;
	/* Cut short by c's certificate: follow that certificate's renewal. */
	db_params_init(&p);
	db_param_text(&p, c->cert_uri);
	if ((n = db_exec(db, "SELECT extract(epoch FROM reissue_at)::bigint "
	    "FROM issued_object WHERE uri = $1 AND withdrawn_at IS NULL AND "
	    "reissue_at IS NOT NULL", &p, &r, err)) == -1)
		return -1;
	if (n == 0) {
		db_res_free(r);
		return 0;		/* a trust anchor's: not renewed so */
	}
	if (db_res_int64(r, 0, 0, &follow, err) == -1) {
		db_res_free(r);
		return -1;
	}
	db_res_free(r);
	t = follow + ENG_FOLLOW_DELAY + (int64_t)(seed % ENG_FOLLOW_JITTER);
	if (t < *out)
		t = *out;
	latest = not_after - e->conf.sched.ee_margin / 2;
	if (t > latest)
		t = latest;
	/* A parent that fell behind is retried hourly, not at every tick. */
	floor = eng_now(e) + ENG_FOLLOW_DELAY;
	if (t < floor)
		t = floor;
	*out = t;
	return 0;
}

int
eng_issue_cert(struct ca_eng *e, struct db *db, const struct eng_ca *c,
    struct ca_cert_spec *s, const char *name, const char *subject, int renew,
    uint64_t seed, uint8_t **der, size_t *len, struct cm_err *err)
{
	struct eng_obj	 o;
	X509		*x = NULL;
	uint8_t		*buf = NULL;
	char		 crldp[ENG_URI_MAX];
	int64_t		 now = eng_now(e);
	int		 n, rc = -1;

	memset(&o, 0, sizeof(o));
	snprintf(crldp, sizeof(crldp), "%s%s", c->repo, c->crl_name);
	s->issuer = c->cert;
	s->issuer_key = c->key;
	s->not_before = (time_t)(now - ENG_BACKDATE);
	s->crldp = crldp;
	s->aia = c->cert_uri;
	if (eng_serial(s->serial, &s->serial_len, o.serial, err) == -1 ||
	    ca_cert_issue(s, &x, err) == -1)
		goto out;
	if ((n = i2d_X509(x, &buf)) <= 0) {
		cm_err_ssl(err, subject, "cannot encode the certificate");
		goto out;
	}
	o.kind = "cer";
	o.name = name;
	o.der = buf;
	o.len = (size_t)n;
	o.not_before = now - ENG_BACKDATE;
	o.not_after = (int64_t)s->not_after;
	if (renew && eng_renew_at(e, db, c, ca_sched_seed(subject,
	    strlen(subject), seed), o.not_after, &o.reissue_at, err) == -1)
		goto out;
	o.subject = subject;
	if (eng_put(db, c, &o, err) == -1)
		goto out;
	if (der != NULL) {
		if ((*der = malloc((size_t)n)) == NULL) {
			cm_err_set(err, CM_ENOMEM, subject, "out of memory");
			goto out;
		}
		memcpy(*der, buf, (size_t)n);
		*len = (size_t)n;
	}
	rc = 0;
out:
	X509_free(x);
	OPENSSL_free(buf);
	return rc;
}

/* Serial (decimal text) -> CRL entry. */
static int
crl_entry(const char *dec, int64_t revoked, struct ca_crl_entry *ent)
{
	BIGNUM	*bn = NULL;
	int	 n;

	if (BN_dec2bn(&bn, dec) == 0)
		return -1;
	n = BN_num_bytes(bn);
	if (n < 1 || n > 20) {
		BN_free(bn);
		return -1;
	}
	BN_bn2bin(bn, ent->serial);
	ent->serial_len = (size_t)n;
	ent->revoked = (time_t)revoked;
	BN_free(bn);
	return 0;
}

int
eng_publish_pp(struct ca_eng *e, struct db *db, struct eng_ca *c,
    struct cm_err *err)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	struct ca_crl_entry	*ents = NULL;
	struct ca_crl_spec	 cs;
	struct ca_sigobj_spec	 ss;
	struct ca_mft		 mft;
	struct eng_obj		 o;
	X509_CRL		*crl = NULL;
	EVP_PKEY		*ee = NULL;
	uint8_t			*crlder = NULL, *mftder = NULL;
	const uint8_t		*h;
	size_t			 hl, mftlen = 0;
	int64_t			 now = eng_now(e), next, reissue, rv;
	char			 mfturi[ENG_URI_MAX], crluri[ENG_URI_MAX];
	int			 i, n, crllen, rc = -1;
	uint64_t		 num;

	memset(&mft, 0, sizeof(mft));
	/* A trust anchor's key roll: both publication points in step. */
	if (c->is_ta && eng_ta_sync(e, db, c, err) == -1)
		goto out;
	next = eng_min(now + e->conf.sched.mft_validity, c->not_after);
	snprintf(mfturi, sizeof(mfturi), "%s%s", c->repo, c->mft_name);
	snprintf(crluri, sizeof(crluri), "%s%s", c->repo, c->crl_name);

	/*
	 * Take the numbers from the row, not from c: a nested operation in
	 * the same transaction (a child's re-certification) may have issued
	 * with this key since c was loaded, and numbers never repeat.
	 */
	db_params_init(&p);
	db_param_text(&p, c->key_id);
	if (db_exec(db, "UPDATE ca_key SET next_crl_number = next_crl_number + 1, "
	    "next_mft_number = next_mft_number + 1 WHERE id = $1 "
	    "RETURNING next_crl_number - 1, next_mft_number - 1", &p, &r,
	    err) == -1 ||
	    db_res_int64(r, 0, 0, &c->next_crl, err) == -1 ||
	    db_res_int64(r, 0, 1, &c->next_mft, err) == -1)
		goto out;
	db_res_free(r);
	r = NULL;

	reissue = ca_sched_mft_reissue(&e->conf.sched,
	    ca_sched_seed(c->key_id, strlen(c->key_id), (uint64_t)c->next_mft),
	    now);

	/* The manifest being replaced is revoked on the CRL that follows it. */
	db_params_init(&p);
	db_param_text(&p, mfturi);
	if (db_exec(db, "INSERT INTO revoked_cert (key_id, serial, expires_at) "
	    "SELECT key_id, serial, not_after FROM issued_object WHERE uri = $1 "
	    "AND withdrawn_at IS NULL AND serial IS NOT NULL "
	    "ON CONFLICT DO NOTHING", &p, NULL, err) == -1)
		goto out;

	/* CRL */
	db_params_init(&p);
	db_param_text(&p, c->key_id);
	db_param_int(&p, now);
	if ((n = db_exec(db, "SELECT serial::text, "
	    "extract(epoch FROM revoked_at)::bigint FROM revoked_cert "
	    "WHERE key_id = $1 AND expires_at > to_timestamp($2::bigint) "
	    "ORDER BY serial", &p, &r, err)) == -1)
		goto out;
	if (n > 0 && (ents = calloc((size_t)n, sizeof(*ents))) == NULL) {
		cm_err_set(err, CM_ENOMEM, c->handle, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (db_res_int64(r, i, 1, &rv, err) == -1)
			goto out;
		if (rv > now)
			rv = now;
		if (crl_entry(db_res_text(r, i, 0), rv, &ents[i]) == -1) {
			cm_err_set(err, CM_ESTATE, c->handle, "bad revoked serial");
			goto out;
		}
	}
	db_res_free(r);
	r = NULL;
	memset(&cs, 0, sizeof(cs));
	cs.issuer = c->cert;
	cs.issuer_key = c->key;
	cs.number = (uint64_t)c->next_crl;
	cs.this_update = (time_t)now;
	cs.next_update = (time_t)next;
	cs.entries = ents;
	cs.nentries = (size_t)n;
	if (ca_crl_issue(&cs, &crl, err) == -1)
		goto out;
	if ((crllen = i2d_X509_CRL(crl, &crlder)) <= 0) {
		cm_err_ssl(err, c->handle, "cannot encode the CRL");
		goto out;
	}
	memset(&o, 0, sizeof(o));
	o.kind = "crl";
	o.name = c->crl_name;
	o.der = crlder;
	o.len = (size_t)crllen;
	o.not_before = now;
	o.not_after = next;
	o.reissue_at = reissue;
	o.subject = "crl";
	if (eng_put(db, c, &o, err) == -1)
		goto out;

	/* Manifest: every current file of this key in the publication point. */
	db_params_init(&p);
	db_param_int(&p, c->id);
	db_param_text(&p, c->key_id);
	db_param_text(&p, c->repo);
	if ((n = db_exec(db, "SELECT name, hash FROM issued_object "
	    "WHERE ca_id = $1 AND key_id = $2 AND withdrawn_at IS NULL "
	    "AND kind <> 'mft' AND starts_with(uri, $3) ORDER BY name",
	    &p, &r, err)) == -1)
		goto out;
	if ((mft.files = calloc((size_t)n + 1, sizeof(*mft.files))) == NULL) {
		cm_err_set(err, CM_ENOMEM, c->handle, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		snprintf(mft.files[i].name, sizeof(mft.files[i].name), "%s",
		    db_res_text(r, i, 0));
		if (db_res_bytea(r, i, 1, &h, &hl, err) == -1 || hl != 32)
			goto out;
		memcpy(mft.files[i].hash, h, 32);
	}
	mft.nfiles = (size_t)n;
	/* manifestNumber: big-endian without leading zeros. */
	num = (uint64_t)c->next_mft;
	for (i = 7; i >= 0; i--)
		if ((num >> (8 * i)) & 0xff || mft.numberlen > 0)
			mft.number[mft.numberlen++] = (uint8_t)(num >> (8 * i));
	mft.this_update = (time_t)now;
	mft.next_update = (time_t)next;
	if (eng_sigobj_spec(e, c, mfturi, crluri, now, &ss, &ee, o.serial,
	    err) == -1 ||
	    ca_sigobj_mft(&ss, &mft, &mftder, &mftlen, NULL, err) == -1)
		goto out;
	o.kind = "mft";
	o.name = c->mft_name;
	o.der = mftder;
	o.len = mftlen;
	o.subject = "mft";
	if (eng_put(db, c, &o, err) == -1 ||
	    eng_check_pp(e, db, c, err) == -1)
		goto out;
	rc = 0;
out:
	if (rc == -1)
		cm_err_wrap(err, c->handle);
	db_res_free(r);
	free(ents);
	free(mft.files);
	X509_CRL_free(crl);
	OPENSSL_free(crlder);
	free(mftder);
	EVP_PKEY_free(ee);
	return rc;
}

int
eng_audit(struct db *db, const char *actor, const char *action, int64_t ca_id,
    const char *object, struct cm_err *err)
{
	struct db_params p;

	db_params_init(&p);
	db_param_text(&p, actor != NULL ? actor : "engine");
	db_param_text(&p, action);
	if (ca_id != 0)
		db_param_int(&p, ca_id);
	else
		db_param_text(&p, NULL);
	db_param_text(&p, object != NULL ? object : "");
	return db_exec(db, "INSERT INTO audit_log (actor, action, ca_id, object) "
	    "VALUES ($1, $2, $3, $4)", &p, NULL, err) == -1 ? -1 : 0;
}
