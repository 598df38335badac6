/*
 * bench_pubd: the cost of building RRDP serial N+1 with the in-memory
 * snapshot index (publish/pub_index.h) against writing the snapshot from
 * scratch, both in this run.
 *
 *   bench_pubd [n-objects [n-changes [object-size]]]
 *                              (default 100000 100 2048)
 *
 * Baseline: every object, sorted by URI, through the RRDP writer (base64
 * and escaping of the whole repository), then SHA-256 of the file: what a
 * builder without the index does per serial.  Incremental: the batch
 * (half replaced, a quarter new, a quarter withdrawn) applied to the index,
 * the delta written, the snapshot concatenated from the pre-encoded
 * fragments and hashed.  The one-off cost of building the index is printed
 * too.  Each side reuses its output buffer (best of three runs), as the
 * leader does between serials.  Database time is not included (it is the
 * same for both).
 *
 * Then bench_serial_scaling(): the serial builder's critical path for a
 * batch of 10 changes on 10,000 against 300,000 objects (the ratio shows
 * that it costs the batch, not the repository), and the snapshot that the
 * leader's worker thread builds off that path.  bench_serial_db(): the
 * same with pub_build_step() and pub_build_snapshot() on an embedded
 * PostgreSQL (skipped when $BENCH_NODB is set).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cm_buf.h"
#include "common/cm_enc.h"
#include "common/cm_log.h"
#include "db/db.h"
#include "publish/pub_build.h"
#include "publish/pub_index.h"
#include "publish/pub_rrdp.h"
#include "tests/integration/db_testutil.h"

#define SESSION	"9f1c7d2e-4b3a-4c5d-8e6f-0a1b2c3d4e5f"

struct obj {
	char	uri[96];
	uint8_t	*data;
	size_t	len;
};

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
die(const char *what, const struct cm_err *err)
{
	fprintf(stderr, "bench_pubd: %s: %s\n", what, err->msg);
	exit(1);
}

static void
fill(uint8_t *p, size_t n, uint32_t seed)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

static int
cmp_obj(const void *a, const void *b)
{
	return strcmp(((const struct obj *)a)->uri, ((const struct obj *)b)->uri);
}

static int
cmp_chg(const void *a, const void *b)
{
	return strcmp(((const struct pub_index_change *)a)->uri,
	    ((const struct pub_index_change *)b)->uri);
}

/* The baseline: the whole snapshot through the writer, and its hash. */
static double
from_scratch(const struct obj *o, size_t n, uint64_t serial,
    struct cm_buf *buf, size_t *len)
{
	struct pub_rrdp_writer	w;
	struct cm_buf		b = *buf;
	struct cm_err		err;
	uint8_t			h[32];
	double			t0 = now();
	size_t			i;

	if (pub_rrdp_begin(&w, &b, PUB_RRDP_SNAPSHOT, SESSION, serial,
	    &err) == -1)
		die("begin", &err);
	for (i = 0; i < n; i++)
		if (pub_rrdp_write_publish(&w, o[i].uri, NULL, o[i].data,
		    o[i].len, &err) == -1)
			die("publish", &err);
	if (pub_rrdp_end(&w, &err) == -1)
		die("end", &err);
	cm_sha256(b.data, b.len, h);
	*len = b.len;
	cm_buf_reset(&b);
	*buf = b;
	return now() - t0;
}

/* ---- the serial builder's critical path against repository size ---- */

#define SCALE_BATCH	10	/* changes per serial */
#define SCALE_RUNS	41	/* serials timed per size (median) */

static void
scale_uri(char *out, size_t size, size_t i, const char *suffix)
{
	/* Zero-padded: URI order is index order. */
	snprintf(out, size, "rsync://rpki.example.net/repo/ca%05zu/"
	    "obj%06zu%s.roa", i / 50, i, suffix);
}

static int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * The image of n objects of about sz bytes, applied in sorted batches of
 * 10,000 as the leader's start would (pub_build_load() does it in one).
 */
static struct pub_index *
scale_image(size_t n, size_t sz, uint8_t *buf)
{
	struct pub_index_change	*c = calloc(10000, sizeof(*c));
	struct pub_index	*ix = pub_index_new(), *nx;
	struct cm_err		 err;
	char			(*uris)[96] = calloc(10000, sizeof(*uris));
	size_t			 i, k;

	for (i = 0; i < n; i += k) {
		for (k = 0; k < 10000 && i + k < n; k++) {
			scale_uri(uris[k], sizeof(uris[k]), i + k, "");
			c[k].uri = uris[k];
			c[k].publisher = (int64_t)((i + k) % 100);
			c[k].data = buf + (i + k) % 4096;
			c[k].len = sz - 256 + (i + k) % 512;
		}
		if (pub_index_apply(ix, c, k, &nx, &err) == -1)
			die("image", &err);
		pub_index_free(ix);
		ix = nx;
	}
	free(uris);
	free(c);
	return ix;
}

/*
 * What pub_build_step() does in memory for one batch: look the URIs up
 * (the net effect), apply them to the index, write the delta, take the
 * digest recorded with the serial, drop the previous index.  Returns the
 * time in seconds.  *ixp becomes the new index.
 */
static double
scale_serial(struct pub_index **ixp, size_t n, size_t sz, uint8_t *buf,
    uint64_t serial, uint32_t *seed)
{
	struct pub_index_change	 c[SCALE_BATCH];
	struct pub_rrdp_writer	 w;
	struct pub_index	*nx;
	struct cm_buf		 delta = CM_BUF_INIT;
	struct cm_err		 err;
	char			 uris[SCALE_BATCH][96];
	uint8_t			 old[SCALE_BATCH][32], dg[32];
	int			 had[SCALE_BATCH];
	double			 t0;
	size_t			 i, j;

	/* Half replaced, three new, two withdrawn, spread out. */
	for (i = 0; i < SCALE_BATCH; i++) {
		*seed = *seed * 1103515245u + 12345u;
		j = (*seed >> 4) % n;
		scale_uri(uris[i], sizeof(uris[i]), j, i < 5 ? "" : i < 8 ?
		    "-new" : "");
		c[i].uri = uris[i];
		c[i].publisher = (int64_t)(j % 100);
		c[i].data = i < 8 ? buf + (serial * 7 + i) % 4096 : NULL;
		c[i].len = i < 8 ? sz - 256 + (serial + i) % 512 : 0;
	}
	qsort(c, SCALE_BATCH, sizeof(c[0]), cmp_chg);
	for (i = 1, j = 1; i < SCALE_BATCH; i++)	/* a URI once */
		if (strcmp(c[i].uri, c[j - 1].uri) != 0)
			c[j++] = c[i];
	t0 = now();
	for (i = 0; i < j; i++)
		had[i] = pub_index_get(*ixp, c[i].uri, old[i], NULL);
	if (pub_index_apply(*ixp, c, j, &nx, &err) == -1 ||
	    pub_rrdp_begin(&w, &delta, PUB_RRDP_DELTA, SESSION, serial,
	    &err) == -1)
		die("serial", &err);
	for (i = 0; i < j; i++) {
		if (c[i].data != NULL && pub_rrdp_write_publish(&w, c[i].uri,
		    had[i] ? old[i] : NULL, c[i].data, c[i].len, &err) == -1)
			die("delta", &err);
		if (c[i].data == NULL && had[i] &&
		    pub_rrdp_write_withdraw(&w, c[i].uri, old[i], &err) == -1)
			die("delta", &err);
	}
	if (pub_rrdp_end(&w, &err) == -1)
		die("delta end", &err);
	cm_sha256(delta.data, delta.len, dg);
	pub_index_digest(nx, dg);
	pub_index_free(*ixp);
	*ixp = nx;
	t0 = now() - t0;
	cm_buf_free(&delta);
	return t0;
}

/* The worker's part: snapshot concatenated from the index, SHA-256. */
static double
scale_snapshot(const struct pub_index *ix, size_t *len)
{
	struct cm_buf	b = CM_BUF_INIT;
	struct cm_err	err;
	uint8_t		h[32];
	double		t0 = now();

	if (pub_index_snapshot(ix, SESSION, 99, &b, &err) == -1)
		die("snapshot", &err);
	cm_sha256(b.data, b.len, h);
	t0 = now() - t0;
	*len = b.len;
	cm_buf_free(&b);
	return t0;
}

/*
 * Serial build time (the leader's critical path, in memory) for a batch
 * of 10 changes on 10,000 and on 300,000 objects, median of 41 serials
 * each, as a ratio; the goal is at most 1.2 (cost of the batch, not of the
 * repository).  The serials of the two repositories alternate, so that
 * machine load and cache state are alike for both: in the daemon a minute
 * of serving passes between two serials, the builder's data is never hot.
 * Then the snapshot the worker thread builds off that path.
 */
static void
bench_serial_scaling(size_t sz)
{
	const size_t	 sizes[2] = { 10000, 300000 };
	struct pub_index *ix[2];
	uint8_t		*buf = malloc(4096 + sz);
	uint32_t	 seed = 7;
	double		 t[2][SCALE_RUNS], med[2], snap[2];
	size_t		 s, r, slen[2];

	fill(buf, 4096 + sz, 99);
	printf("bench_pubd: serial build, batch of %d changes, objects of "
	    "~%zu bytes\n", SCALE_BATCH, sz);
	for (s = 0; s < 2; s++)
		ix[s] = scale_image(sizes[s], sz, buf);
	for (r = 0; r < SCALE_RUNS; r++)
		for (s = 0; s < 2; s++)
			t[s][r] = scale_serial(&ix[s], sizes[s], sz, buf, r + 2,
			    &seed);
	for (s = 0; s < 2; s++) {
		qsort(t[s], SCALE_RUNS, sizeof(t[s][0]), cmp_double);
		med[s] = t[s][SCALE_RUNS / 2];
		snap[s] = scale_snapshot(ix[s], &slen[s]);
		printf("  %6zu objects: serial %8.1f us (median of %d; min "
		    "%.1f), background snapshot %7.1f ms (%.1f MB)\n",
		    sizes[s], med[s] * 1e6, SCALE_RUNS, t[s][0] * 1e6,
		    snap[s] * 1e3, slen[s] / 1e6);
		pub_index_free(ix[s]);
	}
	printf("  ratio serial 300,000 / 10,000 objects: %.2f (goal <= 1.2); "
	    "snapshot ratio %.1f\n", med[1] / med[0], snap[1] / snap[0]);
	free(buf);
}

/* ---- the same with PostgreSQL: pub_build_step() and the worker ---- */

#define DB_URI_SQL	"'rsync://rpki.example.net/repo/ca' || " \
			"lpad((i / 50)::text, 5, '0') || '/obj' || " \
			"lpad(i::text, 6, '0') || '.roa'"

/* Objects from..to-1 of 1 KB into pub_object, straight (a seeded repo). */
static void
db_fill(struct db *db, size_t from, size_t to)
{
	struct db_params	pa;
	struct cm_err		err;

	db_params_init(&pa);
	db_param_int(&pa, (int64_t)from);
	db_param_int(&pa, (int64_t)to);
	if (db_exec(db, "INSERT INTO pub_object (uri, publisher_id, hash, "
	    "data, serial) SELECT u, 1, sha256(d), d, 1 FROM (SELECT "
	    DB_URI_SQL " AS u, decode(repeat(md5(i::text), 64), 'hex') AS d "
	    "FROM generate_series($1::int, $2::int - 1) i) x", &pa, NULL,
	    &err) == -1)
		die("fill", &err);
	/* The bulk load's maintenance is done before timing, not during. */
	if (db_exec(db, "VACUUM ANALYZE pub_object", NULL, NULL, &err) == -1 ||
	    db_exec(db, "CHECKPOINT", NULL, NULL, &err) == -1)
		die("vacuum", &err);
}

/* A batch of 8 replacements and 2 withdrawals into the outbox. */
static void
db_batch(struct db *db, size_t n, uint64_t serial, uint32_t *seed)
{
	struct db_params	pa;
	struct cm_err		err;
	char			rep[1024], wd[256], u[96];
	size_t			i, j;

	snprintf(rep, sizeof(rep), "{");
	snprintf(wd, sizeof(wd), "{");
	for (i = 0; i < SCALE_BATCH; i++) {
		*seed = *seed * 1103515245u + 12345u;
		j = (*seed >> 4) % n;
		scale_uri(u, sizeof(u), j, "");
		strcat(i < 8 ? rep : wd, u);
		strcat(i < 8 ? rep : wd, i == 7 || i == SCALE_BATCH - 1 ?
		    "}" : ",");
	}
	db_params_init(&pa);
	db_param_text(&pa, rep);
	db_param_text(&pa, wd);
	db_param_int(&pa, (int64_t)serial);
	if (db_exec(db, "INSERT INTO pub_change (publisher_id, op, uri, "
	    "old_hash, data) SELECT publisher_id, 'publish', uri, hash, "
	    "decode(repeat(md5(uri || $3::text), 64), 'hex') FROM pub_object "
	    "WHERE uri = ANY($1::text[]) UNION ALL SELECT publisher_id, "
	    "'withdraw', uri, hash, NULL FROM pub_object WHERE uri = "
	    "ANY($2::text[])", &pa, NULL, &err) == -1)
		die("batch", &err);
}

/* One serial of b on db (repository of n objects); its time. */
static double
db_serial(struct pub_build *b, struct db *db, size_t n, uint64_t r,
    uint32_t *seed)
{
	struct cm_err	err;
	double		t0;
	int		k;

	db_batch(db, n, r, seed);
	t0 = now();
	if ((k = pub_build_step(b, db, NULL, &err)) != 1) {
		if (k == -1)
			die("step", &err);
		fprintf(stderr, "bench_pubd: no serial built\n");
		exit(1);
	}
	return now() - t0;
}

static struct pub_build *
db_leader(struct db *db)
{
	struct pub_build_conf	 c;
	struct pub_build	*b;
	struct cm_err		 err;

	memset(&c, 0, sizeof(c));
	c.rrdp_base = "https://rrdp.example.net/rrdp/";
	c.withdraw_share = 1.0;
	c.guard_min = 1000000;
	c.retention = 7200;
	c.min_history = 4 * 3600;
	/* Its first step loads the image and starts serial 1: not timed. */
	if ((b = pub_build_new(&c, &err)) == NULL ||
	    pub_build_step(b, db, NULL, &err) == -1)
		die("leader", &err);
	return b;
}

/* A new database name of cluster t, migrated, with publisher 1. */
static struct db *
db_create(struct db *admin, const struct dbt *t, const char *name)
{
	struct cm_err	 err;
	struct db	*db;
	char		 sql[128], dsn[512];

	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
	if (db_exec(admin, sql, NULL, NULL, &err) == -1)
		die("create", &err);
	dbt_dsn_db(t, name, dsn, sizeof(dsn));
	if ((db = db_open(dsn, 10, &err)) == NULL ||
	    db_migrate(db, &err) == -1 ||
	    db_exec(db, "INSERT INTO publisher (id, handle, base_uri) "
	    "OVERRIDING SYSTEM VALUE VALUES (1, 'bench', "
	    "'rsync://rpki.example.net/repo/')", NULL, NULL, &err) == -1)
		die("database", &err);
	return db;
}

/*
 * pub_build_step() against an embedded PostgreSQL: 10-change batches on
 * a database of 10,000 and one of 300,000 objects of 1 KB, serials
 * alternating between them, median of 41 each; then one snapshot of the
 * worker (build, then store with the notification).
 */
static void
bench_serial_db(void)
{
	const size_t		 sizes[2] = { 10000, 300000 };
	struct pub_build_snap_result sr;
	struct pub_build	*b[2];
	struct cm_err		 err;
	struct dbt		 t;
	struct db		*admin = NULL, *db[2];
	uint32_t		 seed = 11;
	double			 tm[2][SCALE_RUNS], med[2], t0;
	size_t			 s, r;

	cm_log_init("bench_pubd", CM_LOG_WARN);
	if (dbt_start(&t, &err) == -1 ||
	    (admin = db_open(t.dsn, 10, &err)) == NULL)
		die("cluster", &err);
	printf("bench_pubd: pub_build_step() with PostgreSQL, batch of %d "
	    "changes, objects of 1 KB\n", SCALE_BATCH);
	db[0] = db_create(admin, &t, "pubd10k");
	db[1] = db_create(admin, &t, "pubd300k");
	for (s = 0; s < 2; s++) {
		db_fill(db[s], 0, sizes[s]);
		t0 = now();
		b[s] = db_leader(db[s]);
		printf("  leader start on %zu objects (load, index): %.1f s\n",
		    sizes[s], now() - t0);
	}
	for (r = 0; r < SCALE_RUNS; r++)
		for (s = 0; s < 2; s++)
			tm[s][r] = db_serial(b[s], db[s], sizes[s], r, &seed);
	for (s = 0; s < 2; s++) {
		qsort(tm[s], SCALE_RUNS, sizeof(tm[s][0]), cmp_double);
		med[s] = tm[s][SCALE_RUNS / 2];
		printf("  %6zu objects: serial %7.2f ms (median of %d; min "
		    "%.2f)\n", sizes[s], med[s] * 1e3, SCALE_RUNS,
		    tm[s][0] * 1e3);
	}
	printf("  ratio 300,000 / 10,000 objects: %.2f (goal <= 1.2)\n",
	    med[1] / med[0]);
	if (pub_build_snapshot(b[1], db[1], &sr, &err) != 1)
		die("snapshot", &err);
	printf("  background snapshot of serial %llu (300,000 objects): %.1f "
	    "MB, built in %.0f ms, stored with its notification (%zu "
	    "deltas) in %.0f ms\n", (unsigned long long)sr.serial,
	    sr.snapshot_len / 1e6, sr.build_ms, sr.ndeltas, sr.store_ms);
	for (s = 0; s < 2; s++) {
		pub_build_free(b[s]);
		db_close(db[s]);
	}
	db_close(admin);
	dbt_stop(&t);
}

int
main(int argc, char *argv[])
{
	size_t			 n = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
	size_t			 k = argc > 2 ? strtoul(argv[2], NULL, 10) : 100;
	size_t			 sz = argc > 3 ? strtoul(argv[3], NULL, 10) : 2048;
	struct pub_index_change	*c, *chg;
	struct pub_index	*empty, *ix, *nx;
	struct pub_rrdp_writer	 w;
	struct cm_buf		 snap = CM_BUF_INIT, delta = CM_BUF_INIT;
	struct cm_err		 err;
	struct obj		*o;
	uint8_t			 h[32], old[32];
	double			 t0, t_index, t_apply, t_delta, t_concat, t_hash;
	double			 t_inc, t_base;
	size_t			 i, slen;
	int			 r;

	if (n < 4 * k || k == 0 || sz < 100) {
		fprintf(stderr, "usage: bench_pubd [objects [changes [size]]] "
		    "with objects >= 4 * changes, size >= 100\n");
		return 2;
	}
	o = calloc(n + k, sizeof(*o));
	c = calloc(n, sizeof(*c));
	chg = calloc(k, sizeof(*chg));
	for (i = 0; i < n + k; i++) {
		snprintf(o[i].uri, sizeof(o[i].uri), "rsync://rpki.example.net/"
		    "repo/m%05zu/%08zx.roa", i % 20000, i * 2654435761u);
		o[i].len = sz - 256 + i % 512;
		o[i].data = malloc(o[i].len);
		fill(o[i].data, o[i].len, (uint32_t)i);
	}
	qsort(o, n, sizeof(*o), cmp_obj);	/* the first n: the repository */
	for (i = 0; i < n; i++) {
		c[i].uri = o[i].uri;
		c[i].publisher = (int64_t)(i % 100);
		c[i].data = o[i].data;
		c[i].len = o[i].len;
	}
	printf("bench_pubd: %zu objects of ~%zu bytes, batch of %zu changes\n",
	    n, sz, k);

	/* One-off: the index from the whole repository (leader start). */
	t0 = now();
	empty = pub_index_new();
	if (pub_index_apply(empty, c, n, &ix, &err) == -1)
		die("index", &err);
	t_index = now() - t0;

	/* The batch: k/2 replaced, k/4 new, k/4 withdrawn (spread out). */
	for (i = 0; i < k; i++) {
		size_t j = (i * (n / k) + 7) % n;

		chg[i].uri = o[j].uri;
		chg[i].publisher = c[j].publisher;
		if (i < k / 2) {
			chg[i].data = o[n + i].data;	/* new content */
			chg[i].len = o[n + i].len;
		} else if (i < 3 * k / 4) {
			chg[i].uri = o[n + i].uri;	/* new object */
			chg[i].data = o[n + i].data;
			chg[i].len = o[n + i].len;
		}
	}
	qsort(chg, k, sizeof(*chg), cmp_chg);

	t0 = now();
	if (pub_index_apply(ix, chg, k, &nx, &err) == -1)
		die("apply", &err);
	t_apply = now() - t0;
	t0 = now();
	if (pub_rrdp_begin(&w, &delta, PUB_RRDP_DELTA, SESSION, 2, &err) == -1)
		die("delta", &err);
	for (i = 0; i < k; i++) {
		int had = pub_index_get(ix, chg[i].uri, old, NULL);

		if (chg[i].data != NULL && pub_rrdp_write_publish(&w,
		    chg[i].uri, had ? old : NULL, chg[i].data, chg[i].len,
		    &err) == -1)
			die("delta publish", &err);
		if (chg[i].data == NULL && pub_rrdp_write_withdraw(&w,
		    chg[i].uri, old, &err) == -1)
			die("delta withdraw", &err);
	}
	if (pub_rrdp_end(&w, &err) == -1)
		die("delta end", &err);
	t_delta = now() - t0;
	/* Best of 3: the leader reuses its snapshot buffer between serials. */
	t_concat = t_hash = 1e9;
	for (r = 0; r < 3; r++) {
		cm_buf_reset(&snap);
		t0 = now();
		if (pub_index_snapshot(nx, SESSION, 2, &snap, &err) == -1)
			die("snapshot", &err);
		if (now() - t0 < t_concat)
			t_concat = now() - t0;
		t0 = now();
		cm_sha256(snap.data, snap.len, h);
		if (now() - t0 < t_hash)
			t_hash = now() - t0;
	}
	t_inc = t_apply + t_delta + t_concat + t_hash;

	/* Baseline on the same new state. */
	{
		struct obj	*cur = calloc(n + k, sizeof(*cur));
		size_t		 m = 0, a = 0, b = 0;

		/* The state after the batch, sorted (merge of o and chg). */
		while (a < n || b < k) {
			int cmp = a == n ? 1 : b == k ? -1 :
			    strcmp(o[a].uri, chg[b].uri);

			if (cmp < 0)
				cur[m++] = o[a++];
			else {
				if (cmp == 0)
					a++;
				if (chg[b].data != NULL) {
					snprintf(cur[m].uri, sizeof(cur[m].uri),
					    "%s", chg[b].uri);
					cur[m].data = (uint8_t *)chg[b].data;
					cur[m].len = chg[b].len;
					m++;
				}
				b++;
			}
		}
		if (m != pub_index_count(nx)) {
			fprintf(stderr, "bench_pubd: states differ\n");
			return 1;
		}
		struct cm_buf	 bb = CM_BUF_INIT;
		double		 t;

		for (t_base = 1e9, r = 0; r < 3; r++)
			if ((t = from_scratch(cur, m, 2, &bb, &slen)) < t_base)
				t_base = t;
		cm_buf_free(&bb);
		if (slen != snap.len) {
			fprintf(stderr, "bench_pubd: snapshots differ in size\n");
			return 1;
		}
		free(cur);
	}

	printf("  snapshot: %.1f MB, delta: %.1f kB\n", snap.len / 1e6,
	    delta.len / 1e3);
	printf("  one-off index build (leader start): %8.1f ms\n",
	    t_index * 1e3);
	printf("  baseline, snapshot from scratch + hash: %8.1f ms\n",
	    t_base * 1e3);
	printf("  incremental serial N+1:             %8.1f ms\n", t_inc * 1e3);
	printf("    apply %.2f ms, delta %.2f ms, concatenate %.1f ms, "
	    "SHA-256 %.1f ms\n", t_apply * 1e3, t_delta * 1e3,
	    t_concat * 1e3, t_hash * 1e3);
	printf("  ratio baseline / incremental: %.1fx (without the hash, "
	    "which both pay: %.1fx)\n", t_base / t_inc,
	    (t_base - t_hash) / (t_inc - t_hash));

	pub_index_free(nx);
	pub_index_free(ix);
	pub_index_free(empty);
	cm_buf_free(&snap);
	cm_buf_free(&delta);
	for (i = 0; i < n + k; i++)
		free(o[i].data);
	free(o);
	free(c);
	free(chg);
	bench_serial_scaling(sz);
	if (getenv("BENCH_NODB") == NULL)
		bench_serial_db();
	return 0;
}
