/*
 * ca_cms: RFC 6488 / RFC 9589 signed objects with OpenSSL's CMS code, plus
 * the profile checks OpenSSL does not do.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "ca/asn1.h"
#include "ca/cms.h"

#define OID_SIGNED_DATA		"1.2.840.113549.1.7.2"
#define OID_RSA			"1.2.840.113549.1.1.1"
#define OID_SHA256_RSA		"1.2.840.113549.1.1.11"
#define OID_BINARY_SIGNING_TIME	"1.2.840.113549.1.9.16.2.46"

/* digestAlgorithm must be id-sha256 with absent parameters (RFC 7935). */
static int
check_sha256(const char *fn, const X509_ALGOR *alg, const char *where,
    struct cm_err *err)
{
	const ASN1_OBJECT	*obj;
	int			 ptype;

	X509_ALGOR_get0(&obj, &ptype, NULL, alg);
	if (!ca_asn1_oid_is(obj, CA_OID_SHA256))
		return cm_err_set(err, CM_EINVAL, fn, "%s is not sha256",
		    where);
	if (ptype != V_ASN1_UNDEF)
		return cm_err_set(err, CM_EINVAL, fn,
		    "%s: sha256 parameters must be absent", where);
	return 0;
}

static int
check_signer_view(const char *fn, const CA_SignerInfoView *si,
    struct cm_err *err)
{
	const ASN1_OBJECT	*obj;
	const ASN1_STRING	*s;
	int			 ptype;

	if (ASN1_INTEGER_get(si->version) != 3)
		return cm_err_set(err, CM_EINVAL, fn,
		    "SignerInfo version is not 3");
	/* subjectKeyIdentifier [0] IMPLICIT OCTET STRING: tag 0x80. */
	if (si->sid->type != V_ASN1_OTHER)
		return cm_err_set(err, CM_EINVAL, fn,
		    "SignerInfo sid is not a subjectKeyIdentifier");
	s = si->sid->value.asn1_string;
	if (s->length < 2 || s->data[0] != 0x80)
		return cm_err_set(err, CM_EINVAL, fn,
		    "SignerInfo sid is not a subjectKeyIdentifier");
	if (check_sha256(fn, si->digestAlgorithm, "SignerInfo digest", err))
		return -1;
	if (si->signedAttrs == NULL)
		return cm_err_set(err, CM_EINVAL, fn, "no signed attributes");
	if (si->unsignedAttrs != NULL)
		return cm_err_set(err, CM_EINVAL, fn,
		    "unsigned attributes are not allowed");
	X509_ALGOR_get0(&obj, &ptype, NULL, si->signatureAlgorithm);
	if (!ca_asn1_oid_is(obj, OID_RSA) && !ca_asn1_oid_is(obj,
	    OID_SHA256_RSA))
		return cm_err_set(err, CM_EINVAL, fn,
		    "signature algorithm is not RSA");
	if (ptype != V_ASN1_NULL && ptype != V_ASN1_UNDEF)
		return cm_err_set(err, CM_EINVAL, fn,
		    "bad signature algorithm parameters");
	return 0;
}

int
ca_cms_check_shape(const char *fn, const uint8_t *der, size_t len, int ncrls,
    struct cm_err *err)
{
	CA_ContentInfoView	*ci;
	CA_SignedDataView	*sd;
	int			 rc = -1, n;

	ci = ca_asn1_d2i(der, len, ASN1_ITEM_rptr(CA_ContentInfoView), fn,
	    "CMS ContentInfo", err);
	if (ci == NULL)
		return -1;
	sd = ci->content;
	if (!ca_asn1_oid_is(ci->contentType, OID_SIGNED_DATA)) {
		cm_err_set(err, CM_EINVAL, fn, "content type is not signedData");
		goto out;
	}
	if (ASN1_INTEGER_get(sd->version) != 3) {
		cm_err_set(err, CM_EINVAL, fn, "SignedData version is not 3");
		goto out;
	}
	if (sk_X509_ALGOR_num(sd->digestAlgorithms) != 1) {
		cm_err_set(err, CM_EINVAL, fn,
		    "need exactly one digest algorithm, have %d",
		    sk_X509_ALGOR_num(sd->digestAlgorithms));
		goto out;
	}
	if (check_sha256(fn, sk_X509_ALGOR_value(sd->digestAlgorithms, 0),
	    "SignedData digestAlgorithms", err))
		goto out;
	if (sd->certificates == NULL ||
	    sk_ASN1_TYPE_num(sd->certificates) != 1) {
		cm_err_set(err, CM_EINVAL, fn, "need exactly one certificate");
		goto out;
	}
	n = sd->crls == NULL ? -1 : sk_ASN1_TYPE_num(sd->crls);
	if ((ncrls == 0 && n != -1) || (ncrls > 0 && n != ncrls)) {
		cm_err_set(err, CM_EINVAL, fn, ncrls == 0 ?
		    "CRLs are not allowed" : "need exactly %d CRL(s)", ncrls);
		goto out;
	}
	if (sk_CA_SignerInfoView_num(sd->signerInfos) != 1) {
		cm_err_set(err, CM_EINVAL, fn, "need exactly one SignerInfo");
		goto out;
	}
	if (check_signer_view(fn, sk_CA_SignerInfoView_value(sd->signerInfos,
	    0), err))
		goto out;
	rc = 0;
out:
	CA_ContentInfoView_free(ci);
	return rc;
}

/*
 * Which of content-type, message-digest, signing-time (in that order) nid
 * is; 3 for binary-signing-time when flags allow it; -1 for anything else.
 */
static int
attr_index(const X509_ATTRIBUTE *attr, int flags)
{
	static const int	 want[3] = { NID_pkcs9_contentType,
	    NID_pkcs9_messageDigest, NID_pkcs9_signingTime };
	const ASN1_OBJECT	*obj = X509_ATTRIBUTE_get0_object(
				    (X509_ATTRIBUTE *)attr);
	int			 i, nid = OBJ_obj2nid(obj);

	for (i = 0; i < 3; i++)
		if (want[i] == nid)
			return i;
	if ((flags & CA_CMS_ATTR_BST) && ca_asn1_oid_is(obj,
	    OID_BINARY_SIGNING_TIME))
		return 3;
	return -1;
}

int
ca_cms_check_attrs(const char *fn, CMS_SignerInfo *si,
    const ASN1_OBJECT *ctype, int flags, time_t *signing_time,
    struct cm_err *err)
{
	int		 seen[4] = { 0, 0, 0, 0 }, i, j, n, nid;
	X509_ATTRIBUTE	*attr;
	ASN1_TYPE	*v;

	n = CMS_signed_get_attr_count(si);
	if (!(flags & CA_CMS_ATTR_BST) && n != 3)
		return cm_err_set(err, CM_EINVAL, fn,
		    "need exactly 3 signed attributes, have %d", n);
	if (CMS_unsigned_get_attr_count(si) > 0)
		return cm_err_set(err, CM_EINVAL, fn,
		    "unsigned attributes are not allowed");
	for (i = 0; i < n; i++) {
		attr = CMS_signed_get_attr(si, i);
		nid = OBJ_obj2nid(X509_ATTRIBUTE_get0_object(attr));
		if ((j = attr_index(attr, flags)) == -1 || seen[j]++)
			return cm_err_set(err, CM_EINVAL, fn,
			    "unexpected or repeated signed attribute %s",
			    OBJ_nid2ln(nid));
		if (X509_ATTRIBUTE_count(attr) != 1)
			return cm_err_set(err, CM_EINVAL, fn,
			    "signed attribute %s needs exactly one value",
			    OBJ_nid2ln(nid));
		v = X509_ATTRIBUTE_get0_type(attr, 0);
		if (nid == NID_pkcs9_contentType &&
		    (v->type != V_ASN1_OBJECT ||
		    OBJ_cmp(v->value.object, ctype) != 0))
			return cm_err_set(err, CM_EINVAL, fn,
			    "content-type attribute differs from eContentType");
		if (nid == NID_pkcs9_messageDigest &&
		    v->type != V_ASN1_OCTET_STRING)
			return cm_err_set(err, CM_EINVAL, fn,
			    "bad message-digest attribute");
		if (nid != NID_pkcs9_signingTime)
			continue;
		/* RFC 5652: UTCTime through 2049, GeneralizedTime after. */
		if ((v->type != V_ASN1_UTCTIME &&
		    v->type != V_ASN1_GENERALIZEDTIME) ||
		    ca_asn1_time_get(v->value.asn1_string, signing_time) ||
		    (!(flags & CA_CMS_ATTR_ANY_TIME) &&
		    v->type == V_ASN1_GENERALIZEDTIME &&
		    *signing_time < 2524608000))
			return cm_err_set(err, CM_EINVAL, fn,
			    "bad signing-time attribute");
	}
	if (!seen[0] || !seen[1] || !seen[2])
		return cm_err_set(err, CM_EINVAL, fn, "signed attributes "
		    "need content-type, message-digest and signing-time once");
	return 0;
}

/* Everything after the shape check: content, attributes, signer, signature. */
static int
parse_cms(const char *fn, const ASN1_OBJECT *want, CMS_ContentInfo *cms,
    struct ca_cms_parsed *out, struct cm_err *err)
{
	STACK_OF(CMS_SignerInfo) *sis;
	STACK_OF(X509)		*certs = NULL;
	ASN1_OCTET_STRING	**content;
	const ASN1_OCTET_STRING	*ski, *keyid = NULL;
	CMS_SignerInfo		*si;
	int			 rc = -1;

	if (OBJ_cmp(CMS_get0_eContentType(cms), want) != 0) {
		char	buf[80];

		OBJ_obj2txt(buf, sizeof(buf), CMS_get0_eContentType(cms), 1);
		cm_err_set(err, CM_EINVAL, fn, "unexpected eContentType %s",
		    buf);
		goto out;
	}
	content = CMS_get0_content(cms);
	if (content == NULL || *content == NULL || (*content)->length <= 0) {
		cm_err_set(err, CM_EINVAL, fn, "no eContent");
		goto out;
	}
	sis = CMS_get0_SignerInfos(cms);
	si = sk_CMS_SignerInfo_value(sis, 0);
	if (ca_cms_check_attrs(fn, si, want, 0, &out->signing_time, err))
		goto out;
	certs = CMS_get1_certs(cms);
	if (sk_X509_num(certs) != 1) {
		cm_err_set(err, CM_EINVAL, fn, "need exactly one certificate");
		goto out;
	}
	if (!CMS_SignerInfo_get0_signer_id(si, (ASN1_OCTET_STRING **)&keyid,
	    NULL, NULL) || keyid == NULL ||
	    (ski = X509_get0_subject_key_id(sk_X509_value(certs, 0))) == NULL ||
	    ASN1_OCTET_STRING_cmp(keyid, ski) != 0) {
		cm_err_set(err, CM_EINVAL, fn,
		    "SignerInfo sid is not the EE cert's SKI");
		goto out;
	}
	if (CMS_verify(cms, NULL, NULL, NULL, NULL,
	    CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY) != 1) {
		cm_err_ssl(err, fn, "CMS verification error");
		goto out;
	}
	out->econtent = malloc((size_t)(*content)->length);
	if (out->econtent == NULL) {
		cm_err_set(err, CM_ENOMEM, fn, "out of memory");
		goto out;
	}
	memcpy(out->econtent, (*content)->data, (size_t)(*content)->length);
	out->econtent_len = (size_t)(*content)->length;
	out->ee = sk_X509_value(certs, 0);
	X509_up_ref(out->ee);
	rc = 0;
out:
	sk_X509_pop_free(certs, X509_free);
	return rc;
}

int
ca_cms_parse(const char *fn, const char *econtent_oid, const uint8_t *der,
    size_t len, struct ca_cms_parsed *out, struct cm_err *err)
{
	CMS_ContentInfo		*cms = NULL;
	ASN1_OBJECT		*want = NULL;
	const unsigned char	*p = der;
	unsigned char		*re = NULL;
	int			 rc = -1, relen;

	memset(out, 0, sizeof(*out));
	if (len > CA_CMS_MAX_SIZE)
		return cm_err_set(err, CM_ELIMIT, fn, "too large (%zu bytes)",
		    len);
	if (ca_cms_check_shape(fn, der, len, 0, err))
		return -1;
	if ((cms = d2i_CMS_ContentInfo(NULL, &p, (long)len)) == NULL) {
		cm_err_ssl(err, fn, "failed to parse CMS");
		goto out;
	}
	/* Re-encoding must give the same bytes: DER, no indefinite length. */
	relen = i2d_CMS_ContentInfo(cms, &re);
	if (p != der + len || relen != (int)len || memcmp(re, der, len) != 0) {
		cm_err_set(err, CM_EINVAL, fn, "CMS is not DER");
		goto out;
	}
	if ((want = ca_asn1_oid(econtent_oid)) == NULL) {
		cm_err_ssl(err, fn, "bad OID %s", econtent_oid);
		goto out;
	}
	if (parse_cms(fn, want, cms, out, err))
		goto out;
	rc = 0;
out:
	if (rc != 0)
		ca_cms_parsed_free(out);
	OPENSSL_free(re);
	ASN1_OBJECT_free(want);
	CMS_ContentInfo_free(cms);
	return rc;
}

void
ca_cms_parsed_free(struct ca_cms_parsed *p)
{
	if (p == NULL)
		return;
	free(p->econtent);
	X509_free(p->ee);
	memset(p, 0, sizeof(*p));
}

int
ca_cms_sign_der(const char *fn, const char *econtent_oid,
    const uint8_t *content, size_t content_len, X509 *ee, EVP_PKEY *eekey,
    X509_CRL *crl, time_t signing_time, uint8_t **der, size_t *len,
    struct cm_err *err)
{
	const unsigned	 flags = CMS_BINARY | CMS_NOSMIMECAP | CMS_PARTIAL;
	CMS_ContentInfo	*cms = NULL;
	CMS_SignerInfo	*si;
	ASN1_OBJECT	*oid = NULL;
	ASN1_TIME	*t = NULL;
	BIO		*bio = NULL;
	unsigned char	*out = NULL;
	int		 rc = -1, n;

	*der = NULL;
	if (content_len == 0 || content_len > INT32_MAX)
		return cm_err_set(err, CM_EINVAL, fn, "bad eContent length");
	if ((cms = CMS_sign(NULL, NULL, NULL, NULL, flags)) == NULL ||
	    (oid = ca_asn1_oid(econtent_oid)) == NULL ||
	    !CMS_set1_eContentType(cms, oid) ||
	    (crl != NULL && !CMS_add1_crl(cms, crl))) {
		cm_err_ssl(err, fn, "cannot create CMS");
		goto out;
	}
	/* USE_KEYID: sid = SKI, hence SignerInfo (and SignedData) v3. */
	si = CMS_add1_signer(cms, ee, eekey, EVP_sha256(),
	    flags | CMS_USE_KEYID);
	if (si == NULL) {
		cm_err_ssl(err, fn, "cannot add CMS signer");
		goto out;
	}
	/* Set now, otherwise OpenSSL stamps the current time. */
	if ((t = ASN1_TIME_set(NULL, signing_time)) == NULL ||
	    !CMS_signed_add1_attr_by_NID(si, NID_pkcs9_signingTime, t->type,
	    t, -1)) {
		cm_err_ssl(err, fn, "cannot set signing-time");
		goto out;
	}
	if ((bio = BIO_new_mem_buf(content, (int)content_len)) == NULL ||
	    !CMS_final(cms, bio, NULL, CMS_BINARY)) {
		cm_err_ssl(err, fn, "cannot sign CMS");
		goto out;
	}
	if ((n = i2d_CMS_ContentInfo(cms, &out)) <= 0) {
		cm_err_ssl(err, fn, "cannot encode CMS");
		goto out;
	}
	if ((*der = malloc((size_t)n)) == NULL) {
		cm_err_set(err, CM_ENOMEM, fn, "out of memory");
		goto out;
	}
	memcpy(*der, out, (size_t)n);
	*len = (size_t)n;
	rc = 0;
out:
	OPENSSL_free(out);
	BIO_free(bio);
	ASN1_TIME_free(t);
	ASN1_OBJECT_free(oid);
	CMS_ContentInfo_free(cms);
	return rc;
}

int
ca_cms_sign(const char *fn, const char *econtent_oid, const uint8_t *econtent,
    size_t econtent_len, X509 *ee, EVP_PKEY *eekey, time_t signing_time,
    uint8_t **der, size_t *len, struct cm_err *err)
{
	if (ca_cms_sign_der(fn, econtent_oid, econtent, econtent_len, ee,
	    eekey, NULL, signing_time, der, len, err) == -1)
		return -1;
	if (ca_cms_check_shape(fn, *der, *len, 0, err)) {
		free(*der);
		*der = NULL;
		return -1;
	}
	return 0;
}
