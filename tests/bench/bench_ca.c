/*
 * CA engine at RIR scale: TA -> RIR -> n hosted member CAs on an embedded
 * PostgreSQL (CA keys in the in-memory signer, one-time EE keys from a
 * 2-thread pool, as in bench_engine).  Members are created with the bulk
 * path (ca_eng_ca_create_many, batches of 500).  With n1 and then n2
 * members loaded it measures:
 *
 *   latency   m ROA changes on random members, each from the request to the
 *             committed transaction (ROA, manifest, CRL, outbox, audit,
 *             internal validation), each started with a full ("warm") key
 *             pool: p50 and p99;
 *   bulk      b ROA changes back to back, started with an empty pool, so
 *             that the EE keys are made while the engine works: signed
 *             objects that need an EE key (ROA + manifest) per second,
 *             against the pool's raw keys/s measured just before (the
 *             ceiling; goal >= 90%);
 *
 * and prints the ratio of the per-change cost (p50) at n2 to that at n1
 * (goal <= 1.2).  The bulk creation itself is reported too (CAs/s, and its
 * keys/s -- a CA key and a manifest EE key per CA -- against the raw rate).
 *
 * Usage: bench_ca [n1 [n2 [m [b]]]]   (defaults 1000 10000 100 100)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ca/engine.h"
#include "common/cm_log.h"
#include "../integration/db_testutil.h"

#define POOL_SIZE	64
#define POOL_THREADS	2
#define BATCH		500

struct bench {
	struct ca_eng	*e;
	struct hsm_pool	*pool;
	unsigned char	*has_roa;	/* per member: a ROA was added */
	int		 n;		/* members loaded */
	double		 import_secs;
};

static double
now(void)
{
	return dbt_now();
}

static void die(const char *, const struct cm_err *)
    __attribute__((noreturn));

static void
die(const char *what, const struct cm_err *err)
{
	fprintf(stderr, "bench_ca: %s: %s\n", what, err->msg);
	exit(1);
}

static struct ca_res *
res_of(const char *as, const char *v4)
{
	struct ca_res	*r = ca_res_new();
	struct cm_err	 err;

	if (r == NULL || ca_res_parse(r, CA_RES_AS, as, "as", &err) == -1 ||
	    ca_res_parse(r, CA_RES_V4, v4, "v4", &err) == -1)
		die("resources", &err);
	return r;
}

/*
 * The pool's raw production: empty it, then time k keys taken as fast as
 * the worker threads make them.  Leaves the pool empty.
 */
static double
raw_keys_per_s(struct hsm_pool *pool, int k)
{
	struct hsm_pool_stats	 st;
	struct cm_err		 err;
	EVP_PKEY		*key;
	double			 t0;
	int			 i;

	for (;;) {
		hsm_pool_stats(pool, &st);
		if (st.level == 0)
			break;
		if (hsm_pool_get(pool, 60000, &key, &err) == -1)
			die("pool", &err);
		EVP_PKEY_free(key);
	}
	t0 = now();
	for (i = 0; i < k; i++) {
		if (hsm_pool_get(pool, 60000, &key, &err) == -1)
			die("pool", &err);
		EVP_PKEY_free(key);
	}
	return k / (now() - t0);
}

static void
wait_pool_full(struct hsm_pool *pool)
{
	struct hsm_pool_stats	st;
	double			t0 = now();

	do {
		hsm_pool_stats(pool, &st);
		if (st.level >= st.capacity)
			return;
		usleep(20000);
	} while (now() - t0 < 120);
	fprintf(stderr, "bench_ca: the pool did not fill in 120 s\n");
	exit(1);
}

static void
import_progress(void *arg, const char *phase, size_t done, size_t total)
{
	(void)arg;
	if (done == total && strcmp(phase, "publication points") == 0)
		fprintf(stderr, "  ... batch of %zu done\n", total);
}

/* Members [b->n, to): handle m<i>, AS 65000+i, 10.(i/256).(i%256).0/24. */
static void
grow(struct bench *b, int to)
{
	struct ca_eng_new_ca	 cas[BATCH];
	struct ca_res		*res[BATCH];
	char			 h[BATCH][16], as[16], v4[32];
	struct cm_err		 err;
	size_t			 bad;
	double			 t0 = now();
	int			 i, k;

	while (b->n < to) {
		k = to - b->n < BATCH ? to - b->n : BATCH;
		for (i = 0; i < k; i++) {
			int m = b->n + i;

			snprintf(h[i], sizeof(h[i]), "m%d", m);
			snprintf(as, sizeof(as), "%d", 65000 + m);
			snprintf(v4, sizeof(v4), "10.%d.%d.0/24", m / 256,
			    m % 256);
			res[i] = res_of(as, v4);
			cas[i].handle = h[i];
			cas[i].parent = "rir";
			cas[i].res = res[i];
		}
		if (ca_eng_ca_create_many(b->e, cas, (size_t)k, 2, "bench",
		    import_progress, NULL, &bad, &err) != k)
			die("bulk creation", &err);
		for (i = 0; i < k; i++)
			ca_res_free(res[i]);
		b->n += k;
		fprintf(stderr, "  %d members, %.0f s\n", b->n, now() - t0);
	}
	b->import_secs = now() - t0;
}

/* Adds a ROA to a random member that has none; the seconds it took. */
static double
change(struct bench *b)
{
	struct ca_plan_roa_cfg	 c;
	struct cm_err		 err;
	char			 h[16], pfx[32];
	double			 t0;
	int			 i;

	do
		i = rand() % b->n;
	while (b->has_roa[i]);
	b->has_roa[i] = 1;
	snprintf(h, sizeof(h), "m%d", i);
	snprintf(pfx, sizeof(pfx), "10.%d.%d.0/24", i / 256, i % 256);
	memset(&c, 0, sizeof(c));
	c.asn = 65000 + i;
	if (ca_roa_prefix_parse(pfx, &c.prefix, &err) == -1)
		die(pfx, &err);
	t0 = now();
	if (ca_eng_roa_update(b->e, h, &c, 1, NULL, 0, "bench", &err) == -1)
		die(h, &err);
	return now() - t0;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct figures {
	int	n;
	double	import_cas_s, import_keys_s, import_raw;
	double	p50, p99, mean;
	double	bulk_objs_s, raw_keys_s;
};

static void
measure(struct bench *b, int m, int nb, struct figures *f)
{
	double	*lat = calloc((size_t)m, sizeof(*lat)), sum = 0, t0;
	int	 i;

	f->n = b->n;
	for (i = 0; i < m; i++) {
		wait_pool_full(b->pool);
		sum += lat[i] = change(b);
	}
	qsort(lat, (size_t)m, sizeof(*lat), cmp_double);
	f->p50 = lat[(m - 1) / 2];
	f->p99 = lat[(int)((m - 1) * 0.99 + 0.5)];
	f->mean = sum / m;
	free(lat);
	/* Ceiling first (leaves the pool empty), then the bulk right after. */
	f->raw_keys_s = raw_keys_per_s(b->pool, 48);
	t0 = now();
	for (i = 0; i < nb; i++)
		change(b);
	f->bulk_objs_s = 2.0 * nb / (now() - t0);
}

static void
print(const struct figures *f)
{
	printf("  %6d CAs: change p50 %6.1f ms, p99 %6.1f ms (mean %.1f); "
	    "bulk %5.2f EE objects/s vs raw %5.2f keys/s = %3.0f%%\n", f->n,
	    1000 * f->p50, 1000 * f->p99, 1000 * f->mean, f->bulk_objs_s,
	    f->raw_keys_s, 100 * f->bulk_objs_s / f->raw_keys_s);
}

int
main(int argc, char *argv[])
{
	struct dbt		 t;
	struct cm_err		 err;
	struct db		*db;
	struct hsm		*hsm;
	struct ca_eng_conf	 conf;
	struct ca_res		*r;
	struct bench		 b;
	struct figures		 f1, f2;
	int			 n1 = argc > 1 ? atoi(argv[1]) : 1000;
	int			 n2 = argc > 2 ? atoi(argv[2]) : 10000;
	int			 m = argc > 3 ? atoi(argv[3]) : 100;
	int			 nb = argc > 4 ? atoi(argv[4]) : 100;
	double			 t_all = now(), raw0;

	if (n1 < 1 || n2 <= n1 || n2 > 65000 || m < 2 || nb < 1 ||
	    2 * (m + nb) > n1) {
		fprintf(stderr, "usage: bench_ca [n1 [n2 [m [b]]]] "
		    "(n1 < n2 <= 65000, 2 (m + b) <= n1)\n");
		return 2;
	}
	cm_log_init("bench_ca", CM_LOG_ERR);
	srand(1);
	memset(&b, 0, sizeof(b));
	if ((b.has_roa = calloc((size_t)n2, 1)) == NULL)
		return 1;
	if (dbt_start(&t, &err) == -1 || (db = db_open(t.dsn, 5, &err)) == NULL ||
	    db_migrate(db, &err) < 0 || (hsm = hsm_open_mem()) == NULL ||
	    (b.pool = hsm_pool_new(POOL_SIZE, POOL_THREADS, &err)) == NULL)
		die("set-up", &err);
	ca_eng_conf_defaults(&conf);
	conf.rsync_base = "rsync://rpki.example.net/repo/";
	if ((b.e = ca_eng_new(&conf, db, hsm, b.pool, NULL, &err)) == NULL)
		die("engine", &err);
	r = res_of("0-4294967295", "0.0.0.0/0");
	if (ca_eng_ta_create(b.e, "ta", r, "bench", &err) == -1)
		die("ta", &err);
	ca_res_free(r);
	r = res_of("65000-130000", "10.0.0.0/8");
	if (ca_eng_ca_create(b.e, "rir", "ta", r, "bench", &err) == -1)
		die("rir", &err);
	ca_res_free(r);

	raw0 = raw_keys_per_s(b.pool, 48);
	fprintf(stderr, "raw pool: %.2f keys/s; creating %d members\n", raw0,
	    n1);
	grow(&b, n1);
	f1.import_cas_s = n1 / b.import_secs;
	f1.import_raw = raw0;
	measure(&b, m, nb, &f1);
	print(&f1);
	fflush(stdout);
	fprintf(stderr, "creating %d more members\n", n2 - n1);
	grow(&b, n2);
	f2.import_cas_s = (n2 - n1) / b.import_secs;
	f2.import_raw = f1.raw_keys_s;
	measure(&b, m, nb, &f2);

	printf("CA engine at scale: TA -> RIR -> members, in-memory CA keys, "
	    "EE keys from a %d-thread pool of %d\n", POOL_THREADS, POOL_SIZE);
	printf("  bulk creation (batches of %d): %.2f CAs/s up to %d, %.2f CAs/s "
	    "up to %d; keys (CA + manifest EE) %.0f%% / %.0f%% of the raw "
	    "pool rate\n", BATCH, f1.import_cas_s, n1, f2.import_cas_s, n2,
	    100 * 2 * f1.import_cas_s / f1.import_raw,
	    100 * 2 * f2.import_cas_s / f2.import_raw);
	print(&f1);
	print(&f2);
	printf("  per-change cost %d vs %d CAs: p50 %.2fx, p99 %.2fx, mean "
	    "%.2fx (goal <= 1.2)\n", n2, n1, f2.p50 / f1.p50, f2.p99 / f1.p99,
	    f2.mean / f1.mean);
	printf("  bulk EE objects/s vs raw keys/s: %.0f%% with %d, %.0f%% with "
	    "%d (goal >= 90%%)\n", 100 * f1.bulk_objs_s / f1.raw_keys_s, n1,
	    100 * f2.bulk_objs_s / f2.raw_keys_s, n2);
	printf("  total run time %.0f s\n", now() - t_all);
	ca_eng_free(b.e);
	hsm_pool_free(b.pool);
	hsm_close(hsm);
	db_close(db);
	dbt_stop(&t);
	free(b.has_roa);
	return 0;
}
