/* The mass-withdrawal guard of the serial builder. */
#include "publish/pub_build_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cm_log.h"

static int
cmp_i64(const void *a, const void *b)
{
	int64_t	x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* The guard's verdict: 1 and reason when the batch must be held. */
int
pub_guard_trips(const struct pub_build *b, const struct step_arg *a,
    char *reason, size_t rlen)
{
	size_t	 total = pub_index_count(b->ix), w = 0, added = 0, i, j, np;
	int64_t	*pubs;
	double	 share = b->conf.withdraw_share;
	int	 trip = 0;

	if ((pubs = calloc(a->nnet + 1, sizeof(*pubs))) == NULL) {
		snprintf(reason, rlen, "out of memory while checking");
		return 1;
	}
	for (i = 0; i < a->nnet; i++) {
		if (a->net[i].data == NULL)
			pubs[w++] = a->net[i].publisher;
		else if (!a->net[i].has_old)
			added++;
	}
	if (total > 0 && total + added - w == 0) {
		snprintf(reason, rlen, "the batch would withdraw all %zu "
		    "objects and leave the repository empty", total);
		trip = 1;
	} else if ((long long)w >= b->conf.guard_min && w > share * total) {
		snprintf(reason, rlen, "the batch would withdraw %zu of the "
		    "repository's %zu objects (more than %.0f%%)", w, total,
		    share * 100);
		trip = 1;
	}
	qsort(pubs, w, sizeof(*pubs), cmp_i64);
	for (i = 0; i < w && !trip; i = j) {
		for (j = i; j < w && pubs[j] == pubs[i]; j++)
			;
		if ((long long)(j - i) < b->conf.guard_min)
			continue;
		np = pub_index_count_publisher(b->ix, pubs[i]);
		if (j - i > share * np) {
			snprintf(reason, rlen, "the batch would withdraw %zu of "
			    "the %zu objects of publisher id %" PRId64
			    " (more than %.0f%%)", j - i, np, pubs[i],
			    share * 100);
			trip = 1;
		}
	}
	free(pubs);
	return trip;
}

int
pub_guard_hold(struct db *db, struct step_arg *a, const char *reason,
    struct cm_err *err)
{
	struct db_params	pa;
	int64_t			last = a->chg[a->nchg - 1].id;
	int			n;

	db_params_init(&pa);
	db_param_int(&pa, last);
	db_param_text(&pa, reason);
	n = db_exec(db, "UPDATE pub_hold SET last_change = $1, reason = $2 "
	    "WHERE released_at IS NULL", &pa, NULL, err);
	if (n == 0)
		n = db_exec(db, "INSERT INTO pub_hold (last_change, reason) "
		    "VALUES ($1, $2)", &pa, NULL, err);
	if (n == -1)
		return -1;
	a->held = a->nchg;
	cm_error("RRDP GUARD: HOLDING %zu pending changes (up to change id %"
	    PRId64 "), NOT PUBLISHED: %s.  If this is intended, release it "
	    "with \"cairn-pubd -c CONFIG confirm-batch\"", a->nchg, last,
	    reason);
	return 0;
}

int
pub_build_release(struct db *db, const char *who, int *n, struct cm_err *err)
{
	struct db_params	pa;
	int			k;

	db_params_init(&pa);
	db_param_text(&pa, who);
	k = db_exec(db, "UPDATE pub_hold SET released_at = now(), released_by "
	    "= $1 WHERE released_at IS NULL", &pa, NULL, err);
	if (k == -1)
		return -1;
	if (k > 0)
		cm_warn("RRDP guard: held batch released by %s", who);
	if (n != NULL)
		*n = k;
	return 0;
}

