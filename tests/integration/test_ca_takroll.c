/*
 * Trust anchor key roll (RFC 9691, ca/engine_ta.c) on an embedded
 * PostgreSQL with the CA keys in SoftHSM2: start (the new key's
 * certificate, publication point, children and the two TAKs, each naming
 * the other key), the new TAL matching the TAKs, changes to the trust
 * anchor's children during the roll reaching both publication points in
 * the same transaction, 11 simulated days of the schedule keeping both
 * publication points valid (the whole repository checked after every
 * tick; TAKs, ROAs and the children's certificates renewed meanwhile),
 * the acceptance period refusing an early finish, finish (old key
 * withdrawn everywhere and deleted from the token, the TAK naming only the
 * new key, hosted children re-certified with renewal times), and a second
 * roll.  The relying-party view of the same roll is tests/integration/
 * rp_takroll.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "ca/cert.h"
#include "ca/engine.h"
#include "ca/roa.h"
#include "ca/tak.h"
#include "ca/tal.h"
#include "common/cm_file.h"
#include "hsm/hsm_pool.h"
#include "db_testutil.h"
#include "eng_testutil.h"

#define BASE	"rsync://127.0.0.1:8873/repo/"
#define HTTPS	"https://127.0.0.1/ta/"
#define DAY	86400LL
#define SOFTHSM	"/usr/lib/softhsm/libsofthsm2.so"
#define PIN	"2207-tak"
#define KEYS	"SELECT count(*) FROM ca_key WHERE state <> 'revoked'"

struct fx {
	struct dbt	 t;
	struct db	*db;
	struct hsm	*hsm;
	struct hsm_pool	*pool;
	struct cm_clock	 clock;
	struct ca_eng_conf conf;
	struct ca_eng	*e;
	char		 tmp[64];
};

static void
ok(int rc, const struct cm_err *err)
{
	if (rc < 0)
		fail_msg("%s", err->msg);
}

static int
rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int
setup(void **state)
{
	struct fx		*f = calloc(1, sizeof(*f));
	struct hsm_p11_conf	 pc;
	struct cm_err		 err;
	char			 path[256], body[256], cmd[512];

	snprintf(f->tmp, sizeof(f->tmp), "/tmp/cairn-takroll-XXXXXX");
	if (mkdtemp(f->tmp) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/tokens", f->tmp);
	if (cm_mkdirs(path, 0700, &err) == -1)
		return -1;
	snprintf(body, sizeof(body), "directories.tokendir = %s/tokens\n"
	    "objectstore.backend = file\nlog.level = ERROR\n", f->tmp);
	snprintf(path, sizeof(path), "%s/softhsm2.conf", f->tmp);
	if (cm_file_write_atomic(path, body, strlen(body), 0600, &err) == -1)
		return -1;
	setenv("SOFTHSM2_CONF", path, 1);
	setenv("CAIRN_TAKROLL_PIN", PIN, 1);
	snprintf(cmd, sizeof(cmd), "softhsm2-util --init-token --free --label "
	    "takroll --pin " PIN " --so-pin 12345678 >/dev/null");
	if (system(cmd) != 0)
		return -1;
	memset(&pc, 0, sizeof(pc));
	pc.module = SOFTHSM;
	pc.token_label = "takroll";
	pc.pin_env = "CAIRN_TAKROLL_PIN";
	if ((f->hsm = hsm_open_pkcs11(&pc, &err)) == NULL) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	if (tu_db_start(&f->t, &f->db, &f->pool) == -1)
		return -1;
	cm_clock_set(&f->clock, 1800000000);	/* 2027-01-15 */
	ca_eng_conf_defaults(&f->conf);
	f->conf.rsync_base = BASE;
	f->conf.https_base = HTTPS;
	/*
	 * Short lives, so that the weeks of the roll renew TAKs, ROAs and
	 * the children's certificates (in the old publication point, copied
	 * into the new one) several times.
	 */
	tu_short_lives(&f->conf);
	f->conf.ta_acceptance = 10 * DAY;
	if (tu_eng_new(&f->conf, f->db, f->hsm, f->pool, &f->clock,
	    &f->e) == -1)
		return -1;
	tu_ca(f->e, "ta", NULL, "0-4294967295", "0.0.0.0/0", "::/0");
	tu_ca(f->e, "rir", "ta", "64496-64511", "10.0.0.0/8,192.0.2.0/24",
	    "2001:db8::/32");
	tu_ca(f->e, "m1", "rir", "64496", "10.1.0.0/16", "");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	tu_eng_close(f->e, f->hsm, f->pool, f->db, &f->t);
	nftw(f->tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* The current object at uri (der malloc'd), or NULL. */
static uint8_t *
object(struct fx *f, const char *uri, size_t *len)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	struct cm_err		 err;
	const uint8_t		*d;
	uint8_t			*out = NULL;

	db_params_init(&p);
	db_param_text(&p, uri);
	ok(db_exec(f->db, "SELECT der FROM issued_object WHERE uri = $1 AND "
	    "withdrawn_at IS NULL", &p, &r, &err), &err);
	if (db_res_rows(r) == 1) {
		ok(db_res_bytea(r, 0, 0, &d, len, &err), &err);
		assert_non_null(out = malloc(*len));
		memcpy(out, d, *len);
	}
	db_res_free(r);
	return out;
}

/* A text value of the first row of sql with one parameter. */
static char *
text1(struct fx *f, const char *sql, const char *arg)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	struct cm_err		 err;
	char			*s;

	db_params_init(&p);
	db_param_text(&p, arg);
	ok(db_exec(f->db, sql, &p, &r, &err), &err);
	assert_int_equal(db_res_rows(r), 1);
	assert_non_null(s = strdup(db_res_text(r, 0, 0)));
	db_res_free(r);
	return s;
}

static struct ca_tal *
tal_of(struct fx *f, int next)
{
	struct ca_tal	*t;
	struct cm_err	 err;
	char		*s;

	ok(ca_eng_tal_key(f->e, "ta", next, &s, &err), &err);
	ok(ca_tal_parse("ta.tal", s, strlen(s), &t, &err), &err);
	free(s);
	return t;
}

/* The TAK of key key_id (its publication point repo). */
static struct ca_tak *
tak_of(struct fx *f, const char *repo, const char *key_id)
{
	struct ca_tak	*t;
	struct cm_err	 err;
	char		 uri[512];
	uint8_t		*d;
	size_t		 len;

	snprintf(uri, sizeof(uri), "%s%.16s.tak", repo, key_id);
	if ((d = object(f, uri, &len)) == NULL)
		fail_msg("no TAK at %s", uri);
	ok(ca_tak_parse(uri, d, len, &t, NULL, &err), &err);
	free(d);
	return t;
}

/* The TAKey names exactly the TAL's key and URIs. */
static void
same_as_tal(const struct ca_takey *k, const struct ca_tal *tal)
{
	size_t i;

	assert_int_equal(EVP_PKEY_eq(k->key, tal->key), 1);
	assert_int_equal(k->nuris, tal->nuris);
	for (i = 0; i < k->nuris; i++)
		assert_string_equal(k->uris[i], tal->uris[i]);
}

/* Whole repository valid now, and every manifest exact. */
static void
all_valid(struct fx *f)
{
	struct cm_err err;

	ok(ca_eng_check(f->e, &err), &err);
	tu_check_manifests(f->db, KEYS);
}

/* The current certificates for CA handle in each of the TA's keys. */
static int64_t
copies(struct fx *f, const char *handle)
{
	char sql[512];

	snprintf(sql, sizeof(sql), "SELECT count(DISTINCT o.key_id) FROM "
	    "issued_object o JOIN ca ON ca.id = o.ca_id AND ca.handle = 'ta' "
	    "WHERE o.subject IN ('cer %s', 'next cer %s') AND o.withdrawn_at IS "
	    "NULL", handle, handle);
	return tu_count(f->db, sql);
}

/* Both current copies of CA handle's certificate: same key and resources. */
static void
copies_equal(struct fx *f, const char *handle)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	struct cm_err		 err;
	struct ca_cert		*c[2];
	const uint8_t		*d;
	size_t			 dl;
	char			 subj[128];
	int			 i;

	snprintf(subj, sizeof(subj), "cer %s", handle);
	db_params_init(&p);
	db_param_text(&p, subj);
	ok(db_exec(f->db, "SELECT der FROM issued_object WHERE subject IN ($1, "
	    "'next ' || $1) AND withdrawn_at IS NULL AND ca_id = (SELECT id FROM "
	    "ca WHERE handle = 'ta')", &p, &r, &err), &err);
	assert_int_equal(db_res_rows(r), 2);
	for (i = 0; i < 2; i++) {
		ok(db_res_bytea(r, i, 0, &d, &dl, &err), &err);
		ok(ca_cert_parse(handle, d, dl, &c[i], &err), &err);
	}
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(c[0]->x509),
	    X509_get0_pubkey(c[1]->x509)), 1);
	assert_int_equal(ca_res_equal(c[0]->res, c[1]->res), 1);
	assert_string_equal(c[0]->sia_repo, c[1]->sia_repo);
	assert_int_not_equal(memcmp(c[0]->aki, c[1]->aki, 20), 0);
	ca_cert_free(c[0]);
	ca_cert_free(c[1]);
	db_res_free(r);
}

/*
 * days of the schedule, a tick every 12 h (manifests are due 18-24 h after
 * issue and valid 48 h), everything valid after each.
 */
static void
run_days(struct fx *f, int days)
{
	struct cm_err	err;
	int		i;

	for (i = 0; i < days * 2; i++) {
		cm_clock_advance(&f->clock, 12 * 3600);
		ok(ca_eng_tick(f->e, 100, &err), &err);
		ok(ca_eng_check(f->e, &err), &err);
	}
	tu_check_manifests(f->db, KEYS);
}

static void
test_roll(void **state)
{
	struct fx	*f = *state;
	struct cm_err	 err;
	struct ca_tal	*old_tal, *new_tal, *t;
	struct ca_tak	*tak;
	struct ca_cert	*nc;
	struct ca_res	*r;
	struct hsm_key	*k;
	char		*old_id, *new_id, *new_repo, *uri, nrepo[256],
			*tal_text, *tal_next;
	uint8_t		*d;
	size_t		 len;
	int64_t		 mfts;

	all_valid(f);
	old_tal = tal_of(f, 0);
	assert_string_equal(old_tal->uris[0], HTTPS "ta.cer");
	assert_string_equal(old_tal->uris[1], BASE "ta-ta/ta.cer");
	assert_int_equal(ca_eng_tal_key(f->e, "ta", 1, &tal_text, &err), -1);
	assert_int_equal(err.code, CM_ESTATE);
	/* Wrong entry points. */
	assert_int_equal(ca_eng_keyroll_start(f->e, "ta", "test", &err), -1);
	assert_int_equal(err.code, CM_ESTATE);
	assert_non_null(strstr(err.msg, "ta-keyroll"));
	assert_int_equal(ca_eng_ta_keyroll_start(f->e, "rir", "test", &err), -1);
	assert_int_equal(err.code, CM_EINVAL);
	assert_int_equal(ca_eng_ta_keyroll_finish(f->e, "ta", 1, "test", &err),
	    -1);
	assert_int_equal(err.code, CM_ESTATE);
	old_id = text1(f, "SELECT k.id FROM ca_key k JOIN ca ON ca.id = k.ca_id "
	    "WHERE ca.handle = $1", "ta");

	/* ---- start ---- */
	ok(ca_eng_ta_keyroll_start(f->e, "ta", "test", &err), &err);
	assert_int_equal(ca_eng_ta_keyroll_start(f->e, "ta", "test", &err), -1);
	assert_int_equal(err.code, CM_EEXIST);
	/* The refused start left no key row behind. */
	assert_int_equal(tu_count(f->db, KEYS), 4);
	new_id = text1(f, "SELECT k.id FROM ca_key k JOIN ca ON ca.id = k.ca_id "
	    "WHERE ca.handle = $1 AND k.state = 'pending'", "ta");
	new_repo = text1(f, "SELECT repo_uri FROM ca_key WHERE id = $1", new_id);
	snprintf(nrepo, sizeof(nrepo), BASE "ta-%.16s/", new_id);
	assert_string_equal(new_repo, nrepo);
	all_valid(f);

	/* The new TAL: the new certificate's URIs and the new key. */
	new_tal = tal_of(f, 1);
	snprintf(nrepo, sizeof(nrepo), HTTPS "ta-%.16s.cer", new_id);
	assert_string_equal(new_tal->uris[0], nrepo);
	snprintf(nrepo, sizeof(nrepo), BASE "ta-ta/ta-%.16s.cer", new_id);
	assert_string_equal(new_tal->uris[1], nrepo);
	assert_int_equal(EVP_PKEY_eq(old_tal->key, new_tal->key), 0);
	/* The new certificate: self-signed, same resources, its own SIA. */
	assert_non_null(d = object(f, nrepo, &len));
	ok(ca_cert_parse("new TA", d, len, &nc, &err), &err);
	assert_int_equal(nc->kind, CA_CERT_TA);
	assert_string_equal(nc->sia_repo, new_repo);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(nc->x509), new_tal->key),
	    1);
	r = tu_res("0-4294967295", "0.0.0.0/0", "::/0");
	assert_int_equal(ca_res_equal(r, nc->res), 1);
	ca_res_free(r);
	ca_cert_free(nc);
	free(d);
	/* The old certificate is still there. */
	assert_non_null(d = object(f, BASE "ta-ta/ta.cer", &len));
	free(d);

	/* The TAKs: each names its own key, and the other one. */
	tak = tak_of(f, BASE "ta/", old_id);
	same_as_tal(tak->current, old_tal);
	assert_null(tak->predecessor);
	assert_non_null(tak->successor);
	same_as_tal(tak->successor, new_tal);
	ca_tak_free(tak);
	tak = tak_of(f, new_repo, new_id);
	same_as_tal(tak->current, new_tal);
	assert_null(tak->successor);
	same_as_tal(tak->predecessor, old_tal);
	ca_tak_free(tak);

	/* The child certificate is in both publication points. */
	assert_int_equal(copies(f, "rir"), 2);
	copies_equal(f, "rir");
	assert_int_equal(copies(f, "m1"), 0);	/* the RIR's, not the TA's */

	/* ---- changes during the roll reach both points at once ---- */
	r = tu_res("65000", "172.16.0.0/12", "");
	ok(ca_eng_ca_create(f->e, "rir2", "ta", r, "test", &err), &err);
	ca_res_free(r);
	assert_int_equal(copies(f, "rir2"), 2);
	copies_equal(f, "rir2");
	r = tu_res("64496-64511", "10.0.0.0/8", "2001:db8::/32");
	assert_int_equal(ca_eng_ca_set_resources(f->e, "rir", r, "test", &err),
	    1);
	ca_res_free(r);
	copies_equal(f, "rir");
	ok(ca_eng_ca_delete(f->e, "rir2", "test", &err), &err);
	assert_int_equal(copies(f, "rir2"), 0);
	all_valid(f);

	/* ---- the schedule keeps both fresh ---- */
	mfts = tu_count(f->db, "SELECT count(*) FROM issued_object WHERE "
	    "kind = 'mft'");
	run_days(f, 6);

	/* ---- finish: refused within the acceptance period ---- */
	assert_int_equal(ca_eng_ta_keyroll_finish(f->e, "ta", 0, "test", &err),
	    -1);
	assert_int_equal(err.code, CM_ESTATE);
	assert_non_null(strstr(err.msg, "acceptance period"));
	run_days(f, 5);
	/* Both keys' manifests were re-issued (about daily each). */
	assert_true(tu_count(f->db, "SELECT count(*) FROM issued_object WHERE "
	    "kind = 'mft'") >= mfts + 2 * 9);
	uri = text1(f, "SELECT count(*)::text FROM issued_object WHERE kind = "
	    "'mft' AND key_id = $1", new_id);
	assert_true(atoi(uri) >= 9);
	free(uri);
	/* Both TAKs were renewed (EE objects live 10 days here). */
	uri = text1(f, "SELECT count(*)::text FROM issued_object WHERE kind = "
	    "'tak' AND key_id = $1", new_id);
	assert_true(atoi(uri) >= 2);
	free(uri);
	uri = text1(f, "SELECT count(*)::text FROM issued_object WHERE kind = "
	    "'tak' AND key_id = $1", old_id);
	assert_true(atoi(uri) >= 2);
	free(uri);
	/* The RIR's certificate was renewed, and its copy with it. */
	assert_true(tu_count(f->db, "SELECT count(*) FROM issued_object WHERE "
	    "subject IN ('cer rir', 'next cer rir')") >= 6);
	/* Who looks for the RIR's certificate by subject finds one. */
	assert_int_equal(tu_count(f->db, "SELECT count(*) FROM issued_object "
	    "WHERE subject = 'cer rir' AND withdrawn_at IS NULL"), 1);
	copies_equal(f, "rir");
	ok(ca_eng_ta_keyroll_finish(f->e, "ta", 0, "test", &err), &err);
	all_valid(f);
	/* The TAL is the new one; no next one. */
	t = tal_of(f, 0);
	assert_int_equal(EVP_PKEY_eq(t->key, new_tal->key), 1);
	assert_string_equal(t->uris[1], new_tal->uris[1]);
	ca_tal_free(t);
	assert_int_equal(ca_eng_tal_key(f->e, "ta", 1, &tal_next, &err), -1);
	/* Nothing of the old key is current; the key left the token. */
	uri = text1(f, "SELECT count(*)::text FROM issued_object WHERE key_id = "
	    "$1 AND withdrawn_at IS NULL", old_id);
	assert_string_equal(uri, "0");
	free(uri);
	uri = text1(f, "SELECT state FROM ca_key WHERE id = $1", old_id);
	assert_string_equal(uri, "revoked");
	free(uri);
	assert_int_equal(hsm_key_find(f->hsm, old_id, &k, &err), -1);
	assert_null(object(f, BASE "ta-ta/ta.cer", &len));
	/*
	 * The new key moved into the trust anchor's publication point (where
	 * the children's AIA point); its interim one is empty.
	 */
	uri = text1(f, "SELECT repo_uri FROM ca WHERE handle = $1", "ta");
	assert_string_equal(uri, BASE "ta/");
	free(uri);
	uri = text1(f, "SELECT count(*)::text FROM issued_object WHERE "
	    "withdrawn_at IS NULL AND starts_with(uri, $1)", new_repo);
	assert_string_equal(uri, "0");
	free(uri);
	snprintf(nrepo, sizeof(nrepo), BASE "ta-ta/ta-%.16s.cer", new_id);
	assert_non_null(d = object(f, nrepo, &len));
	ok(ca_cert_parse("new TA", d, len, &nc, &err), &err);
	assert_string_equal(nc->sia_repo, BASE "ta/");
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(nc->x509), new_tal->key),
	    1);
	ca_cert_free(nc);
	free(d);
	/* The TAK names only the new key. */
	tak = tak_of(f, BASE "ta/", new_id);
	same_as_tal(tak->current, new_tal);
	assert_null(tak->predecessor);
	assert_null(tak->successor);
	ca_tak_free(tak);
	/* The RIR's key records its certificate from the new key, renewed. */
	uri = text1(f, "SELECT k.cert_uri FROM ca_key k JOIN ca ON ca.id = "
	    "k.ca_id WHERE ca.handle = $1 AND k.state = 'active'", "rir");
	assert_memory_equal(uri, BASE "ta/", strlen(BASE "ta/"));
	free(uri);
	assert_int_equal(tu_count(f->db, "SELECT count(*) FROM issued_object "
	    "WHERE subject = 'cer rir' AND withdrawn_at IS NULL AND reissue_at "
	    "IS NOT NULL"), 1);
	assert_int_equal(copies(f, "rir"), 1);

	/* Life goes on: the schedule, a hosted CA's own key roll. */
	run_days(f, 5);
	ok(ca_eng_keyroll_start(f->e, "rir", "test", &err), &err);
	ok(ca_eng_keyroll_activate(f->e, "rir", 1, "test", &err), &err);
	ok(ca_eng_keyroll_finish(f->e, "rir", "test", &err), &err);
	all_valid(f);

	/* ---- a second roll, finished at once with force ---- */
	ok(ca_eng_ta_keyroll_start(f->e, "ta", "test", &err), &err);
	all_valid(f);
	tak = tak_of(f, BASE "ta/", new_id);
	assert_non_null(tak->successor);
	ca_tak_free(tak);
	ok(ca_eng_ta_keyroll_finish(f->e, "ta", 1, "test", &err), &err);
	all_valid(f);
	assert_int_equal(tu_count(f->db, "SELECT count(*) FROM ca_key k JOIN ca "
	    "ON ca.id = k.ca_id WHERE ca.handle = 'ta' AND k.state = "
	    "'active'"), 1);
	assert_int_equal(tu_count(f->db, "SELECT count(*) FROM issued_object "
	    "WHERE kind = 'tak' AND withdrawn_at IS NULL"), 1);
	run_days(f, 2);

	/* A trust anchor that signs a ROA itself cannot roll. */
	{
		struct ca_plan_roa_cfg	roa;

		r = tu_res("65001", "198.51.100.0/24", "");
		ok(ca_eng_ta_create(f->e, "ta2", r, "test", &err), &err);
		ca_res_free(r);
		memset(&roa, 0, sizeof(roa));
		roa.asn = 65001;
		ok(ca_roa_prefix_parse("198.51.100.0/24", &roa.prefix, &err),
		    &err);
		ok(ca_eng_roa_update(f->e, "ta2", &roa, 1, NULL, 0, "test",
		    &err), &err);
		assert_int_equal(ca_eng_ta_keyroll_start(f->e, "ta2", "test",
		    &err), -1);
		assert_int_equal(err.code, CM_ESTATE);
		assert_non_null(strstr(err.msg, "ROAs, ASPAs or router"));
		assert_int_equal(tu_count(f->db, "SELECT count(*) FROM ca_key k "
		    "JOIN ca ON ca.id = k.ca_id WHERE ca.handle = 'ta2'"), 1);
		assert_int_equal(tu_count(f->db, "SELECT count(*) FROM publisher "
		    "WHERE handle LIKE 'ta2-%' AND handle <> 'ta2-ta'"), 0);
		all_valid(f);
	}

	ca_tal_free(old_tal);
	ca_tal_free(new_tal);
	free(old_id);
	free(new_id);
	free(new_repo);
}

/* ---- a delegated (RFC 6492) child of the trust anchor ---------------- */

#define UD_URI	"http://ta.test/api/v1/updown/ta"

static int
post(void *arg, const char *uri, const uint8_t *msg, size_t len,
    uint8_t **reply, size_t *replylen, struct cm_err *err)
{
	struct fx *f = arg;

	if (strcmp(uri, UD_URI) != 0)
		return cm_err_set(err, CM_EIO, uri, "unexpected URI");
	cm_clock_advance(&f->clock, 1);
	if (ca_eng_updown_cms(f->e, "ta", msg, len, reply, replylen, err) == -1)
		return -1;
	cm_clock_advance(&f->clock, 1);
	return 0;
}

static void
test_delegated(void **state)
{
	struct fx	*f = *state;
	struct cm_err	 err;
	struct db	*cdb;
	struct hsm	*chsm = hsm_open_mem();
	struct ca_eng	*c = NULL;
	struct ca_res	*r;
	uint8_t		*cta = NULL, *pta = NULL;
	size_t		 clen, plen;
	char		 dsn[2 * 4096 + 32];
#define KID	"SELECT count(*) FROM issued_object WHERE withdrawn_at IS NULL " \
		"AND subject LIKE "

	ok(db_exec(f->db, "CREATE DATABASE child", NULL, NULL, &err), &err);
	snprintf(dsn, sizeof(dsn), "%s dbname=child", f->t.dsn);
	if ((cdb = db_open(dsn, 5, &err)) == NULL || db_migrate(cdb, &err) < 0 ||
	    (c = ca_eng_new(&f->conf, cdb, chsm, f->pool, &f->clock,
	    &err)) == NULL)
		fail_msg("%s", err.msg);
	ca_eng_set_transport(c, post, f);
	ok(ca_eng_remote_create(c, "kid", "test", &err), &err);
	ok(ca_eng_bpki(c, "kid", &cta, &clen, NULL, &err), &err);
	ok(ca_eng_bpki(f->e, "ta", &pta, &plen, NULL, &err), &err);
	r = tu_res("64600-64601", "10.9.0.0/16", "");
	ok(ca_eng_child_add(f->e, "ta", "kid", r, cta, clen, "test", &err), &err);
	ca_res_free(r);
	ok(ca_eng_parent_set(c, "kid", "ta", "kid", UD_URI, pta, plen, "test",
	    &err), &err);
	assert_int_equal(ca_eng_parent_sync(c, "kid", "test", &err), 1);

	/* During a roll the child's certificate is in both points ... */
	ok(ca_eng_ta_keyroll_start(f->e, "ta", "test", &err), &err);
	assert_int_equal(tu_count(f->db, KID "'child kid %'"), 1);
	assert_int_equal(tu_count(f->db, KID "'next child kid %'"), 1);
	all_valid(f);
	/*
	 * ... and RFC 6492 sees one: the child (whose certificate lives 12
	 * days here, less than its 30-day renewal margin, so it asks again
	 * in every round) gets it re-issued, and the copy follows.
	 */
	ok(ca_eng_parent_sync(c, "kid", "test", &err), &err);
	assert_int_equal(tu_count(f->db, KID "'child kid %'"), 1);
	assert_int_equal(tu_count(f->db, KID "'next child kid %'"), 1);
	all_valid(f);
	/* A smaller entitlement shrinks both, in one transaction. */
	r = tu_res("64600", "10.9.0.0/17", "");
	assert_int_equal(ca_eng_child_set_resources(f->e, "ta", "kid", r, "test",
	    &err), 1);
	ca_res_free(r);
	all_valid(f);
	assert_int_equal(tu_count(f->db, "SELECT count(*) FROM issued_object o "
	    "JOIN issued_object x ON x.subject = 'next ' || o.subject AND "
	    "x.name = 'next-' || o.name AND x.withdrawn_at IS NULL AND x.id > "
	    "o.id WHERE "
	    "o.subject LIKE 'child kid %' AND o.withdrawn_at IS NULL"), 1);
	ok(ca_eng_parent_sync(c, "kid", "test", &err), &err);
	ok(ca_eng_check(c, &err), &err);

	/* After finish: one certificate, from the new key, and in step. */
	ok(ca_eng_ta_keyroll_finish(f->e, "ta", 1, "test", &err), &err);
	assert_int_equal(tu_count(f->db, KID "'child kid %'"), 1);
	assert_int_equal(tu_count(f->db, KID "'next %'"), 0);
	all_valid(f);
	/* The child's certificate moved to the new key (a new issuer). */
	assert_int_equal(ca_eng_parent_sync(c, "kid", "test", &err), 1);
	ok(ca_eng_parent_sync(c, "kid", "test", &err), &err);
	assert_int_equal(tu_count(f->db, KID "'child kid %'"), 1);
	ok(ca_eng_check(c, &err), &err);
	all_valid(f);
#undef KID
	free(cta);
	free(pta);
	ca_eng_free(c);
	hsm_close(chsm);
	db_close(cdb);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roll),
		cmocka_unit_test(test_delegated),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
