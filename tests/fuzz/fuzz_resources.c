/*
 * libFuzzer target: RFC 6492 resource set text (ca_res_parse).  The first
 * input byte picks the family, the rest is the text.  Oracles: an accepted
 * set is canonical (sorted, disjoint, not adjacent); its printed form parses
 * back to an equal set and prints identically; printing is a fixed point
 * (parse(print(x)) == x); the OpenSSL encoding of the set is canonical.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ca/resources.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
less_adjacent(enum ca_res_family f, const struct ca_res_range *a,
    const struct ca_res_range *b)
{
	size_t	n = f == CA_RES_V6 ? 16 : 4;
	uint8_t	x[16];
	int	carry = 1;

	if (f == CA_RES_AS)
		return a->as_max != UINT32_MAX && a->as_max + 1 < b->as_min;
	/* a.max + 1 < b.min, with a.max + 1 not overflowing. */
	memcpy(x, a->ip_max, n);
	for (size_t i = n; i > 0 && carry; i--)
		carry = ++x[i - 1] == 0;
	return !carry && memcmp(x, b->ip_min, n) < 0;
}

static void
check_canonical(const struct ca_res *r, enum ca_res_family f)
{
	const struct ca_res_range	*a, *b;
	size_t				 n = f == CA_RES_V6 ? 16 : 4;

	for (size_t i = 0; i < ca_res_count(r, f); i++) {
		a = ca_res_get(r, f, i);
		if (f == CA_RES_AS ? a->as_min > a->as_max :
		    memcmp(a->ip_min, a->ip_max, n) > 0)
			abort();
		if (i > 0 && !less_adjacent(f, ca_res_get(r, f, i - 1), a))
			abort();
	}
	b = ca_res_get(r, f, ca_res_count(r, f));
	if (b != NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum ca_res_family	 f;
	struct ca_res		*r = NULL, *back = NULL;
	struct cm_err		 err;
	IPAddrBlocks		*addr = NULL;
	ASIdentifiers		*asid = NULL;
	char			*text, *s1 = NULL, *s2 = NULL;

	if (size < 1)
		return 0;
	f = (enum ca_res_family)(data[0] % 3);
	if ((text = malloc(size)) == NULL)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	if ((r = ca_res_new()) == NULL || (back = ca_res_new()) == NULL)
		abort();
	if (ca_res_parse(r, f, text, "fuzz", &err) != 0) {
		if (err.code != CM_EINVAL || strncmp(err.msg, "fuzz: ", 6) != 0)
			abort();
		if (!ca_res_is_empty(r))	/* failed parse changed r */
			abort();
		goto out;
	}
	check_canonical(r, f);
	if (ca_res_print(r, f, &s1, &err) != 0 ||
	    ca_res_parse(back, f, s1, "print", &err) != 0 ||
	    !ca_res_equal(r, back) ||
	    ca_res_print(back, f, &s2, &err) != 0 || strcmp(s1, s2) != 0)
		abort();
	if (ca_res_to_x509(r, &addr, &asid, &err) == 0) {
		if (addr != NULL && !X509v3_addr_is_canonical(addr))
			abort();
		if (asid != NULL && !X509v3_asid_is_canonical(asid))
			abort();
	} else if (f != CA_RES_AS || ca_res_get(r, f, 0)->as_max != 0)
		abort();	/* only a lone AS0 is refused */
out:
	sk_IPAddressFamily_pop_free(addr, IPAddressFamily_free);
	ASIdentifiers_free(asid);
	free(s1);
	free(s2);
	free(text);
	ca_res_free(r);
	ca_res_free(back);
	return 0;
}
