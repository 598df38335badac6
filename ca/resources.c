/*
 * RFC 3779 resource sets: canonical range lists per family, the RFC 6492
 * text forms, set algebra, and conversion to and from the OpenSSL RFC 3779
 * types.
 *
 * Internally every family is handled as 128-bit unsigned integers (AS
 * numbers and IPv4 addresses zero-extended), so that sorting, merging and
 * the set operations are written once for all three families.
 */
#include "ca/resources.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cm_buf.h"

__extension__ typedef unsigned __int128 u128;

struct iv {
	u128	lo, hi;
};

struct fam {
	struct ca_res_range	*rg;	/* canonical, owned */
	size_t			 n;
	int			 inherit;
};

struct ca_res {
	struct fam	f[3];
};

static const char *const fam_name[3] = { "AS", "IPv4", "IPv6" };

static unsigned int
fam_bits(enum ca_res_family f)
{
	return f == CA_RES_V6 ? 128 : 32;
}

static size_t
fam_octets(enum ca_res_family f)
{
	return f == CA_RES_V6 ? 16 : 4;
}

static int
fam_ok(enum ca_res_family f)
{
	return f == CA_RES_AS || f == CA_RES_V4 || f == CA_RES_V6;
}

static u128
bytes_to_u128(const uint8_t *b, size_t n)
{
	u128	v = 0;

	for (size_t i = 0; i < n; i++)
		v = (v << 8) | b[i];
	return v;
}

static void
u128_to_bytes(u128 v, uint8_t *b, size_t n)
{
	for (size_t i = n; i > 0; i--) {
		b[i - 1] = (uint8_t)v;
		v >>= 8;
	}
}

static struct iv
rg_to_iv(enum ca_res_family f, const struct ca_res_range *rg)
{
	struct iv	v;

	if (f == CA_RES_AS) {
		v.lo = rg->as_min;
		v.hi = rg->as_max;
	} else {
		v.lo = bytes_to_u128(rg->ip_min, fam_octets(f));
		v.hi = bytes_to_u128(rg->ip_max, fam_octets(f));
	}
	return v;
}

static void
iv_to_rg(enum ca_res_family f, struct iv v, struct ca_res_range *rg)
{
	memset(rg, 0, sizeof(*rg));
	if (f == CA_RES_AS) {
		rg->as_min = (uint32_t)v.lo;
		rg->as_max = (uint32_t)v.hi;
	} else {
		u128_to_bytes(v.lo, rg->ip_min, fam_octets(f));
		u128_to_bytes(v.hi, rg->ip_max, fam_octets(f));
	}
}

/* Host mask of a prefix of length plen in a family of bits bits. */
static u128
host_mask(unsigned int bits, unsigned int plen)
{
	if (bits - plen >= 128)
		return ~(u128)0;
	return ((u128)1 << (bits - plen)) - 1;
}

/* Prefix length when [lo, hi] is exactly one prefix, -1 otherwise. */
static int
iv_prefix_len(struct iv v, unsigned int bits)
{
	u128		m = v.hi - v.lo;
	unsigned int	k = 0;

	if ((m & (m + 1)) != 0 || (v.lo & m) != 0)
		return -1;
	while (m != 0) {
		k++;
		m >>= 1;
	}
	return (int)(bits - k);
}

static int
iv_cmp(const void *a, const void *b)
{
	const struct iv	*x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->hi != y->hi)
		return x->hi < y->hi ? -1 : 1;
	return 0;
}

/* Sorts v and merges overlapping and adjacent ranges; returns the count. */
static size_t
iv_canonize(struct iv *v, size_t n)
{
	size_t	k = 0;

	if (n == 0)
		return 0;
	/* Input is usually sorted already (printed text, DER, ca_res_add). */
	for (size_t i = 1; i < n; i++)
		if (iv_cmp(&v[i - 1], &v[i]) > 0) {
			qsort(v, n, sizeof(*v), iv_cmp);
			break;
		}
	for (size_t i = 1; i < n; i++) {
		if (v[k].hi == ~(u128)0 || v[i].lo <= v[k].hi + 1) {
			if (v[i].hi > v[k].hi)
				v[k].hi = v[i].hi;
		} else
			v[++k] = v[i];
	}
	return k + 1;
}

/* A growable array of struct iv. */
struct ivs {
	struct iv	*v;
	size_t		 n, cap;
};

static int
ivs_push(struct ivs *s, u128 lo, u128 hi)
{
	struct iv	*nv;
	size_t		 ncap;

	if (s->n == s->cap) {
		ncap = s->cap ? s->cap * 2 : 16;
		if ((nv = reallocarray(s->v, ncap, sizeof(*nv))) == NULL)
			return -1;
		s->v = nv;
		s->cap = ncap;
	}
	s->v[s->n].lo = lo;
	s->v[s->n].hi = hi;
	s->n++;
	return 0;
}

/* Appends the ranges of family f of r to s. */
static int
ivs_load(struct ivs *s, const struct ca_res *r, enum ca_res_family f)
{
	const struct fam	*fm = &r->f[f];
	struct iv		 v;

	for (size_t i = 0; i < fm->n; i++) {
		v = rg_to_iv(f, &fm->rg[i]);
		if (ivs_push(s, v.lo, v.hi) == -1)
			return -1;
	}
	return 0;
}

/* Canonizes s and makes it family f of r (explicit). */
static int
fam_store(struct ca_res *r, enum ca_res_family f, struct ivs *s,
    struct cm_err *err)
{
	struct fam		*fm = &r->f[f];
	struct ca_res_range	*rg = NULL;
	size_t			 n;

	n = iv_canonize(s->v, s->n);
	if (n > 0 && (rg = calloc(n, sizeof(*rg))) == NULL)
		return cm_err_set(err, CM_ENOMEM, NULL, "out of memory");
	for (size_t i = 0; i < n; i++)
		iv_to_rg(f, s->v[i], &rg[i]);
	free(fm->rg);
	fm->rg = rg;
	fm->n = n;
	fm->inherit = 0;
	return 0;
}

struct ca_res *
ca_res_new(void)
{
	return calloc(1, sizeof(struct ca_res));
}

void
ca_res_free(struct ca_res *r)
{
	if (r == NULL)
		return;
	for (int f = 0; f < 3; f++)
		free(r->f[f].rg);
	free(r);
}

struct ca_res *
ca_res_dup(const struct ca_res *r)
{
	struct ca_res	*d;

	if ((d = ca_res_new()) == NULL)
		return NULL;
	for (int f = 0; f < 3; f++) {
		d->f[f].inherit = r->f[f].inherit;
		d->f[f].n = r->f[f].n;
		if (r->f[f].n == 0)
			continue;
		d->f[f].rg = calloc(r->f[f].n, sizeof(struct ca_res_range));
		if (d->f[f].rg == NULL) {
			ca_res_free(d);
			return NULL;
		}
		memcpy(d->f[f].rg, r->f[f].rg,
		    r->f[f].n * sizeof(struct ca_res_range));
	}
	return d;
}

void
ca_res_set_inherit(struct ca_res *r, enum ca_res_family f, int inherit)
{
	if (!fam_ok(f))
		return;
	free(r->f[f].rg);
	r->f[f].rg = NULL;
	r->f[f].n = 0;
	r->f[f].inherit = inherit != 0;
}

int
ca_res_is_inherit(const struct ca_res *r, enum ca_res_family f)
{
	return fam_ok(f) && r->f[f].inherit;
}

size_t
ca_res_count(const struct ca_res *r, enum ca_res_family f)
{
	return fam_ok(f) ? r->f[f].n : 0;
}

const struct ca_res_range *
ca_res_get(const struct ca_res *r, enum ca_res_family f, size_t i)
{
	if (!fam_ok(f) || i >= r->f[f].n)
		return NULL;
	return &r->f[f].rg[i];
}

int
ca_res_add(struct ca_res *r, enum ca_res_family f,
    const struct ca_res_range *rg, struct cm_err *err)
{
	struct ivs	s = { 0 };
	struct iv	v;
	int		rc = -1;

	if (!fam_ok(f))
		return cm_err_set(err, CM_EINVAL, NULL, "bad resource family");
	if (r->f[f].inherit)
		return cm_err_set(err, CM_EINVAL, NULL,
		    "%s resources are inherit; cannot add a range",
		    fam_name[f]);
	v = rg_to_iv(f, rg);
	if (v.lo > v.hi)
		return cm_err_set(err, CM_EINVAL, NULL,
		    "%s range: minimum above maximum", fam_name[f]);
	if (ivs_load(&s, r, f) == -1 || ivs_push(&s, v.lo, v.hi) == -1) {
		cm_err_set(err, CM_ENOMEM, NULL, "out of memory");
		goto out;
	}
	/* Move the new range into place so that no sort is needed. */
	for (size_t i = s.n - 1; i > 0 && iv_cmp(&s.v[i - 1], &v) > 0; i--) {
		s.v[i] = s.v[i - 1];
		s.v[i - 1] = v;
	}
	rc = fam_store(r, f, &s, err);
out:
	free(s.v);
	return rc;
}

/*
 * Text forms (RFC 6492 §3.4.1).
 */

/* Decimal without sign or leading zeros, at most UINT32_MAX. */
static int
parse_u32(const char *s, uint32_t *out)
{
	uint64_t	v = 0;

	if (*s == '\0' || (s[0] == '0' && s[1] != '\0'))
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > UINT32_MAX)
			return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

static int
parse_asn(char *s, u128 *out)
{
	uint32_t	v;

	if (strncmp(s, "AS", 2) == 0)
		s += 2;
	if (parse_u32(s, &v) == -1)
		return -1;
	*out = v;
	return 0;
}

static int
parse_addr(enum ca_res_family f, const char *s, u128 *out)
{
	uint8_t	b[16];

	if (inet_pton(f == CA_RES_V6 ? AF_INET6 : AF_INET, s, b) != 1)
		return -1;
	*out = bytes_to_u128(b, fam_octets(f));
	return 0;
}

/* Parses one element (NUL-terminated, modified) into v; 0 or -1 with why. */
static int
parse_elem(enum ca_res_family f, char *s, struct iv *v, const char **why)
{
	char		*dash, *slash;
	uint32_t	 plen;
	u128		 m;

	dash = strchr(s, '-');
	slash = strchr(s, '/');
	if (dash != NULL && slash != NULL) {
		*why = "both '-' and '/'";
		return -1;
	}
	if (dash != NULL)
		*dash++ = '\0';
	if (f == CA_RES_AS) {
		*why = "not an AS number or AS range";
		if (slash != NULL || parse_asn(s, &v->lo) == -1)
			return -1;
		v->hi = v->lo;
		if (dash != NULL && parse_asn(dash, &v->hi) == -1)
			return -1;
	} else if (slash != NULL) {
		*slash++ = '\0';
		*why = "not an address prefix";
		if (parse_addr(f, s, &v->lo) == -1 ||
		    parse_u32(slash, &plen) == -1)
			return -1;
		*why = "prefix length out of range";
		if (plen > fam_bits(f))
			return -1;
		m = host_mask(fam_bits(f), plen);
		*why = "host bits set beyond the prefix length";
		if ((v->lo & m) != 0)
			return -1;
		v->hi = v->lo | m;
	} else if (dash != NULL) {
		*why = "not an address range";
		if (parse_addr(f, s, &v->lo) == -1 ||
		    parse_addr(f, dash, &v->hi) == -1)
			return -1;
	} else {
		*why = "expected a prefix (a/len) or a range (lo-hi)";
		return -1;
	}
	*why = "range minimum above maximum";
	return v->lo > v->hi ? -1 : 0;
}

int
ca_res_parse(struct ca_res *r, enum ca_res_family f, const char *text,
    const char *obj, struct cm_err *err)
{
	struct ivs	 s = { 0 };
	struct iv	 v;
	const char	*p, *e, *why = NULL;
	char		 el[128];
	size_t		 len;
	int		 rc = -1;

	if (!fam_ok(f) || text == NULL)
		return cm_err_set(err, CM_EINVAL, obj, "bad resource family");
	if (strcmp(text, "inherit") == 0) {
		ca_res_set_inherit(r, f, 1);
		return 0;
	}
	for (p = text; *p != '\0'; p = *e == ',' ? e + 1 : e) {
		e = strchr(p, ',');
		if (e == NULL)
			e = p + strlen(p);
		len = (size_t)(e - p);
		if (len == 0 || (*e == ',' && e[1] == '\0')) {
			cm_err_set(err, CM_EINVAL, obj, "%s resources: empty "
			    "element (RFC 6492 §3.4.1: comma-separated list)",
			    fam_name[f]);
			goto out;
		}
		if (len >= sizeof(el)) {
			cm_err_set(err, CM_EINVAL, obj, "%s resources: element "
			    "\"%.40s...\" too long", fam_name[f], p);
			goto out;
		}
		memcpy(el, p, len);
		el[len] = '\0';
		if (parse_elem(f, el, &v, &why) == -1) {
			cm_err_set(err, CM_EINVAL, obj, "%s resources: \"%.*s\":"
			    " %s (RFC 6492 §3.4.1)", fam_name[f], (int)len, p,
			    why);
			goto out;
		}
		if (ivs_push(&s, v.lo, v.hi) == -1) {
			cm_err_set(err, CM_ENOMEM, obj, "out of memory");
			goto out;
		}
	}
	rc = fam_store(r, f, &s, err);
out:
	free(s.v);
	return rc;
}

static int
print_addr(struct cm_buf *b, enum ca_res_family f, u128 v)
{
	uint8_t	a[16];
	char	s[INET6_ADDRSTRLEN];

	u128_to_bytes(v, a, fam_octets(f));
	if (inet_ntop(f == CA_RES_V6 ? AF_INET6 : AF_INET, a, s,
	    sizeof(s)) == NULL)
		return -1;
	return cm_buf_puts(b, s);
}

static int
print_iv(struct cm_buf *b, enum ca_res_family f, struct iv v)
{
	int	plen;

	if (f == CA_RES_AS) {
		if (v.lo == v.hi)
			return cm_buf_printf(b, "%u", (unsigned int)v.lo);
		return cm_buf_printf(b, "%u-%u", (unsigned int)v.lo,
		    (unsigned int)v.hi);
	}
	if ((plen = iv_prefix_len(v, fam_bits(f))) >= 0) {
		if (print_addr(b, f, v.lo) == -1)
			return -1;
		return cm_buf_printf(b, "/%d", plen);
	}
	if (print_addr(b, f, v.lo) == -1 || cm_buf_puts(b, "-") == -1)
		return -1;
	return print_addr(b, f, v.hi);
}

int
ca_res_print(const struct ca_res *r, enum ca_res_family f, char **out,
    struct cm_err *err)
{
	struct cm_buf	 b = CM_BUF_INIT;
	const struct fam *fm;
	int		 ok;

	*out = NULL;
	if (!fam_ok(f))
		return cm_err_set(err, CM_EINVAL, NULL, "bad resource family");
	fm = &r->f[f];
	ok = cm_buf_puts(&b, fm->inherit ? "inherit" : "") == 0;
	for (size_t i = 0; ok && i < fm->n; i++) {
		if (i > 0 && cm_buf_puts(&b, ",") == -1)
			ok = 0;
		else if (print_iv(&b, f, rg_to_iv(f, &fm->rg[i])) == -1)
			ok = 0;
	}
	if (ok && cm_buf_cstr(&b) == NULL)
		ok = 0;
	if (!ok) {
		cm_buf_free(&b);
		return cm_err_set(err, CM_ENOMEM, NULL, "out of memory");
	}
	*out = (char *)cm_buf_steal(&b, NULL);
	return 0;
}

/*
 * Set algebra.
 */

enum res_op { OP_UNION, OP_INTERSECT, OP_SUBTRACT };

/* Merges the two sorted lists; fam_store() then joins overlaps. */
static int
op_union(const struct ivs *a, const struct ivs *b, struct ivs *o)
{
	size_t			 i = 0, j = 0;
	const struct iv		*v;

	while (i < a->n || j < b->n) {
		if (j == b->n || (i < a->n && a->v[i].lo <= b->v[j].lo))
			v = &a->v[i++];
		else
			v = &b->v[j++];
		if (ivs_push(o, v->lo, v->hi) == -1)
			return -1;
	}
	return 0;
}

static int
op_intersect(const struct ivs *a, const struct ivs *b, struct ivs *o)
{
	size_t	i = 0, j = 0;
	u128	lo, hi;

	while (i < a->n && j < b->n) {
		lo = a->v[i].lo > b->v[j].lo ? a->v[i].lo : b->v[j].lo;
		hi = a->v[i].hi < b->v[j].hi ? a->v[i].hi : b->v[j].hi;
		if (lo <= hi && ivs_push(o, lo, hi) == -1)
			return -1;
		if (a->v[i].hi < b->v[j].hi)
			i++;
		else
			j++;
	}
	return 0;
}

/* Both inputs canonical: sorted and disjoint. */
static int
op_subtract(const struct ivs *a, const struct ivs *b, struct ivs *o)
{
	size_t	j = 0;
	u128	cur;
	int	done;

	for (size_t i = 0; i < a->n; i++) {
		cur = a->v[i].lo;
		done = 0;
		while (j < b->n && b->v[j].hi < cur)
			j++;
		for (size_t k = j; !done && k < b->n &&
		    b->v[k].lo <= a->v[i].hi; k++) {
			if (b->v[k].lo > cur &&
			    ivs_push(o, cur, b->v[k].lo - 1) == -1)
				return -1;
			if (b->v[k].hi >= a->v[i].hi)
				done = 1;
			else
				cur = b->v[k].hi + 1;
		}
		if (!done && ivs_push(o, cur, a->v[i].hi) == -1)
			return -1;
	}
	return 0;
}

static int
check_explicit(const struct ca_res *a, const struct ca_res *b,
    enum ca_res_family f, struct cm_err *err)
{
	if (a->f[f].inherit || b->f[f].inherit)
		return cm_err_set(err, CM_EINVAL, NULL, "%s resources are "
		    "inherit; resolve them against the issuer first",
		    fam_name[f]);
	return 0;
}

static int
res_op(enum res_op op, const struct ca_res *a, const struct ca_res *b,
    struct ca_res **out, struct cm_err *err)
{
	struct ca_res	*r = NULL;
	struct ivs	 sa = { 0 }, sb = { 0 }, so = { 0 };
	int		 rc = -1, f, e;

	*out = NULL;
	for (f = 0; f < 3; f++)
		if (check_explicit(a, b, f, err) == -1)
			return -1;
	if ((r = ca_res_new()) == NULL)
		return cm_err_set(err, CM_ENOMEM, NULL, "out of memory");
	for (f = 0; f < 3; f++) {
		sa.n = sb.n = so.n = 0;
		e = ivs_load(&sa, a, f) == -1 || ivs_load(&sb, b, f) == -1;
		if (!e && op == OP_UNION)
			e = op_union(&sa, &sb, &so);
		else if (!e && op == OP_INTERSECT)
			e = op_intersect(&sa, &sb, &so);
		else if (!e)
			e = op_subtract(&sa, &sb, &so);
		if (e) {
			cm_err_set(err, CM_ENOMEM, NULL, "out of memory");
			goto out;
		}
		if (fam_store(r, f, &so, err) == -1)
			goto out;
	}
	*out = r;
	r = NULL;
	rc = 0;
out:
	free(sa.v);
	free(sb.v);
	free(so.v);
	ca_res_free(r);
	return rc;
}

int
ca_res_union(const struct ca_res *a, const struct ca_res *b,
    struct ca_res **out, struct cm_err *err)
{
	return res_op(OP_UNION, a, b, out, err);
}

int
ca_res_intersect(const struct ca_res *a, const struct ca_res *b,
    struct ca_res **out, struct cm_err *err)
{
	return res_op(OP_INTERSECT, a, b, out, err);
}

int
ca_res_subtract(const struct ca_res *a, const struct ca_res *b,
    struct ca_res **out, struct cm_err *err)
{
	return res_op(OP_SUBTRACT, a, b, out, err);
}

/* 1 when [lo, hi] lies inside family f of r (explicit, canonical). */
static int
fam_covers(const struct ca_res *r, enum ca_res_family f, u128 lo, u128 hi)
{
	const struct fam	*fm = &r->f[f];
	size_t			 l = 0, h = fm->n, m;
	struct iv		 v;

	/* Find the last range whose minimum is <= lo. */
	while (l < h) {
		m = l + (h - l) / 2;
		if (rg_to_iv(f, &fm->rg[m]).lo <= lo)
			l = m + 1;
		else
			h = m;
	}
	if (l == 0)
		return 0;
	v = rg_to_iv(f, &fm->rg[l - 1]);
	return v.lo <= lo && hi <= v.hi;
}

int
ca_res_contains(const struct ca_res *super, const struct ca_res *sub,
    struct cm_err *err)
{
	const struct fam	*sp, *sb;
	struct iv		 v, w;
	size_t			 j;

	for (int f = 0; f < 3; f++)
		if (check_explicit(super, sub, f, err) == -1)
			return -1;
	/* Both lists are sorted and disjoint: one merge-like pass. */
	for (int f = 0; f < 3; f++) {
		sp = &super->f[f];
		sb = &sub->f[f];
		j = 0;
		for (size_t i = 0; i < sb->n; i++) {
			v = rg_to_iv(f, &sb->rg[i]);
			for (;;) {
				if (j == sp->n)
					return 0;
				w = rg_to_iv(f, &sp->rg[j]);
				if (w.hi >= v.lo)
					break;
				j++;
			}
			if (w.lo > v.lo || w.hi < v.hi)
				return 0;
		}
	}
	return 1;
}

int
ca_res_equal(const struct ca_res *a, const struct ca_res *b)
{
	for (int f = 0; f < 3; f++) {
		if (a->f[f].inherit != b->f[f].inherit ||
		    a->f[f].n != b->f[f].n)
			return 0;
		if (a->f[f].n > 0 && memcmp(a->f[f].rg, b->f[f].rg,
		    a->f[f].n * sizeof(struct ca_res_range)) != 0)
			return 0;
	}
	return 1;
}

int
ca_res_is_empty(const struct ca_res *r)
{
	for (int f = 0; f < 3; f++)
		if (r->f[f].inherit || r->f[f].n > 0)
			return 0;
	return 1;
}

int
ca_res_has_prefix(const struct ca_res *r, enum ca_res_family f,
    const uint8_t *addr, unsigned int plen)
{
	u128	lo, m;

	if ((f != CA_RES_V4 && f != CA_RES_V6) || plen > fam_bits(f) ||
	    r->f[f].inherit)
		return 0;
	m = host_mask(fam_bits(f), plen);
	lo = bytes_to_u128(addr, fam_octets(f)) & ~m;
	return fam_covers(r, f, lo, lo | m);
}

int
ca_res_has_as(const struct ca_res *r, uint32_t as)
{
	if (r->f[CA_RES_AS].inherit)
		return 0;
	return fam_covers(r, CA_RES_AS, as, as);
}

/*
 * Conversion to and from the OpenSSL RFC 3779 types.
 */

static int
to_x509_ip(const struct ca_res *r, enum ca_res_family f, IPAddrBlocks *a,
    struct cm_err *err)
{
	const struct fam	*fm = &r->f[f];
	unsigned int		 afi = f == CA_RES_V4 ? IANA_AFI_IPV4 :
				     IANA_AFI_IPV6;
	uint8_t			 lo[16], hi[16];
	struct iv		 v;

	if (fm->inherit) {
		if (!X509v3_addr_add_inherit(a, afi, NULL))
			return cm_err_ssl(err, NULL, "%s inherit", fam_name[f]);
		return 0;
	}
	for (size_t i = 0; i < fm->n; i++) {
		v = rg_to_iv(f, &fm->rg[i]);
		u128_to_bytes(v.lo, lo, fam_octets(f));
		u128_to_bytes(v.hi, hi, fam_octets(f));
		if (!X509v3_addr_add_range(a, afi, NULL, lo, hi))
			return cm_err_ssl(err, NULL, "%s range", fam_name[f]);
	}
	return 0;
}

static int
to_x509_as(const struct ca_res *r, ASIdentifiers *s, struct cm_err *err)
{
	const struct fam	*fm = &r->f[CA_RES_AS];
	ASN1_INTEGER		*lo = NULL, *hi = NULL;

	if (fm->inherit) {
		if (!X509v3_asid_add_inherit(s, V3_ASID_ASNUM))
			return cm_err_ssl(err, NULL, "AS inherit");
		return 0;
	}
	for (size_t i = 0; i < fm->n; i++) {
		if (fm->rg[i].as_max == 0)
			return cm_err_set(err, CM_EINVAL, NULL, "AS resources: "
			    "AS0 cannot be an AS identifier (RFC 6487 "
			    "§4.8.11)");
		lo = ASN1_INTEGER_new();
		if (fm->rg[i].as_min != fm->rg[i].as_max)
			hi = ASN1_INTEGER_new();
		if (lo == NULL || !ASN1_INTEGER_set_uint64(lo,
		    fm->rg[i].as_min) ||
		    (fm->rg[i].as_min != fm->rg[i].as_max && (hi == NULL ||
		    !ASN1_INTEGER_set_uint64(hi, fm->rg[i].as_max))))
			goto fail;
		/* On success the identifiers belong to s. */
		if (!X509v3_asid_add_id_or_range(s, V3_ASID_ASNUM, lo, hi))
			goto fail;
		lo = hi = NULL;
	}
	return 0;
fail:
	ASN1_INTEGER_free(lo);
	ASN1_INTEGER_free(hi);
	return cm_err_ssl(err, NULL, "AS identifiers");
}

int
ca_res_to_x509(const struct ca_res *r, IPAddrBlocks **addr,
    ASIdentifiers **asid, struct cm_err *err)
{
	IPAddrBlocks	*a = NULL;
	ASIdentifiers	*s = NULL;
	int		 rc = -1;

	*addr = NULL;
	*asid = NULL;
	if (r->f[CA_RES_V4].inherit || r->f[CA_RES_V4].n > 0 ||
	    r->f[CA_RES_V6].inherit || r->f[CA_RES_V6].n > 0) {
		if ((a = sk_IPAddressFamily_new_null()) == NULL) {
			cm_err_set(err, CM_ENOMEM, NULL, "out of memory");
			goto out;
		}
		if (to_x509_ip(r, CA_RES_V4, a, err) == -1 ||
		    to_x509_ip(r, CA_RES_V6, a, err) == -1)
			goto out;
		if (!X509v3_addr_canonize(a)) {
			cm_err_ssl(err, NULL, "canonizing IP resources");
			goto out;
		}
	}
	if (r->f[CA_RES_AS].inherit || r->f[CA_RES_AS].n > 0) {
		if ((s = ASIdentifiers_new()) == NULL) {
			cm_err_set(err, CM_ENOMEM, NULL, "out of memory");
			goto out;
		}
		if (to_x509_as(r, s, err) == -1)
			goto out;
		if (!X509v3_asid_canonize(s)) {
			cm_err_ssl(err, NULL, "canonizing AS resources");
			goto out;
		}
	}
	*addr = a;
	*asid = s;
	a = NULL;
	s = NULL;
	rc = 0;
out:
	sk_IPAddressFamily_pop_free(a, IPAddressFamily_free);
	ASIdentifiers_free(s);
	return rc;
}

/*
 * Finds the single extension nid of x: *ext NULL when absent.  Rejects a
 * duplicate or a non-critical one, and DER that does not re-encode to the
 * same bytes (BER, trailing bytes).  *dec is the decoded value.
 */
static int
get_ext(X509 *x, int nid, const char *what, const char *obj,
    X509_EXTENSION **ext, void **dec, struct cm_err *err)
{
	const ASN1_OCTET_STRING	*os;
	const X509V3_EXT_METHOD	*m;
	unsigned char		*der = NULL;
	int			 i, len;

	*ext = NULL;
	*dec = NULL;
	if ((i = X509_get_ext_by_NID(x, nid, -1)) < 0)
		return 0;
	if (X509_get_ext_by_NID(x, nid, i) >= 0)
		return cm_err_set(err, CM_EINVAL, obj, "duplicate %s extension "
		    "(RFC 5280 §4.2)", what);
	*ext = X509_get_ext(x, i);
	if (!X509_EXTENSION_get_critical(*ext))
		return cm_err_set(err, CM_EINVAL, obj, "%s extension not "
		    "critical (RFC 6487 §4.8.10, §4.8.11)", what);
	if ((*dec = X509V3_EXT_d2i(*ext)) == NULL)
		return cm_err_set(err, CM_EINVAL, obj, "%s extension: "
		    "malformed (RFC 3779)", what);
	os = X509_EXTENSION_get_data(*ext);
	m = X509V3_EXT_get(*ext);
	len = m == NULL || m->it == NULL ? -1 :
	    ASN1_item_i2d(*dec, &der, ASN1_ITEM_ptr(m->it));
	i = len < 0 || len != ASN1_STRING_length(os) ||
	    memcmp(der, ASN1_STRING_get0_data(os), (size_t)len) != 0;
	OPENSSL_free(der);
	if (i)
		return cm_err_set(err, CM_EINVAL, obj, "%s extension: not "
		    "DER or trailing bytes (RFC 3779)", what);
	return 0;
}

static int
from_x509_family(struct ca_res *r, IPAddressFamily *fam, const char *obj,
    struct cm_err *err)
{
	const ASN1_OCTET_STRING	*af = fam->addressFamily;
	IPAddressOrRanges	*aors;
	struct ivs		 s = { 0 };
	enum ca_res_family	 f;
	uint8_t			 lo[16], hi[16];
	unsigned int		 afi;
	int			 rc = -1, len;

	if (af == NULL || af->length != 2)
		return cm_err_set(err, CM_EINVAL, obj, "IP address family "
		    "with a SAFI or of bad length (RFC 6487 §4.8.10)");
	afi = X509v3_addr_get_afi(fam);
	if (afi != IANA_AFI_IPV4 && afi != IANA_AFI_IPV6)
		return cm_err_set(err, CM_EINVAL, obj, "unknown address "
		    "family %u (RFC 6487 §4.8.10)", afi);
	f = afi == IANA_AFI_IPV4 ? CA_RES_V4 : CA_RES_V6;
	if (r->f[f].inherit || r->f[f].n > 0)
		return cm_err_set(err, CM_EINVAL, obj, "duplicate %s address "
		    "family (RFC 3779 §2.2.3.3)", fam_name[f]);
	if (fam->ipAddressChoice->type == IPAddressChoice_inherit) {
		r->f[f].inherit = 1;
		return 0;
	}
	aors = fam->ipAddressChoice->u.addressesOrRanges;
	if (sk_IPAddressOrRange_num(aors) <= 0)
		return cm_err_set(err, CM_EINVAL, obj, "empty %s address set "
		    "(RFC 6487 §4.8.10)", fam_name[f]);
	len = (int)fam_octets(f);
	for (int i = 0; i < sk_IPAddressOrRange_num(aors); i++) {
		if (X509v3_addr_get_range(sk_IPAddressOrRange_value(aors, i),
		    afi, lo, hi, len) != len) {
			cm_err_set(err, CM_EINVAL, obj, "malformed %s address "
			    "or range (RFC 3779 §2.2.3.7)", fam_name[f]);
			goto out;
		}
		if (memcmp(lo, hi, (size_t)len) > 0) {
			cm_err_set(err, CM_EINVAL, obj, "%s range with minimum "
			    "above maximum (RFC 3779 §2.2.3.8)", fam_name[f]);
			goto out;
		}
		if (ivs_push(&s, bytes_to_u128(lo, (size_t)len),
		    bytes_to_u128(hi, (size_t)len)) == -1) {
			cm_err_set(err, CM_ENOMEM, obj, "out of memory");
			goto out;
		}
	}
	rc = fam_store(r, f, &s, err);
out:
	free(s.v);
	return rc;
}

static int
from_x509_ip(struct ca_res *r, IPAddrBlocks *a, const char *obj,
    struct cm_err *err)
{
	if (sk_IPAddressFamily_num(a) <= 0)
		return cm_err_set(err, CM_EINVAL, obj, "empty IP resource "
		    "extension (RFC 6487 §4.8.10)");
	for (int i = 0; i < sk_IPAddressFamily_num(a); i++)
		if (from_x509_family(r, sk_IPAddressFamily_value(a, i), obj,
		    err) == -1)
			return -1;
	if (!X509v3_addr_is_canonical(a))
		return cm_err_set(err, CM_EINVAL, obj, "IP resources not in "
		    "canonical form (RFC 3779 §2.2.3.6)");
	return 0;
}

static int
as_get(const ASN1_INTEGER *i, uint64_t *v)
{
	return ASN1_INTEGER_get_uint64(v, i) == 1 && *v <= UINT32_MAX ? 0 : -1;
}

static int
from_x509_as(struct ca_res *r, ASIdentifiers *s, const char *obj,
    struct cm_err *err)
{
	ASIdOrRanges	*l;
	ASIdOrRange	*e;
	struct ivs	 v = { 0 };
	uint64_t	 lo, hi;
	int		 rc = -1;

	if (s->rdi != NULL)
		return cm_err_set(err, CM_EINVAL, obj, "AS resources with "
		    "routing domain identifiers (RFC 6487 §4.8.11)");
	if (s->asnum == NULL)
		return cm_err_set(err, CM_EINVAL, obj, "AS resource extension "
		    "without asnum (RFC 6487 §4.8.11)");
	if (s->asnum->type == ASIdentifierChoice_inherit) {
		r->f[CA_RES_AS].inherit = 1;
		return 0;
	}
	l = s->asnum->u.asIdsOrRanges;
	if (sk_ASIdOrRange_num(l) <= 0)
		return cm_err_set(err, CM_EINVAL, obj, "empty AS resource set "
		    "(RFC 6487 §4.8.11)");
	for (int i = 0; i < sk_ASIdOrRange_num(l); i++) {
		e = sk_ASIdOrRange_value(l, i);
		if (e->type == ASIdOrRange_id) {
			if (as_get(e->u.id, &lo) == -1)
				goto bad;
			if (lo == 0) {
				cm_err_set(err, CM_EINVAL, obj, "AS0 as an AS "
				    "identifier (RFC 6487 §4.8.11, RFC 7607)");
				goto out;
			}
			hi = lo;
		} else if (as_get(e->u.range->min, &lo) == -1 ||
		    as_get(e->u.range->max, &hi) == -1 || lo > hi)
			goto bad;
		if (ivs_push(&v, lo, hi) == -1) {
			cm_err_set(err, CM_ENOMEM, obj, "out of memory");
			goto out;
		}
	}
	if (!X509v3_asid_is_canonical(s)) {
		cm_err_set(err, CM_EINVAL, obj, "AS resources not in canonical "
		    "form (RFC 3779 §3.3)");
		goto out;
	}
	rc = fam_store(r, CA_RES_AS, &v, err);
	goto out;
bad:
	cm_err_set(err, CM_EINVAL, obj, "malformed AS identifier or range "
	    "(RFC 3779 §3.2.3.7)");
out:
	free(v.v);
	return rc;
}

int
ca_res_from_x509(X509 *x, const char *obj, struct ca_res **out,
    struct cm_err *err)
{
	X509_EXTENSION	*eip, *eas;
	IPAddrBlocks	*a = NULL;
	ASIdentifiers	*s = NULL;
	struct ca_res	*r = NULL;
	int		 rc = -1;

	*out = NULL;
	if (get_ext(x, NID_sbgp_ipAddrBlock, "sbgp-ipAddrBlock", obj, &eip,
	    (void **)&a, err) == -1 ||
	    get_ext(x, NID_sbgp_autonomousSysNum, "sbgp-autonomousSysNum", obj,
	    &eas, (void **)&s, err) == -1)
		goto out;
	if (eip == NULL && eas == NULL) {
		cm_err_set(err, CM_EINVAL, obj, "neither IP nor AS resource "
		    "extension (RFC 6487 §4.8.10, §4.8.11)");
		goto out;
	}
	if ((r = ca_res_new()) == NULL) {
		cm_err_set(err, CM_ENOMEM, obj, "out of memory");
		goto out;
	}
	if ((a != NULL && from_x509_ip(r, a, obj, err) == -1) ||
	    (s != NULL && from_x509_as(r, s, obj, err) == -1))
		goto out;
	*out = r;
	r = NULL;
	rc = 0;
out:
	sk_IPAddressFamily_pop_free(a, IPAddressFamily_free);
	ASIdentifiers_free(s);
	ca_res_free(r);
	return rc;
}
