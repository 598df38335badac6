/*
 * ca_plan: configuration -> desired ROA/ASPA payloads -> diff with what is
 * issued.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/plan.h"
#include "common/cm_enc.h"

static int
prefix_family(const struct ca_roa_prefix *p, enum ca_res_family *f,
    unsigned *max)
{
	if (p->afi == CA_AFI_IPV4) {
		*f = CA_RES_V4;
		*max = 32;
	} else if (p->afi == CA_AFI_IPV6) {
		*f = CA_RES_V6;
		*max = 128;
	} else
		return -1;
	return 0;
}

int
ca_plan_check_roa(const struct ca_res *res, const struct ca_plan_roa_cfg *c,
    struct cm_err *err)
{
	enum ca_res_family	f;
	unsigned		max, i;
	char			pfx[64], obj[96];

	if (prefix_family(&c->prefix, &f, &max) == -1)
		return cm_err_set(err, CM_EINVAL, "ROA configuration",
		    "unknown address family %u", c->prefix.afi);
	ca_roa_prefix_str(&c->prefix, pfx, sizeof(pfx));
	snprintf(obj, sizeof(obj), "AS%u %s", c->asn, pfx);
	if (c->prefix.plen > max)
		return cm_err_set(err, CM_EINVAL, obj,
		    "prefix length %u is longer than %u", c->prefix.plen, max);
	if (c->prefix.maxlen < c->prefix.plen || c->prefix.maxlen > max)
		return cm_err_set(err, CM_EINVAL, obj, "maxLength %u must lie "
		    "between the prefix length %u and %u (RFC 9582)",
		    c->prefix.maxlen, c->prefix.plen, max);
	for (i = c->prefix.plen; i < max; i++)
		if (c->prefix.addr[i / 8] & (0x80 >> (i % 8)))
			return cm_err_set(err, CM_EINVAL, obj,
			    "host bits are set beyond the prefix length");
	if (!ca_res_has_prefix(res, f, c->prefix.addr, c->prefix.plen))
		return cm_err_set(err, CM_EINVAL, obj,
		    "the prefix is not within the CA's resources");
	return 0;
}

int
ca_plan_check_aspa(const struct ca_res *res, const struct ca_plan_aspa_cfg *c,
    struct cm_err *err)
{
	char	obj[32];
	size_t	i;
	int	as0 = 0, other = 0;

	snprintf(obj, sizeof(obj), "ASPA AS%u", c->customer);
	if (c->customer == 0)
		return cm_err_set(err, CM_EINVAL, obj,
		    "the customer must not be AS0");
	if (!ca_res_has_as(res, c->customer))
		return cm_err_set(err, CM_EINVAL, obj,
		    "the customer AS is not within the CA's resources");
	if (c->nproviders == 0)
		return cm_err_set(err, CM_EINVAL, obj,
		    "no providers (use AS0 alone for \"no transit providers\")");
	if (c->nproviders > CA_ASPA_MAX_PROVIDERS)
		return cm_err_set(err, CM_EINVAL, obj,
		    "more than %d providers", CA_ASPA_MAX_PROVIDERS);
	for (i = 0; i < c->nproviders; i++) {
		if (c->providers[i] == c->customer)
			return cm_err_set(err, CM_EINVAL, obj,
			    "the customer AS is listed as its own provider");
		if (c->providers[i] == 0)
			as0 = 1;
		else
			other = 1;
	}
	if (as0 && other)
		return cm_err_set(err, CM_EINVAL, obj,
		    "AS0 is only allowed as the sole provider");
	return 0;
}

void
ca_plan_free(struct ca_plan *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nobjs; i++) {
		ca_roa_free(p->objs[i].roa);
		ca_aspa_free(p->objs[i].aspa);
	}
	free(p->objs);
	for (i = 0; i < p->nskipped; i++)
		free(p->skipped[i]);
	free(p->skipped);
	free(p);
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int
cmp_roa_cfg(const void *a, const void *b)
{
	const struct ca_plan_roa_cfg *x = a, *y = b;

	if (x->asn != y->asn)
		return x->asn < y->asn ? -1 : 1;
	return memcmp(&x->prefix, &y->prefix, sizeof(x->prefix));
}

static int
cmp_aspa_cfg(const void *a, const void *b)
{
	const struct ca_plan_aspa_cfg *x = a, *y = b;

	return x->customer < y->customer ? -1 : x->customer > y->customer;
}

static int
cmp_obj(const void *a, const void *b)
{
	const struct ca_plan_obj *x = a, *y = b;

	return strcmp(x->subject, y->subject);
}

static int
skip(struct ca_plan *p, const struct cm_err *why, struct cm_err *err)
{
	char **s;

	if ((s = reallocarray(p->skipped, p->nskipped + 1, sizeof(*s))) == NULL)
		return cm_err_set(err, CM_ENOMEM, "plan", "out of memory");
	p->skipped = s;
	if ((s[p->nskipped] = strdup(why->msg)) == NULL)
		return cm_err_set(err, CM_ENOMEM, "plan", "out of memory");
	p->nskipped++;
	return 0;
}

static struct ca_plan_obj *
new_obj(struct ca_plan *p, size_t *cap, struct cm_err *err)
{
	struct ca_plan_obj *o;

	if (p->nobjs == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		if ((o = reallocarray(p->objs, *cap, sizeof(*o))) == NULL) {
			cm_err_set(err, CM_ENOMEM, "plan", "out of memory");
			return NULL;
		}
		p->objs = o;
	}
	o = &p->objs[p->nobjs++];
	memset(o, 0, sizeof(*o));
	return o;
}

/* Names the file after the subject: stable across re-issues, short (BCP). */
static void
finish_obj(struct ca_plan_obj *o, const uint8_t *der, size_t len)
{
	uint8_t	h[32];
	char	hex[65];

	cm_sha256(der, len, o->content_hash);
	cm_sha256(o->subject, strlen(o->subject), h);
	cm_hex_encode(h, 8, hex);
	snprintf(o->name, sizeof(o->name), "%s.%s", hex,
	    o->kind == CA_PLAN_ROA ? "roa" : "asa");
}

/* Adds one ROA from cfgs[0..n) (same AS, sorted). */
static int
add_roa(struct ca_plan *p, size_t *cap, enum ca_plan_roa_mode mode,
    const struct ca_plan_roa_cfg *cfgs, size_t n, struct cm_err *err)
{
	struct ca_plan_obj	*o;
	uint8_t			*der = NULL;
	size_t			 len, i;
	char			 pfx[64];

	if ((o = new_obj(p, cap, err)) == NULL)
		return -1;
	o->kind = CA_PLAN_ROA;
	if (mode == CA_PLAN_ROA_PER_ASN)
		snprintf(o->subject, sizeof(o->subject), "roa AS%u", cfgs[0].asn);
	else {
		ca_roa_prefix_str(&cfgs[0].prefix, pfx, sizeof(pfx));
		snprintf(o->subject, sizeof(o->subject), "roa AS%u %s",
		    cfgs[0].asn, pfx);
	}
	if ((o->roa = calloc(1, sizeof(*o->roa))) == NULL ||
	    (o->roa->prefixes = calloc(n, sizeof(*o->roa->prefixes))) == NULL)
		return cm_err_set(err, CM_ENOMEM, "plan", "out of memory");
	o->roa->asid = cfgs[0].asn;
	for (i = 0; i < n; i++)
		o->roa->prefixes[i] = cfgs[i].prefix;
	o->roa->nprefixes = n;
	if (ca_roa_canonicalize(o->roa, err) == -1 ||
	    ca_roa_encode(o->roa, &der, &len, err) == -1)
		return -1;
	finish_obj(o, der, len);
	free(der);
	return 0;
}

static int
add_aspa(struct ca_plan *p, size_t *cap, const struct ca_plan_aspa_cfg *cfgs,
    size_t n, struct cm_err *err)
{
	struct ca_plan_obj	*o;
	struct ca_aspa		*a;
	uint8_t			*der = NULL;
	size_t			 len, i, total = 0, k = 0;

	for (i = 0; i < n; i++)
		total += cfgs[i].nproviders;
	if ((o = new_obj(p, cap, err)) == NULL)
		return -1;
	o->kind = CA_PLAN_ASPA;
	snprintf(o->subject, sizeof(o->subject), "aspa AS%u", cfgs[0].customer);
	if ((a = o->aspa = calloc(1, sizeof(*a))) == NULL ||
	    (a->providers = calloc(total, sizeof(*a->providers))) == NULL)
		return cm_err_set(err, CM_ENOMEM, "plan", "out of memory");
	a->customer = cfgs[0].customer;
	for (i = 0; i < n; i++) {
		memcpy(a->providers + k, cfgs[i].providers,
		    cfgs[i].nproviders * sizeof(uint32_t));
		k += cfgs[i].nproviders;
	}
	qsort(a->providers, total, sizeof(uint32_t), cmp_u32);
	for (i = 0, k = 0; i < total; i++)
		if (k == 0 || a->providers[k - 1] != a->providers[i])
			a->providers[k++] = a->providers[i];
	/*
	 * Merged configurations may put AS0 ("no providers") beside real
	 * providers; relying parties drop AS0 then, and so does the plan.
	 */
	if (k > 1 && a->providers[0] == 0) {
		memmove(a->providers, a->providers + 1, (k - 1) * sizeof(uint32_t));
		k--;
	}
	a->nproviders = k;
	if (k > CA_ASPA_MAX_PROVIDERS)
		return cm_err_set(err, CM_EINVAL, o->subject,
		    "more than %d providers after merging", CA_ASPA_MAX_PROVIDERS);
	if (ca_aspa_encode(a, &der, &len, err) == -1)
		return -1;
	finish_obj(o, der, len);
	free(der);
	return 0;
}

int
ca_plan_build(const struct ca_res *res, enum ca_plan_roa_mode mode,
    const struct ca_plan_roa_cfg *roas, size_t nroas,
    const struct ca_plan_aspa_cfg *aspas, size_t naspas,
    struct ca_plan **out, struct cm_err *err)
{
	struct ca_plan		*p;
	struct ca_plan_roa_cfg	*rc = NULL;
	struct ca_plan_aspa_cfg	*ac = NULL;
	struct cm_err		 why;
	size_t			 i, j, nr = 0, na = 0, cap = 0;

	*out = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (nroas && (rc = calloc(nroas, sizeof(*rc))) == NULL) ||
	    (naspas && (ac = calloc(naspas, sizeof(*ac))) == NULL)) {
		cm_err_set(err, CM_ENOMEM, "plan", "out of memory");
		goto fail;
	}
	for (i = 0; i < nroas; i++) {
		if (ca_plan_check_roa(res, &roas[i], &why) == -1) {
			if (skip(p, &why, err) == -1)
				goto fail;
		} else
			rc[nr++] = roas[i];
	}
	for (i = 0; i < naspas; i++) {
		if (ca_plan_check_aspa(res, &aspas[i], &why) == -1) {
			if (skip(p, &why, err) == -1)
				goto fail;
		} else
			ac[na++] = aspas[i];
	}
	if (nr > 0)
		qsort(rc, nr, sizeof(*rc), cmp_roa_cfg);
	for (i = 0; i < nr; i = j) {
		for (j = i + 1; j < nr; j++) {
			if (rc[j].asn != rc[i].asn)
				break;
			/* Per prefix: identical configurations make one ROA. */
			if (mode == CA_PLAN_ROA_PER_PREFIX &&
			    cmp_roa_cfg(&rc[j], &rc[i]) != 0)
				break;
		}
		if (add_roa(p, &cap, mode, rc + i, j - i, err) == -1)
			goto fail;
	}
	if (na > 0)
		qsort(ac, na, sizeof(*ac), cmp_aspa_cfg);
	for (i = 0; i < na; i = j) {
		for (j = i + 1; j < na && ac[j].customer == ac[i].customer; j++)
			;
		if (add_aspa(p, &cap, ac + i, j - i, err) == -1)
			goto fail;
	}
	if (p->nobjs > 0)
		qsort(p->objs, p->nobjs, sizeof(*p->objs), cmp_obj);
	free(rc);
	free(ac);
	*out = p;
	return 0;
fail:
	free(rc);
	free(ac);
	ca_plan_free(p);
	return -1;
}

struct have_idx {
	const struct ca_plan_have	*have;
	size_t				 j;
};

static int
cmp_have(const void *a, const void *b)
{
	return strcmp(((const struct have_idx *)a)->have->subject,
	    ((const struct have_idx *)b)->have->subject);
}

int
ca_plan_diff(const struct ca_plan *plan, const struct ca_plan_have *have,
    size_t nhave, enum ca_plan_action *want_action,
    enum ca_plan_action *have_action, struct cm_err *err)
{
	struct have_idx		*idx = NULL, key, *hit;
	struct ca_plan_have	 probe;
	size_t			 i;
	int			 n = 0;

	if (nhave > 0 && (idx = calloc(nhave, sizeof(*idx))) == NULL)
		return cm_err_set(err, CM_ENOMEM, "plan", "out of memory");
	for (i = 0; i < nhave; i++) {
		idx[i].have = &have[i];
		idx[i].j = i;
		have_action[i] = CA_PLAN_WITHDRAW;
	}
	if (nhave > 0)
		qsort(idx, nhave, sizeof(*idx), cmp_have);
	for (i = 0; i < plan->nobjs; i++) {
		probe.subject = plan->objs[i].subject;
		key.have = &probe;
		hit = nhave > 0 ? bsearch(&key, idx, nhave, sizeof(*idx),
		    cmp_have) : NULL;
		if (hit == NULL) {
			want_action[i] = CA_PLAN_ISSUE;
			n++;
			continue;
		}
		have_action[hit->j] = CA_PLAN_KEEP;
		if (hit->have->renew || memcmp(hit->have->content_hash,
		    plan->objs[i].content_hash, 32) != 0) {
			want_action[i] = CA_PLAN_ISSUE;
			n++;
		} else
			want_action[i] = CA_PLAN_KEEP;
	}
	for (i = 0; i < nhave; i++)
		if (have_action[i] == CA_PLAN_WITHDRAW)
			n++;
	free(idx);
	return n;
}
