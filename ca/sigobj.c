/*
 * ca_sigobj: one call per signed object: EE cert + eContent + CMS.
 *
 * The EE cert is built here with OpenSSL's X509 API and signed through the
 * signer interface (the CA key may live in a PKCS#11 token, so OpenSSL's
 * X509_sign() cannot be used): the TBSCertificate is encoded, hashed,
 * signed by hsm_key_sign(), and the certificate is assembled as DER.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "ca/asn1.h"
#include "ca/cms.h"
#include "ca/sigobj.h"
#include "common/cm_enc.h"

#define OID_AD_SIGNED_OBJECT	"1.3.6.1.5.5.7.48.11"
#define OID_CP_IPADDR_ASNUMBER	"1.3.6.1.5.5.7.14.2"

enum ee_kind { EE_ROA, EE_MFT, EE_ASPA };

void
ca_sigobj_set_serial(struct ca_sigobj_spec *spec, uint64_t serial)
{
	spec->serial_len = 0;
	for (int i = 7; i >= 0; i--) {
		uint8_t b = (uint8_t)(serial >> (8 * i));

		if (b != 0 || spec->serial_len > 0)
			spec->serial[spec->serial_len++] = b;
	}
}

static GENERAL_NAME *
uri_name(const char *uri)
{
	GENERAL_NAME	*gn = GENERAL_NAME_new();
	ASN1_IA5STRING	*s = ASN1_IA5STRING_new();

	if (gn == NULL || s == NULL || !ASN1_STRING_set(s, uri, -1)) {
		GENERAL_NAME_free(gn);
		ASN1_IA5STRING_free(s);
		return NULL;
	}
	GENERAL_NAME_set0_value(gn, GEN_URI, s);
	return gn;
}

/* AIA or SIA with one access description. */
static int
add_access(X509 *x, int nid, ASN1_OBJECT *method, const char *uri)
{
	AUTHORITY_INFO_ACCESS	*aia = AUTHORITY_INFO_ACCESS_new();
	ACCESS_DESCRIPTION	*ad = ACCESS_DESCRIPTION_new();
	int			 ok = 0;

	if (aia != NULL && ad != NULL && method != NULL) {
		ASN1_OBJECT_free(ad->method);
		ad->method = method;
		method = NULL;
		GENERAL_NAME_free(ad->location);
		ad->location = uri_name(uri);
		if (ad->location != NULL &&
		    sk_ACCESS_DESCRIPTION_push(aia, ad)) {
			ad = NULL;
			ok = X509_add1_ext_i2d(x, nid, aia, 0, 0) == 1;
		}
	}
	ASN1_OBJECT_free(method);
	ACCESS_DESCRIPTION_free(ad);
	AUTHORITY_INFO_ACCESS_free(aia);
	return ok;
}

static int
add_crldp(X509 *x, const char *uri)
{
	CRL_DIST_POINTS	*dps = CRL_DIST_POINTS_new();
	DIST_POINT	*dp = DIST_POINT_new();
	GENERAL_NAME	*gn = uri_name(uri);
	int		 ok = 0;

	if (dps != NULL && dp != NULL && gn != NULL &&
	    (dp->distpoint = DIST_POINT_NAME_new()) != NULL &&
	    (dp->distpoint->name.fullname = GENERAL_NAMES_new()) != NULL &&
	    sk_GENERAL_NAME_push(dp->distpoint->name.fullname, gn)) {
		gn = NULL;
		dp->distpoint->type = 0;
		if (sk_DIST_POINT_push(dps, dp)) {
			dp = NULL;
			ok = X509_add1_ext_i2d(x, NID_crl_distribution_points,
			    dps, 0, 0) == 1;
		}
	}
	GENERAL_NAME_free(gn);
	DIST_POINT_free(dp);
	CRL_DIST_POINTS_free(dps);
	return ok;
}

static int
add_policy(X509 *x)
{
	CERTIFICATEPOLICIES	*cp = CERTIFICATEPOLICIES_new();
	POLICYINFO		*pi = POLICYINFO_new();
	int			 ok = 0;

	if (cp != NULL && pi != NULL) {
		ASN1_OBJECT_free(pi->policyid);
		pi->policyid = ca_asn1_oid(OID_CP_IPADDR_ASNUMBER);
		if (pi->policyid != NULL && sk_POLICYINFO_push(cp, pi)) {
			pi = NULL;
			ok = X509_add1_ext_i2d(x, NID_certificate_policies, cp,
			    1, 0) == 1;
		}
	}
	POLICYINFO_free(pi);
	CERTIFICATEPOLICIES_free(cp);
	return ok;
}

static int
add_keyids(X509 *x, X509 *issuer)
{
	ASN1_OCTET_STRING	*ski = ASN1_OCTET_STRING_new();
	AUTHORITY_KEYID		*aki = AUTHORITY_KEYID_new();
	const ASN1_OCTET_STRING	*iski = X509_get0_subject_key_id(issuer);
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen;
	int			 ok = 0;

	if (ski != NULL && aki != NULL && iski != NULL &&
	    X509_pubkey_digest(x, EVP_sha1(), md, &mdlen) &&
	    ASN1_OCTET_STRING_set(ski, md, (int)mdlen) &&
	    (aki->keyid = ASN1_OCTET_STRING_dup(iski)) != NULL)
		ok = X509_add1_ext_i2d(x, NID_subject_key_identifier, ski, 0,
		    0) == 1 && X509_add1_ext_i2d(x,
		    NID_authority_key_identifier, aki, 0, 0) == 1;
	ASN1_OCTET_STRING_free(ski);
	AUTHORITY_KEYID_free(aki);
	return ok;
}

static int
add_key_usage(X509 *x)
{
	ASN1_BIT_STRING	*ku = ASN1_BIT_STRING_new();
	int		 ok;

	ok = ku != NULL && ASN1_BIT_STRING_set_bit(ku, 0, 1) &&
	    X509_add1_ext_i2d(x, NID_key_usage, ku, 1, 0) == 1;
	ASN1_BIT_STRING_free(ku);
	return ok;
}

static int
add_resources(X509 *x, enum ee_kind kind, const void *obj)
{
	IPAddrBlocks	*ip = NULL;
	ASIdentifiers	*as = NULL;
	ASN1_INTEGER	*id = NULL;
	int		 ok = 0;

	if (kind == EE_ROA) {
		const struct ca_roa *roa = obj;

		if ((ip = sk_IPAddressFamily_new_null()) == NULL)
			goto out;
		for (size_t i = 0; i < roa->nprefixes; i++)
			if (!X509v3_addr_add_prefix(ip, roa->prefixes[i].afi,
			    NULL, (unsigned char *)roa->prefixes[i].addr,
			    roa->prefixes[i].plen))
				goto out;
		ok = X509v3_addr_canonize(ip) && X509_add1_ext_i2d(x,
		    NID_sbgp_ipAddrBlock, ip, 1, 0) == 1;
	} else if (kind == EE_MFT) {
		ok = (ip = sk_IPAddressFamily_new_null()) != NULL &&
		    (as = ASIdentifiers_new()) != NULL &&
		    X509v3_addr_add_inherit(ip, CA_AFI_IPV4, NULL) &&
		    X509v3_addr_add_inherit(ip, CA_AFI_IPV6, NULL) &&
		    X509v3_asid_add_inherit(as, V3_ASID_ASNUM) &&
		    X509v3_addr_canonize(ip) &&
		    X509_add1_ext_i2d(x, NID_sbgp_ipAddrBlock, ip, 1, 0) == 1 &&
		    X509_add1_ext_i2d(x, NID_sbgp_autonomousSysNum, as, 1,
		    0) == 1;
	} else {
		const struct ca_aspa *aspa = obj;

		ok = (as = ASIdentifiers_new()) != NULL &&
		    (id = ASN1_INTEGER_new()) != NULL &&
		    ASN1_INTEGER_set_uint64(id, aspa->customer) &&
		    X509v3_asid_add_id_or_range(as, V3_ASID_ASNUM, id, NULL);
		if (ok)
			id = NULL;
		ok = ok && X509v3_asid_canonize(as) && X509_add1_ext_i2d(x,
		    NID_sbgp_autonomousSysNum, as, 1, 0) == 1;
	}
out:
	ASN1_INTEGER_free(id);
	sk_IPAddressFamily_pop_free(ip, IPAddressFamily_free);
	ASIdentifiers_free(as);
	return ok;
}

static int
set_names_times(X509 *x, const struct ca_sigobj_spec *s, time_t nb, time_t na)
{
	X509_NAME	*n = X509_NAME_new();
	BIGNUM		*bn = BN_bin2bn(s->serial, (int)s->serial_len, NULL);
	char		 id[HSM_KEY_ID_LEN + 1];
	int		 ok;

	ok = n != NULL && bn != NULL && !BN_is_zero(bn) &&
	    X509_set_version(x, 2) &&
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL &&
	    X509_set_issuer_name(x, X509_get_subject_name(s->issuer)) &&
	    hsm_pubkey_id(s->ee_key, id, NULL) == 0 &&
	    X509_NAME_add_entry_by_NID(n, NID_commonName,
	    V_ASN1_PRINTABLESTRING, (const unsigned char *)id, -1, -1, 0) &&
	    X509_set_subject_name(x, n) &&
	    ASN1_TIME_set(X509_getm_notBefore(x), nb) != NULL &&
	    ASN1_TIME_set(X509_getm_notAfter(x), na) != NULL &&
	    X509_set_pubkey(x, s->ee_key);
	BN_free(bn);
	X509_NAME_free(n);
	return ok;
}

/* Appends a DER tag + length. */
static void
der_head(uint8_t **p, uint8_t tag, size_t len)
{
	*(*p)++ = tag;
	if (len < 0x80) {
		*(*p)++ = (uint8_t)len;
	} else if (len < 0x100) {
		*(*p)++ = 0x81;
		*(*p)++ = (uint8_t)len;
	} else {
		*(*p)++ = 0x82;
		*(*p)++ = (uint8_t)(len >> 8);
		*(*p)++ = (uint8_t)len;
	}
}

/*
 * Signs the TBSCertificate of x with the CA key and returns the complete
 * certificate.  The tbs signature field must be set to sha256WithRSA with
 * NULL parameters before encoding (there is no setter in OpenSSL 3.0's
 * public API besides X509_sign(), hence the cast).
 */
static X509 *
hsm_sign_cert(X509 *x, struct hsm_key *k, const char *fn, struct cm_err *err)
{
	static const uint8_t alg[] = { 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86,
	    0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00 };
	X509_ALGOR	*tbsalg = (X509_ALGOR *)X509_get0_tbs_sigalg(x);
	uint8_t		 md[32], sig[HSM_SIG_MAX], *tbs = NULL, *der = NULL,
			*p;
	size_t		 siglen, body;
	const uint8_t	*cp;
	X509		*out = NULL;
	int		 tbslen;

	if (!X509_ALGOR_set0(tbsalg, OBJ_nid2obj(NID_sha256WithRSAEncryption),
	    V_ASN1_NULL, NULL) || (tbslen = i2d_re_X509_tbs(x, &tbs)) <= 0) {
		cm_err_ssl(err, fn, "cannot encode EE TBSCertificate");
		goto out;
	}
	cm_sha256(tbs, (size_t)tbslen, md);
	if (hsm_key_sign(k, md, sig, &siglen, err) != 0) {
		cm_err_wrap(err, fn);
		goto out;
	}
	body = (size_t)tbslen + sizeof(alg) + 4 + siglen + 1;
	if ((der = malloc(body + 4)) == NULL) {
		cm_err_set(err, CM_ENOMEM, fn, "out of memory");
		goto out;
	}
	p = der;
	der_head(&p, 0x30, body);
	memcpy(p, tbs, (size_t)tbslen);
	p += tbslen;
	memcpy(p, alg, sizeof(alg));
	p += sizeof(alg);
	der_head(&p, 0x03, siglen + 1);
	*p++ = 0;
	memcpy(p, sig, siglen);
	p += siglen;
	cp = der;
	if ((out = d2i_X509(NULL, &cp, p - der)) == NULL || cp != p)
		cm_err_ssl(err, fn, "cannot assemble EE cert");
out:
	free(der);
	OPENSSL_free(tbs);
	return out;
}

static X509 *
ee_cert(const struct ca_sigobj_spec *s, enum ee_kind kind, const void *obj,
    time_t nb, time_t na, struct cm_err *err)
{
	X509	*x = X509_new(), *signed_x = NULL;

	if (x == NULL || !set_names_times(x, s, nb, na) ||
	    !add_keyids(x, s->issuer) || !add_key_usage(x) ||
	    !add_crldp(x, s->crl_uri) ||
	    !add_access(x, NID_info_access,
	    OBJ_dup(OBJ_nid2obj(NID_ad_ca_issuers)), s->issuer_uri) ||
	    !add_access(x, NID_sinfo_access, ca_asn1_oid(OID_AD_SIGNED_OBJECT),
	    s->object_uri) || !add_policy(x) || !add_resources(x, kind, obj)) {
		cm_err_ssl(err, s->object_uri, "cannot build EE cert");
		goto out;
	}
	signed_x = hsm_sign_cert(x, s->issuer_key, s->object_uri, err);
out:
	X509_free(x);
	return signed_x;
}

static int
check_spec(const struct ca_sigobj_spec *s, struct cm_err *err)
{
	if (s->object_uri == NULL || s->crl_uri == NULL ||
	    s->issuer_uri == NULL || s->issuer == NULL ||
	    s->issuer_key == NULL || s->ee_key == NULL)
		return cm_err_set(err, CM_EINVAL, s->object_uri,
		    "incomplete signed-object spec");
	if (s->serial_len == 0 || s->serial_len > CA_SERIAL_MAX ||
	    s->serial[0] == 0)
		return cm_err_set(err, CM_EINVAL, s->object_uri,
		    "bad EE serial");
	return 0;
}

/* The strict parsers, as a re-check of what was just issued. */
static int
reparse(enum ee_kind kind, const char *fn, const uint8_t *der, size_t len,
    struct cm_err *err)
{
	struct ca_roa	*roa = NULL;
	struct ca_mft	*mft = NULL;
	struct ca_aspa	*aspa = NULL;
	int		 rc;

	if (kind == EE_ROA)
		rc = ca_roa_parse(fn, der, len, &roa, NULL, err);
	else if (kind == EE_MFT)
		rc = ca_mft_parse(fn, der, len, &mft, NULL, err);
	else
		rc = ca_aspa_parse(fn, der, len, &aspa, NULL, err);
	ca_roa_free(roa);
	ca_mft_free(mft);
	ca_aspa_free(aspa);
	return rc;
}

/* EE cert, CMS, then a strict parse of the result. */
static int
issue(const struct ca_sigobj_spec *s, enum ee_kind kind, const void *obj,
    const char *oid, const uint8_t *ec, size_t eclen, time_t nb, time_t na,
    uint8_t **der, size_t *len, X509 **eeout, struct cm_err *err)
{
	X509	*ee = NULL;
	uint8_t	*out = NULL;
	size_t	 outlen;
	int	 rc = -1;

	if (na <= nb) {
		cm_err_set(err, CM_EINVAL, s->object_uri,
		    "EE notAfter not after notBefore");
		goto out;
	}
	/* RPs warn about (manifests: reject) a signing-time past notAfter. */
	if (s->signing_time > na) {
		cm_err_set(err, CM_EINVAL, s->object_uri,
		    "signing-time after the EE notAfter");
		goto out;
	}
	if ((ee = ee_cert(s, kind, obj, nb, na, err)) == NULL ||
	    ca_cms_sign(s->object_uri, oid, ec, eclen, ee, s->ee_key,
	    s->signing_time, &out, &outlen, err) != 0 ||
	    reparse(kind, s->object_uri, out, outlen, err) != 0)
		goto out;
	*der = out;
	*len = outlen;
	out = NULL;
	if (eeout != NULL) {
		*eeout = ee;
		ee = NULL;
	}
	rc = 0;
out:
	free(out);
	X509_free(ee);
	return rc;
}

int
ca_sigobj_roa(const struct ca_sigobj_spec *s, const struct ca_roa *roa,
    uint8_t **der, size_t *len, X509 **ee, struct cm_err *err)
{
	uint8_t	*ec = NULL;
	size_t	 eclen;
	int	 rc;

	if (check_spec(s, err) || ca_roa_encode(roa, &ec, &eclen, err))
		return -1;
	rc = issue(s, EE_ROA, roa, CA_OID_CT_ROA, ec, eclen, s->not_before,
	    s->not_after, der, len, ee, err);
	free(ec);
	return rc;
}

int
ca_sigobj_mft(const struct ca_sigobj_spec *s, const struct ca_mft *mft,
    uint8_t **der, size_t *len, X509 **ee, struct cm_err *err)
{
	uint8_t	*ec = NULL;
	size_t	 eclen;
	int	 rc;

	if (check_spec(s, err) || ca_mft_encode(mft, &ec, &eclen, err))
		return -1;
	/* RFC 9286 §5.1: EE validity is thisUpdate..nextUpdate. */
	rc = issue(s, EE_MFT, mft, CA_OID_CT_MFT, ec, eclen, mft->this_update,
	    mft->next_update, der, len, ee, err);
	free(ec);
	return rc;
}

int
ca_sigobj_aspa(const struct ca_sigobj_spec *s, const struct ca_aspa *aspa,
    uint8_t **der, size_t *len, X509 **ee, struct cm_err *err)
{
	uint8_t	*ec = NULL;
	size_t	 eclen;
	int	 rc;

	if (check_spec(s, err) || ca_aspa_encode(aspa, &ec, &eclen, err))
		return -1;
	rc = issue(s, EE_ASPA, aspa, CA_OID_CT_ASPA, ec, eclen, s->not_before,
	    s->not_after, der, len, ee, err);
	free(ec);
	return rc;
}
