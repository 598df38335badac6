/*
 * bench_db: the cost of writing published objects to PostgreSQL.
 *
 *   bench_db [n-objects]        (default 1000)
 *
 * Starts an embedded cluster in a scratch directory (or uses the database
 * of $CAIRN_BENCH_DSN), applies the migrations, and inserts n objects of
 * 2 KB into pub_object four ways: all in one transaction (the baseline),
 * one transaction each, each with a prepared and an unprepared statement.
 * Prints objects per second and the ratio to the baseline.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "tests/integration/db_testutil.h"

struct run {
	struct db	*db;
	struct db_stmt	*st;		/* NULL: unprepared */
	int		 from, n;
	uint8_t		 data[2048];
};

#define INSERT_SQL	"INSERT INTO pub_object (uri, publisher_id, hash, " \
			"data, serial) VALUES ($1, $2, $3, $4, 1)"

static int
insert_one(struct run *r, int i, struct cm_err *err)
{
	struct db_params	p;
	char			uri[96];
	uint8_t			hash[32];

	snprintf(uri, sizeof(uri), "rsync://rpki.example.net/repo/m%d/"
	    "obj%08d.roa", i % 100, i);
	memset(hash, 0, sizeof(hash));
	memcpy(hash, &i, sizeof(i));
	memcpy(r->data, &i, sizeof(i));
	db_params_init(&p);
	db_param_text(&p, uri);
	db_param_int(&p, 1);
	db_param_bytea(&p, hash, sizeof(hash));
	db_param_bytea(&p, r->data, sizeof(r->data));
	if (r->st != NULL)
		return db_exec_stmt(r->db, r->st, &p, NULL, err) == 1 ? 0 : -1;
	return db_exec(r->db, INSERT_SQL, &p, NULL, err) == 1 ? 0 : -1;
}

static int
batch_body(struct db *db, void *arg, struct cm_err *err)
{
	struct run	*r = arg;

	for (int i = r->from; i < r->from + r->n; i++)
		if (insert_one(r, i, err) == -1)
			return -1;
	return 0;
}

/* Runs one way of inserting; returns objects per second or -1. */
static double
measure(struct run *r, int batched, struct cm_err *err)
{
	struct run	one;
	double		t0 = dbt_now();

	if (db_exec(r->db, "TRUNCATE pub_object", NULL, NULL, err) == -1)
		return -1;
	t0 = dbt_now();
	if (batched) {
		if (db_tx(r->db, NULL, batch_body, r, err) == -1)
			return -1;
	} else {
		one = *r;
		one.n = 1;
		for (int i = 0; i < r->n; i++) {
			one.from = r->from + i;
			if (db_tx(r->db, NULL, batch_body, &one, err) == -1)
				return -1;
		}
	}
	return r->n / (dbt_now() - t0);
}

int
main(int argc, char *argv[])
{
	struct cm_err	 err;
	struct dbt	 t;
	struct run	 r;
	const char	*dsn = getenv("CAIRN_BENCH_DSN");
	const char	*names[] = { "one transaction, prepared (baseline)",
			    "one transaction, unprepared",
			    "transaction per object, prepared",
			    "transaction per object, unprepared" };
	double		 rate[4];
	int		 n = argc > 1 ? atoi(argv[1]) : 1000, rc = 1;

	memset(&t, 0, sizeof(t));
	memset(&r, 0, sizeof(r));
	if (n <= 0) {
		fprintf(stderr, "usage: bench_db [n-objects]\n");
		return 2;
	}
	if (dsn == NULL) {
		if (dbt_start(&t, &err) == -1)
			goto fail;
		dsn = t.dsn;
	}
	if ((r.db = db_open(dsn, 5, &err)) == NULL || db_migrate(r.db, &err)
	    == -1 || db_exec(r.db, "INSERT INTO publisher (id, handle, base_uri) "
	    "OVERRIDING SYSTEM VALUE VALUES (1, 'bench', "
	    "'rsync://rpki.example.net/repo/') ON CONFLICT DO NOTHING", NULL,
	    NULL, &err) == -1 || db_prepare(r.db, INSERT_SQL, &r.st, &err)
	    == -1)
		goto fail;
	r.n = n;
	for (int w = 0; w < 4; w++) {
		struct db_stmt	*st = r.st;

		if (w % 2 == 1)
			r.st = NULL;
		rate[w] = measure(&r, w < 2, &err);
		r.st = st;
		if (rate[w] < 0)
			goto fail;
	}
	printf("bench_db: %d objects of %zu bytes into pub_object\n", n,
	    sizeof(r.data));
	for (int w = 0; w < 4; w++)
		printf("  %-40s %9.0f objects/s  %6.3fx baseline\n", names[w],
		    rate[w], rate[w] / rate[0]);
	printf("  prepared vs unprepared: %.2fx batched, %.2fx per object\n",
	    rate[0] / rate[1], rate[2] / rate[3]);
	db_exec(r.db, "TRUNCATE pub_object", NULL, NULL, NULL);
	rc = 0;
	goto out;
 fail:
	fprintf(stderr, "bench_db: %s\n", err.msg);
 out:
	db_close(r.db);
	dbt_stop(&t);
	return rc;
}
