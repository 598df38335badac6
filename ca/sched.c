#include "ca/sched.h"

#include <stddef.h>
#include <string.h>

#define HOUR	3600
#define DAY	(24 * HOUR)

void
ca_sched_defaults(struct ca_sched_policy *p)
{
	p->mft_validity = 48 * HOUR;
	p->mft_reissue_after = 18 * HOUR;
	p->mft_jitter = 6 * HOUR;
	p->ee_validity = 365 * DAY;
	p->ee_margin = 28 * DAY;
	p->ee_jitter = 14 * DAY;
}

int
ca_sched_check(const struct ca_sched_policy *p, struct cm_err *err)
{
	if (p->mft_validity <= 0 || p->mft_reissue_after <= 0 ||
	    p->mft_jitter < 0)
		return cm_err_set(err, CM_EINVAL, "schedule",
		    "manifest validity, re-issue delay and jitter must be positive");
	/* Keep at least a quarter of the validity as a safety margin. */
	if (p->mft_reissue_after + p->mft_jitter > p->mft_validity * 3 / 4)
		return cm_err_set(err, CM_EINVAL, "schedule",
		    "manifest re-issue (%lld s + jitter %lld s) leaves less than "
		    "a quarter of the validity (%lld s)",
		    (long long)p->mft_reissue_after, (long long)p->mft_jitter,
		    (long long)p->mft_validity);
	if (p->ee_validity <= 0 || p->ee_margin <= 0 || p->ee_jitter < 0 ||
	    p->ee_margin + p->ee_jitter >= p->ee_validity / 2)
		return cm_err_set(err, CM_EINVAL, "schedule",
		    "EE renewal margin plus jitter must be under half the EE "
		    "validity");
	return 0;
}

/* splitmix64: cheap, well distributed; not for secrets. */
static uint64_t
mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

uint64_t
ca_sched_seed(const void *id, size_t idlen, uint64_t counter)
{
	const unsigned char	*p = id;
	uint64_t		 h = 0xcbf29ce484222325ULL;	/* FNV-1a */

	for (size_t i = 0; i < idlen; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return mix(h ^ mix(counter));
}

static int64_t
spread(uint64_t seed, int64_t window)
{
	if (window <= 0)
		return 0;
	return (int64_t)(mix(seed) % (uint64_t)window);
}

int64_t
ca_sched_mft_reissue(const struct ca_sched_policy *p, uint64_t seed,
    int64_t this_update)
{
	return this_update + p->mft_reissue_after + spread(seed, p->mft_jitter);
}

int64_t
ca_sched_ee_renew(const struct ca_sched_policy *p, uint64_t seed,
    int64_t not_after)
{
	return not_after - p->ee_margin - spread(seed, p->ee_jitter);
}
