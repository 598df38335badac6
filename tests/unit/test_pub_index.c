/*
 * Tests of the in-memory snapshot index: the snapshot it concatenates is
 * byte for byte the one the streaming RRDP writer produces for the same
 * objects in URI order, whatever order the changes came in; applying a
 * batch leaves the old index intact; withdrawals of absent URIs are
 * ignored; unsorted batches are refused.  With thousands of objects (many
 * chunks), random batches keep the snapshot, the lookups and the content
 * digest equal to those of the same state built in one go.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cm_buf.h"
#include "common/cm_enc.h"
#include "publish/pub_index.h"
#include "publish/pub_rrdp.h"

#define SESSION	"9f1c7d2e-4b3a-4c5d-8e6f-0a1b2c3d4e5f"

static uint8_t	data[8][150];
static char	uris[8][64];

static int
setup(void **state)
{
	int	i;

	for (i = 0; i < 8; i++) {
		memset(data[i], 'a' + i, sizeof(data[i]));
		/* '&' must be escaped: fragments go through the writer. */
		snprintf(uris[i], sizeof(uris[i]),
		    "rsync://h/repo/c%d/o&%d.roa", 7 - i, i);
	}
	return 0;
}

/* The writer's snapshot of objects idx[] (already in URI order). */
static void
reference(const int *idx, size_t n, uint64_t serial, struct cm_buf *out)
{
	struct pub_rrdp_writer	w;
	struct cm_err		err;
	size_t			i;

	assert_int_equal(pub_rrdp_begin(&w, out, PUB_RRDP_SNAPSHOT, SESSION,
	    serial, &err), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(pub_rrdp_write_publish(&w, uris[idx[i]], NULL,
		    data[idx[i]], sizeof(data[0]), &err), 0);
	assert_int_equal(pub_rrdp_end(&w, &err), 0);
}

static void
change(struct pub_index_change *c, int i, int withdraw)
{
	c->uri = uris[i];
	c->publisher = i % 2;
	c->data = withdraw ? NULL : data[i];
	c->len = withdraw ? 0 : sizeof(data[0]);
}

static void
test_snapshot_bytes(void **state)
{
	struct pub_index_change	 c[4];
	struct pub_index	*e = pub_index_new(), *a, *b;
	struct cm_buf		 got = CM_BUF_INIT, want = CM_BUF_INIT;
	struct cm_err		 err;
	uint8_t			 h[32], h2[32];
	int64_t			 pub;
	/* uris[i] sort in reverse index order (c7 < c6 < ...). */
	int			 s1[] = { 5, 3, 1 }, s2[] = { 6, 5, 1 };

	/* Batch 1: objects 5, 3, 1 (sorted by URI: 5, 3, 1). */
	change(&c[0], 5, 0);
	change(&c[1], 3, 0);
	change(&c[2], 1, 0);
	assert_int_equal(pub_index_apply(e, c, 3, &a, &err), 0);
	assert_int_equal(pub_index_count(a), 3);
	assert_int_equal(pub_index_snapshot(a, SESSION, 1, &got, &err), 0);
	reference(s1, 3, 1, &want);
	assert_int_equal(got.len, want.len);
	assert_memory_equal(got.data, want.data, got.len);

	/* Batch 2: add 6, withdraw 3, withdraw 2 (absent: ignored). */
	change(&c[0], 6, 0);
	change(&c[1], 3, 1);
	change(&c[2], 2, 1);
	assert_int_equal(pub_index_apply(a, c, 3, &b, &err), 0);
	cm_buf_reset(&got);
	cm_buf_reset(&want);
	assert_int_equal(pub_index_snapshot(b, SESSION, 2, &got, &err), 0);
	reference(s2, 3, 2, &want);
	assert_int_equal(got.len, want.len);
	assert_memory_equal(got.data, want.data, got.len);

	/* The old index is untouched, and still answers lookups. */
	assert_int_equal(pub_index_count(a), 3);
	assert_int_equal(pub_index_get(a, uris[3], h, &pub), 1);
	cm_sha256(data[3], sizeof(data[3]), h2);
	assert_memory_equal(h, h2, 32);
	assert_int_equal(pub, 1);
	assert_int_equal(pub_index_get(b, uris[3], h, NULL), 0);
	assert_int_equal(pub_index_count_publisher(b, 0), 1);
	assert_int_equal(pub_index_count_publisher(b, 1), 2);

	/* Freeing the old one first leaves the new one valid. */
	pub_index_free(a);
	cm_buf_reset(&got);
	assert_int_equal(pub_index_snapshot(b, SESSION, 2, &got, &err), 0);
	assert_memory_equal(got.data, want.data, got.len);
	pub_index_free(b);
	pub_index_free(e);
	cm_buf_free(&got);
	cm_buf_free(&want);
}

static void
test_unsorted_refused(void **state)
{
	struct pub_index_change	 c[2];
	struct pub_index	*e = pub_index_new(), *a = NULL;
	struct cm_err		 err;

	change(&c[0], 1, 0);
	change(&c[1], 5, 0);		/* sorts before 1 */
	assert_int_equal(pub_index_apply(e, c, 2, &a, &err), -1);
	assert_null(a);
	change(&c[1], 1, 1);		/* the same URI twice */
	assert_int_equal(pub_index_apply(e, c, 2, &a, &err), -1);
	pub_index_free(e);
}

/* ---- many objects: the chunks ---- */

#define MANY	30000

struct many {
	char	uri[MANY][48];
	uint8_t	obj[MANY][120];
	int	ver[MANY];		/* 0: absent, else content version */
};

static uint32_t
rnd(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static void
many_data(struct many *m, int i, int ver)
{
	memset(m->obj[i], 'A' + ver % 26, sizeof(m->obj[i]));
	snprintf((char *)m->obj[i], sizeof(m->obj[i]), "%d/%d", i, ver);
}

/* The state of m as one batch on an empty index. */
static struct pub_index *
many_whole(struct many *m)
{
	struct pub_index_change	*c = calloc(MANY, sizeof(*c));
	struct pub_index	*e = pub_index_new(), *ix = NULL;
	struct cm_err		 err;
	size_t			 i, n = 0;

	assert_non_null(c);
	for (i = 0; i < MANY; i++) {
		if (m->ver[i] == 0)
			continue;
		c[n].uri = m->uri[i];
		c[n].publisher = 1;
		c[n].data = m->obj[i];
		c[n].len = sizeof(m->obj[i]);
		n++;
	}
	assert_int_equal(pub_index_apply(e, c, n, &ix, &err), 0);
	pub_index_free(e);
	free(c);
	return ix;
}

static void
same(const struct pub_index *a, const struct pub_index *b)
{
	struct cm_buf	x = CM_BUF_INIT, y = CM_BUF_INIT;
	struct cm_err	err;
	uint8_t		da[32], db[32];

	assert_int_equal(pub_index_count(a), pub_index_count(b));
	assert_int_equal(pub_index_bytes(a), pub_index_bytes(b));
	pub_index_digest(a, da);
	pub_index_digest(b, db);
	assert_memory_equal(da, db, 32);
	assert_int_equal(pub_index_snapshot(a, SESSION, 7, &x, &err), 0);
	assert_int_equal(pub_index_snapshot(b, SESSION, 7, &y, &err), 0);
	assert_int_equal(x.len, y.len);
	assert_memory_equal(x.data, y.data, x.len);
	cm_buf_free(&x);
	cm_buf_free(&y);
}

static void
test_many_batches(void **state)
{
	struct many		*m = calloc(1, sizeof(*m));
	struct pub_index_change	*c = calloc(MANY, sizeof(*c));
	struct pub_index	*ix = pub_index_new(), *nx, *whole, *keep;
	struct cm_err		 err;
	uint8_t			 h[32], want[32], d0[32], d1[32];
	uint32_t		 seed = 42;
	size_t			 k, n;
	int			 i, round;

	assert_non_null(m);
	assert_non_null(c);
	/* URIs numbered in sort order: sorted batches are index order. */
	for (i = 0; i < MANY; i++)
		snprintf(m->uri[i], sizeof(m->uri[i]),
		    "rsync://h/repo/%05d.roa", i);
	pub_index_digest(ix, d0);
	keep = pub_index_ref(ix);
	for (round = 0; round < 30; round++) {
		/*
		 * Round 0 fills (about 120 chunks, several nodes), round 10
		 * replaces a fifth, round 20 withdraws half (small rests
		 * that must join their neighbours); the others are small
		 * batches of replacements and withdrawals.
		 */
		n = round == 0 ? MANY : round == 10 ? MANY / 5 :
		    round == 20 ? MANY / 2 : 1 + rnd(&seed) % 200;
		for (k = 0, i = 0; i < MANY && k < n; i++) {
			if (n < MANY && rnd(&seed) % (MANY / n) != 0)
				continue;
			if (m->ver[i] > 0 && round > 0 && (round == 20 ||
			    rnd(&seed) % 3 == 0))
				m->ver[i] = 0;
			else {
				m->ver[i] = round + 1;
				many_data(m, i, m->ver[i]);
			}
			c[k].uri = m->uri[i];
			c[k].publisher = 1;
			c[k].data = m->ver[i] ? m->obj[i] : NULL;
			c[k].len = m->ver[i] ? sizeof(m->obj[i]) : 0;
			k++;
		}
		assert_int_equal(pub_index_apply(ix, c, k, &nx, &err), 0);
		/* The previous one can go first: shared parts survive. */
		pub_index_free(ix);
		ix = nx;
		if (round % 3 != 0 && round != 29)
			continue;
		whole = many_whole(m);
		same(ix, whole);
		pub_index_free(whole);
	}
	for (i = 0; i < MANY; i++) {
		assert_int_equal(pub_index_get(ix, m->uri[i], h, NULL),
		    m->ver[i] != 0);
		if (m->ver[i] != 0) {
			cm_sha256(m->obj[i], sizeof(m->obj[i]), want);
			assert_memory_equal(h, want, 32);
		}
	}
	/* A reference taken early still sees the empty state. */
	assert_int_equal(pub_index_count(keep), 0);
	pub_index_digest(keep, d1);
	assert_memory_equal(d0, d1, 32);
	pub_index_free(keep);
	pub_index_free(ix);
	free(c);
	free(m);
}

/* ---- a snapshot thread beside the builder ---- */

struct shared {
	pthread_mutex_t		 mu;
	struct pub_index	*job;		/* the newest index, a reference */
	int			 stop;
	size_t			 done;
	int			 bad;
};

/* What the leader's worker does: snapshot the newest index, drop it. */
static void *
snapshotter(void *arg)
{
	struct shared		*sh = arg;
	struct pub_index	*ix;
	struct cm_buf		 b = CM_BUF_INIT;
	struct cm_err		 err;
	int			 stop;

	for (;;) {
		pthread_mutex_lock(&sh->mu);
		ix = sh->job;
		sh->job = NULL;
		stop = sh->stop;
		pthread_mutex_unlock(&sh->mu);
		if (ix == NULL && stop)
			break;
		if (ix == NULL)
			continue;
		cm_buf_reset(&b);
		if (pub_index_snapshot(ix, SESSION, 3, &b, &err) == -1 ||
		    b.len < pub_index_bytes(ix))
			sh->bad = 1;
		pub_index_free(ix);
		sh->done++;
	}
	cm_buf_free(&b);
	return NULL;
}

static void
test_concurrent_snapshot(void **state)
{
	struct pub_index_change	 c[20];
	struct shared		 sh;
	struct pub_index	*ix = pub_index_new(), *nx, *old;
	struct cm_err		 err;
	pthread_t		 th;
	char			 uri[20][64];
	uint8_t			 obj[150];
	int			 round, i;

	memset(&sh, 0, sizeof(sh));
	pthread_mutex_init(&sh.mu, NULL);
	memset(obj, 'x', sizeof(obj));
	assert_int_equal(pthread_create(&th, NULL, snapshotter, &sh), 0);
	for (round = 0; round < 300; round++) {
		/* 20 URIs spread over 2,000: new, replaced or withdrawn. */
		for (i = 0; i < 20; i++) {
			snprintf(uri[i], sizeof(uri[i]),
			    "rsync://h/repo/%04d.roa", i * 100 +
			    (round * 37 + i) % 100);
			c[i].uri = uri[i];
			c[i].publisher = 1;
			c[i].data = (round + i) % 4 ? obj : NULL;
			c[i].len = (round + i) % 4 ? sizeof(obj) : 0;
		}
		assert_int_equal(pub_index_apply(ix, c, 20, &nx, &err), 0);
		pub_index_free(ix);
		ix = nx;
		pthread_mutex_lock(&sh.mu);
		old = sh.job;
		sh.job = pub_index_ref(ix);
		pthread_mutex_unlock(&sh.mu);
		pub_index_free(old);	/* a job not taken in time */
	}
	pthread_mutex_lock(&sh.mu);
	sh.stop = 1;
	pthread_mutex_unlock(&sh.mu);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_false(sh.bad);
	assert_true(sh.done > 0);
	pub_index_free(ix);
	pthread_mutex_destroy(&sh.mu);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snapshot_bytes),
		cmocka_unit_test(test_unsorted_refused),
		cmocka_unit_test(test_many_batches),
		cmocka_unit_test(test_concurrent_snapshot),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
