/*
 * Helpers shared by the CA engine and API integration tests (cmocka): the
 * database, key pool and engine of a fixture, CAs and resource sets from
 * text, a count from SQL, the manifest check of every publication point,
 * and a JSON request to an API.  Each fails the running test on an error
 * of its own; include after <cmocka.h>.
 */
#ifndef ENG_TESTUTIL_H
#define ENG_TESTUTIL_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca/engine.h"
#include "ca/mft.h"
#include "ca/resources.h"
#include "common/cm_buf.h"
#include "common/cm_enc.h"
#include "db/db.h"
#include "hsm/hsm_pool.h"
#include "db_testutil.h"

/*
 * An embedded PostgreSQL with the schema (t, *db) and a pool of EE keys
 * (*pool), as in the daemon.  Returns 0, or -1 after printing why.
 */
static inline int
tu_db_start(struct dbt *t, struct db **db, struct hsm_pool **pool)
{
	struct cm_err	err;

	if (dbt_start(t, &err) == -1 ||
	    (*db = db_open(t->dsn, 5, &err)) == NULL ||
	    db_migrate(*db, &err) < 0 ||
	    (*pool = hsm_pool_new(16, 2, &err)) == NULL) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	return 0;
}

/*
 * The engine of conf over db, hsm and pool into *e (clock NULL: the real
 * one).  Returns 0, or -1 after printing why.
 */
static inline int
tu_eng_new(const struct ca_eng_conf *conf, struct db *db, struct hsm *hsm,
    struct hsm_pool *pool, const struct cm_clock *clock, struct ca_eng **e)
{
	struct cm_err	err;

	if ((*e = ca_eng_new(conf, db, hsm, pool, clock, &err)) == NULL) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	return 0;
}

/*
 * Short lives for the schedule tests: EE objects live 10 days (renewed
 * from 2 days before they expire, with up to 2 days of jitter), CA
 * certificates 12.
 */
static inline void
tu_short_lives(struct ca_eng_conf *conf)
{
	conf->sched.ee_validity = 10 * 86400;
	conf->sched.ee_margin = 2 * 86400;
	conf->sched.ee_jitter = 2 * 86400;
	conf->ca_validity = 12 * 86400;
}

/* Frees e and hsm, and what tu_db_start() made. */
static inline void
tu_eng_close(struct ca_eng *e, struct hsm *hsm, struct hsm_pool *pool,
    struct db *db, struct dbt *t)
{
	ca_eng_free(e);
	hsm_pool_free(pool);
	hsm_close(hsm);
	db_close(db);
	dbt_stop(t);
}

/* A resource set of the three RFC 6492 texts ("" for none); caller frees. */
static inline struct ca_res *
tu_res(const char *as, const char *v4, const char *v6)
{
	struct ca_res	*r = ca_res_new();
	struct cm_err	 err;

	assert_int_equal(ca_res_parse(r, CA_RES_AS, as, "as", &err), 0);
	assert_int_equal(ca_res_parse(r, CA_RES_V4, v4, "v4", &err), 0);
	assert_int_equal(ca_res_parse(r, CA_RES_V6, v6, "v6", &err), 0);
	return r;
}

/*
 * Creates CA handle below parent (a trust anchor when parent is NULL) over
 * the resources of the three texts (as tu_res()), by actor "test".
 */
static inline void
tu_ca(struct ca_eng *e, const char *handle, const char *parent,
    const char *as, const char *v4, const char *v6)
{
	struct ca_res	*r = tu_res(as, v4, v6);
	struct cm_err	 err;
	int		 rc;

	rc = parent == NULL ? ca_eng_ta_create(e, handle, r, "test", &err) :
	    ca_eng_ca_create(e, handle, parent, r, "test", &err);
	ca_res_free(r);
	if (rc != 0)
		fail_msg("%s", err.msg);
}

/* The first column of the first row of sql, an integer. */
static inline int64_t
tu_count(struct db *db, const char *sql)
{
	struct db_res	*r = NULL;
	struct cm_err	 err;
	int64_t		 v = -1;

	if (db_exec(db, sql, NULL, &r, &err) == -1)
		fail_msg("%s: %s", sql, err.msg);
	assert_int_equal(db_res_int64(r, 0, 0, &v, &err), 0);
	db_res_free(r);
	return v;
}

/*
 * Every current manifest parses strictly and lists exactly the current
 * files of its key in its publication point (RFC 9286), with their hashes;
 * there are as many as keys_sql counts.
 */
static inline void
tu_check_manifests(struct db *db, const char *keys_sql)
{
	struct db_res		*r = NULL, *files = NULL;
	struct db_params	 p;
	struct cm_err		 err;
	struct ca_mft		*m;
	const uint8_t		*d, *h;
	size_t			 dl, hl, i;
	int			 n, nf, k;
	char			 dir[512];

	n = db_exec(db, "SELECT uri, der, key_id FROM issued_object WHERE "
	    "kind = 'mft' AND withdrawn_at IS NULL", NULL, &r, &err);
	assert_int_equal(n, tu_count(db, keys_sql));
	for (k = 0; k < n; k++) {
		assert_int_equal(db_res_bytea(r, k, 1, &d, &dl, &err), 0);
		if (ca_mft_parse(db_res_text(r, k, 0), d, dl, &m, NULL, &err) != 0)
			fail_msg("%s", err.msg);
		snprintf(dir, sizeof(dir), "%s", db_res_text(r, k, 0));
		*strrchr(dir, '/') = '\0';
		db_params_init(&p);
		db_param_text(&p, dir);
		db_param_text(&p, db_res_text(r, k, 2));
		nf = db_exec(db, "SELECT name, hash FROM issued_object WHERE "
		    "withdrawn_at IS NULL AND kind <> 'mft' AND uri = $1 || '/' "
		    "|| name AND key_id = $2 ORDER BY name", &p, &files, &err);
		assert_int_equal((int)m->nfiles, nf);
		for (i = 0; i < m->nfiles; i++) {
			assert_string_equal(m->files[i].name,
			    db_res_text(files, (int)i, 0));
			assert_int_equal(db_res_bytea(files, (int)i, 1, &h, &hl,
			    &err), 0);
			assert_memory_equal(m->files[i].hash, h, 32);
		}
		db_res_free(files);
		ca_mft_free(m);
	}
	db_res_free(r);
}

/* A PKCS#10 request for a new P-256 router key, base64 of the DER (freed). */
static inline char *
tu_router_csr(void)
{
	EVP_PKEY			*key = EVP_EC_gen("P-256");
	X509_REQ			*req = X509_REQ_new();
	STACK_OF(X509_EXTENSION)	*exts = sk_X509_EXTENSION_new_null();
	X509V3_CTX			 ctx;
	struct cm_buf			 b = CM_BUF_INIT;
	uint8_t				*der = NULL;
	int				 n;

	X509_REQ_set_version(req, X509_REQ_VERSION_1);
	X509_REQ_set_pubkey(req, key);
	X509V3_set_ctx(&ctx, NULL, NULL, req, NULL, 0);
	sk_X509_EXTENSION_push(exts, X509V3_EXT_conf_nid(NULL, &ctx,
	    NID_ext_key_usage, "1.3.6.1.5.5.7.3.30"));
	X509_REQ_add_extensions(req, exts);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	assert_true(X509_REQ_sign(req, key, EVP_sha256()) > 0);
	n = i2d_X509_REQ(req, &der);
	assert_true(n > 0);
	assert_int_equal(cm_b64_encode(der, (size_t)n, &b), 0);
	assert_int_equal(cm_buf_add(&b, "", 1), 0);
	OPENSSL_free(der);
	X509_REQ_free(req);
	EVP_PKEY_free(key);
	return (char *)cm_buf_steal(&b, NULL);
}

#ifdef API_CLIENT_H
/*
 * Sends a request to the API at url; returns the status, and the body
 * parsed into *out when out is not NULL (NULL for an empty 204).
 */
static inline int
tu_req(const char *url, const char *token, const char *method,
    const char *path, const char *body, json_t **out)
{
	struct api_http_resp	r;
	struct cm_err		err;
	int			st;

	if (api_http_request(url, method, path, token, NULL, body, 20000, &r,
	    &err) == -1)
		fail_msg("%s %s: %s", method, path, err.msg);
	st = r.status;
	if (out != NULL) {
		*out = json_loads(r.body, 0, NULL);
		if (*out == NULL && st != 204)
			fail_msg("%s %s: %d, not JSON: %s", method, path, st,
			    r.body);
	}
	api_http_resp_free(&r);
	return st;
}
#endif

#endif
