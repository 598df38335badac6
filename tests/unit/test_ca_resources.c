/*
 * ca_res: RFC 6492 text forms and their errors, set algebra against a
 * bitmap reference over small universes (random sets, seeded PRNG; set
 * CAIRN_TEST_SEED to replay), round trips through certificate DER, and the
 * RFC 6487 strictness rules of ca_res_from_x509().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca/resources.h"

static const char *const famname[3] = { "AS", "IPv4", "IPv6" };

/* Parses text into family f of a new set; fails the test on error. */
static struct ca_res *
res1(enum ca_res_family f, const char *text)
{
	struct ca_res	*r = ca_res_new();
	struct cm_err	 err;

	assert_non_null(r);
	if (ca_res_parse(r, f, text, "t", &err) != 0)
		fail_msg("parse \"%s\": %s", text, err.msg);
	return r;
}

static void
check_print(enum ca_res_family f, const char *in, const char *want)
{
	struct ca_res	*r = res1(f, in), *back;
	struct cm_err	 err;
	char		*s;

	assert_int_equal(ca_res_print(r, f, &s, &err), 0);
	if (strcmp(s, want) != 0)
		fail_msg("%s \"%s\": printed \"%s\", want \"%s\"",
		    famname[f], in, s, want);
	back = res1(f, s);
	assert_true(ca_res_equal(r, back));
	free(s);
	ca_res_free(back);
	ca_res_free(r);
}

static void
test_text_forms(void **state)
{
	check_print(CA_RES_AS, "AS64496-AS64511,AS65000", "64496-64511,65000");
	check_print(CA_RES_AS, "64496-64511,65000", "64496-64511,65000");
	check_print(CA_RES_AS, "AS65000,64500-AS64511,64496-64499",
	    "64496-64511,65000");
	check_print(CA_RES_AS, "1,2,3,5", "1-3,5");
	check_print(CA_RES_AS, "7-7", "7");
	check_print(CA_RES_AS, "0-4294967295,12", "0-4294967295");
	check_print(CA_RES_AS, "", "");
	check_print(CA_RES_AS, "inherit", "inherit");
	check_print(CA_RES_V4, "10.0.0.0/8,192.0.2.0-192.0.2.130",
	    "10.0.0.0/8,192.0.2.0-192.0.2.130");
	check_print(CA_RES_V4, "192.0.2.0-192.0.2.255", "192.0.2.0/24");
	check_print(CA_RES_V4, "10.128.0.0/9,10.0.0.0/9", "10.0.0.0/8");
	check_print(CA_RES_V4, "10.0.0.0/8,10.1.0.0/16", "10.0.0.0/8");
	check_print(CA_RES_V4, "192.0.2.1-192.0.2.2", "192.0.2.1-192.0.2.2");
	check_print(CA_RES_V4, "192.0.2.7-192.0.2.7", "192.0.2.7/32");
	check_print(CA_RES_V4, "0.0.0.0/0", "0.0.0.0/0");
	check_print(CA_RES_V4, "255.255.255.255/32,0.0.0.0/32",
	    "0.0.0.0/32,255.255.255.255/32");
	check_print(CA_RES_V6, "2001:db8::/32,2001:db8:1::-2001:db8:1::ff",
	    "2001:db8::/32");
	check_print(CA_RES_V6, "2001:db8:1::-2001:db8:1::ff",
	    "2001:db8:1::/120");
	check_print(CA_RES_V6, "2001:DB8:1::-2001:db8:1::fe",
	    "2001:db8:1::-2001:db8:1::fe");
	check_print(CA_RES_V6, "::/0", "::/0");
	check_print(CA_RES_V6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127,"
	    "::/1", "::/1,ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127");
	check_print(CA_RES_V6, "::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	    "::/0");
}

static void
check_bad(enum ca_res_family f, const char *in, const char *why)
{
	struct ca_res	*r = res1(f, "inherit");
	struct cm_err	 err;

	if (ca_res_parse(r, f, in, "child.xml", &err) != -1)
		fail_msg("%s \"%s\" accepted", famname[f], in);
	assert_int_equal(err.code, CM_EINVAL);
	assert_memory_equal(err.msg, "child.xml: ", 11);
	if (strstr(err.msg, why) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err.msg, why);
	assert_non_null(strstr(err.msg, famname[f]));
	assert_true(ca_res_is_inherit(r, f));	/* left unchanged */
	ca_res_free(r);
}

static void
test_text_errors(void **state)
{
	check_bad(CA_RES_V4, "10.0.0.1/8", "host bits");
	check_bad(CA_RES_V6, "2001:db8::1/32", "host bits");
	check_bad(CA_RES_V4, "10.0.0.0/33", "prefix length");
	check_bad(CA_RES_V6, "::/129", "prefix length");
	check_bad(CA_RES_V4, "10.0.0.0/08", "prefix");
	check_bad(CA_RES_V4, "192.0.2.10-192.0.2.1", "minimum above maximum");
	check_bad(CA_RES_V6, "::2-::1", "minimum above maximum");
	check_bad(CA_RES_AS, "AS5-AS4", "minimum above maximum");
	check_bad(CA_RES_AS, "garbage", "AS number");
	check_bad(CA_RES_V4, "garbage", "prefix");
	check_bad(CA_RES_V4, "192.0.2.0", "expected a prefix");
	check_bad(CA_RES_V4, "10.0.0.0/8-10.0.0.1", "both");
	check_bad(CA_RES_V4, "10.0.0/8", "prefix");
	check_bad(CA_RES_V4, "010.0.0.0/8", "prefix");
	check_bad(CA_RES_V4, "2001:db8::/32", "prefix");
	check_bad(CA_RES_V6, "10.0.0.0/8", "prefix");
	check_bad(CA_RES_V4, "10.0.0.0/8, 11.0.0.0/8", "prefix");
	check_bad(CA_RES_V4, "1.2.3.4-5", "range");
	check_bad(CA_RES_AS, "1,,2", "empty element");
	check_bad(CA_RES_AS, "1,", "empty element");
	check_bad(CA_RES_AS, ",1", "empty element");
	check_bad(CA_RES_AS, ",", "empty element");
	check_bad(CA_RES_AS, " 1", "AS number");
	check_bad(CA_RES_AS, "4294967296", "AS number");
	check_bad(CA_RES_AS, "01", "AS number");
	check_bad(CA_RES_AS, "-1", "AS number");
	check_bad(CA_RES_AS, "+1", "AS number");
	check_bad(CA_RES_AS, "AS", "AS number");
	check_bad(CA_RES_AS, "1-2-3", "AS number");
	check_bad(CA_RES_AS, "as1", "AS number");
	check_bad(CA_RES_AS, "1/8", "AS number");
	check_bad(CA_RES_AS, "Inherit", "AS number");
	check_bad(CA_RES_V6, "2001:db8::/32,"
	    "2001:0db8:0000:0000:0000:0000:0000:0000-"
	    "2001:0db8:0000:0000:0000:0000:0000:0001-"
	    "2001:0db8:0000:0000:0000:0000:0000:0002-"
	    "2001:0db8:0000:0000:0000:0000:0000:0003", "too long");
}

static void
test_accessors(void **state)
{
	struct ca_res		*r = ca_res_new(), *d;
	struct ca_res_range	 rg = { 0 };
	struct cm_err		 err;
	const struct ca_res_range *g;
	uint8_t			 a[16] = { 192, 0, 2, 128 };

	assert_non_null(r);
	assert_true(ca_res_is_empty(r));
	rg.as_min = 10;
	rg.as_max = 20;
	assert_int_equal(ca_res_add(r, CA_RES_AS, &rg, &err), 0);
	rg.as_min = 21;
	rg.as_max = 30;
	assert_int_equal(ca_res_add(r, CA_RES_AS, &rg, &err), 0);
	assert_int_equal(ca_res_count(r, CA_RES_AS), 1);
	g = ca_res_get(r, CA_RES_AS, 0);
	assert_int_equal(g->as_min, 10);
	assert_int_equal(g->as_max, 30);
	assert_null(ca_res_get(r, CA_RES_AS, 1));
	rg.as_min = 5;
	rg.as_max = 4;
	assert_int_equal(ca_res_add(r, CA_RES_AS, &rg, &err), -1);
	assert_non_null(strstr(err.msg, "minimum above maximum"));
	assert_true(ca_res_has_as(r, 10));
	assert_true(ca_res_has_as(r, 30));
	assert_false(ca_res_has_as(r, 31));
	assert_false(ca_res_has_as(r, 9));
	assert_false(ca_res_is_empty(r));

	memcpy(rg.ip_min, (uint8_t[]){ 192, 0, 2, 0 }, 4);
	memcpy(rg.ip_max, (uint8_t[]){ 192, 0, 2, 255 }, 4);
	assert_int_equal(ca_res_add(r, CA_RES_V4, &rg, &err), 0);
	assert_true(ca_res_has_prefix(r, CA_RES_V4, a, 25));
	assert_true(ca_res_has_prefix(r, CA_RES_V4, a, 24));
	assert_false(ca_res_has_prefix(r, CA_RES_V4, a, 23));
	assert_false(ca_res_has_prefix(r, CA_RES_V4, a, 33));
	assert_false(ca_res_has_prefix(r, CA_RES_V6, a, 24));

	d = ca_res_dup(r);
	assert_true(ca_res_equal(r, d));
	ca_res_set_inherit(d, CA_RES_V4, 1);
	assert_false(ca_res_equal(r, d));
	assert_true(ca_res_is_inherit(d, CA_RES_V4));
	assert_int_equal(ca_res_count(d, CA_RES_V4), 0);
	assert_false(ca_res_has_prefix(d, CA_RES_V4, a, 25));
	assert_int_equal(ca_res_add(d, CA_RES_V4, &rg, &err), -1);
	assert_non_null(strstr(err.msg, "inherit"));
	ca_res_set_inherit(d, CA_RES_V4, 0);
	assert_false(ca_res_is_inherit(d, CA_RES_V4));
	ca_res_free(d);
	ca_res_free(r);
	ca_res_free(NULL);

	r = ca_res_new();
	ca_res_set_inherit(r, CA_RES_V6, 1);
	assert_false(ca_res_is_empty(r));
	ca_res_free(r);
}

static void
test_inherit_algebra(void **state)
{
	struct ca_res	*a = res1(CA_RES_AS, "inherit"), *b = res1(CA_RES_AS, "1");
	struct ca_res	*o = NULL;
	struct cm_err	 err;

	assert_int_equal(ca_res_union(a, b, &o, &err), -1);
	assert_null(o);
	assert_non_null(strstr(err.msg, "inherit"));
	assert_int_equal(ca_res_intersect(b, a, &o, &err), -1);
	assert_int_equal(ca_res_subtract(a, b, &o, &err), -1);
	assert_int_equal(ca_res_contains(a, b, &err), -1);
	assert_int_equal(ca_res_contains(b, a, &err), -1);
	assert_int_equal(ca_res_contains(b, b, &err), 1);
	ca_res_free(a);
	ca_res_free(b);
}

/*
 * Property tests.  Each family is restricted to a universe of U values
 * starting at a base (at the bottom or the top of the family's space, so
 * that the edge cases at 0 and at the maximum are exercised); a set is
 * mirrored by a bitmap over that universe.
 */
#define U	512

struct model {
	uint8_t	bit[3][U];
};

struct univ {
	uint8_t	base[3][16];	/* AS: big-endian in the first 4 octets */
};

static uint64_t	rng_state;

static uint64_t
rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static size_t
octets(enum ca_res_family f)
{
	return f == CA_RES_V6 ? 16 : 4;
}

/* Value base + off into out (big-endian, octets(f) bytes). */
static void
univ_val(const struct univ *u, enum ca_res_family f, unsigned int off,
    uint8_t *out)
{
	unsigned int	c = off;

	memcpy(out, u->base[f], 16);
	for (size_t i = octets(f); i > 0 && c != 0; i--) {
		c += out[i - 1];
		out[i - 1] = (uint8_t)c;
		c >>= 8;
	}
}

/* Offset of v from the base, or -1 when outside the universe. */
static long
univ_off(const struct univ *u, enum ca_res_family f, const uint8_t *v)
{
	size_t		n = octets(f);
	uint64_t	a = 0, b = 0;

	/* Universes are /23-aligned, so the high octets must match. */
	if (memcmp(v, u->base[f], n - 2) != 0)
		return -1;
	a = ((uint64_t)v[n - 2] << 8) | v[n - 1];
	b = ((uint64_t)u->base[f][n - 2] << 8) | u->base[f][n - 1];
	if (a < b || a - b >= U)
		return -1;
	return (long)(a - b);
}

static void
range_bytes(enum ca_res_family f, const struct ca_res_range *rg, uint8_t *lo,
    uint8_t *hi)
{
	if (f == CA_RES_AS) {
		uint32_t	l = htonl(rg->as_min), h = htonl(rg->as_max);

		memcpy(lo, &l, 4);
		memcpy(hi, &h, 4);
	} else {
		memcpy(lo, rg->ip_min, octets(f));
		memcpy(hi, rg->ip_max, octets(f));
	}
}

/* Checks r is canonical and inside u, and expands it into m. */
static void
expand(const struct ca_res *r, const struct univ *u, struct model *m)
{
	uint8_t	lo[16], hi[16];
	long	l, h, prev = -2;

	memset(m, 0, sizeof(*m));
	for (int f = 0; f < 3; f++) {
		prev = -2;
		assert_false(ca_res_is_inherit(r, f));
		for (size_t i = 0; i < ca_res_count(r, f); i++) {
			range_bytes(f, ca_res_get(r, f, i), lo, hi);
			l = univ_off(u, f, lo);
			h = univ_off(u, f, hi);
			assert_true(l >= 0 && h >= l);
			/* Sorted, disjoint and not adjacent. */
			assert_true(l > prev + 1);
			for (long k = l; k <= h; k++)
				m->bit[f][k] = 1;
			prev = h;
		}
	}
}

/* Random set: a few random ranges, added one by one or as parsed text. */
static struct ca_res *
random_set(const struct univ *u, struct model *m)
{
	struct ca_res		*r = ca_res_new();
	struct ca_res_range	 rg;
	struct cm_err		 err;
	unsigned int		 lo, hi, t, k;
	char			 a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	char			 text[4096];
	size_t			 tl;

	assert_non_null(r);
	memset(m, 0, sizeof(*m));
	for (int f = 0; f < 3; f++) {
		k = (unsigned int)(rnd() % 7);
		text[0] = '\0';
		tl = 0;
		for (unsigned int i = 0; i < k; i++) {
			lo = (unsigned int)(rnd() % U);
			/* Mostly short ranges, sometimes long ones. */
			hi = lo + (unsigned int)(rnd() % (rnd() % 4 == 0 ?
			    U : 40));
			if (hi >= U)
				hi = U - 1;
			/* Sometimes an aligned prefix. */
			if (rnd() % 3 == 0) {
				t = 1u << (rnd() % 7);
				lo &= ~(t - 1);
				hi = lo + t - 1;
			}
			for (unsigned int x = lo; x <= hi; x++)
				m->bit[f][x] = 1;
			memset(&rg, 0, sizeof(rg));
			univ_val(u, f, lo, rg.ip_min);
			univ_val(u, f, hi, rg.ip_max);
			if (f == CA_RES_AS) {
				uint32_t	v;

				memcpy(&v, rg.ip_min, 4);
				rg.as_min = ntohl(v);
				memcpy(&v, rg.ip_max, 4);
				rg.as_max = ntohl(v);
				memset(rg.ip_min, 0, 16);
				memset(rg.ip_max, 0, 16);
			}
			if (rnd() % 2 == 0) {
				assert_int_equal(ca_res_add(r, f, &rg, &err),
				    0);
				continue;
			}
			if (f == CA_RES_AS) {
				tl += (size_t)snprintf(text + tl,
				    sizeof(text) - tl, "%sAS%u-%u",
				    tl ? "," : "", rg.as_min, rg.as_max);
				continue;
			}
			inet_ntop(f == CA_RES_V4 ? AF_INET : AF_INET6,
			    rg.ip_min, a, sizeof(a));
			inet_ntop(f == CA_RES_V4 ? AF_INET : AF_INET6,
			    rg.ip_max, b, sizeof(b));
			tl += (size_t)snprintf(text + tl, sizeof(text) - tl,
			    "%s%s-%s", tl ? "," : "", a, b);
		}
		if (tl > 0) {
			/* Parsing replaces the family: merge via union. */
			struct ca_res	*p = ca_res_new(), *o;

			assert_int_equal(ca_res_parse(p, f, text, "rnd", &err),
			    0);
			assert_int_equal(ca_res_union(r, p, &o, &err), 0);
			ca_res_free(p);
			ca_res_free(r);
			r = o;
		}
	}
	return r;
}

/* The expected RFC 6492 text of family f of m, built from bit runs. */
static void
model_print(const struct model *m, const struct univ *u, enum ca_res_family f,
    char *out, size_t outlen)
{
	size_t		 ol = 0;
	unsigned int	 lo, hi, len;
	uint8_t		 a[16], b[16];
	char		 sa[INET6_ADDRSTRLEN], sb[INET6_ADDRSTRLEN];
	int		 af = f == CA_RES_V6 ? AF_INET6 : AF_INET, pl;
	uint32_t	 x, y;

	out[0] = '\0';
	for (lo = 0; lo < U; lo = hi + 1) {
		if (!m->bit[f][lo]) {
			hi = lo;
			continue;
		}
		for (hi = lo; hi + 1 < U && m->bit[f][hi + 1]; hi++)
			;
		univ_val(u, f, lo, a);
		univ_val(u, f, hi, b);
		if (ol > 0)
			ol += (size_t)snprintf(out + ol, outlen - ol, ",");
		if (f == CA_RES_AS) {
			memcpy(&x, a, 4);
			memcpy(&y, b, 4);
			if (lo == hi)
				ol += (size_t)snprintf(out + ol, outlen - ol,
				    "%u", ntohl(x));
			else
				ol += (size_t)snprintf(out + ol, outlen - ol,
				    "%u-%u", ntohl(x), ntohl(y));
			continue;
		}
		inet_ntop(af, a, sa, sizeof(sa));
		inet_ntop(af, b, sb, sizeof(sb));
		len = hi - lo + 1;
		/* Universes are aligned, so alignment of lo is enough. */
		if ((len & (len - 1)) == 0 && lo % len == 0) {
			for (pl = f == CA_RES_V6 ? 128 : 32; len > 1; len >>= 1)
				pl--;
			ol += (size_t)snprintf(out + ol, outlen - ol, "%s/%d",
			    sa, pl);
		} else
			ol += (size_t)snprintf(out + ol, outlen - ol, "%s-%s",
			    sa, sb);
	}
}

static void
random_univ(struct univ *u)
{
	memset(u, 0, sizeof(*u));
	if (rnd() % 2 == 0) {
		/* Bottom: AS 0..511, 0.0.0.0/23, ::/119. */
		return;
	}
	if (rnd() % 2 == 0) {
		/* Top of every space. */
		memset(u->base[CA_RES_AS], 0xff, 4);
		memset(u->base[CA_RES_V4], 0xff, 4);
		memset(u->base[CA_RES_V6], 0xff, 16);
		for (int f = 0; f < 3; f++)
			u->base[f][octets(f) - 1] = 0,
			u->base[f][octets(f) - 2] = 0xfe;
		return;
	}
	/* Middle: AS 64512.., 192.0.2.0/23, 2001:db8::/119. */
	memcpy(u->base[CA_RES_AS], (uint8_t[]){ 0, 0, 0xfc, 0 }, 4);
	memcpy(u->base[CA_RES_V4], (uint8_t[]){ 192, 0, 2, 0 }, 4);
	memcpy(u->base[CA_RES_V6], (uint8_t[]){ 0x20, 0x01, 0x0d, 0xb8 }, 4);
}

static void
check_model(const struct ca_res *r, const struct univ *u,
    const struct model *want, const char *what, int iter)
{
	struct model	got;

	expand(r, u, &got);
	for (int f = 0; f < 3; f++)
		if (memcmp(got.bit[f], want->bit[f], U) != 0)
			fail_msg("iteration %d: %s differs in %s", iter, what,
			    famname[f]);
}

static void
test_property_algebra(void **state)
{
	const char	*env = getenv("CAIRN_TEST_SEED");
	struct univ	 u;
	struct model	 ma, mb, mo;
	struct ca_res	*a, *b, *o, *back;
	struct cm_err	 err;
	char		*s, want[16384];
	int		 sub, eq;
	uint8_t		 p[16];
	unsigned int	 plen, off;

	rng_state = env != NULL ? strtoull(env, NULL, 0) :
	    (uint64_t)time(NULL) * 2654435761u + 1;
	if (rng_state == 0)
		rng_state = 1;
	print_message("property seed: CAIRN_TEST_SEED=%llu\n",
	    (unsigned long long)rng_state);
	for (int it = 0; it < 5000; it++) {
		random_univ(&u);
		a = random_set(&u, &ma);
		b = rnd() % 8 == 0 ? ca_res_dup(a) : random_set(&u, &mb);
		if (b == NULL)
			fail();
		expand(b, &u, &mb);
		check_model(a, &u, &ma, "set", it);

		assert_int_equal(ca_res_union(a, b, &o, &err), 0);
		for (int f = 0; f < 3; f++)
			for (int k = 0; k < U; k++)
				mo.bit[f][k] = ma.bit[f][k] | mb.bit[f][k];
		check_model(o, &u, &mo, "union", it);
		ca_res_free(o);

		assert_int_equal(ca_res_intersect(a, b, &o, &err), 0);
		for (int f = 0; f < 3; f++)
			for (int k = 0; k < U; k++)
				mo.bit[f][k] = ma.bit[f][k] & mb.bit[f][k];
		check_model(o, &u, &mo, "intersection", it);
		ca_res_free(o);

		assert_int_equal(ca_res_subtract(a, b, &o, &err), 0);
		for (int f = 0; f < 3; f++)
			for (int k = 0; k < U; k++)
				mo.bit[f][k] = ma.bit[f][k] & !mb.bit[f][k];
		check_model(o, &u, &mo, "difference", it);
		ca_res_free(o);

		sub = eq = 1;
		for (int f = 0; f < 3; f++)
			for (int k = 0; k < U; k++) {
				if (mb.bit[f][k] && !ma.bit[f][k])
					sub = 0;
				if (mb.bit[f][k] != ma.bit[f][k])
					eq = 0;
			}
		assert_int_equal(ca_res_contains(a, b, &err), sub);
		assert_int_equal(ca_res_equal(a, b), eq);
		assert_int_equal(ca_res_is_empty(a),
		    memchr(&ma, 1, sizeof(ma)) == NULL);

		/* Membership of random prefixes and AS numbers. */
		for (int f = 1; f < 3; f++) {
			plen = (unsigned int)(rnd() % 10);
			off = (unsigned int)(rnd() % U) & ~((1u << plen) - 1);
			univ_val(&u, f, off, p);
			sub = 1;
			for (unsigned int k = off; k < off + (1u << plen); k++)
				sub &= ma.bit[f][k];
			assert_int_equal(ca_res_has_prefix(a, f, p,
			    (f == CA_RES_V6 ? 128 : 32) - plen), sub);
		}
		off = (unsigned int)(rnd() % U);
		univ_val(&u, CA_RES_AS, off, p);
		assert_int_equal(ca_res_has_as(a, ntohl(*(uint32_t *)(void *)p)),
		    ma.bit[CA_RES_AS][off]);

		/* Printing matches the reference and parses back. */
		back = ca_res_new();
		for (int f = 0; f < 3; f++) {
			assert_int_equal(ca_res_print(a, f, &s, &err), 0);
			model_print(&ma, &u, f, want, sizeof(want));
			if (strcmp(s, want) != 0)
				fail_msg("iteration %d: %s printed \"%s\", "
				    "want \"%s\"", it, famname[f], s, want);
			assert_int_equal(ca_res_parse(back, f, s, "p", &err),
			    0);
			free(s);
		}
		assert_true(ca_res_equal(a, back));
		ca_res_free(back);
		ca_res_free(a);
		ca_res_free(b);
	}
}

/*
 * Certificates: a minimal signed certificate carrying the given extension
 * values, so that the round trip goes through real certificate DER.
 */
static EVP_PKEY	*tkey;

static X509 *
cert_with(IPAddrBlocks *addr, int addr_crit, ASIdentifiers *asid,
    int as_crit)
{
	X509		*x = X509_new(), *y;
	X509_NAME	*n = X509_NAME_new();
	unsigned char	*der = NULL;
	const unsigned char *p;
	int		 len;

	assert_non_null(x);
	assert_true(X509_set_version(x, 2));
	assert_true(ASN1_INTEGER_set(X509_get_serialNumber(x), 1));
	assert_true(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"t", -1, -1, 0));
	assert_true(X509_set_issuer_name(x, n));
	assert_true(X509_set_subject_name(x, n));
	assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), 1795000000));
	assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), 1796000000));
	assert_true(X509_set_pubkey(x, tkey));
	if (addr != NULL)
		assert_true(X509_add1_ext_i2d(x, NID_sbgp_ipAddrBlock, addr,
		    addr_crit, X509V3_ADD_APPEND));
	if (asid != NULL)
		assert_true(X509_add1_ext_i2d(x, NID_sbgp_autonomousSysNum,
		    asid, as_crit, X509V3_ADD_APPEND));
	assert_true(X509_sign(x, tkey, EVP_sha256()) > 0);
	X509_NAME_free(n);
	/* Through DER and back, as a parser would see it. */
	len = i2d_X509(x, &der);
	assert_true(len > 0);
	p = der;
	y = d2i_X509(NULL, &p, len);
	assert_non_null(y);
	OPENSSL_free(der);
	X509_free(x);
	return y;
}

static X509 *
cert_raw(int nid, int crit, const uint8_t *der, size_t len)
{
	X509			*x = cert_with(NULL, 0, NULL, 0);
	ASN1_OCTET_STRING	*os = ASN1_OCTET_STRING_new();
	X509_EXTENSION		*e;

	assert_non_null(os);
	assert_true(ASN1_OCTET_STRING_set(os, der, (int)len));
	e = X509_EXTENSION_create_by_NID(NULL, nid, crit, os);
	assert_non_null(e);
	assert_true(X509_add_ext(x, e, -1));
	X509_EXTENSION_free(e);
	ASN1_OCTET_STRING_free(os);
	return x;
}

static int
group_setup(void **state)
{
	tkey = EVP_EC_gen("P-256");
	return tkey == NULL ? -1 : 0;
}

static int
group_teardown(void **state)
{
	EVP_PKEY_free(tkey);
	return 0;
}

static void
roundtrip(const struct ca_res *r)
{
	IPAddrBlocks	*addr;
	ASIdentifiers	*asid;
	struct ca_res	*back;
	struct cm_err	 err;
	X509		*x;

	assert_int_equal(ca_res_to_x509(r, &addr, &asid, &err), 0);
	assert_true(addr == NULL || X509v3_addr_is_canonical(addr));
	assert_true(asid == NULL || X509v3_asid_is_canonical(asid));
	x = cert_with(addr, 1, asid, 1);
	if (addr == NULL && asid == NULL) {
		assert_int_equal(ca_res_from_x509(x, "t.cer", &back, &err), -1);
		assert_non_null(strstr(err.msg, "neither"));
	} else {
		if (ca_res_from_x509(x, "t.cer", &back, &err) != 0)
			fail_msg("%s", err.msg);
		assert_true(ca_res_equal(r, back));
		ca_res_free(back);
	}
	X509_free(x);
	sk_IPAddressFamily_pop_free(addr, IPAddressFamily_free);
	ASIdentifiers_free(asid);
}

static void
test_x509_roundtrip(void **state)
{
	struct univ	 u;
	struct model	 m;
	struct ca_res	*r;

	for (int it = 0; it < 400; it++) {
		random_univ(&u);
		r = random_set(&u, &m);
		/* AS0 alone is not encodable (tested separately). */
		if (ca_res_count(r, CA_RES_AS) > 0 &&
		    ca_res_get(r, CA_RES_AS, 0)->as_max == 0)
			ca_res_set_inherit(r, CA_RES_AS, 0);
		for (int f = 0; f < 3; f++)
			if (rnd() % 5 == 0)
				ca_res_set_inherit(r, f, 1);
		roundtrip(r);
		ca_res_free(r);
	}
	r = res1(CA_RES_V4, "inherit");
	ca_res_set_inherit(r, CA_RES_V6, 1);
	ca_res_set_inherit(r, CA_RES_AS, 1);
	roundtrip(r);
	ca_res_free(r);
	r = res1(CA_RES_AS, "0-4294967295");
	assert_int_equal(ca_res_parse(r, CA_RES_V4, "0.0.0.0/0", "t", NULL), 0);
	assert_int_equal(ca_res_parse(r, CA_RES_V6, "::/0", "t", NULL), 0);
	roundtrip(r);
	ca_res_free(r);
}

static void
test_x509_encoding(void **state)
{
	/* 10.0.0.0/8 and 192.0.2.0-192.0.2.130 in RFC 3779 DER. */
	static const uint8_t want[] = { 0x30, 0x1b, 0x30, 0x19, 0x04, 0x02,
		0x00, 0x01, 0x30, 0x13, 0x03, 0x02, 0x00, 0x0a, 0x30, 0x0d,
		0x03, 0x04, 0x01, 0xc0, 0x00, 0x02, 0x03, 0x05, 0x00, 0xc0,
		0x00, 0x02, 0x82 };
	struct ca_res	*r = res1(CA_RES_V4, "192.0.2.0-192.0.2.130,10.0.0.0/8");
	IPAddrBlocks	*addr;
	ASIdentifiers	*asid;
	struct cm_err	 err;
	X509_EXTENSION	*e;
	const ASN1_OCTET_STRING *os;

	assert_int_equal(ca_res_to_x509(r, &addr, &asid, &err), 0);
	assert_null(asid);
	e = X509V3_EXT_i2d(NID_sbgp_ipAddrBlock, 1, addr);
	assert_non_null(e);
	os = X509_EXTENSION_get_data(e);
	assert_int_equal(ASN1_STRING_length(os), sizeof(want));
	assert_memory_equal(ASN1_STRING_get0_data(os), want, sizeof(want));
	X509_EXTENSION_free(e);
	sk_IPAddressFamily_pop_free(addr, IPAddressFamily_free);
	ca_res_free(r);

	/* Empty set: no extension at all. */
	r = ca_res_new();
	assert_int_equal(ca_res_to_x509(r, &addr, &asid, &err), 0);
	assert_null(addr);
	assert_null(asid);
	/* A lone AS0 cannot be an AS identifier. */
	assert_int_equal(ca_res_parse(r, CA_RES_AS, "0,5", "t", &err), 0);
	assert_int_equal(ca_res_to_x509(r, &addr, &asid, &err), -1);
	assert_non_null(strstr(err.msg, "AS0"));
	ca_res_free(r);
}

static void
check_reject(X509 *x, const char *why)
{
	struct ca_res	*r = (struct ca_res *)1;
	struct cm_err	 err;

	assert_int_equal(ca_res_from_x509(x, "bad.cer", &r, &err), -1);
	assert_null(r);
	assert_int_equal(err.code, CM_EINVAL);
	assert_memory_equal(err.msg, "bad.cer: ", 9);
	if (strstr(err.msg, why) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err.msg, why);
	X509_free(x);
}

static void
check_raw(int nid, const uint8_t *der, size_t len, const char *why)
{
	check_reject(cert_raw(nid, 1, der, len), why);
}

static void
test_x509_strict(void **state)
{
	struct ca_res	*r = res1(CA_RES_AS, "64496");
	IPAddrBlocks	*addr;
	ASIdentifiers	*asid;
	struct cm_err	 err;
	X509		*x;
	ASN1_INTEGER	*i;
	uint8_t		 lo[4] = { 10, 0, 0, 0 }, hi[4] = { 10, 0, 0, 255 };
	uint8_t		 lo2[4] = { 9, 0, 0, 0 }, hi2[4] = { 9, 0, 0, 255 };
	unsigned int	 safi = 1;
	struct ca_res	*back;
	static const uint8_t dup_afi[] = { 0x30, 0x18,
		0x30, 0x0a, 0x04, 0x02, 0x00, 0x01, 0x30, 0x04, 0x03, 0x02,
		0x00, 0x0a,
		0x30, 0x0a, 0x04, 0x02, 0x00, 0x01, 0x30, 0x04, 0x03, 0x02,
		0x00, 0x0b };
	static const uint8_t empty_set[] = { 0x30, 0x08, 0x30, 0x06, 0x04,
		0x02, 0x00, 0x01, 0x30, 0x00 };
	static const uint8_t empty_ext[] = { 0x30, 0x00 };
	static const uint8_t afi3[] = { 0x30, 0x08, 0x30, 0x06, 0x04, 0x02,
		0x00, 0x03, 0x05, 0x00 };
	static const uint8_t trailing[] = { 0x30, 0x08, 0x30, 0x06, 0x04,
		0x02, 0x00, 0x01, 0x05, 0x00, 0x00, 0x00 };
	static const uint8_t ber_len[] = { 0x30, 0x81, 0x08, 0x30, 0x06, 0x04,
		0x02, 0x00, 0x01, 0x05, 0x00 };
	static const uint8_t ip_rev[] = { 0x30, 0x18, 0x30, 0x16, 0x04, 0x02,
		0x00, 0x01, 0x30, 0x10, 0x30, 0x0e, 0x03, 0x05, 0x00, 0x0a,
		0x00, 0x00, 0x05, 0x03, 0x05, 0x01, 0x0a, 0x00, 0x00, 0x00 };
	static const uint8_t as0[] = { 0x30, 0x07, 0xa0, 0x05, 0x30, 0x03,
		0x02, 0x01, 0x00 };
	static const uint8_t as_empty[] = { 0x30, 0x04, 0xa0, 0x02, 0x30,
		0x00 };
	static const uint8_t as_none[] = { 0x30, 0x00 };
	static const uint8_t as_neg[] = { 0x30, 0x07, 0xa0, 0x05, 0x30, 0x03,
		0x02, 0x01, 0xff };
	static const uint8_t as_big[] = { 0x30, 0x0b, 0xa0, 0x09, 0x30, 0x07,
		0x02, 0x05, 0x01, 0x00, 0x00, 0x00, 0x00 };
	static const uint8_t as_range_rev[] = { 0x30, 0x0c, 0xa0, 0x0a, 0x30,
		0x08, 0x30, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x04 };
	static const uint8_t as_range0[] = { 0x30, 0x0c, 0xa0, 0x0a, 0x30,
		0x08, 0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x04 };

	/* Non-critical extensions. */
	assert_int_equal(ca_res_parse(r, CA_RES_V4, "10.0.0.0/8", "t", &err),
	    0);
	assert_int_equal(ca_res_to_x509(r, &addr, &asid, &err), 0);
	check_reject(cert_with(addr, 0, asid, 1), "sbgp-ipAddrBlock extension "
	    "not critical");
	check_reject(cert_with(addr, 1, asid, 0), "sbgp-autonomousSysNum "
	    "extension not critical");
	check_reject(cert_with(NULL, 0, NULL, 0), "neither");
	/* Duplicate extension. */
	x = cert_with(addr, 1, asid, 1);
	assert_true(X509_add1_ext_i2d(x, NID_sbgp_ipAddrBlock, addr, 1,
	    X509V3_ADD_APPEND));
	check_reject(x, "duplicate sbgp-ipAddrBlock");
	sk_IPAddressFamily_pop_free(addr, IPAddressFamily_free);
	ASIdentifiers_free(asid);
	ca_res_free(r);

	/* SAFI. */
	addr = sk_IPAddressFamily_new_null();
	assert_true(X509v3_addr_add_range(addr, IANA_AFI_IPV4, &safi, lo, hi));
	check_reject(cert_with(addr, 1, NULL, 0), "SAFI");
	sk_IPAddressFamily_pop_free(addr, IPAddressFamily_free);
	/* Not canonical: out of order. */
	addr = sk_IPAddressFamily_new_null();
	assert_true(X509v3_addr_add_range(addr, IANA_AFI_IPV4, NULL, lo, hi));
	assert_true(X509v3_addr_add_range(addr, IANA_AFI_IPV4, NULL, lo2,
	    hi2));
	check_reject(cert_with(addr, 1, NULL, 0), "canonical");
	sk_IPAddressFamily_pop_free(addr, IPAddressFamily_free);
	/* RDI. */
	asid = ASIdentifiers_new();
	i = ASN1_INTEGER_new();
	assert_true(ASN1_INTEGER_set(i, 5));
	assert_true(X509v3_asid_add_id_or_range(asid, V3_ASID_RDI, i, NULL));
	i = ASN1_INTEGER_new();
	assert_true(ASN1_INTEGER_set(i, 5));
	assert_true(X509v3_asid_add_id_or_range(asid, V3_ASID_ASNUM, i, NULL));
	check_reject(cert_with(NULL, 0, asid, 1), "routing domain");
	ASIdentifiers_free(asid);
	/* AS not canonical: 7 before 5. */
	asid = ASIdentifiers_new();
	for (int v = 7; v >= 5; v -= 2) {
		i = ASN1_INTEGER_new();
		assert_true(ASN1_INTEGER_set(i, v));
		assert_true(X509v3_asid_add_id_or_range(asid, V3_ASID_ASNUM, i,
		    NULL));
	}
	check_reject(cert_with(NULL, 0, asid, 1), "canonical");
	ASIdentifiers_free(asid);

	check_raw(NID_sbgp_ipAddrBlock, dup_afi, sizeof(dup_afi),
	    "duplicate IPv4 address family");
	check_raw(NID_sbgp_ipAddrBlock, empty_set, sizeof(empty_set),
	    "empty IPv4");
	check_raw(NID_sbgp_ipAddrBlock, empty_ext, sizeof(empty_ext),
	    "empty IP resource");
	check_raw(NID_sbgp_ipAddrBlock, afi3, sizeof(afi3), "unknown address");
	check_raw(NID_sbgp_ipAddrBlock, trailing, sizeof(trailing),
	    "sbgp-ipAddrBlock");
	check_raw(NID_sbgp_ipAddrBlock, ber_len, sizeof(ber_len),
	    "sbgp-ipAddrBlock");
	check_raw(NID_sbgp_ipAddrBlock, ip_rev, sizeof(ip_rev),
	    "IPv4 range with minimum above maximum");
	check_raw(NID_sbgp_autonomousSysNum, as0, sizeof(as0), "AS0");
	check_raw(NID_sbgp_autonomousSysNum, as_empty, sizeof(as_empty),
	    "empty AS");
	check_raw(NID_sbgp_autonomousSysNum, as_none, sizeof(as_none),
	    "without asnum");
	check_raw(NID_sbgp_autonomousSysNum, as_neg, sizeof(as_neg),
	    "malformed AS");
	check_raw(NID_sbgp_autonomousSysNum, as_big, sizeof(as_big),
	    "malformed AS");
	check_raw(NID_sbgp_autonomousSysNum, as_range_rev,
	    sizeof(as_range_rev), "malformed AS");

	/* A range starting at AS0 is fine (trust anchors hold 0-4294967295). */
	x = cert_raw(NID_sbgp_autonomousSysNum, 1, as_range0,
	    sizeof(as_range0));
	assert_int_equal(ca_res_from_x509(x, "ok.cer", &back, &err), 0);
	assert_true(ca_res_has_as(back, 0));
	assert_true(ca_res_has_as(back, 4));
	assert_false(ca_res_is_inherit(back, CA_RES_V4));
	assert_int_equal(ca_res_count(back, CA_RES_V4), 0);
	ca_res_free(back);
	X509_free(x);

	/* Inherit is reported per family; absent families are empty. */
	addr = sk_IPAddressFamily_new_null();
	assert_true(X509v3_addr_add_inherit(addr, IANA_AFI_IPV6, NULL));
	x = cert_with(addr, 1, NULL, 0);
	assert_int_equal(ca_res_from_x509(x, "ok.cer", &back, &err), 0);
	assert_true(ca_res_is_inherit(back, CA_RES_V6));
	assert_false(ca_res_is_inherit(back, CA_RES_V4));
	assert_false(ca_res_is_inherit(back, CA_RES_AS));
	assert_int_equal(ca_res_count(back, CA_RES_AS), 0);
	ca_res_free(back);
	X509_free(x);
	sk_IPAddressFamily_pop_free(addr, IPAddressFamily_free);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_forms),
		cmocka_unit_test(test_text_errors),
		cmocka_unit_test(test_accessors),
		cmocka_unit_test(test_inherit_algebra),
		cmocka_unit_test(test_property_algebra),
		cmocka_unit_test(test_x509_roundtrip),
		cmocka_unit_test(test_x509_encoding),
		cmocka_unit_test(test_x509_strict),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
