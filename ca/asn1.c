/*
 * ca_asn1: template implementations for the RPKI structures in asn1.h, and
 * small conversion helpers shared by the object modules.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/objects.h>

#include "ca/asn1.h"

ASN1_SEQUENCE(CA_ROAIPAddress) = {
	ASN1_SIMPLE(CA_ROAIPAddress, address, ASN1_BIT_STRING),
	ASN1_OPT(CA_ROAIPAddress, maxLength, ASN1_INTEGER),
} ASN1_SEQUENCE_END(CA_ROAIPAddress)
IMPLEMENT_ASN1_FUNCTIONS(CA_ROAIPAddress)

ASN1_SEQUENCE(CA_ROAIPAddressFamily) = {
	ASN1_SIMPLE(CA_ROAIPAddressFamily, addressFamily, ASN1_OCTET_STRING),
	ASN1_SEQUENCE_OF(CA_ROAIPAddressFamily, addresses, CA_ROAIPAddress),
} ASN1_SEQUENCE_END(CA_ROAIPAddressFamily)
IMPLEMENT_ASN1_FUNCTIONS(CA_ROAIPAddressFamily)

ASN1_SEQUENCE(CA_RouteOriginAttestation) = {
	ASN1_EXP_OPT(CA_RouteOriginAttestation, version, ASN1_INTEGER, 0),
	ASN1_SIMPLE(CA_RouteOriginAttestation, asid, ASN1_INTEGER),
	ASN1_SEQUENCE_OF(CA_RouteOriginAttestation, ipAddrBlocks,
	    CA_ROAIPAddressFamily),
} ASN1_SEQUENCE_END(CA_RouteOriginAttestation)
IMPLEMENT_ASN1_FUNCTIONS(CA_RouteOriginAttestation)

ASN1_SEQUENCE(CA_FileAndHash) = {
	ASN1_SIMPLE(CA_FileAndHash, file, ASN1_IA5STRING),
	ASN1_SIMPLE(CA_FileAndHash, hash, ASN1_BIT_STRING),
} ASN1_SEQUENCE_END(CA_FileAndHash)
IMPLEMENT_ASN1_FUNCTIONS(CA_FileAndHash)

ASN1_SEQUENCE(CA_Manifest) = {
	ASN1_EXP_OPT(CA_Manifest, version, ASN1_INTEGER, 0),
	ASN1_SIMPLE(CA_Manifest, manifestNumber, ASN1_INTEGER),
	ASN1_SIMPLE(CA_Manifest, thisUpdate, ASN1_GENERALIZEDTIME),
	ASN1_SIMPLE(CA_Manifest, nextUpdate, ASN1_GENERALIZEDTIME),
	ASN1_SIMPLE(CA_Manifest, fileHashAlg, ASN1_OBJECT),
	ASN1_SEQUENCE_OF(CA_Manifest, fileList, CA_FileAndHash),
} ASN1_SEQUENCE_END(CA_Manifest)
IMPLEMENT_ASN1_FUNCTIONS(CA_Manifest)

ASN1_SEQUENCE(CA_ASProviderAttestation) = {
	ASN1_EXP_OPT(CA_ASProviderAttestation, version, ASN1_INTEGER, 0),
	ASN1_SIMPLE(CA_ASProviderAttestation, customerASID, ASN1_INTEGER),
	ASN1_SEQUENCE_OF(CA_ASProviderAttestation, providers, ASN1_INTEGER),
} ASN1_SEQUENCE_END(CA_ASProviderAttestation)
IMPLEMENT_ASN1_FUNCTIONS(CA_ASProviderAttestation)

ASN1_SEQUENCE(CA_TAKey) = {
	ASN1_SEQUENCE_OF(CA_TAKey, comments, ASN1_UTF8STRING),
	ASN1_SEQUENCE_OF(CA_TAKey, certificateURIs, ASN1_IA5STRING),
	ASN1_SIMPLE(CA_TAKey, subjectPublicKeyInfo, X509_PUBKEY),
} ASN1_SEQUENCE_END(CA_TAKey)
IMPLEMENT_ASN1_FUNCTIONS(CA_TAKey)

/*
 * version and predecessor share the tag [0]; they are told apart by their
 * position, before and after the mandatory current.
 */
ASN1_SEQUENCE(CA_TAK) = {
	ASN1_EXP_OPT(CA_TAK, version, ASN1_INTEGER, 0),
	ASN1_SIMPLE(CA_TAK, current, CA_TAKey),
	ASN1_EXP_OPT(CA_TAK, predecessor, CA_TAKey, 0),
	ASN1_EXP_OPT(CA_TAK, successor, CA_TAKey, 1),
} ASN1_SEQUENCE_END(CA_TAK)
IMPLEMENT_ASN1_FUNCTIONS(CA_TAK)

ASN1_SEQUENCE(CA_SignerInfoView) = {
	ASN1_SIMPLE(CA_SignerInfoView, version, ASN1_INTEGER),
	ASN1_SIMPLE(CA_SignerInfoView, sid, ASN1_ANY),
	ASN1_SIMPLE(CA_SignerInfoView, digestAlgorithm, X509_ALGOR),
	ASN1_IMP_SET_OF_OPT(CA_SignerInfoView, signedAttrs, ASN1_ANY, 0),
	ASN1_SIMPLE(CA_SignerInfoView, signatureAlgorithm, X509_ALGOR),
	ASN1_SIMPLE(CA_SignerInfoView, signature, ASN1_OCTET_STRING),
	ASN1_IMP_SET_OF_OPT(CA_SignerInfoView, unsignedAttrs, ASN1_ANY, 1),
} ASN1_SEQUENCE_END(CA_SignerInfoView)
IMPLEMENT_ASN1_FUNCTIONS(CA_SignerInfoView)

ASN1_SEQUENCE(CA_SignedDataView) = {
	ASN1_SIMPLE(CA_SignedDataView, version, ASN1_INTEGER),
	ASN1_SET_OF(CA_SignedDataView, digestAlgorithms, X509_ALGOR),
	ASN1_SIMPLE(CA_SignedDataView, encapContentInfo, ASN1_ANY),
	ASN1_IMP_SET_OF_OPT(CA_SignedDataView, certificates, ASN1_ANY, 0),
	ASN1_IMP_SET_OF_OPT(CA_SignedDataView, crls, ASN1_ANY, 1),
	ASN1_SET_OF(CA_SignedDataView, signerInfos, CA_SignerInfoView),
} ASN1_SEQUENCE_END(CA_SignedDataView)
IMPLEMENT_ASN1_FUNCTIONS(CA_SignedDataView)

ASN1_SEQUENCE(CA_ContentInfoView) = {
	ASN1_SIMPLE(CA_ContentInfoView, contentType, ASN1_OBJECT),
	ASN1_EXP(CA_ContentInfoView, content, CA_SignedDataView, 0),
} ASN1_SEQUENCE_END(CA_ContentInfoView)
IMPLEMENT_ASN1_FUNCTIONS(CA_ContentInfoView)

ASN1_OBJECT *
ca_asn1_oid(const char *oid)
{
	return OBJ_txt2obj(oid, 1);
}

int
ca_asn1_oid_is(const ASN1_OBJECT *obj, const char *oid)
{
	char	buf[128];

	if (obj == NULL || OBJ_obj2txt(buf, sizeof(buf), obj, 1) <= 0)
		return 0;
	return strcmp(buf, oid) == 0;
}

int
ca_asn1_bits_set(ASN1_BIT_STRING *bs, const uint8_t *p, unsigned nbits)
{
	uint8_t		buf[64];
	unsigned	nbytes = (nbits + 7) / 8, unused = nbytes * 8 - nbits;

	if (nbytes > sizeof(buf))
		return -1;
	memcpy(buf, p, nbytes);
	if (unused > 0)
		buf[nbytes - 1] &= (uint8_t)(0xff << unused);
	if (!ASN1_BIT_STRING_set(bs, buf, (int)nbytes))
		return -1;
	/*
	 * Without BITS_LEFT, i2d drops trailing zero octets and recomputes the
	 * unused bits from the last octet, which changes the prefix length
	 * (10.0.0.0/16 would become 10.0.0.0/7).
	 */
	bs->flags &= ~0x07L;
	bs->flags |= ASN1_STRING_FLAG_BITS_LEFT | (long)unused;
	return 0;
}

unsigned
ca_asn1_bits_len(const ASN1_BIT_STRING *bs)
{
	unsigned	unused = 0;

	if (bs->length == 0)
		return 0;
	if (bs->flags & ASN1_STRING_FLAG_BITS_LEFT)
		unused = (unsigned)(bs->flags & 0x07);
	return (unsigned)bs->length * 8 - unused;
}

int
ca_asn1_get_u32(const ASN1_INTEGER *ai, uint32_t *out)
{
	uint64_t	v;

	if (ai == NULL || !ASN1_INTEGER_get_uint64(&v, ai) || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int
ca_asn1_time_get(const ASN1_TIME *t, time_t *out)
{
	struct tm	tm;

	if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
		return -1;
	*out = timegm(&tm);
	return 0;
}

ASN1_GENERALIZEDTIME *
ca_asn1_gentime(time_t t)
{
	struct tm	tm;
	char		buf[32];

	if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 > 9999 ||
	    tm.tm_year + 1900 < 0)
		return NULL;
	snprintf(buf, sizeof(buf), "%04d%02d%02d%02d%02d%02dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec);
	ASN1_GENERALIZEDTIME *gt = ASN1_GENERALIZEDTIME_new();
	if (gt != NULL && !ASN1_GENERALIZEDTIME_set_string(gt, buf)) {
		ASN1_GENERALIZEDTIME_free(gt);
		return NULL;
	}
	return gt;
}

int
ca_asn1_gentime_strict(const ASN1_GENERALIZEDTIME *gt)
{
	if (gt == NULL || gt->type != V_ASN1_GENERALIZEDTIME ||
	    gt->length != 15 || gt->data[14] != 'Z')
		return 0;
	for (int i = 0; i < 14; i++)
		if (gt->data[i] < '0' || gt->data[i] > '9')
			return 0;
	return ASN1_GENERALIZEDTIME_check(gt);
}

int
ca_asn1_i2d(const void *obj, const ASN1_ITEM *it, uint8_t **der, size_t *len,
    const char *fn, struct cm_err *err)
{
	unsigned char	*out = NULL;
	int		 n;

	n = ASN1_item_i2d((const ASN1_VALUE *)obj, &out, it);
	if (n <= 0)
		return cm_err_ssl(err, fn, "cannot encode %s", it->sname);
	*der = out;
	*len = (size_t)n;
	return 0;
}

void *
ca_asn1_d2i(const uint8_t *der, size_t len, const ASN1_ITEM *it,
    const char *fn, const char *what, struct cm_err *err)
{
	const unsigned char	*p = der;
	unsigned char		*re = NULL;
	ASN1_VALUE		*v;
	int			 n;

	if (len == 0 || len > INT32_MAX) {
		cm_err_set(err, CM_EINVAL, fn, "%s: bad length %zu", what, len);
		return NULL;
	}
	v = ASN1_item_d2i(NULL, &p, (long)len, it);
	if (v == NULL) {
		cm_err_ssl_input(err, fn, "failed to parse %s", what);
		return NULL;
	}
	if (p != der + len) {
		cm_err_set(err, CM_EINVAL, fn, "%s: %zu trailing bytes", what,
		    (size_t)(der + len - p));
		ASN1_item_free(v, it);
		return NULL;
	}
	/*
	 * OpenSSL's decoder takes some BER (non-zero unused bits, which it
	 * masks; primitive-tagged SEQUENCEs; long-form lengths).  Only DER
	 * re-encodes to the same bytes.
	 */
	n = ASN1_item_i2d(v, &re, it);
	if (n < 0 || (size_t)n != len || memcmp(re, der, len) != 0) {
		cm_err_set(err, CM_EINVAL, fn, "%s is not DER", what);
		ASN1_item_free(v, it);
		v = NULL;
	}
	OPENSSL_free(re);
	return v;
}
