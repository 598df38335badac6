/*
 * Re-issue scheduling: simulate 30,000 CAs (all created in the same minute,
 * as a bulk import does) for 60 days on a simulated clock and check that no
 * manifest ever expires and that re-issues are spread out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/sched.h"
#include "common/cm_clock.h"

#define NCA	30000
#define DAYS	60

struct ev {
	int64_t		due;
	uint32_t	ca;
};

/* A binary min-heap of due times: the engine's run queue, in small. */
struct heap {
	struct ev	*v;
	size_t		 n;
};

static void
heap_push(struct heap *h, struct ev e)
{
	size_t i = h->n++;

	while (i > 0 && h->v[(i - 1) / 2].due > e.due) {
		h->v[i] = h->v[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h->v[i] = e;
}

static struct ev
heap_pop(struct heap *h)
{
	struct ev top = h->v[0], last = h->v[--h->n];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= h->n)
			break;
		if (c + 1 < h->n && h->v[c + 1].due < h->v[c].due)
			c++;
		if (h->v[c].due >= last.due)
			break;
		h->v[i] = h->v[c];
		i = c;
	}
	h->v[i] = last;
	return top;
}

/*
 * Runs the simulation; returns the largest number of manifest re-issues in
 * one minute, and fails the test if a manifest expired first.
 */
static unsigned
simulate(const struct ca_sched_policy *p, int64_t *min_left)
{
	struct cm_clock	 clk = CM_CLOCK_REAL;
	struct heap	 h = { calloc(NCA, sizeof(struct ev)), 0 };
	int64_t		*next_update = calloc(NCA, sizeof(int64_t));
	uint64_t	*number = calloc(NCA, sizeof(uint64_t));
	unsigned	*per_min = calloc(DAYS * 24 * 60 + 1, sizeof(unsigned));
	const int64_t	 t0 = 1790000000;	/* a fixed start, 2026-09 */
	unsigned	 max = 0;

	assert_non_null(h.v);
	assert_non_null(per_min);
	cm_clock_set(&clk, t0);
	*min_left = INT64_MAX;
	for (uint32_t ca = 0; ca < NCA; ca++) {
		uint64_t seed = ca_sched_seed(&ca, sizeof(ca), 1);

		number[ca] = 1;
		next_update[ca] = t0 + p->mft_validity;
		heap_push(&h, (struct ev){ ca_sched_mft_reissue(p, seed, t0), ca });
	}
	while (h.n > 0 && h.v[0].due < t0 + DAYS * 86400) {
		struct ev e = heap_pop(&h);
		int64_t now, left;
		uint64_t seed;

		cm_clock_set(&clk, e.due);
		now = cm_clock_now(&clk);
		left = next_update[e.ca] - now;
		assert_true(left > 0);		/* never expired */
		if (left < *min_left)
			*min_left = left;
		if (++per_min[(now - t0) / 60] > max)
			max = per_min[(now - t0) / 60];
		number[e.ca]++;
		next_update[e.ca] = now + p->mft_validity;
		seed = ca_sched_seed(&e.ca, sizeof(e.ca), number[e.ca]);
		heap_push(&h, (struct ev){ ca_sched_mft_reissue(p, seed, now), e.ca });
	}
	free(h.v);
	free(next_update);
	free(number);
	free(per_min);
	return max;
}

static void
test_defaults_valid(void **state)
{
	struct ca_sched_policy	p;
	struct cm_err		err;

	ca_sched_defaults(&p);
	assert_int_equal(ca_sched_check(&p, &err), 0);
	p.mft_jitter = p.mft_validity;
	assert_int_equal(ca_sched_check(&p, &err), -1);
	assert_int_equal(err.code, CM_EINVAL);
	ca_sched_defaults(&p);
	p.ee_margin = p.ee_validity;
	assert_int_equal(ca_sched_check(&p, &err), -1);
}

static void
test_sixty_days_spread(void **state)
{
	struct ca_sched_policy	p;
	int64_t			min_left;
	unsigned		max;
	/* Even spread over the jitter window, with room for random bunching. */
	unsigned		bound;

	ca_sched_defaults(&p);
	bound = 3 * NCA / (unsigned)(p.mft_jitter / 60);
	max = simulate(&p, &min_left);
	printf("# %d CAs, %d days: max %u manifest re-issues per minute "
	    "(bound %u), least validity left at re-issue %lld h\n", NCA, DAYS,
	    max, bound, (long long)(min_left / 3600));
	assert_true(max <= bound);
	assert_true(min_left >= p.mft_validity - p.mft_reissue_after -
	    p.mft_jitter);
}

static void
test_no_jitter_bunches(void **state)
{
	struct ca_sched_policy	p;
	int64_t			min_left;

	/* The control: without jitter every CA re-signs in the same minute. */
	ca_sched_defaults(&p);
	p.mft_jitter = 0;
	assert_int_equal(simulate(&p, &min_left), NCA);
}

static void
test_ee_renewal_window(void **state)
{
	struct ca_sched_policy	p;
	const int64_t		na = 1800000000;
	int64_t			lo = INT64_MAX, hi = INT64_MIN;

	ca_sched_defaults(&p);
	for (uint64_t i = 0; i < 100000; i++) {
		int64_t t = ca_sched_ee_renew(&p, ca_sched_seed(&i, sizeof(i), 0), na);

		lo = t < lo ? t : lo;
		hi = t > hi ? t : hi;
	}
	assert_true(hi <= na - p.ee_margin);
	assert_true(lo >= na - p.ee_margin - p.ee_jitter);
	/* 100,000 draws cover the window nearly end to end. */
	assert_true(hi - lo > p.ee_jitter * 99 / 100);
}

static void
test_clock(void **state)
{
	struct cm_clock	c = CM_CLOCK_REAL;
	char		buf[21];
	int64_t		t;

	assert_true(cm_clock_now(&c) > 1700000000);
	cm_clock_set(&c, 1000);
	cm_clock_advance(&c, 86400 * 30);
	assert_int_equal(cm_clock_now(&c), 1000 + 86400 * 30);
	cm_time_iso8601(1790000000, buf);
	assert_string_equal(buf, "2026-09-21T14:13:20Z");
	assert_int_equal(cm_time_parse_iso8601(buf, &t), 0);
	assert_int_equal(t, 1790000000);
	assert_int_equal(cm_time_parse_iso8601("2026-09-21T14:13:20", &t), -1);
	assert_int_equal(cm_time_parse_iso8601("2026-13-21T14:13:20Z", &t), -1);
	assert_int_equal(cm_time_parse_iso8601("2026-09-21 14:13:20Z", &t), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_valid),
		cmocka_unit_test(test_sixty_days_spread),
		cmocka_unit_test(test_no_jitter_bunches),
		cmocka_unit_test(test_ee_renewal_window),
		cmocka_unit_test(test_clock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
