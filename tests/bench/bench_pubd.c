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
 * Then the files over HTTP(S): cairn-pubd against nginx serving the same
 * notification and ~50 MB snapshot, measured with wrk in this run
 * (bench_pubd_http.sh, which starts and stops the servers).
 *
 *   bench_pubd http [seconds-per-run [connections]]   only that part
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cm_buf.h"
#include "common/cm_enc.h"
#include "publish/pub_index.h"
#include "publish/pub_rrdp.h"

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

/*
 * The RRDP files over HTTP(S), cairn-pubd against nginx: a script, since
 * it drives processes (cairn-pubd, nginx, wrk).  0, or 1 if it failed.
 */
static int
http_files(int secs, int conns)
{
	char	cmd[2048];

	snprintf(cmd, sizeof(cmd), "bash '%s/bench_pubd_http.sh' '%s' %d %d",
	    CAIRN_BENCH_DIR, CAIRN_PUBD_BIN, secs > 0 ? secs : 5,
	    conns > 0 ? conns : 32);
	fflush(stdout);
	return system(cmd) == 0 ? 0 : 1;
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

	if (argc > 1 && strcmp(argv[1], "http") == 0)
		return http_files(argc > 2 ? atoi(argv[2]) : 0,
		    argc > 3 ? atoi(argv[3]) : 0);
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
	return http_files(0, 0);
}
