/*
 * ca_aspa: ASProviderAttestation (version 1) encoder, strict decoder and EE
 * cert rules.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "ca/asn1.h"
#include "ca/aspa.h"
#include "ca/cms.h"

static int
u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Semantic rules shared by the encoder and the decoder; p is sorted. */
static int
check_providers(const char *fn, uint32_t customer, const uint32_t *p,
    size_t n, struct cm_err *err)
{
	size_t	i;

	if (customer == 0)
		return cm_err_set(err, CM_EINVAL, fn,
		    "customerASID must not be AS0");
	if (n == 0 || n > CA_ASPA_MAX_PROVIDERS)
		return cm_err_set(err, CM_EINVAL, fn,
		    "need 1..%d providers, have %zu", CA_ASPA_MAX_PROVIDERS, n);
	for (i = 0; i < n; i++) {
		if (i > 0 && p[i - 1] >= p[i])
			return cm_err_set(err, CM_EINVAL, fn,
			    "providers not ascending or repeated at AS%u",
			    p[i]);
		if (p[i] == customer)
			return cm_err_set(err, CM_EINVAL, fn,
			    "customer AS%u listed as its own provider",
			    customer);
		if (p[i] == 0 && n > 1)
			return cm_err_set(err, CM_EINVAL, fn,
			    "AS0 must be the only provider");
	}
	return 0;
}

static int
build(const struct ca_aspa *a, const uint32_t *p, size_t n,
    CA_ASProviderAttestation *x)
{
	ASN1_INTEGER	*ai;
	size_t		 i;

	if ((x->version = ASN1_INTEGER_new()) == NULL ||
	    !ASN1_INTEGER_set_uint64(x->version, 1) ||
	    !ASN1_INTEGER_set_uint64(x->customerASID, a->customer))
		return -1;
	for (i = 0; i < n; i++) {
		if ((ai = ASN1_INTEGER_new()) == NULL)
			return -1;
		if (!ASN1_INTEGER_set_uint64(ai, p[i]) ||
		    !sk_ASN1_INTEGER_push(x->providers, ai)) {
			ASN1_INTEGER_free(ai);
			return -1;
		}
	}
	return 0;
}

int
ca_aspa_encode(const struct ca_aspa *a, uint8_t **der, size_t *len,
    struct cm_err *err)
{
	CA_ASProviderAttestation	*x = NULL;
	uint32_t			*p;
	size_t				 i, n = 0;
	int				 rc = -1;

	if (a->nproviders == 0 || a->nproviders > CA_ASPA_MAX_PROVIDERS)
		return cm_err_set(err, CM_EINVAL, "ASPA",
		    "need 1..%d providers", CA_ASPA_MAX_PROVIDERS);
	if ((p = malloc(a->nproviders * sizeof(*p))) == NULL)
		return cm_err_set(err, CM_ENOMEM, "ASPA", "out of memory");
	memcpy(p, a->providers, a->nproviders * sizeof(*p));
	qsort(p, a->nproviders, sizeof(*p), u32_cmp);
	for (i = 0; i < a->nproviders; i++)
		if (n == 0 || p[n - 1] != p[i])
			p[n++] = p[i];
	if (check_providers("ASPA", a->customer, p, n, err))
		goto out;
	if ((x = CA_ASProviderAttestation_new()) == NULL ||
	    build(a, p, n, x)) {
		cm_err_ssl(err, "ASPA", "cannot build ASPA");
		goto out;
	}
	rc = ca_asn1_i2d(x, ASN1_ITEM_rptr(CA_ASProviderAttestation), der,
	    len, "ASPA", err);
out:
	CA_ASProviderAttestation_free(x);
	free(p);
	return rc;
}

int
ca_aspa_decode(const char *fn, const uint8_t *der, size_t len,
    struct ca_aspa **out, struct cm_err *err)
{
	CA_ASProviderAttestation	*x;
	struct ca_aspa			*a = NULL;
	int				 i, n, rc = -1;

	x = ca_asn1_d2i(der, len, ASN1_ITEM_rptr(CA_ASProviderAttestation),
	    fn, "ASProviderAttestation", err);
	if (x == NULL)
		return -1;
	if (x->version == NULL || ASN1_INTEGER_get(x->version) != 1) {
		cm_err_set(err, CM_EINVAL, fn,
		    "ASPA version must be 1, encoded explicitly");
		goto out;
	}
	n = sk_ASN1_INTEGER_num(x->providers);
	if ((a = calloc(1, sizeof(*a))) == NULL || (n > 0 &&
	    (a->providers = calloc((size_t)n, sizeof(uint32_t))) == NULL)) {
		cm_err_set(err, CM_ENOMEM, fn, "out of memory");
		goto out;
	}
	if (ca_asn1_get_u32(x->customerASID, &a->customer)) {
		cm_err_set(err, CM_EINVAL, fn, "customerASID out of range");
		goto out;
	}
	for (i = 0; i < n; i++, a->nproviders++)
		if (ca_asn1_get_u32(sk_ASN1_INTEGER_value(x->providers, i),
		    &a->providers[i])) {
			cm_err_set(err, CM_EINVAL, fn,
			    "provider ASID out of range");
			goto out;
		}
	if (check_providers(fn, a->customer, a->providers, a->nproviders, err))
		goto out;
	*out = a;
	a = NULL;
	rc = 0;
out:
	ca_aspa_free(a);
	CA_ASProviderAttestation_free(x);
	return rc;
}

int
ca_aspa_check_ee(const char *fn, const struct ca_aspa *a, X509 *ee,
    struct cm_err *err)
{
	ASIdentifiers		*as;
	const ASIdOrRange	*id;
	uint64_t		 v;
	int			 ok;

	if (X509_get_ext_by_NID(ee, NID_sbgp_ipAddrBlock, -1) >= 0)
		return cm_err_set(err, CM_EINVAL, fn,
		    "ASPA EE cert must not have IP resources");
	as = X509_get_ext_d2i(ee, NID_sbgp_autonomousSysNum, NULL, NULL);
	ok = as != NULL && as->rdi == NULL && as->asnum != NULL &&
	    as->asnum->type == ASIdentifierChoice_asIdsOrRanges &&
	    sk_ASIdOrRange_num(as->asnum->u.asIdsOrRanges) == 1;
	if (ok) {
		id = sk_ASIdOrRange_value(as->asnum->u.asIdsOrRanges, 0);
		ok = id->type == ASIdOrRange_id &&
		    ASN1_INTEGER_get_uint64(&v, id->u.id) && v == a->customer;
	}
	ASIdentifiers_free(as);
	if (!ok)
		return cm_err_set(err, CM_EINVAL, fn, "ASPA EE cert AS "
		    "resources must be exactly AS%u", a->customer);
	return 0;
}

int
ca_aspa_parse(const char *fn, const uint8_t *der, size_t len,
    struct ca_aspa **out, X509 **ee, struct cm_err *err)
{
	struct ca_cms_parsed	 p;
	struct ca_aspa		*a = NULL;
	int			 rc = -1;

	if (ca_cms_parse(fn, CA_OID_CT_ASPA, der, len, &p, err))
		return -1;
	if (ca_aspa_decode(fn, p.econtent, p.econtent_len, &a, err) ||
	    ca_aspa_check_ee(fn, a, p.ee, err))
		goto out;
	if (ee != NULL) {
		*ee = p.ee;
		p.ee = NULL;
	}
	*out = a;
	a = NULL;
	rc = 0;
out:
	ca_aspa_free(a);
	ca_cms_parsed_free(&p);
	return rc;
}

void
ca_aspa_free(struct ca_aspa *a)
{
	if (a == NULL)
		return;
	free(a->providers);
	free(a);
}
