/*
 * ca_roa: RFC 9582 RouteOriginAttestation encoder and strict decoder.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "ca/asn1.h"
#include "ca/cms.h"
#include "ca/resources.h"
#include "ca/roa.h"

/* RPs cap ROA sizes; this is far above any real ROA. */
#define ROA_MAX_PREFIXES	65536

static unsigned
afi_bits(uint16_t afi)
{
	return afi == CA_AFI_IPV4 ? 32 : 128;
}

static int
prefix_check(const struct ca_roa_prefix *p)
{
	unsigned	max, i;

	if (p->afi != CA_AFI_IPV4 && p->afi != CA_AFI_IPV6)
		return -1;
	max = afi_bits(p->afi);
	if (p->plen > max || p->maxlen < p->plen || p->maxlen > max)
		return -1;
	for (i = p->plen; i < max; i++)
		if (p->addr[i / 8] & (0x80 >> (i % 8)))
			return -1;
	if (p->afi == CA_AFI_IPV4)
		for (i = 4; i < 16; i++)
			if (p->addr[i] != 0)
				return -1;
	return 0;
}

static int
prefix_cmp(const void *a, const void *b)
{
	const struct ca_roa_prefix *x = a, *y = b;
	int	c;

	if (x->afi != y->afi)
		return x->afi < y->afi ? -1 : 1;
	if ((c = memcmp(x->addr, y->addr, 16)) != 0)
		return c;
	if (x->plen != y->plen)
		return x->plen < y->plen ? -1 : 1;
	if (x->maxlen != y->maxlen)
		return x->maxlen < y->maxlen ? -1 : 1;
	return 0;
}

int
ca_roa_prefix_parse(const char *s, struct ca_roa_prefix *p, struct cm_err *err)
{
	char		 buf[64], *slash, *dash, *end;
	unsigned long	 plen, mlen;

	memset(p, 0, sizeof(*p));
	if (strlen(s) >= sizeof(buf) || (slash = strchr(s, '/')) == NULL)
		return cm_err_set(err, CM_EINVAL, s, "not a prefix");
	memcpy(buf, s, (size_t)(slash - s));
	buf[slash - s] = '\0';
	if (inet_pton(AF_INET, buf, p->addr) == 1)
		p->afi = CA_AFI_IPV4;
	else if (inet_pton(AF_INET6, buf, p->addr) == 1)
		p->afi = CA_AFI_IPV6;
	else
		return cm_err_set(err, CM_EINVAL, s, "bad address");
	plen = strtoul(slash + 1, &end, 10);
	mlen = plen;
	if (end == slash + 1 || (*end != '\0' && *end != '-'))
		return cm_err_set(err, CM_EINVAL, s, "bad prefix length");
	if (*end == '-') {
		dash = end + 1;
		mlen = strtoul(dash, &end, 10);
		if (end == dash || *end != '\0')
			return cm_err_set(err, CM_EINVAL, s, "bad maxLength");
	}
	if (plen > 128 || mlen > 128)
		return cm_err_set(err, CM_EINVAL, s, "length out of range");
	p->plen = (uint8_t)plen;
	p->maxlen = (uint8_t)mlen;
	if (prefix_check(p))
		return cm_err_set(err, CM_EINVAL, s,
		    "lengths out of range or host bits set");
	return 0;
}

void
ca_roa_prefix_str(const struct ca_roa_prefix *p, char *buf, size_t len)
{
	char	a[INET6_ADDRSTRLEN];

	inet_ntop(p->afi == CA_AFI_IPV4 ? AF_INET : AF_INET6, p->addr, a,
	    sizeof(a));
	if (p->maxlen != p->plen)
		snprintf(buf, len, "%s/%u-%u", a, p->plen, p->maxlen);
	else
		snprintf(buf, len, "%s/%u", a, p->plen);
}

int
ca_roa_canonicalize(struct ca_roa *roa, struct cm_err *err)
{
	size_t	i, n = 0;

	for (i = 0; i < roa->nprefixes; i++)
		if (prefix_check(&roa->prefixes[i]))
			return cm_err_set(err, CM_EINVAL, "ROA",
			    "prefix %zu out of range or host bits set", i);
	if (roa->nprefixes > 1)
		qsort(roa->prefixes, roa->nprefixes, sizeof(*roa->prefixes),
		    prefix_cmp);
	for (i = 0; i < roa->nprefixes; i++)
		if (n == 0 || prefix_cmp(&roa->prefixes[n - 1],
		    &roa->prefixes[i]) != 0)
			roa->prefixes[n++] = roa->prefixes[i];
	roa->nprefixes = n;
	return 0;
}

static CA_ROAIPAddressFamily *
family_new(uint16_t afi)
{
	CA_ROAIPAddressFamily	*f;
	uint8_t			 b[2] = { (uint8_t)(afi >> 8), (uint8_t)afi };

	if ((f = CA_ROAIPAddressFamily_new()) == NULL)
		return NULL;
	if (!ASN1_OCTET_STRING_set(f->addressFamily, b, 2)) {
		CA_ROAIPAddressFamily_free(f);
		return NULL;
	}
	return f;
}

static int
add_address(CA_ROAIPAddressFamily *f, const struct ca_roa_prefix *p)
{
	CA_ROAIPAddress	*a;

	if ((a = CA_ROAIPAddress_new()) == NULL)
		return -1;
	if (ca_asn1_bits_set(a->address, p->addr, p->plen) ||
	    (p->maxlen != p->plen &&
	    ((a->maxLength = ASN1_INTEGER_new()) == NULL ||
	    !ASN1_INTEGER_set_uint64(a->maxLength, p->maxlen))) ||
	    !sk_CA_ROAIPAddress_push(f->addresses, a)) {
		CA_ROAIPAddress_free(a);
		return -1;
	}
	return 0;
}

static int
build(const struct ca_roa *c, CA_RouteOriginAttestation *r)
{
	CA_ROAIPAddressFamily	*f = NULL;
	size_t			 i;

	if (!ASN1_INTEGER_set_uint64(r->asid, c->asid))
		return -1;
	for (i = 0; i < c->nprefixes; i++) {
		const struct ca_roa_prefix *p = &c->prefixes[i];

		if (f == NULL || (i > 0 && c->prefixes[i - 1].afi != p->afi)) {
			if ((f = family_new(p->afi)) == NULL)
				return -1;
			if (!sk_CA_ROAIPAddressFamily_push(r->ipAddrBlocks, f)) {
				CA_ROAIPAddressFamily_free(f);
				return -1;
			}
		}
		if (add_address(f, p))
			return -1;
	}
	return 0;
}

int
ca_roa_encode(const struct ca_roa *roa, uint8_t **der, size_t *len,
    struct cm_err *err)
{
	CA_RouteOriginAttestation	*r = NULL;
	struct ca_roa			 c = { roa->asid, NULL, roa->nprefixes };
	int				 rc = -1;

	if (roa->nprefixes == 0 || roa->nprefixes > ROA_MAX_PREFIXES)
		return cm_err_set(err, CM_EINVAL, "ROA",
		    "need 1..%d prefixes", ROA_MAX_PREFIXES);
	c.prefixes = malloc(roa->nprefixes * sizeof(*c.prefixes));
	if (c.prefixes == NULL)
		return cm_err_set(err, CM_ENOMEM, "ROA", "out of memory");
	memcpy(c.prefixes, roa->prefixes, roa->nprefixes * sizeof(*c.prefixes));
	if (ca_roa_canonicalize(&c, err))
		goto out;
	if ((r = CA_RouteOriginAttestation_new()) == NULL || build(&c, r)) {
		cm_err_ssl(err, "ROA", "cannot build ROA");
		goto out;
	}
	rc = ca_asn1_i2d(r, ASN1_ITEM_rptr(CA_RouteOriginAttestation), der,
	    len, "ROA", err);
out:
	CA_RouteOriginAttestation_free(r);
	free(c.prefixes);
	return rc;
}

/* RFC 9582 canonical order within one family: address, length, maxLength. */
static int
order_cmp(const struct ca_roa_prefix *x, const struct ca_roa_prefix *y)
{
	int	c;

	if ((c = memcmp(x->addr, y->addr, 16)) != 0)
		return c;
	if (x->plen != y->plen)
		return x->plen < y->plen ? -1 : 1;
	return x->maxlen < y->maxlen ? -1 : x->maxlen > y->maxlen;
}

static int
decode_address(const char *fn, uint16_t afi, const CA_ROAIPAddress *a,
    struct ca_roa_prefix *p, struct cm_err *err)
{
	unsigned	max = afi == CA_AFI_IPV4 ? 32 : 128, plen;
	uint64_t	ml;

	memset(p, 0, sizeof(*p));
	p->afi = afi;
	plen = ca_asn1_bits_len(a->address);
	if (plen > max)
		return cm_err_set(err, CM_EINVAL, fn,
		    "prefix length %u exceeds %u", plen, max);
	if (a->address->length > 0)
		memcpy(p->addr, a->address->data,
		    (size_t)a->address->length);
	p->plen = (uint8_t)plen;
	p->maxlen = (uint8_t)plen;
	if (a->maxLength == NULL)
		return 0;
	if (!ASN1_INTEGER_get_uint64(&ml, a->maxLength) || ml < plen ||
	    ml > max)
		return cm_err_set(err, CM_EINVAL, fn,
		    "maxLength out of range for a /%u", plen);
	/* RFC 9582 SHOULD NOT; refused so that decoding is canonical. */
	if (ml == plen)
		return cm_err_set(err, CM_EINVAL, fn,
		    "maxLength equal to the prefix length must be omitted");
	p->maxlen = (uint8_t)ml;
	return 0;
}

static int
decode_family(const char *fn, const CA_ROAIPAddressFamily *f, uint16_t *afi,
    struct ca_roa *roa, struct cm_err *err)
{
	const ASN1_OCTET_STRING	*af = f->addressFamily;
	int			 i, n = sk_CA_ROAIPAddress_num(f->addresses);

	if (af->length != 2 || af->data[0] != 0 ||
	    (af->data[1] != CA_AFI_IPV4 && af->data[1] != CA_AFI_IPV6))
		return cm_err_set(err, CM_EINVAL, fn,
		    "bad addressFamily (only IPv4/IPv6, no SAFI)");
	if (af->data[1] <= *afi)
		return cm_err_set(err, CM_EINVAL, fn,
		    "address families repeated or not in canonical order");
	*afi = af->data[1];
	if (n <= 0)
		return cm_err_set(err, CM_EINVAL, fn, "empty address family");
	for (i = 0; i < n; i++) {
		struct ca_roa_prefix *p = &roa->prefixes[roa->nprefixes];

		if (decode_address(fn, *afi,
		    sk_CA_ROAIPAddress_value(f->addresses, i), p, err))
			return -1;
		if (i > 0 && order_cmp(p - 1, p) >= 0)
			return cm_err_set(err, CM_EINVAL, fn,
			    "prefixes not in canonical order or duplicated");
		roa->nprefixes++;
	}
	return 0;
}

static int
count_prefixes(const char *fn, const CA_RouteOriginAttestation *r,
    size_t *total, struct cm_err *err)
{
	int	i, n = sk_CA_ROAIPAddressFamily_num(r->ipAddrBlocks);

	if (n < 1 || n > 2)
		return cm_err_set(err, CM_EINVAL, fn,
		    "need 1 or 2 address families, have %d", n);
	*total = 0;
	for (i = 0; i < n; i++)
		*total += (size_t)sk_CA_ROAIPAddress_num(
		    sk_CA_ROAIPAddressFamily_value(r->ipAddrBlocks, i)->addresses);
	return 0;
}

int
ca_roa_decode(const char *fn, const uint8_t *der, size_t len,
    struct ca_roa **out, struct cm_err *err)
{
	CA_RouteOriginAttestation	*r;
	struct ca_roa			*roa = NULL;
	size_t				 total = 0;
	uint16_t			 afi = 0;
	int				 i, rc = -1;

	r = ca_asn1_d2i(der, len, ASN1_ITEM_rptr(CA_RouteOriginAttestation),
	    fn, "RouteOriginAttestation", err);
	if (r == NULL)
		return -1;
	/* DEFAULT 0: an encoded version (even 0) is not DER or not v0. */
	if (r->version != NULL) {
		cm_err_set(err, CM_EINVAL, fn, "ROA version must be omitted");
		goto out;
	}
	if (count_prefixes(fn, r, &total, err))
		goto out;
	if ((roa = calloc(1, sizeof(*roa))) == NULL ||
	    (roa->prefixes = calloc(total, sizeof(*roa->prefixes))) == NULL) {
		cm_err_set(err, CM_ENOMEM, fn, "out of memory");
		goto out;
	}
	if (ca_asn1_get_u32(r->asid, &roa->asid)) {
		cm_err_set(err, CM_EINVAL, fn, "asID out of range");
		goto out;
	}
	for (i = 0; i < sk_CA_ROAIPAddressFamily_num(r->ipAddrBlocks); i++)
		if (decode_family(fn, sk_CA_ROAIPAddressFamily_value(
		    r->ipAddrBlocks, i), &afi, roa, err))
			goto out;
	*out = roa;
	roa = NULL;
	rc = 0;
out:
	ca_roa_free(roa);
	CA_RouteOriginAttestation_free(r);
	return rc;
}

int
ca_roa_check_ee(const char *fn, const struct ca_roa *roa, X509 *ee,
    struct cm_err *err)
{
	IPAddrBlocks		*have = NULL;
	struct ca_res		*need = NULL, *got = NULL;
	struct ca_res_range	 rg;
	enum ca_res_family	 f;
	unsigned		 bits, b;
	size_t			 i;
	int			 rc = -1, crit, in;

	if (X509_get_ext_by_NID(ee, NID_sbgp_autonomousSysNum, -1) >= 0) {
		cm_err_set(err, CM_EINVAL, fn,
		    "ROA EE cert must not have AS resources");
		goto out;
	}
	have = X509_get_ext_d2i(ee, NID_sbgp_ipAddrBlock, &crit, NULL);
	if (have == NULL || X509v3_addr_inherits(have)) {
		cm_err_set(err, CM_EINVAL, fn, "ROA EE cert needs explicit IP "
		    "resources (no inherit)");
		goto out;
	}
	/*
	 * A ROA may hold overlapping prefixes (10.0.0.0/16 and 10.0.128.0/17
	 * with other maxLengths); OpenSSL's canonize refuses overlaps, so the
	 * needed set is built with ca_res, which merges them.
	 */
	if ((need = ca_res_new()) == NULL) {
		cm_err_set(err, CM_ENOMEM, fn, "out of memory");
		goto out;
	}
	for (i = 0; i < roa->nprefixes; i++) {
		const struct ca_roa_prefix *p = &roa->prefixes[i];

		f = p->afi == CA_AFI_IPV4 ? CA_RES_V4 : CA_RES_V6;
		bits = f == CA_RES_V4 ? 32 : 128;
		memset(&rg, 0, sizeof(rg));
		memcpy(rg.ip_min, p->addr, 16);
		memcpy(rg.ip_max, p->addr, 16);
		for (b = p->plen; b < bits; b++)
			rg.ip_max[b / 8] |= (uint8_t)(0x80 >> (b % 8));
		if (ca_res_add(need, f, &rg, err) == -1)
			goto out;
	}
	if (ca_res_from_x509(ee, fn, &got, err) == -1)
		goto out;
	if ((in = ca_res_contains(got, need, err)) == -1)
		goto out;
	if (!in) {
		cm_err_set(err, CM_EINVAL, fn,
		    "ROA prefixes not covered by the EE cert's resources");
		goto out;
	}
	rc = 0;
out:
	ca_res_free(need);
	ca_res_free(got);
	sk_IPAddressFamily_pop_free(have, IPAddressFamily_free);
	return rc;
}

int
ca_roa_parse(const char *fn, const uint8_t *der, size_t len,
    struct ca_roa **out, X509 **ee, struct cm_err *err)
{
	struct ca_cms_parsed	 p;
	struct ca_roa		*roa = NULL;
	int			 rc = -1;

	if (ca_cms_parse(fn, CA_OID_CT_ROA, der, len, &p, err))
		return -1;
	if (ca_roa_decode(fn, p.econtent, p.econtent_len, &roa, err) ||
	    ca_roa_check_ee(fn, roa, p.ee, err))
		goto out;
	if (ee != NULL) {
		*ee = p.ee;
		p.ee = NULL;
	}
	*out = roa;
	roa = NULL;
	rc = 0;
out:
	ca_roa_free(roa);
	ca_cms_parsed_free(&p);
	return rc;
}

void
ca_roa_free(struct ca_roa *roa)
{
	if (roa == NULL)
		return;
	free(roa->prefixes);
	free(roa);
}
