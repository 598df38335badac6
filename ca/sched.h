/*
 * ca_sched: when to re-issue.  Pure functions of the policy, the object's
 * dates and a per-object seed, so that a restart computes the same plan and
 * tens of thousands of CAs created in the same minute do not all re-sign in
 * the same minute afterwards.
 *
 * Manifests and CRLs are re-issued together (RFC 9286 §5): a new pair is
 * made at thisUpdate + mft_reissue_after + jitter, jitter drawn from
 * [0, mft_jitter) by the seed, and is valid for mft_validity.  EE-based
 * objects (ROAs, ASPAs) are valid for ee_validity and renewed between
 * ee_margin + ee_jitter and ee_margin before they expire.
 */
#ifndef CA_SCHED_H
#define CA_SCHED_H

#include <stdint.h>

#include "common/cm_err.h"

struct ca_sched_policy {
	int64_t	mft_validity;		/* nextUpdate - thisUpdate */
	int64_t	mft_reissue_after;	/* earliest re-issue after thisUpdate */
	int64_t	mft_jitter;		/* spread of the re-issue time */
	int64_t	ee_validity;		/* notAfter - notBefore of EE objects */
	int64_t	ee_margin;		/* renew at least this long before notAfter */
	int64_t	ee_jitter;		/* spread of the renewal time */
};

/*
 * The defaults, in the spirit of the publication server BCP: manifests and
 * CRLs valid 48 h, re-issued between 18 h and 24 h after thisUpdate (so at
 * least a day of validity is always left); EE objects valid a year, renewed
 * between six and four weeks before expiry.
 */
void	ca_sched_defaults(struct ca_sched_policy *p);

/*
 * Checks that the policy leaves validity at every re-issue time.  Returns 0,
 * or -1 with err naming the offending value.
 */
int	ca_sched_check(const struct ca_sched_policy *p, struct cm_err *err);

/* Re-issue time of a manifest/CRL pair issued at this_update. */
int64_t	ca_sched_mft_reissue(const struct ca_sched_policy *p, uint64_t seed,
	    int64_t this_update);

/* Renewal time of an EE-based object that expires at not_after. */
int64_t	ca_sched_ee_renew(const struct ca_sched_policy *p, uint64_t seed,
	    int64_t not_after);

/* A well-mixed 64-bit seed from an object identity and a counter. */
uint64_t ca_sched_seed(const void *id, size_t idlen, uint64_t counter);

#endif
