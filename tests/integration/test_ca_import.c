/*
 * Integration tests of bulk CA creation (ca_eng_ca_create_many through
 * ca_import) on an embedded PostgreSQL: a file creates its CAs in batches,
 * each parent's manifest and CRL are re-issued once per batch, everything
 * passes the internal validator and an independent check here; a batch with
 * one bad line creates nothing and the error names the line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "ca/cert.h"
#include "ca/engine.h"
#include "ca/import.h"
#include "ca/mft.h"
#include "ca/roa.h"
#include "common/cm_log.h"
#include "db_testutil.h"
#include "eng_testutil.h"

#define BASE	"rsync://127.0.0.1:8873/repo/"

struct fx {
	struct dbt		 t;
	struct db		*db;
	struct hsm		*hsm;
	struct hsm_pool		*pool;
	struct ca_eng		*e;
	struct ca_eng_conf	 conf;
};

static int64_t
count(struct fx *f, const char *sql)
{
	return tu_count(f->db, sql);
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
	ca_eng_conf_defaults(&f->conf);
	f->conf.rsync_base = BASE;
	if (tu_eng_new(&f->conf, f->db, f->hsm, f->pool, NULL, &f->e) == -1)
		return -1;
	tu_ca(f->e, "ta", NULL, "0-4294967295", "0.0.0.0/0", "::/0");
	tu_ca(f->e, "rir", "ta", "64496-64511,65000-65999",
	    "10.0.0.0/8,192.0.2.0/24", "2001:db8::/32");
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
 * Every current manifest parses strictly and lists exactly the current
 * files of its key in its publication point, with their hashes; every
 * current CA certificate verifies with the key of the CA that issued it.
 */
static void
check_repo(struct fx *f)
{
	struct db_res		*r = NULL;
	struct cm_err		 err;
	struct ca_cert		*c, *issuer;
	const uint8_t		*d;
	size_t			 dl;
	int			 n, k;

	tu_check_manifests(f->db, "SELECT count(*) FROM ca_key WHERE state = "
	    "'active'");
	/* Child certificates against their issuer's certificate. */
	n = db_exec(f->db, "SELECT o.der, k.cert FROM issued_object o JOIN "
	    "ca_key k ON k.id = o.key_id WHERE o.kind = 'cer' AND "
	    "o.withdrawn_at IS NULL AND o.subject LIKE 'cer %'", NULL, &r, &err);
	assert_true(n > 0);
	for (k = 0; k < n; k++) {
		assert_int_equal(db_res_bytea(r, k, 0, &d, &dl, &err), 0);
		if (ca_cert_parse("child", d, dl, &c, &err) != 0)
			fail_msg("%s", err.msg);
		assert_int_equal(db_res_bytea(r, k, 1, &d, &dl, &err), 0);
		if (ca_cert_parse("issuer", d, dl, &issuer, &err) != 0)
			fail_msg("%s", err.msg);
		assert_int_equal(X509_verify(c->x509,
		    X509_get0_pubkey(issuer->x509)), 1);
		ca_cert_free(c);
		ca_cert_free(issuer);
	}
	db_res_free(r);
}

/*
 * Members from..to-1 as a file (lines 4...): AS 65000+i, 10.100.i.0/24;
 * entry bad_at is bad_line instead.
 */
static char *
members(int from, int to, const char *bad_line, int bad_at)
{
	char	*s = malloc(64 * 1024), *w = s;
	int	 i;

	w += sprintf(w, "handle,parent,asns,ipv4,ipv6\n# members\n\n");
	for (i = from; i < to; i++) {
		if (i == bad_at) {
			w += sprintf(w, "%s\n", bad_line);
			continue;
		}
		if (i % 3 == 0)
			w += sprintf(w, "ca m%d rir as=%d v4=10.100.%d.0/24\n", i,
			    65000 + i, i);
		else
			w += sprintf(w, "m%d,rir,%d,10.100.%d.0/24,\n", i,
			    65000 + i, i);
	}
	return s;
}

static void
test_import(void **state)
{
	struct fx		*f = *state;
	struct cm_err		 err;
	struct ca_import	*im = NULL;
	struct ca_import_result	 res;
	struct ca_plan_roa_cfg	 roa;
	struct ca_res		*r;
	struct hsm_pool_stats	 st0, st1;
	char			*text = members(0, 12, NULL, -1);
	int64_t			 rir_mfts;

	rir_mfts = count(f, "SELECT count(*) FROM issued_object o JOIN ca c ON "
	    "c.id = o.ca_id WHERE c.handle = 'rir' AND o.kind = 'mft'");
	assert_int_equal(rir_mfts, 1);
	ok(ca_import_parse("members.csv", text, &im, &err), &err);
	assert_int_equal(im->n, 12);
	assert_int_equal(im->line[0], 4);
	hsm_pool_stats(f->pool, &st0);
	ok(ca_import_apply(f->e, f->db, im, 5, 2, "test", NULL, NULL, &res,
	    &err), &err);
	hsm_pool_stats(f->pool, &st1);
	/*
	 * The new CAs' manifests used EE keys made with the CA keys, before
	 * the transaction; only the RIR's manifest (once per batch) took one
	 * from the pool.
	 */
	assert_int_equal(st1.taken - st0.taken, 3);
	assert_int_equal(res.created, 12);
	assert_int_equal(res.batches, 3);
	assert_int_equal(res.existing, 0);
	assert_int_equal(count(f, "SELECT count(*) FROM ca WHERE parent_id = "
	    "(SELECT id FROM ca WHERE handle = 'rir')"), 12);
	/* The RIR's manifest: once at its creation, then once per batch. */
	assert_int_equal(count(f, "SELECT count(*) FROM issued_object o JOIN ca "
	    "c ON c.id = o.ca_id WHERE c.handle = 'rir' AND o.kind = 'mft'"), 4);
	/* It lists the 12 children's certificates and its CRL. */
	assert_int_equal(count(f, "SELECT count(*) FROM issued_object o JOIN ca "
	    "c ON c.id = o.ca_id WHERE c.handle = 'rir' AND o.withdrawn_at IS "
	    "NULL AND o.kind <> 'mft'"), 13);
	assert_int_equal(count(f, "SELECT count(*) FROM audit_log WHERE action "
	    "= 'ca.create' AND actor = 'test'"), 13);
	check_repo(f);

	/* Again: everything exists under its parent, nothing is created. */
	ok(ca_import_apply(f->e, f->db, im, 5, 2, "test", NULL, NULL, &res,
	    &err), &err);
	assert_int_equal(res.created, 0);
	assert_int_equal(res.existing, 12);
	assert_int_equal(res.batches, 0);
	ca_import_free(im);
	free(text);

	/* The one-by-one path and a ROA change on an imported CA still work. */
	r = tu_res("65100", "10.100.100.0/24", "");
	ok(ca_eng_ca_create(f->e, "single", "rir", r, "test", &err), &err);
	ca_res_free(r);
	memset(&roa, 0, sizeof(roa));
	roa.asn = 65007;
	ok(ca_roa_prefix_parse("10.100.7.0/24", &roa.prefix, &err), &err);
	ok(ca_eng_roa_update(f->e, "m7", &roa, 1, NULL, 0, "test", &err), &err);
	check_repo(f);
}

/* A parent created earlier in the same batch; quoted multi-range fields. */
static void
test_nested(void **state)
{
	struct fx		*f = *state;
	struct cm_err		 err;
	struct ca_import	*im = NULL;
	struct ca_import_result	 res;
	const char		*text =
	    "nir,rir,\"64500-64509\",\"10.50.0.0/16,192.0.2.0/24\",2001:db8:5::/48\n"
	    "lir1,nir,64500,10.50.1.0/24;10.50.4.0/24,\n"
	    "ca lir2 nir as=64501 v4=10.50.3.0/24 v6=2001:db8:5:1::/64\n";

	ok(ca_import_parse("nested.csv", text, &im, &err), &err);
	assert_int_equal(im->n, 3);
	ok(ca_import_apply(f->e, f->db, im, 0, 1, "test", NULL, NULL, &res,
	    &err), &err);
	assert_int_equal(res.created, 3);
	assert_int_equal(res.batches, 1);
	/* nir's publication point: its CRL and its 2 children, one manifest. */
	assert_int_equal(count(f, "SELECT count(*) FROM issued_object o JOIN ca "
	    "c ON c.id = o.ca_id WHERE c.handle = 'nir' AND o.withdrawn_at IS "
	    "NULL AND o.kind = 'cer'"), 2);
	assert_int_equal(count(f, "SELECT count(*) FROM issued_object o JOIN ca "
	    "c ON c.id = o.ca_id WHERE c.handle = 'nir' AND o.kind = 'mft'"), 1);
	assert_int_equal(count(f, "SELECT count(*) FROM ca_resources r JOIN ca c "
	    "ON c.id = r.ca_id WHERE c.handle = 'lir1' AND r.ipv4 = "
	    "'10.50.1.0/24,10.50.4.0/24'"), 1);
	check_repo(f);
	ca_import_free(im);
}

/* Asserts that importing text fails with msg, naming the input line. */
static void
import_fails(struct fx *f, const char *text, const char *msg)
{
	struct cm_err		 err;
	struct ca_import	*im = NULL;
	struct ca_import_result	 res;
	int64_t			 cas, changes, keys;

	cas = count(f, "SELECT count(*) FROM ca");
	changes = count(f, "SELECT count(*) FROM pub_change");
	keys = count(f, "SELECT count(*) FROM ca_key");
	if (ca_import_parse("bad.csv", text, &im, &err) == 0) {
		assert_int_equal(ca_import_apply(f->e, f->db, im, 0, 2, "test",
		    NULL, NULL, &res, &err), -1);
		assert_int_equal(res.created, 0);
		ca_import_free(im);
	}
	if (strstr(err.msg, msg) == NULL)
		fail_msg("error \"%s\" does not contain \"%s\"", err.msg, msg);
	assert_int_equal(count(f, "SELECT count(*) FROM ca"), cas);
	assert_int_equal(count(f, "SELECT count(*) FROM pub_change"), changes);
	assert_int_equal(count(f, "SELECT count(*) FROM ca_key"), keys);
}

static void
test_bad_line(void **state)
{
	struct fx	*f = *state;
	char		*text;

	/* Found by the engine in the transaction: outside the parent. */
	text = members(100, 104, "b102,rir,65102,172.16.0.0/24,", 102);
	import_fails(f, text, "bad.csv:6: b102: resources are not within "
	    "those of the parent rir");
	free(text);
	/* No such parent. */
	text = members(100, 104, "b103,nope,65103,10.100.103.0/24,", 103);
	import_fails(f, text, "bad.csv:7: b103: no such parent CA nope");
	free(text);
	/* Found while parsing, before any key is made. */
	text = members(100, 110, "b103,rir,65103,10.100.300.0/24,", 103);
	import_fails(f, text, "bad.csv:7: ipv4");
	free(text);
	text = members(100, 110, "-b,rir,65103,10.100.103.0/24,", 103);
	import_fails(f, text, "bad.csv:7: bad handle \"-b\"");
	free(text);
	text = members(100, 110, "m102,rir,65102,10.100.102.0/24,\"x", 104);
	import_fails(f, text, "bad.csv:8: unclosed quote");
	free(text);
	/* Found by the engine before the transaction. */
	text = members(100, 110, "m101,rir,65101,10.100.101.0/24,", 104);
	import_fails(f, text, "bad.csv:8: m101: listed twice (entry 2 and 5)");
	free(text);
	text = members(100, 110, "x1,m109,65109,10.100.109.0/24,", 101);
	import_fails(f, text, "bad.csv:5: x1: its parent m109 must come before");
	free(text);
	import_fails(f, "a,rir,,,\n", "bad.csv:1: a: no resources");
	import_fails(f, "a,rir,65000,10.0.0.0/8,,x\n", "bad.csv:1: expected "
	    "handle,parent");
	import_fails(f, "\n# nothing\n", "no CAs");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		/* In this order, on one database (test_import counts). */
		cmocka_unit_test(test_import),
		cmocka_unit_test(test_nested),
		cmocka_unit_test(test_bad_line),
	};

	cm_log_init("test_ca_import", CM_LOG_ERR);
	return cmocka_run_group_tests(tests, setup, teardown);
}
