/*
 * Integration tests of the CA engine on an embedded PostgreSQL: hosted CA
 * hierarchy, ROA/ASPA changes, resource shrink, the re-issue schedule.  The
 * repository the engine produces is also written out (CAIRN_ENGINE_REPO_OUT)
 * for the relying-party test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca/cert.h"
#include "ca/engine.h"
#include "ca/engine_int.h"	/* the internal validator, white-box */
#include "ca/bpki.h"
#include "ca/cms_msg.h"
#include "ca/crl.h"
#include "ca/csr.h"
#include "ca/mft.h"
#include "ca/roa.h"
#include "common/cm_enc.h"
#include "common/cm_file.h"
#include "db_testutil.h"
#include "eng_testutil.h"

#define BASE	"rsync://127.0.0.1:8873/repo/"

struct fx {
	struct dbt		 t;
	struct db		*db;
	struct hsm		*hsm;
	struct hsm_pool		*pool;
	struct ca_eng		*e;
	struct cm_clock		 clock;
	struct ca_eng_conf	 conf;
};

static int64_t
count(struct fx *f, const char *sql)
{
	return tu_count(f->db, sql);
}

static struct ca_plan_roa_cfg
roa(uint32_t asn, const char *pfx)
{
	struct ca_plan_roa_cfg	c;
	struct cm_err		err;

	memset(&c, 0, sizeof(c));
	c.asn = asn;
	assert_int_equal(ca_roa_prefix_parse(pfx, &c.prefix, &err), 0);
	return c;
}

static void
ok(int rc, const struct cm_err *err)
{
	if (rc != 0)
		fail_msg("%s", err->msg);
}

static int
setup(void **state)
{
	struct fx	*f = calloc(1, sizeof(*f));

	if (tu_db_start(&f->t, &f->db, &f->pool) == -1)
		return -1;
	f->hsm = hsm_open_mem();
	cm_clock_set(&f->clock, 1800000000);	/* 2027-01-15 */
	ca_eng_conf_defaults(&f->conf);
	f->conf.rsync_base = BASE;
	/*
	 * Short lives, so that a few simulated weeks renew every kind of
	 * object at least once: EE objects live 10 days, CA certificates 12.
	 */
	tu_short_lives(&f->conf);
	if (tu_eng_new(&f->conf, f->db, f->hsm, f->pool, &f->clock,
	    &f->e) == -1)
		return -1;
	tu_ca(f->e, "ta", NULL, "0-4294967295", "0.0.0.0/0", "::/0");
	tu_ca(f->e, "rir", "ta", "64496-64511", "10.0.0.0/8,192.0.2.0/24",
	    "2001:db8::/32");
	tu_ca(f->e, "m1", "rir", "64496", "10.1.0.0/16", "2001:db8:1::/48");
	tu_ca(f->e, "m2", "rir", "64500-64501", "10.2.0.0/16,192.0.2.0/24", "");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	tu_eng_close(f->e, f->hsm, f->pool, f->db, &f->t);
	free(f);
	return 0;
}

/*
 * Checks every current manifest: it parses strictly and lists exactly the
 * current files of its publication point, with their hashes.
 */
static void
check_manifests(struct fx *f)
{
	/* One manifest per live key (two during a key roll). */
	tu_check_manifests(f->db, "SELECT count(*) FROM ca_key WHERE state "
	    "<> 'revoked'");
}

/*
 * Manifest and CRL numbers of each key, in issue order, strictly increase
 * (RFC 9286 §4.2.1, RFC 9829) across everything ever issued.
 */
static void
check_numbers(struct fx *f)
{
	struct db_res	*r = NULL;
	struct cm_err	 err;
	const uint8_t	*d;
	size_t		 dl, j;
	int		 n, k;
	char		 last_key[2][64] = { "", "" };
	uint64_t	 last[2] = { 0, 0 }, num;

	n = db_exec(f->db, "SELECT key_id, kind, der FROM issued_object WHERE "
	    "kind IN ('mft', 'crl') ORDER BY kind, key_id, id", NULL, &r, &err);
	assert_true(n > 8);
	for (k = 0; k < n; k++) {
		int crl = strcmp(db_res_text(r, k, 1), "crl") == 0;

		assert_int_equal(db_res_bytea(r, k, 2, &d, &dl, &err), 0);
		if (crl) {
			struct ca_crl *c;

			if (ca_crl_parse("crl", d, dl, &c, &err) != 0)
				fail_msg("%s", err.msg);
			num = c->number;
			ca_crl_free(c);
		} else {
			struct ca_mft *m;

			if (ca_mft_parse("mft", d, dl, &m, NULL, &err) != 0)
				fail_msg("%s", err.msg);
			for (num = 0, j = 0; j < m->numberlen; j++)
				num = num << 8 | m->number[j];
			ca_mft_free(m);
		}
		if (strcmp(last_key[crl], db_res_text(r, k, 0)) == 0)
			assert_true(num > last[crl]);
		snprintf(last_key[crl], sizeof(last_key[crl]), "%s",
		    db_res_text(r, k, 0));
		last[crl] = num;
	}
	db_res_free(r);
}

static void
test_hierarchy(void **state)
{
	struct fx	*f = *state;
	struct cm_err	 err;
	char		*tal = NULL;

	/* TA cert, 4 x (CRL + MFT), 3 child certs. */
	assert_int_equal(count(f, "SELECT count(*) FROM issued_object WHERE "
	    "withdrawn_at IS NULL"), 1 + 8 + 3);
	assert_int_equal(count(f, "SELECT count(*) FROM publisher"), 5);
	check_manifests(f);
	ok(ca_eng_tal(f->e, "ta", &tal, &err), &err);
	assert_non_null(strstr(tal, BASE "ta-ta/ta.cer\n"));
	free(tal);
	assert_int_equal(ca_eng_tal(f->e, "rir", &tal, &err), -1);
	assert_int_equal(err.code, CM_ENOTFOUND);

	/* Beyond the parent's resources; a taken handle; a bad handle. */
	{
		struct ca_res *r = tu_res("64496", "11.0.0.0/8", "");

		assert_int_equal(ca_eng_ca_create(f->e, "m3", "rir", r, "t",
		    &err), -1);
		assert_int_equal(err.code, CM_EINVAL);
		assert_non_null(strstr(err.msg, "not within those of the parent"));
		ca_res_free(r);
		r = tu_res("64496", "10.1.0.0/16", "");
		assert_int_equal(ca_eng_ca_create(f->e, "m1", "rir", r, "t",
		    &err), -1);
		assert_int_equal(err.code, CM_EEXIST);
		assert_int_equal(ca_eng_ca_create(f->e, "../x", "rir", r, "t",
		    &err), -1);
		assert_int_equal(err.code, CM_EINVAL);
		ca_res_free(r);
	}
	assert_int_equal(count(f, "SELECT count(*) FROM ca"), 4);
	check_numbers(f);
}

static void
test_roas_aspas(void **state)
{
	struct fx		*f = *state;
	struct cm_err		 err;
	struct ca_plan_roa_cfg	 add[] = {
		roa(64496, "10.1.0.0/16-24"), roa(64496, "2001:db8:1::/48"),
		roa(64497, "10.1.128.0/17"),
	};
	struct ca_plan_roa_cfg	 bad[] = { roa(64496, "10.3.0.0/16") };
	uint32_t		 prov[] = { 64501, 64500 };
	struct ca_plan_aspa_cfg	 aspa = { 64496, prov, 2 };
	int64_t			 changes;

	ok(ca_eng_roa_update(f->e, "m1", add, 3, NULL, 0, "test", &err), &err);
	/* Two origin ASes: two ROAs (one per AS). */
	assert_int_equal(count(f, "SELECT count(*) FROM issued_object WHERE "
	    "kind = 'roa' AND withdrawn_at IS NULL"), 2);
	assert_int_equal(ca_eng_aspa_set(f->e, "m1", &aspa, "test", &err), 1);
	/* The same providers again: nothing changes, nothing is signed. */
	changes = count(f, "SELECT count(*) FROM pub_change");
	assert_int_equal(ca_eng_aspa_set(f->e, "m1", &aspa, "test", &err), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM pub_change"), changes);
	assert_int_equal(count(f, "SELECT count(*) FROM issued_object WHERE "
	    "kind = 'asa' AND withdrawn_at IS NULL"), 1);
	check_manifests(f);

	/* All or nothing: one bad configuration, no change at all. */
	changes = count(f, "SELECT count(*) FROM pub_change");
	{
		struct ca_plan_roa_cfg mixed[] = { roa(64496, "10.1.1.0/24"),
		    bad[0] };

		assert_int_equal(ca_eng_roa_update(f->e, "m1", mixed, 2, NULL, 0,
		    "test", &err), -1);
		assert_int_equal(err.code, CM_EINVAL);
		assert_non_null(strstr(err.msg, "10.3.0.0/16"));
	}
	assert_int_equal(ca_eng_roa_update(f->e, "m1", add, 1, NULL, 0, "t",
	    &err), -1);
	assert_int_equal(err.code, CM_EEXIST);
	assert_int_equal(ca_eng_roa_update(f->e, "m1", NULL, 0, bad, 1, "t",
	    &err), -1);
	assert_int_equal(err.code, CM_ENOTFOUND);
	assert_int_equal(ca_eng_roa_update(f->e, "nope", add, 1, NULL, 0, "t",
	    &err), -1);
	assert_int_equal(err.code, CM_ENOTFOUND);
	assert_int_equal(count(f, "SELECT count(*) FROM pub_change"), changes);
	assert_int_equal(count(f, "SELECT count(*) FROM roa_config"), 3);

	/* Removing the only prefix of AS64497 withdraws its ROA. */
	ok(ca_eng_roa_update(f->e, "m1", NULL, 0, &add[2], 1, "test", &err),
	    &err);
	assert_int_equal(count(f, "SELECT count(*) FROM issued_object WHERE "
	    "kind = 'roa' AND withdrawn_at IS NULL"), 1);
	assert_int_equal(count(f, "SELECT count(*) FROM pub_change WHERE op = "
	    "'withdraw' AND uri LIKE '%.roa'"), 1);
	/* Its EE certificate is on the new CRL. */
	assert_true(count(f, "SELECT count(*) FROM revoked_cert") >= 1);
	assert_true(count(f, "SELECT count(*) FROM audit_log WHERE action = "
	    "'roa.remove' AND actor = 'test'") == 1);
	check_manifests(f);
}

/* A PKCS#10 request for a new P-256 router key, DER (OPENSSL_free it). */
static uint8_t *
router_csr(size_t *len, EVP_PKEY **keyp)
{
	EVP_PKEY			*key = EVP_EC_gen("P-256");
	X509_REQ			*req = X509_REQ_new();
	STACK_OF(X509_EXTENSION)	*exts = sk_X509_EXTENSION_new_null();
	X509V3_CTX			 ctx;
	uint8_t				*der = NULL;
	int				 n;

	assert_non_null(key);
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
	*len = (size_t)n;
	X509_REQ_free(req);
	*keyp = key;
	return der;
}

static void
test_router(void **state)
{
	struct fx	*f = *state;
	struct cm_err	 err;
	struct db_res	*r = NULL;
	struct ca_cert	*c;
	EVP_PKEY	*key;
	uint8_t		*csr;
	const uint8_t	*d;
	size_t		 len, dl;
	uint32_t	 asn = 64496, other = 65000;
	char		 id[HSM_KEY_ID_LEN + 1];

	csr = router_csr(&len, &key);
	assert_int_equal(hsm_pubkey_id(key, id, &err), 0);
	assert_int_equal(ca_eng_router_add(f->e, "m1", csr, len, &other, 1, "t",
	    &err), -1);
	assert_int_equal(err.code, CM_EINVAL);
	assert_non_null(strstr(err.msg, "AS65000 is not within"));
	if (ca_eng_router_add(f->e, "m1", csr, len, &asn, 1, "t", &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(ca_eng_router_add(f->e, "m1", csr, len, &asn, 1, "t",
	    &err), -1);
	assert_int_equal(err.code, CM_EEXIST);
	/* A CA request is not a router request. */
	assert_int_equal(ca_eng_router_add(f->e, "m1", csr, len - 1, &asn, 1,
	    "t", &err), -1);
	assert_int_equal(db_exec(f->db, "SELECT der FROM issued_object WHERE "
	    "subject LIKE 'router %' AND withdrawn_at IS NULL", NULL, &r, &err),
	    1);
	assert_int_equal(db_res_bytea(r, 0, 0, &d, &dl, &err), 0);
	if (ca_cert_parse("router.cer", d, dl, &c, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(c->kind, CA_CERT_ROUTER);
	assert_true(ca_res_has_as(c->res, 64496));
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(c->x509), key), 1);
	ca_cert_free(c);
	db_res_free(r);
	check_manifests(f);
	assert_int_equal(ca_eng_router_remove(f->e, "m1", id, "t", &err), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM issued_object WHERE "
	    "subject LIKE 'router %' AND withdrawn_at IS NULL"), 0);
	assert_int_equal(ca_eng_router_remove(f->e, "m1", id, "t", &err), -1);
	assert_int_equal(err.code, CM_ENOTFOUND);
	/* Certified again, to be renewed by the schedule test. */
	assert_int_equal(ca_eng_router_add(f->e, "m1", csr, len, &asn, 1, "t",
	    &err), 0);
	OPENSSL_free(csr);
	EVP_PKEY_free(key);
}

static const char *
ipv4_of(struct fx *f, const char *handle, char *buf, size_t len)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	struct cm_err		 err;

	db_params_init(&p);
	db_param_text(&p, handle);
	assert_int_equal(db_exec(f->db, "SELECT r.ipv4 FROM ca_resources r JOIN "
	    "ca c ON c.id = r.ca_id WHERE c.handle = $1", &p, &r, &err), 1);
	snprintf(buf, len, "%s", db_res_text(r, 0, 0));
	db_res_free(r);
	return buf;
}

static void
test_transfer(void **state)
{
	struct fx		*f = *state;
	struct cm_err		 err;
	struct ca_plan_roa_cfg	 c = roa(64500, "10.2.128.0/17-24");
	struct ca_res		*r;
	char			 buf[256], sql[256];
	int64_t			 before;

	ok(ca_eng_roa_update(f->e, "m2", &c, 1, NULL, 0, "t", &err), &err);
	assert_int_equal(count(f, "SELECT count(*) FROM issued_object o JOIN ca "
	    "x ON x.id = o.ca_id WHERE x.handle = 'm2' AND o.subject = "
	    "'roa AS64500' AND o.withdrawn_at IS NULL"), 1);

	/* Between members of one RIR: m2 -> m1, with the ROA configuration. */
	before = count(f, "SELECT coalesce(max(id), 0) FROM pub_change");
	r = tu_res("", "10.2.128.0/17", "");
	ok(ca_eng_transfer(f->e, "m2", "m1", r, "t", &err), &err);
	ca_res_free(r);
	assert_string_equal(ipv4_of(f, "m1", buf, sizeof(buf)),
	    "10.1.0.0/16,10.2.128.0/17");
	assert_string_equal(ipv4_of(f, "m2", buf, sizeof(buf)),
	    "10.2.0.0/17,192.0.2.0/24");
	assert_int_equal(count(f, "SELECT count(*) FROM roa_config r JOIN ca x "
	    "ON x.id = r.ca_id WHERE x.handle = 'm1' AND r.asn = 64500"), 1);
	assert_int_equal(count(f, "SELECT count(*) FROM issued_object o JOIN ca "
	    "x ON x.id = o.ca_id WHERE x.handle = 'm2' AND o.subject = "
	    "'roa AS64500' AND o.withdrawn_at IS NULL"), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM issued_object o JOIN ca "
	    "x ON x.id = o.ca_id WHERE x.handle = 'm1' AND o.subject = "
	    "'roa AS64500' AND o.withdrawn_at IS NULL"), 1);
	/* Make and break in one transaction: one publication batch. */
	snprintf(sql, sizeof(sql), "SELECT count(DISTINCT xmin::text) FROM "
	    "pub_change WHERE id > %lld", (long long)before);
	assert_int_equal(count(f, sql), 1);
	check_manifests(f);

	/* Between RIRs: a second RIR under the TA receives 192.0.2.0/25. */
	r = tu_res("65000", "172.16.0.0/12", "");
	ok(ca_eng_ca_create(f->e, "rir2", "ta", r, "t", &err), &err);
	ca_res_free(r);
	r = tu_res("", "192.0.2.0/25", "");
	ok(ca_eng_transfer(f->e, "m2", "rir2", r, "t", &err), &err);
	assert_string_equal(ipv4_of(f, "rir2", buf, sizeof(buf)),
	    "172.16.0.0/12,192.0.2.0/25");
	assert_string_equal(ipv4_of(f, "rir", buf, sizeof(buf)),
	    "10.0.0.0/8,192.0.2.128/25");
	assert_string_equal(ipv4_of(f, "m2", buf, sizeof(buf)),
	    "10.2.0.0/17,192.0.2.128/25");
	/* Refusals: not held any more, one line of descent, unknown CA. */
	assert_int_equal(ca_eng_transfer(f->e, "m2", "m1", r, "t", &err), -1);
	assert_int_equal(err.code, CM_EINVAL);
	assert_non_null(strstr(err.msg, "does not hold"));
	ca_res_free(r);
	r = tu_res("", "10.1.0.0/24", "");
	assert_int_equal(ca_eng_transfer(f->e, "m1", "rir", r, "t", &err), -1);
	assert_non_null(strstr(err.msg, "one line of descent"));
	assert_int_equal(ca_eng_transfer(f->e, "m1", "nope", r, "t", &err), -1);
	assert_int_equal(err.code, CM_ENOTFOUND);
	ca_res_free(r);
	check_manifests(f);
}

static void
key_ids(struct fx *f, const char *handle, char *active, char *other)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	struct cm_err		 err;
	int			 i, n;

	active[0] = other[0] = '\0';
	db_params_init(&p);
	db_param_text(&p, handle);
	n = db_exec(f->db, "SELECT k.id, k.state FROM ca_key k JOIN ca c ON "
	    "c.id = k.ca_id WHERE c.handle = $1 AND k.state <> 'revoked'", &p, &r,
	    &err);
	for (i = 0; i < n; i++)
		strcpy(strcmp(db_res_text(r, i, 1), "active") == 0 ? active : other,
		    db_res_text(r, i, 0));
	db_res_free(r);
}

static void
test_keyroll(void **state)
{
	struct fx	*f = *state;
	struct cm_err	 err;
	struct hsm_key	*k = NULL;
	char		 a1[64], o1[64], a2[64], o2[64], sql[512];
	int64_t		 objs;

	key_ids(f, "m1", a1, o1);
	assert_string_equal(o1, "");
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM issued_object WHERE "
	    "key_id = '%s' AND withdrawn_at IS NULL AND kind IN ('roa', 'asa', "
	    "'cer')", a1);
	objs = count(f, sql);
	assert_true(objs >= 3);		/* ROAs, the ASPA, the router cert */

	ok(ca_eng_keyroll_start(f->e, "m1", "t", &err), &err);
	key_ids(f, "m1", a2, o2);
	assert_string_equal(a2, a1);	/* still the old key */
	assert_true(o2[0] != '\0');
	assert_int_equal(ca_eng_keyroll_start(f->e, "m1", "t", &err), -1);
	assert_int_equal(err.code, CM_EEXIST);
	check_manifests(f);		/* the pending key has its own pair */
	assert_int_equal(ca_eng_keyroll_activate(f->e, "m1", 0, "t", &err), -1);
	assert_int_equal(err.code, CM_ESTATE);
	assert_non_null(strstr(err.msg, "staging period"));

	cm_clock_advance(&f->clock, 25 * 3600);
	ok(ca_eng_keyroll_activate(f->e, "m1", 0, "t", &err), &err);
	key_ids(f, "m1", a2, o2);
	assert_string_equal(o2, a1);	/* old */
	/* The new key re-signed everything, at the same URIs. */
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM issued_object WHERE "
	    "key_id = '%s' AND withdrawn_at IS NULL AND kind IN ('roa', 'asa', "
	    "'cer')", a2);
	assert_int_equal(count(f, sql), objs);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM issued_object WHERE "
	    "key_id = '%s' AND withdrawn_at IS NULL AND kind IN ('roa', 'asa', "
	    "'cer')", a1);
	assert_int_equal(count(f, sql), 0);
	check_manifests(f);

	ok(ca_eng_keyroll_finish(f->e, "m1", "t", &err), &err);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM issued_object WHERE "
	    "(key_id = '%s' OR subject = 'cer m1' AND der IS NOT NULL AND uri "
	    "LIKE '%%%.16s.cer') AND withdrawn_at IS NULL", a1, a1);
	assert_int_equal(count(f, sql), 0);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM ca_key WHERE id = '%s' "
	    "AND state = 'revoked'", a1);
	assert_int_equal(count(f, sql), 1);
	assert_int_equal(hsm_key_find(f->hsm, a1, &k, &err), -1);
	assert_int_equal(ca_eng_keyroll_finish(f->e, "m1", "t", &err), -1);
	assert_int_equal(err.code, CM_ESTATE);
	check_manifests(f);

	/* A parent's roll re-certifies its children under the new key. */
	ok(ca_eng_keyroll_start(f->e, "rir", "t", &err), &err);
	ok(ca_eng_keyroll_activate(f->e, "rir", 1, "t", &err), &err);
	ok(ca_eng_keyroll_finish(f->e, "rir", "t", &err), &err);
	key_ids(f, "rir", a2, o2);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM issued_object o JOIN ca c "
	    "ON c.id = o.ca_id WHERE c.handle = 'rir' AND o.kind = 'cer' AND "
	    "o.withdrawn_at IS NULL AND o.key_id <> '%s'", a2);
	assert_int_equal(count(f, sql), 0);
	assert_int_equal(ca_eng_keyroll_start(f->e, "ta", "t", &err), -1);
	assert_int_equal(err.code, CM_ESTATE);
	check_manifests(f);
	check_numbers(f);
}

/* Tampers with m1's stored objects in a transaction, runs the validator. */
struct tamper {
	struct fx	*f;
	const char	*sql;
};

static int
tamper_tx(struct db *db, void *arg, struct cm_err *err)
{
	struct tamper		*t = arg;
	struct eng_ca		 c;
	struct db_params	 p;
	int			 rc;

	if (eng_load_ca(t->f->e, db, "m1", &c, err) == -1)
		return -1;
	db_params_init(&p);
	db_param_text(&p, c.key_id);
	if (db_exec(db, t->sql, &p, NULL, err) < 1) {
		eng_ctx_clear(&c);
		return cm_err_set(err, CM_EINVAL, "test", "tampering changed "
		    "nothing");
	}
	rc = eng_check_pp(t->f->e, db, &c, err);
	eng_ctx_clear(&c);
	/* Never commit the tampering. */
	return rc == 0 ? cm_err_set(err, CM_EINVAL, "test", "the validator "
	    "accepted it") : -1;
}

static void
test_validator(void **state)
{
	struct fx	*f = *state;
	struct cm_err	 err;
	struct tamper	 t = { f, NULL };

	/* A file whose hash no longer matches the manifest. */
	t.sql = "WITH m AS (UPDATE issued_object SET issued_at = now() WHERE "
	    "key_id = $1 AND kind = 'mft' AND withdrawn_at IS NULL RETURNING 1) "
	    "UPDATE issued_object SET hash = sha256('x'::bytea) WHERE key_id = "
	    "$1 AND kind = 'crl' AND withdrawn_at IS NULL";
	assert_int_equal(db_tx(f->db, NULL, tamper_tx, &t, &err), -1);
	assert_int_equal(err.code, CM_ESTATE);
	assert_non_null(strstr(err.msg, "manifest entry does not match"));
	/*
	 * A certificate signed by another CA's key (rir's certificate of m2) in
	 * place of m1's router certificate, as if this transaction wrote it.
	 */
	t.sql = "UPDATE issued_object SET issued_at = now(), der = (SELECT der "
	    "FROM issued_object WHERE subject = 'cer m2' AND withdrawn_at IS "
	    "NULL LIMIT 1) WHERE key_id = $1 AND subject LIKE 'router %' AND "
	    "withdrawn_at IS NULL";
	assert_int_equal(db_tx(f->db, NULL, tamper_tx, &t, &err), -1);
	assert_int_equal(err.code, CM_ESTATE);
	assert_non_null(strstr(err.msg, "not signed by the CA's key"));
	/* Nothing of it was committed: the publication points still check. */
	check_manifests(f);
}

static struct ca_ud_msg *
ud(struct fx *f, struct ca_ud_msg *q, int want_type, int want_status)
{
	struct ca_ud_msg	*r = NULL;
	struct cm_err		 err;

	if (ca_eng_updown(f->e, "m2", q, &r, &err) != 0)
		fail_msg("%s", err.msg);
	if ((int)r->type != want_type || r->status != want_status)
		fail_msg("got %s status %d (%s), want type %d status %d",
		    ca_ud_type_name(r->type), r->status,
		    r->description ? r->description : "", want_type, want_status);
	return r;
}

static void
test_updown(void **state)
{
	struct fx		*f = *state;
	struct cm_err		 err;
	struct ca_res		*ent;
	struct ca_ud_msg	 q, *r;
	struct hsm_key		*ck, *used;
	struct ca_cert		*cert;
	uint8_t			*csr, *bad;
	size_t			 len;
	char			 v4[64];

	ent = tu_res("64501", "10.2.0.0/18", "");
	ok(ca_eng_child_add(f->e, "m2", "krill1", ent, (const uint8_t *)"x", 1,
	    "t", &err), &err);
	assert_int_equal(ca_eng_child_add(f->e, "m2", "krill1", ent,
	    (const uint8_t *)"x", 1, "t", &err), -1);
	assert_int_equal(err.code, CM_EEXIST);
	ca_res_free(ent);
	ent = tu_res("", "11.0.0.0/8", "");
	assert_int_equal(ca_eng_child_add(f->e, "m2", "greedy", ent,
	    (const uint8_t *)"x", 1, "t", &err), -1);
	assert_int_equal(err.code, CM_EINVAL);
	ca_res_free(ent);

	memset(&q, 0, sizeof(q));
	q.sender = "krill1";
	q.recipient = "m2";
	q.type = CA_UD_LIST;
	r = ud(f, &q, CA_UD_LIST_RESPONSE, 0);
	assert_int_equal(r->nclasses, 1);
	assert_string_equal(r->classes[0].class_name, "default");
	assert_string_equal(r->classes[0].res_v4, "10.2.0.0/18");
	assert_string_equal(r->classes[0].res_as, "64501");
	assert_int_equal(r->classes[0].ncerts, 0);
	assert_true(r->classes[0].issuer_len > 0);
	ca_ud_free(r);

	/* issue: the child's key gets a certificate over its entitlement. */
	assert_int_equal(hsm_key_create(f->hsm, "krill1", &ck, &err), 0);
	assert_int_equal(ca_csr_make(ck, "rsync://krill.example/repo/k1/",
	    "rsync://krill.example/repo/k1/k1.mft", NULL, &csr, &len, &err), 0);
	q.type = CA_UD_ISSUE;
	q.class_name = "default";
	q.pkcs10 = csr;
	q.pkcs10_len = len;
	r = ud(f, &q, CA_UD_ISSUE_RESPONSE, 0);
	assert_int_equal(r->classes[0].ncerts, 1);
	assert_int_equal(ca_cert_parse("k1.cer", r->classes[0].certs[0].der,
	    r->classes[0].certs[0].der_len, &cert, &err), 0);
	assert_int_equal(cert->kind, CA_CERT_CA);
	assert_string_equal(cert->sia_repo, "rsync://krill.example/repo/k1/");
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(cert->x509),
	    hsm_key_pubkey(ck)), 1);
	{
		char *t = NULL;

		assert_int_equal(ca_res_print(cert->res, CA_RES_V4, &t, &err), 0);
		assert_string_equal(t, "10.2.0.0/18");
		free(t);
	}
	ca_cert_free(cert);
	ca_ud_free(r);
	check_manifests(f);

	/* Narrowed by the request: the certificate shrinks (same key). */
	q.req_v4 = "10.2.0.0/19";
	r = ud(f, &q, CA_UD_ISSUE_RESPONSE, 0);
	assert_int_equal(ca_cert_parse("k1.cer", r->classes[0].certs[0].der,
	    r->classes[0].certs[0].der_len, &cert, &err), 0);
	{
		char *t = NULL;

		assert_int_equal(ca_res_print(cert->res, CA_RES_V4, &t, &err), 0);
		snprintf(v4, sizeof(v4), "%s", t);
		free(t);
	}
	assert_string_equal(v4, "10.2.0.0/19");
	ca_cert_free(cert);
	ca_ud_free(r);

	/* Refusals with their RFC 6492 codes. */
	q.req_as = "";
	q.req_v4 = "172.16.0.0/12";
	q.req_v6 = "";
	ca_ud_free(ud(f, &q, CA_UD_ERROR_RESPONSE, CA_UD_E_NO_RESOURCES));
	q.req_as = q.req_v4 = q.req_v6 = NULL;
	q.class_name = "other";
	ca_ud_free(ud(f, &q, CA_UD_ERROR_RESPONSE, CA_UD_E_NO_CLASS));
	q.class_name = "default";
	bad = malloc(len);
	memcpy(bad, csr, len);
	bad[len - 3] ^= 1;
	q.pkcs10 = bad;
	ca_ud_free(ud(f, &q, CA_UD_ERROR_RESPONSE, CA_UD_E_BAD_CSR));
	free(bad);
	{
		/* A key that is one of our CAs' own keys. */
		struct db_res	*rr = NULL;
		uint8_t		*c2;
		size_t		 l2;

		assert_int_equal(db_exec(f->db, "SELECT k.id FROM ca_key k JOIN ca c "
		    "ON c.id = k.ca_id WHERE c.handle = 'm1' AND k.state = 'active'",
		    NULL, &rr, &err), 1);
		assert_int_equal(hsm_key_find(f->hsm, db_res_text(rr, 0, 0), &used,
		    &err), 0);
		db_res_free(rr);
		assert_int_equal(ca_csr_make(used, "rsync://x.example/r/",
		    "rsync://x.example/r/a.mft", NULL, &c2, &l2, &err), 0);
		q.pkcs10 = c2;
		q.pkcs10_len = l2;
		ca_ud_free(ud(f, &q, CA_UD_ERROR_RESPONSE, CA_UD_E_KEY_USED));
		free(c2);
		hsm_key_free(used);
	}

	/* revoke, then again: no such key. */
	memset(&q, 0, sizeof(q));
	q.sender = "krill1";
	q.recipient = "m2";
	q.type = CA_UD_REVOKE;
	q.class_name = "default";
	assert_int_equal(cm_hex_decode(hsm_key_id(ck), q.ski, 20), 0);
	r = ud(f, &q, CA_UD_REVOKE_RESPONSE, 0);
	assert_memory_equal(r->ski, q.ski, 20);
	ca_ud_free(r);
	ca_ud_free(ud(f, &q, CA_UD_ERROR_RESPONSE, CA_UD_E_REVOKE_NO_KEY));
	q.sender = "stranger";
	ca_ud_free(ud(f, &q, CA_UD_ERROR_RESPONSE, CA_UD_E_NO_CLASS));
	q.recipient = "m1";
	assert_int_equal(ca_eng_updown(f->e, "m2", &q, &r, &err), -1);
	assert_int_equal(err.code, CM_EPERM);
	free(csr);
	hsm_key_free(ck);
	check_manifests(f);
}

/* RFC 6492 over CMS with BPKI identities, both ways. */
static void
test_updown_cms(void **state)
{
	struct fx		*f = *state;
	struct cm_err		 err;
	struct hsm_key		*ck, *xk;
	X509			*cta, *xta, *pta;
	EVP_PKEY		*ee = EVP_RSA_gen(2048);
	struct ca_res		*ent = tu_res("", "10.2.64.0/18", "");
	struct ca_ud_msg	 q, *r = NULL;
	struct ca_ud_error	 ue;
	struct ca_cms_msg	 m;
	struct cm_buf		 xml = CM_BUF_INIT;
	uint8_t			*der = NULL, *tader = NULL, *out = NULL, *cder = NULL;
	const uint8_t		*tp;
	size_t			 len, talen, outlen;
	int			 n;

	assert_int_equal(hsm_key_create(f->hsm, "krill2 bpki", &ck, &err), 0);
	assert_int_equal(hsm_key_create(f->hsm, "intruder", &xk, &err), 0);
	assert_int_equal(ca_bpki_ta(ck, "krill2", (time_t)cm_clock_now(&f->clock),
	    10, &cta, &err), 0);
	assert_int_equal(ca_bpki_ta(xk, "krill2", (time_t)cm_clock_now(&f->clock),
	    10, &xta, &err), 0);
	assert_true((n = i2d_X509(cta, &cder)) > 0);
	ok(ca_eng_child_add(f->e, "m2", "krill2", ent, cder, (size_t)n, "t",
	    &err), &err);

	memset(&q, 0, sizeof(q));
	q.type = CA_UD_LIST;
	q.sender = "krill2";
	q.recipient = "m2";
	assert_int_equal(ca_ud_write(&q, &xml, &err), 0);
	assert_int_equal(ca_bpki_sign(cta, ck, ee, xml.data, xml.len,
	    (time_t)cm_clock_now(&f->clock), &der, &len, &err), 0);
	if (ca_eng_updown_cms(f->e, "m2", der, len, &out, &outlen, &err) != 0)
		fail_msg("%s", err.msg);
	/* The child checks the reply against the parent's BPKI identity. */
	ok(ca_eng_bpki(f->e, "m2", &tader, &talen, NULL, &err), &err);
	tp = tader;
	assert_non_null(pta = d2i_X509(NULL, &tp, (long)talen));
	if (ca_cms_msg_verify("m2", out, outlen, pta,
	    (time_t)cm_clock_now(&f->clock), &m, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(ca_ud_parse("m2", m.xml, m.xml_len, &r, &ue), 0);
	assert_int_equal(r->type, CA_UD_LIST_RESPONSE);
	assert_string_equal(r->classes[0].res_v4, "10.2.64.0/18");
	ca_ud_free(r);
	ca_cms_msg_free(&m);
	free(out);
	/* The same message again is a replay. */
	assert_int_equal(ca_eng_updown_cms(f->e, "m2", der, len, &out, &outlen,
	    &err), -1);
	assert_int_equal(err.code, CM_EPERM);
	assert_non_null(strstr(err.msg, "replayed"));
	free(der);
	/* A newer one is accepted. */
	assert_int_equal(ca_bpki_sign(cta, ck, ee, xml.data, xml.len,
	    (time_t)cm_clock_now(&f->clock) + 1, &der, &len, &err), 0);
	if (ca_eng_updown_cms(f->e, "m2", der, len, &out, &outlen, &err) != 0)
		fail_msg("%s", err.msg);
	free(out);
	free(der);

	/* Signed by someone else in krill2's name: refused. */
	assert_int_equal(ca_bpki_sign(xta, xk, ee, xml.data, xml.len,
	    (time_t)cm_clock_now(&f->clock), &der, &len, &err), 0);
	assert_int_equal(ca_eng_updown_cms(f->e, "m2", der, len, &out, &outlen,
	    &err), -1);
	assert_int_equal(err.code, CM_EPERM);
	free(der);
	/* Garbage. */
	assert_int_equal(ca_eng_updown_cms(f->e, "m2", (const uint8_t *)"xyz", 3,
	    &out, &outlen, &err), -1);
	/* The identity is stable. */
	{
		uint8_t	*t2;
		size_t	 l2;

		ok(ca_eng_bpki(f->e, "m2", &t2, &l2, NULL, &err), &err);
		assert_int_equal(l2, talen);
		assert_memory_equal(t2, tader, talen);
		free(t2);
	}
	free(tader);
	OPENSSL_free(cder);
	cm_buf_free(&xml);
	ca_res_free(ent);
	X509_free(cta);
	X509_free(xta);
	X509_free(pta);
	EVP_PKEY_free(ee);
	hsm_key_free(ck);
	hsm_key_free(xk);
}

static void
test_shrink(void **state)
{
	struct fx	*f = *state;
	struct cm_err	 err;
	struct ca_res	*r;
	int64_t		 before;

	/* rir loses 10.1.0.0/16: m1 is shrunk, its IPv4 ROA goes. */
	before = count(f, "SELECT coalesce(max(id), 0) FROM pub_change");
	r = tu_res("64496-64511", "10.2.0.0/15,192.0.2.0/24", "2001:db8::/32");
	assert_int_equal(ca_eng_ca_set_resources(f->e, "rir", r, "test", &err), 1);
	/* Equal resources: a no-op. */
	assert_int_equal(ca_eng_ca_set_resources(f->e, "rir", r, "test", &err), 0);
	ca_res_free(r);
	/* m1 keeps only what it got by transfer (still within rir). */
	assert_int_equal(count(f, "SELECT count(*) FROM ca_resources r JOIN ca c "
	    "ON c.id = r.ca_id WHERE c.handle = 'm1' AND r.ipv4 = "
	    "'10.2.128.0/17'"), 1);
	/*
	 * The ROA of AS64496 still has its IPv6 prefix: re-issued, not gone;
	 * the transferred ROA of AS64500 stays.
	 */
	assert_int_equal(count(f, "SELECT count(*) FROM issued_object o JOIN ca c "
	    "ON c.id = o.ca_id WHERE c.handle = 'm1' AND o.kind = 'roa' AND "
	    "o.withdrawn_at IS NULL"), 2);
	/*
	 * One transaction wrote the new objects of the TA (rir's certificate),
	 * rir (m1's certificate) and m1 (its ROA): one publication batch.
	 */
	{
		char sql[256];

		snprintf(sql, sizeof(sql), "SELECT count(DISTINCT pb.handle) "
		    "FROM pub_change ch JOIN publisher pb ON pb.id = "
		    "ch.publisher_id WHERE ch.id > %lld AND pb.handle IN "
		    "('ta', 'rir', 'm1')", (long long)before);
		assert_int_equal(count(f, sql), 3);
		snprintf(sql, sizeof(sql), "SELECT count(DISTINCT xmin::text) "
		    "FROM pub_change WHERE id > %lld", (long long)before);
		assert_int_equal(count(f, sql), 1);
	}
	check_manifests(f);
}

struct worker {
	struct fx	*f;
	int		 shard, done;
	char		 err[256];
};

static void *
worker_main(void *arg)
{
	struct worker	*w = arg;
	struct cm_err	 err;
	struct db	*db;
	struct ca_eng	*e;

	w->done = -1;
	if ((db = db_open(w->f->t.dsn, 5, &err)) == NULL ||
	    (e = ca_eng_new(&w->f->conf, db, w->f->hsm, w->f->pool, &w->f->clock,
	    &err)) == NULL) {
		snprintf(w->err, sizeof(w->err), "%s", err.msg);
		db_close(db);
		return NULL;
	}
	if ((w->done = ca_eng_tick_shard(e, 1000, w->shard, 2, &err)) == -1)
		snprintf(w->err, sizeof(w->err), "%s", err.msg);
	ca_eng_free(e);
	db_close(db);
	return NULL;
}

/* Two workers re-issue disjoint halves of the CAs at the same time. */
static void
test_parallel_tick(void **state)
{
	struct fx	*f = *state;
	struct cm_err	 err;
	struct worker	 w[2];
	pthread_t	 t[2];
	int		 i, total = 0;

	assert_true(ca_eng_tick(f->e, 1000, &err) >= 0);
	/* Two days on: every manifest is due. */
	cm_clock_advance(&f->clock, 2 * 86400);
	for (i = 0; i < 2; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].f = f;
		w[i].shard = i;
		assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
	}
	for (i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		if (w[i].done < 0)
			fail_msg("worker %d: %s", i, w[i].err);
		total += w[i].done;
	}
	/* Every CA once, none twice; nothing left. */
	assert_int_equal(total, count(f, "SELECT count(*) FROM ca"));
	assert_int_equal(ca_eng_tick(f->e, 1000, &err), 0);
	assert_int_equal(ca_eng_tick_shard(f->e, 10, 2, 2, &err), -1);
	check_manifests(f);
	check_numbers(f);
}

static void
test_tick(void **state)
{
	struct fx	*f = *state;
	struct cm_err	 err;
	int		 n, day;
	int64_t		 roas, cers;

	/* What the key roll test's day left due, then nothing is due. */
	assert_true(ca_eng_tick(f->e, 100, &err) >= 0);
	assert_int_equal(ca_eng_tick(f->e, 100, &err), 0);
	roas = count(f, "SELECT count(*) FROM issued_object WHERE kind = 'roa'");
	cers = count(f, "SELECT count(*) FROM issued_object WHERE kind = 'cer'");
	/* Three weeks, half a day at a time: nothing ever expires. */
	for (day = 0; day < 42; day++) {
		cm_clock_advance(&f->clock, 43200);
		n = ca_eng_tick(f->e, 1000, &err);
		if (n < 0)
			fail_msg("%s", err.msg);
		{
			char sql[256];

			/* Nothing current expires within the next day. */
			snprintf(sql, sizeof(sql), "SELECT count(*) FROM "
			    "issued_object WHERE withdrawn_at IS NULL AND "
			    "not_after <= to_timestamp(%lld)", (long long)
			    (cm_clock_now(&f->clock) + 43200));
			assert_int_equal(count(f, sql), 0);
		}
	}
	/* ROAs and CA certificates were renewed, manifests re-issued. */
	assert_true(count(f, "SELECT count(*) FROM issued_object WHERE kind = "
	    "'roa'") > roas);
	assert_true(count(f, "SELECT count(*) FROM issued_object WHERE kind = "
	    "'cer'") >= cers + 3);
	assert_true(count(f, "SELECT count(*) FROM issued_object WHERE kind = "
	    "'mft'") > 4 * 10);
	/* The router certificate was renewed too, and one is current. */
	assert_true(count(f, "SELECT count(*) FROM issued_object WHERE subject "
	    "LIKE 'router %'") >= 3);
	assert_int_equal(count(f, "SELECT count(*) FROM issued_object WHERE "
	    "subject LIKE 'router %' AND withdrawn_at IS NULL"), 1);
	check_manifests(f);
	check_numbers(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hierarchy),
		cmocka_unit_test(test_roas_aspas),
		cmocka_unit_test(test_router),
		cmocka_unit_test(test_transfer),
		cmocka_unit_test(test_keyroll),
		cmocka_unit_test(test_validator),
		cmocka_unit_test(test_updown),
		cmocka_unit_test(test_updown_cms),
		cmocka_unit_test(test_shrink),
		cmocka_unit_test(test_parallel_tick),
		cmocka_unit_test(test_tick),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
