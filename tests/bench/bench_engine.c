/*
 * CA engine: does the cost of one member's change grow with the number of
 * CAs?  Builds TA -> RIR -> n1 members on an embedded PostgreSQL (keys in
 * memory, EE keys from a pool), times m ROA changes on random members,
 * grows to n2 members and times m changes again.  The ratio of the two
 * per-change times should stay near 1 (the change touches one member's
 * publication point); CA creation does grow with the RIR's manifest.
 *
 * Usage: bench_engine [n1 [n2 [m]]]   (defaults 20 80 30)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ca/engine.h"
#include "common/cm_log.h"
#include "../integration/db_testutil.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct ca_res *
res_of(const char *as, const char *v4)
{
	struct ca_res	*r = ca_res_new();
	struct cm_err	 err;

	if (r == NULL || ca_res_parse(r, CA_RES_AS, as, "as", &err) == -1 ||
	    ca_res_parse(r, CA_RES_V4, v4, "v4", &err) == -1) {
		fprintf(stderr, "%s\n", err.msg);
		exit(1);
	}
	return r;
}

/* Member i holds AS 65000+i and 10.(i/256).(i%256).0/24. */
static int
add_members(struct ca_eng *e, int from, int to, double *secs)
{
	struct cm_err	 err;
	struct ca_res	*r;
	char		 h[32], as[16], v4[32];
	double		 t0 = now();
	int		 i;

	for (i = from; i < to; i++) {
		snprintf(h, sizeof(h), "m%d", i);
		snprintf(as, sizeof(as), "%d", 65000 + i);
		snprintf(v4, sizeof(v4), "10.%d.%d.0/24", i / 256, i % 256);
		r = res_of(as, v4);
		if (ca_eng_ca_create(e, h, "rir", r, "bench", &err) == -1) {
			fprintf(stderr, "%s\n", err.msg);
			return -1;
		}
		ca_res_free(r);
	}
	*secs = now() - t0;
	return 0;
}

/* m changes: add then remove a ROA on random members of [0, n). */
static double
changes(struct ca_eng *e, int n, int m)
{
	struct ca_plan_roa_cfg	c;
	struct cm_err		err;
	char			h[32], pfx[32];
	double			t0 = now();
	int			k, i;

	for (k = 0; k < m; k++) {
		i = rand() % n;
		snprintf(h, sizeof(h), "m%d", i);
		snprintf(pfx, sizeof(pfx), "10.%d.%d.0/24", i / 256, i % 256);
		memset(&c, 0, sizeof(c));
		c.asn = 65000 + i;
		if (ca_roa_prefix_parse(pfx, &c.prefix, &err) == -1 ||
		    ca_eng_roa_update(e, h, &c, 1, NULL, 0, "bench", &err) == -1 ||
		    ca_eng_roa_update(e, h, NULL, 0, &c, 1, "bench", &err) == -1) {
			fprintf(stderr, "%s\n", err.msg);
			return -1;
		}
	}
	return (now() - t0) / (2.0 * m);
}

int
main(int argc, char *argv[])
{
	struct dbt		 t;
	struct cm_err		 err;
	struct db		*db;
	struct hsm		*hsm;
	struct hsm_pool		*pool;
	struct ca_eng		*e;
	struct ca_eng_conf	 conf;
	struct ca_res		*r;
	int			 n1 = argc > 1 ? atoi(argv[1]) : 20;
	int			 n2 = argc > 2 ? atoi(argv[2]) : 80;
	int			 m = argc > 3 ? atoi(argv[3]) : 30;
	double			 c1, c2, s1, s2;

	if (n1 < 1 || n2 <= n1 || m < 1 || n2 > 65000) {
		fprintf(stderr, "usage: bench_engine [n1 [n2 [m]]]\n");
		return 2;
	}
	cm_log_init("bench_engine", CM_LOG_ERR);
	srand(1);
	if (dbt_start(&t, &err) == -1 || (db = db_open(t.dsn, 5, &err)) == NULL ||
	    db_migrate(db, &err) < 0 || (hsm = hsm_open_mem()) == NULL ||
	    (pool = hsm_pool_new(64, 2, &err)) == NULL) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	ca_eng_conf_defaults(&conf);
	conf.rsync_base = "rsync://rpki.example.net/repo/";
	if ((e = ca_eng_new(&conf, db, hsm, pool, NULL, &err)) == NULL) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	r = res_of("0-4294967295", "0.0.0.0/0");
	if (ca_eng_ta_create(e, "ta", r, "bench", &err) == -1)
		goto fail;
	ca_res_free(r);
	r = res_of("65000-130000", "10.0.0.0/8");
	if (ca_eng_ca_create(e, "rir", "ta", r, "bench", &err) == -1)
		goto fail;
	ca_res_free(r);
	if (add_members(e, 0, n1, &s1) == -1 || (c1 = changes(e, n1, m)) < 0 ||
	    add_members(e, n1, n2, &s2) == -1 || (c2 = changes(e, n2, m)) < 0)
		return 1;
	printf("CA engine, TA -> RIR -> members, EE keys from a 2-thread pool\n");
	printf("  create a member CA: %6.1f ms with up to %d members, %6.1f ms "
	    "up to %d (%.2fx)\n", 1000 * s1 / n1, n1, 1000 * s2 / (n2 - n1), n2,
	    (s2 / (n2 - n1)) / (s1 / n1));
	printf("  one ROA change:     %6.1f ms with %d members (baseline), "
	    "%6.1f ms with %d members: %.2fx\n", 1000 * c1, n1, 1000 * c2, n2,
	    c2 / c1);
	ca_eng_free(e);
	hsm_pool_free(pool);
	hsm_close(hsm);
	db_close(db);
	dbt_stop(&t);
	return 0;
fail:
	fprintf(stderr, "%s\n", err.msg);
	return 1;
}
