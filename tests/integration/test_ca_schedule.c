/*
 * The re-issue schedule over 60 simulated days, with the default lifetimes
 * (manifests and CRLs: next update 48 h, re-issued 18-24 h after issue; EE
 * objects and CA certificates: a year, renewed 4-6 weeks before expiry), on
 * an embedded PostgreSQL with a hierarchy of tens of CAs.
 *
 * The hierarchy is created 300 simulated days before the window by an
 * engine whose manifests live 420 days (re-issued after 300 days, within a
 * day), so that the window opens with year-old-style objects whose
 * renewals fall inside it, without simulating 300 days of daily re-issues;
 * nothing expires in between.  The window then runs the default engine,
 * event by event: the clock jumps to the next moment at which an object is
 * due (the earliest reissue_at), and the engine re-issues what is due then.
 * Since the repository changes only at those moments, checking before each
 * one that every current object (every certificate's notAfter, every
 * manifest's and CRL's nextUpdate, every EE certificate's notAfter) lies
 * beyond it proves that nothing was expired at any instant.  Every twelve
 * simulated hours the internal validator checks the whole repository
 * (ca_eng_check).  The number of CAs re-issued in each simulated minute is
 * counted: the maximum must stay far below the number of CAs (the jitter
 * must avoid synchronised bursts); the figures are printed.
 *
 * One-time EE keys: the engine takes them from its key pool as in the
 * daemon, but the pool has no worker threads; the test keeps it full with
 * a few dozen RSA-2048 keys made at the start, handed out again and again.
 * Making the two thousand keys of a 60-day run would cost about five
 * minutes of CPU, and key generation is not what this test is about
 * (tests/bench/bench_objects.c measures it).
 *
 * CAIRN_SCHED_CAS sets the number of CAs (default 24; 12 in a sanitizer
 * build, which runs the engine's own code several times slower).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/x509.h>

#include "ca/aspa.h"
#include "ca/crl.h"
#include "ca/engine.h"
#include "ca/mft.h"
#include "ca/roa.h"
#include "hsm/hsm_pool.h"
#include "db_testutil.h"

#define BASE	"rsync://127.0.0.1:8873/repo/"
#define HOUR	3600LL
#define DAY	(24 * HOUR)
#define T0	1800000000LL		/* 2027-01-15 */
#define AGE	(300 * DAY)		/* the hierarchy's age at the window */
#define WINDOW	(60 * DAY)
#define NRIR	3
#if defined(__SANITIZE_ADDRESS__)
#define DEFAULT_CAS	12
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DEFAULT_CAS	12
#endif
#endif
#ifndef DEFAULT_CAS
#define DEFAULT_CAS	24
#endif
#define NKEYS	24		/* distinct EE keys, recycled */
#define POOL	256
#define CHECK_EVERY	(12 * HOUR)	/* whole-repository validation */

struct fx {
	struct dbt	 t;
	struct db	*db;
	struct hsm	*hsm;
	struct hsm_pool	*pool;
	struct cm_clock	 clock;
	int		 ncas;
	/* Expiry of each issued_object (by id, 0: not parsed yet). */
	int64_t		*exp;
	size_t		 nexp;
	int64_t		 last_id;
	EVP_PKEY	*keys[NKEYS];
	size_t		 next_key;
};

/* Fills the pool up with the recycled keys. */
static void
refill(struct fx *f)
{
	struct hsm_pool_stats	 st;
	struct cm_err		 err;
	EVP_PKEY		*k;

	hsm_pool_stats(f->pool, &st);
	for (; st.level < st.capacity; st.level++) {
		k = f->keys[f->next_key++ % NKEYS];
		assert_int_equal(EVP_PKEY_up_ref(k), 1);
		if (hsm_pool_put(f->pool, k, &err) == -1) {
			EVP_PKEY_free(k);
			fail_msg("%s", err.msg);
		}
	}
}

static void
ok(int rc, const struct cm_err *err)
{
	if (rc < 0)
		fail_msg("%s", err->msg);
}

static struct ca_res *
res_of(const char *as, const char *v4, const char *v6)
{
	struct ca_res	*r = ca_res_new();
	struct cm_err	 err;

	ok(ca_res_parse(r, CA_RES_AS, as, "as", &err), &err);
	ok(ca_res_parse(r, CA_RES_V4, v4, "v4", &err), &err);
	ok(ca_res_parse(r, CA_RES_V6, v6, "v6", &err), &err);
	return r;
}

static int64_t
query_int(struct fx *f, const char *sql, const struct db_params *p)
{
	struct db_res	*r = NULL;
	struct cm_err	 err;
	int64_t		 v = -1;

	if (db_exec(f->db, sql, p, &r, &err) == -1)
		fail_msg("%s: %s", sql, err.msg);
	ok(db_res_int64(r, 0, 0, &v, &err), &err);
	db_res_free(r);
	return v;
}

static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t
asn1_secs(const ASN1_TIME *t)
{
	struct tm	tm;

	assert_int_equal(ASN1_TIME_to_tm(t, &tm), 1);
	return (int64_t)timegm(&tm);
}

/*
 * When the object stops being valid: the earliest of its certificate's
 * (or EE certificate's) notAfter and, for manifests and CRLs, nextUpdate.
 */
static int64_t
expiry_of(const char *kind, const char *uri, const uint8_t *der, size_t len)
{
	struct cm_err	 err;
	X509		*x = NULL;
	int64_t		 t = INT64_MAX;

	if (strcmp(kind, "cer") == 0) {
		const uint8_t *p = der;

		if ((x = d2i_X509(NULL, &p, (long)len)) == NULL)
			fail_msg("%s: not a certificate", uri);
	} else if (strcmp(kind, "crl") == 0) {
		struct ca_crl *c;

		ok(ca_crl_parse(uri, der, len, &c, &err), &err);
		t = c->next_update;
		ca_crl_free(c);
	} else if (strcmp(kind, "mft") == 0) {
		struct ca_mft *m;

		ok(ca_mft_parse(uri, der, len, &m, &x, &err), &err);
		t = m->next_update;
		ca_mft_free(m);
	} else if (strcmp(kind, "roa") == 0) {
		struct ca_roa *r;

		ok(ca_roa_parse(uri, der, len, &r, &x, &err), &err);
		ca_roa_free(r);
	} else if (strcmp(kind, "asa") == 0) {
		struct ca_aspa *a;

		ok(ca_aspa_parse(uri, der, len, &a, &x, &err), &err);
		ca_aspa_free(a);
	} else
		fail_msg("%s: unexpected kind %s", uri, kind);
	if (x != NULL) {
		int64_t na = asn1_secs(X509_get0_notAfter(x));

		if (na < t)
			t = na;
		X509_free(x);
	}
	return t;
}

/* Parses the objects issued since the last call. */
static int
learn_new(struct fx *f)
{
	struct db_params p;
	struct db_res	*r = NULL;
	struct cm_err	 err;
	const uint8_t	*d;
	size_t		 dl;
	int64_t		 id;
	int		 i, n;

	db_params_init(&p);
	db_param_int(&p, f->last_id);
	if ((n = db_exec(f->db, "SELECT id, kind, uri, der FROM issued_object "
	    "WHERE id > $1 ORDER BY id", &p, &r, &err)) == -1)
		fail_msg("%s", err.msg);
	for (i = 0; i < n; i++) {
		ok(db_res_int64(r, i, 0, &id, &err), &err);
		ok(db_res_bytea(r, i, 3, &d, &dl, &err), &err);
		if ((size_t)id >= f->nexp) {
			size_t	 nn = (size_t)id * 2 + 1024;
			int64_t	*ne = realloc(f->exp, nn * sizeof(*ne));

			assert_non_null(ne);
			memset(ne + f->nexp, 0, (nn - f->nexp) * sizeof(*ne));
			f->exp = ne;
			f->nexp = nn;
		}
		f->exp[id] = expiry_of(db_res_text(r, i, 1),
		    db_res_text(r, i, 2), d, dl);
		f->last_id = id;
	}
	db_res_free(r);
	return n;
}

/* The earliest expiry among the current objects; *which gets its URI. */
static int64_t
earliest_expiry(struct fx *f, char *which, size_t len)
{
	struct db_res	*r = NULL;
	struct cm_err	 err;
	int64_t		 id, min = INT64_MAX;
	int		 i, n;

	if ((n = db_exec(f->db, "SELECT id, uri FROM issued_object WHERE "
	    "withdrawn_at IS NULL", NULL, &r, &err)) == -1)
		fail_msg("%s", err.msg);
	assert_true(n > 0);
	for (i = 0; i < n; i++) {
		ok(db_res_int64(r, i, 0, &id, &err), &err);
		assert_true((size_t)id < f->nexp && f->exp[id] != 0);
		if (f->exp[id] < min) {
			min = f->exp[id];
			snprintf(which, len, "%s", db_res_text(r, i, 1));
		}
	}
	db_res_free(r);
	return min;
}

static int64_t
next_due(struct fx *f)
{
	return query_int(f, "SELECT coalesce(ceil(extract(epoch FROM "
	    "min(reissue_at))), 0)::bigint FROM issued_object WHERE "
	    "withdrawn_at IS NULL AND reissue_at IS NOT NULL", NULL);
}

/* Says what is due at now (when a tick left something due). */
static void
show_due(struct fx *f, int64_t now)
{
	struct db_params p;
	struct db_res	*r = NULL;
	struct cm_err	 err;
	int		 i, n;

	db_params_init(&p);
	db_param_int(&p, now);
	if ((n = db_exec(f->db, "SELECT uri, subject, extract(epoch FROM "
	    "reissue_at)::bigint, extract(epoch FROM not_after)::bigint FROM "
	    "issued_object WHERE withdrawn_at IS NULL AND reissue_at <= "
	    "to_timestamp($1::bigint)", &p, &r, &err)) == -1)
		fail_msg("%s", err.msg);
	for (i = 0; i < n; i++)
		fprintf(stderr, "due at day %.3f: %s (%s) reissue_at %s "
		    "not_after %s\n", (double)(now - T0 - AGE) / DAY,
		    db_res_text(r, i, 0), db_res_text(r, i, 1),
		    db_res_text(r, i, 2), db_res_text(r, i, 3));
	db_res_free(r);
}

static struct ca_eng *
engine(struct fx *f, const struct ca_eng_conf *conf)
{
	struct ca_eng	*e;
	struct cm_err	 err;

	if ((e = ca_eng_new(conf, f->db, f->hsm, f->pool, &f->clock,
	    &err)) == NULL)
		fail_msg("%s", err.msg);
	return e;
}

/*
 * TA -> NRIR RIR CAs -> members, each member with a ROA, every third one
 * with an ASPA too.
 */
static void
build(struct fx *f, struct ca_eng *e)
{
	struct cm_err		 err;
	struct ca_res		*r;
	struct ca_plan_roa_cfg	 roa;
	struct ca_plan_aspa_cfg	 aspa;
	uint32_t		 prov[2];
	char			 h[32], as[32], v4[32], v6[32], pfx[32];
	int			 i, k, nm = f->ncas - 1 - NRIR;

	r = res_of("1-4294967295", "0.0.0.0/0", "::/0");
	ok(ca_eng_ta_create(e, "ta", r, "test", &err), &err);
	ca_res_free(r);
	for (i = 0; i < NRIR; i++) {
		snprintf(h, sizeof(h), "rir%d", i);
		snprintf(as, sizeof(as), "%d-%d", 64000 + 1000 * i,
		    64999 + 1000 * i);
		snprintf(v4, sizeof(v4), "%d.0.0.0/8", 10 + i);
		snprintf(v6, sizeof(v6), "2001:db8:%x::/48", i);
		r = res_of(as, v4, v6);
		ok(ca_eng_ca_create(e, h, "ta", r, "test", &err), &err);
		ca_res_free(r);
	}
	for (k = 0; k < nm; k++) {
		int	 rir = k % NRIR, j = k / NRIR;
		uint32_t asn = (uint32_t)(64000 + 1000 * rir + j);

		snprintf(h, sizeof(h), "m%d", k);
		snprintf(as, sizeof(as), "%u", asn);
		snprintf(v4, sizeof(v4), "%d.%d.0.0/16", 10 + rir, j);
		r = res_of(as, v4, "");
		snprintf(v6, sizeof(v6), "rir%d", rir);
		ok(ca_eng_ca_create(e, h, v6, r, "test", &err), &err);
		ca_res_free(r);
		memset(&roa, 0, sizeof(roa));
		roa.asn = asn;
		snprintf(pfx, sizeof(pfx), "%s-24", v4);
		ok(ca_roa_prefix_parse(pfx, &roa.prefix, &err), &err);
		ok(ca_eng_roa_update(e, h, &roa, 1, NULL, 0, "test", &err),
		    &err);
		if (k % 3 != 0)
			continue;
		prov[0] = asn + 1;
		prov[1] = 65535;
		memset(&aspa, 0, sizeof(aspa));
		aspa.customer = asn;
		aspa.providers = prov;
		aspa.nproviders = 2;
		ok(ca_eng_aspa_set(e, h, &aspa, "test", &err), &err);
	}
}

static int
setup(void **state)
{
	struct fx	*f = calloc(1, sizeof(*f));
	struct cm_err	 err;
	const char	*s = getenv("CAIRN_SCHED_CAS");
	BN_CTX		*bc;
	int		 i;

	f->ncas = s != NULL ? atoi(s) : DEFAULT_CAS;
	if (f->ncas < NRIR + 2 || f->ncas > 10000) {
		fprintf(stderr, "CAIRN_SCHED_CAS: %d CAs, not %d..10000\n",
		    f->ncas, NRIR + 2);
		return -1;
	}
	if (dbt_start(&f->t, &err) == -1 ||
	    (f->db = db_open(f->t.dsn, 5, &err)) == NULL ||
	    db_migrate(f->db, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	f->hsm = hsm_open_mem();
	if ((f->pool = hsm_pool_new(POOL, 0, &err)) == NULL) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	if ((bc = BN_CTX_new()) == NULL)
		return -1;
	for (i = 0; i < NKEYS; i++)
		if ((f->keys[i] = hsm_pool_keygen(bc, &err)) == NULL) {
			fprintf(stderr, "%s\n", err.msg);
			BN_CTX_free(bc);
			return -1;
		}
	BN_CTX_free(bc);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	hsm_pool_free(f->pool);
	for (int i = 0; i < NKEYS; i++)
		EVP_PKEY_free(f->keys[i]);
	hsm_close(f->hsm);
	db_close(f->db);
	dbt_stop(&f->t);
	free(f->exp);
	free(f);
	return 0;
}

struct rate {
	int64_t	 minute;	/* the current simulated minute */
	int	 in_minute;	/* CAs re-issued in it so far */
	int	 max;		/* most CAs re-issued in one minute */
	int64_t	 max_at;
	int64_t	 total;
};

static void
rate_add(struct rate *r, int64_t now, int n)
{
	if (n == 0)
		return;
	if (now / 60 != r->minute) {
		r->minute = now / 60;
		r->in_minute = 0;
	}
	r->in_minute += n;
	r->total += n;
	if (r->in_minute > r->max) {
		r->max = r->in_minute;
		r->max_at = now;
	}
}

static void
test_sixty_days(void **state)
{
	struct fx		*f = *state;
	struct ca_eng_conf	 aged, conf;
	struct ca_eng		*e;
	struct cm_err		 err;
	struct rate		 rate = { -1, 0, 0, 0, 0 };
	char			 which[512];
	int64_t			 now, next, end, exp, margin = INT64_MAX;
	int64_t			 objs0, roas0, cers0, next_check;
	int			 n, nchecks = 0, nticks = 0;
	time_t			 t_start = time(NULL);
	int64_t			 day = -1;
	double			 tick_t0, tick_cpu = 0, check_cpu = 0;
	size_t			 issued = 0;

	/* The hierarchy, 300 days old when the window opens. */
	cm_clock_set(&f->clock, T0);
	ca_eng_conf_defaults(&aged);
	aged.rsync_base = BASE;
	aged.sched.mft_validity = 420 * DAY;
	aged.sched.mft_reissue_after = AGE;
	aged.sched.mft_jitter = DAY;
	e = engine(f, &aged);
	refill(f);
	build(f, e);
	ca_eng_free(e);
	assert_int_equal(query_int(f, "SELECT count(*) FROM ca", NULL),
	    f->ncas);
	learn_new(f);

	/* The window, with the defaults. */
	ca_eng_conf_defaults(&conf);
	conf.rsync_base = BASE;
	e = engine(f, &conf);
	now = T0 + AGE;
	end = now + WINDOW;
	exp = earliest_expiry(f, which, sizeof(which));
	assert_true(exp > now);
	cm_clock_set(&f->clock, now);
	n = ca_eng_check(e, &err);
	ok(n, &err);
	assert_int_equal(n, query_int(f, "SELECT count(*) FROM issued_object "
	    "WHERE withdrawn_at IS NULL", NULL));
	objs0 = query_int(f, "SELECT count(*) FROM issued_object", NULL);
	roas0 = query_int(f, "SELECT count(*) FROM issued_object WHERE kind "
	    "IN ('roa', 'asa')", NULL);
	cers0 = query_int(f, "SELECT count(*) FROM issued_object WHERE kind "
	    "= 'cer'", NULL);
	next_check = now + CHECK_EVERY;
	for (;;) {
		next = next_due(f);
		assert_true(next > 0);
		if (next > end)
			next = end;
		/* Nothing current expires before the repository next changes. */
		exp = earliest_expiry(f, which, sizeof(which));
		if (exp <= next)
			fail_msg("%s expires at %lld, %lld s before its "
			    "re-issue (day %.2f of the window)", which,
			    (long long)exp, (long long)(next - exp),
			    (double)(next - (T0 + AGE)) / DAY);
		if (exp - next < margin)
			margin = exp - next;
		if (next >= end)
			break;
		/* Nothing is left due after a tick. */
		if (next <= now)
			show_due(f, now);
		assert_true(next > now);
		now = next;
		cm_clock_set(&f->clock, now);
		refill(f);
		tick_t0 = cpu_now();
		if ((n = ca_eng_tick(e, 100000, &err)) < 0)
			fail_msg("day %.2f: %s", (double)(now - T0 - AGE) / DAY,
			    err.msg);
		assert_true(n > 0);
		tick_cpu += cpu_now() - tick_t0;
		nticks++;
		rate_add(&rate, now, n);
		issued += (size_t)learn_new(f);
		if (getenv("CAIRN_SCHED_VERBOSE") != NULL &&
		    (now - T0 - AGE) / DAY != day) {
			day = (now - T0 - AGE) / DAY;
			fprintf(stderr, "day %lld: %lld re-issues, %ld s\n",
			    (long long)day, (long long)rate.total,
			    (long)(time(NULL) - t_start));
		}
		if (now >= next_check) {
			tick_t0 = cpu_now();
			n = ca_eng_check(e, &err);
			check_cpu += cpu_now() - tick_t0;
			if (n < 0)
				fail_msg("day %.2f: %s", (double)(now - T0 -
				    AGE) / DAY, err.msg);
			assert_int_equal(n, query_int(f, "SELECT count(*) FROM "
			    "issued_object WHERE withdrawn_at IS NULL", NULL));
			nchecks++;
			next_check += CHECK_EVERY;
		}
	}
	cm_clock_set(&f->clock, end);
	ok(ca_eng_check(e, &err), &err);

	/* The whole-repository check does fail: three days later ... */
	cm_clock_set(&f->clock, end + 3 * DAY);
	assert_int_equal(ca_eng_check(e, &err), -1);
	assert_non_null(strstr(err.msg, "internal validation failed"));
	/* ... and on one altered octet of a ROA's signature. */
	cm_clock_set(&f->clock, end);
	query_int(f, "WITH o AS (UPDATE issued_object SET der = set_byte(der, "
	    "length(der) - 8, get_byte(der, length(der) - 8) # 1) WHERE id = "
	    "(SELECT min(id) FROM issued_object WHERE kind = 'roa' AND "
	    "withdrawn_at IS NULL) RETURNING id) SELECT count(*) FROM o", NULL);
	assert_int_equal(ca_eng_check(e, &err), -1);
	ca_eng_free(e);

	printf("schedule: %d CAs, 60 days: %lld CA re-issues in %d ticks, "
	    "%zu objects issued; %d whole-repository checks\n", f->ncas,
	    (long long)rate.total, nticks, issued, nchecks + 1);
	printf("schedule: re-issues per minute: average %.4f, maximum %d "
	    "(day %.2f), %.0fx the average\n",
	    (double)rate.total / (WINDOW / 60), rate.max,
	    (double)(rate.max_at - T0 - AGE) / DAY,
	    rate.max / ((double)rate.total / (WINDOW / 60)));
	printf("schedule: main thread CPU: %.1f s in ticks, %.1f s in "
	    "whole-repository checks; process CPU %.1f s\n", tick_cpu,
	    check_cpu, (double)clock() / CLOCKS_PER_SEC);
	printf("schedule: least validity left before a re-issue: %.1f h\n",
	    (double)margin / HOUR);

	/* Every CA re-signed its manifest at least daily (every 18-24 h). */
	assert_true(rate.total >= (int64_t)f->ncas * 60);
	assert_int_equal((int64_t)issued, query_int(f, "SELECT count(*) FROM "
	    "issued_object", NULL) - objs0);
	/* Every ROA, ASPA and CA certificate was renewed in the window. */
	assert_true(query_int(f, "SELECT count(*) FROM issued_object WHERE "
	    "kind IN ('roa', 'asa')", NULL) >= 2 * roas0);
	assert_true(query_int(f, "SELECT count(*) FROM issued_object WHERE "
	    "kind = 'cer'", NULL) >= cers0 + f->ncas - 1);
	/* The policy's promise: a manifest has a day left when re-issued. */
	assert_true(margin >= conf.sched.mft_validity -
	    conf.sched.mft_reissue_after - conf.sched.mft_jitter);
	/* No synchronised burst: far fewer than the CAs in any minute. */
	assert_true(rate.max * 4 <= f->ncas);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sixty_days),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
