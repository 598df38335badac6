/*
 * ca_plan: what a CA should publish, computed from its configuration.
 *
 * The CA engine keeps ROA and ASPA configuration (what members asked for)
 * apart from the signed objects it issued.  A plan turns the configuration
 * of one CA, checked against the CA's current resources, into the set of
 * ROA and ASPA payloads it must have, each under a stable subject; a diff
 * against what is issued then says which objects to sign, which to withdraw
 * and which to leave alone.  Both steps are pure functions, so the engine's
 * transaction only signs and writes what really changed, and a change to one
 * member costs the same whatever the number of members.
 */
#ifndef CA_PLAN_H
#define CA_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "ca/aspa.h"
#include "ca/resources.h"
#include "ca/roa.h"
#include "common/cm_err.h"

/* How ROA configurations become ROAs. */
enum ca_plan_roa_mode {
	CA_PLAN_ROA_PER_ASN,	/* one ROA per origin AS, all its prefixes */
	CA_PLAN_ROA_PER_PREFIX,	/* one ROA per (AS, prefix) (RFC 9455) */
};

/* One ROA configuration: origin AS and prefix with maxLength. */
struct ca_plan_roa_cfg {
	uint32_t		asn;
	struct ca_roa_prefix	prefix;
};

/* One ASPA configuration; providers are borrowed. */
struct ca_plan_aspa_cfg {
	uint32_t	 customer;
	const uint32_t	*providers;
	size_t		 nproviders;
};

enum ca_plan_kind { CA_PLAN_ROA, CA_PLAN_ASPA };

/* One object the CA must publish.  Payloads are owned by the plan. */
struct ca_plan_obj {
	enum ca_plan_kind	 kind;
	/* Stable identity: "roa AS64496", "roa AS64496 10.0.0.0/8-24", "aspa AS64496". */
	char			 subject[80];
	/* File name in the CA's publication point, derived from the subject. */
	char			 name[32];
	/* SHA-256 of the eContent DER: equal hashes mean an equal object. */
	uint8_t			 content_hash[32];
	struct ca_roa		*roa;
	struct ca_aspa		*aspa;
};

struct ca_plan {
	struct ca_plan_obj	*objs;		/* sorted by subject */
	size_t			 nobjs;
	/* Configurations left out because the CA no longer holds them. */
	char			**skipped;	/* "AS64496 10.9.0.0/16: ..." */
	size_t			 nskipped;
};

/*
 * Checks one configuration against the CA's resources res (explicit, not
 * inherit): the prefix must be valid (host bits, maxLength between the
 * prefix length and 32/128) and held by the CA; for an ASPA the customer
 * must be held, providers must be non-empty, at most CA_ASPA_MAX_PROVIDERS,
 * must not contain the customer, and AS0 only alone.  Duplicates in the
 * provider list are tolerated (the plan sorts and removes them).  Returns 0
 * or -1 with err (CM_EINVAL) naming the configuration and the rule.  The
 * API calls these before it stores a configuration.
 */
int	ca_plan_check_roa(const struct ca_res *res,
	    const struct ca_plan_roa_cfg *c, struct cm_err *err);
int	ca_plan_check_aspa(const struct ca_res *res,
	    const struct ca_plan_aspa_cfg *c, struct cm_err *err);

/*
 * Builds the plan of a CA.  Configurations that fail the checks above (the
 * CA lost the resources since they were stored) are left out and listed in
 * skipped, so that their objects are withdrawn.  Several ASPA configurations
 * for the same customer are merged.  *out is new (ca_plan_free()).  Returns
 * 0, or -1 with err for internal failures only.
 */
int	ca_plan_build(const struct ca_res *res, enum ca_plan_roa_mode mode,
	    const struct ca_plan_roa_cfg *roas, size_t nroas,
	    const struct ca_plan_aspa_cfg *aspas, size_t naspas,
	    struct ca_plan **out, struct cm_err *err);
void	ca_plan_free(struct ca_plan *p);	/* accepts NULL */

/* An object the CA has issued and not withdrawn. */
struct ca_plan_have {
	const char	*subject;
	uint8_t		 content_hash[32];
	int		 renew;		/* EE cert near expiry: re-sign anyway */
};

enum ca_plan_action { CA_PLAN_KEEP, CA_PLAN_ISSUE, CA_PLAN_WITHDRAW };

/*
 * Diffs plan against have (any order; subjects unique).  want_action[i] is
 * ISSUE or KEEP for plan->objs[i] (ISSUE also for a changed or renewing
 * object, which then replaces the old one); have_action[j] is WITHDRAW or
 * KEEP for have[j] (a replaced object is KEEP here: the new one takes its
 * file name).  Arrays are the caller's, sized nobjs and nhave.  Returns the
 * number of ISSUE + WITHDRAW actions, or -1 on allocation failure.
 */
int	ca_plan_diff(const struct ca_plan *plan, const struct ca_plan_have *have,
	    size_t nhave, enum ca_plan_action *want_action,
	    enum ca_plan_action *have_action, struct cm_err *err);

#endif
