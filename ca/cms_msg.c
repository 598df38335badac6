/*
 * ca_cms_msg: RFC 6492 §3.1 CMS messages (also used by RFC 8181).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "ca/asn1.h"
#include "ca/cms.h"
#include "ca/cms_msg.h"

#define OID_BINARY_SIGNING_TIME	"1.2.840.113549.1.9.16.2.46"

int
ca_cms_msg_sign(const char *who, const uint8_t *xml, size_t xml_len, X509 *ee,
    EVP_PKEY *eekey, X509_CRL *crl, time_t signing_time, uint8_t **der,
    size_t *len, struct cm_err *err)
{
	const unsigned	 flags = CMS_BINARY | CMS_NOSMIMECAP | CMS_PARTIAL;
	CMS_ContentInfo	*cms = NULL;
	CMS_SignerInfo	*si;
	ASN1_OBJECT	*oid = NULL;
	ASN1_TIME	*t = NULL;
	BIO		*bio = NULL;
	unsigned char	*out = NULL;
	int		 rc = -1, n;

	if (xml_len == 0 || xml_len > CA_CMS_MSG_MAX_SIZE)
		return cm_err_set(err, CM_EINVAL, who, "bad message length");
	if ((cms = CMS_sign(NULL, NULL, NULL, NULL, flags)) == NULL ||
	    (oid = ca_asn1_oid(CA_OID_CT_XML)) == NULL ||
	    !CMS_set1_eContentType(cms, oid) ||
	    (si = CMS_add1_signer(cms, ee, eekey, EVP_sha256(),
	    flags | CMS_USE_KEYID)) == NULL || !CMS_add1_crl(cms, crl)) {
		cm_err_ssl(err, who, "cannot create CMS message");
		goto out;
	}
	if ((t = ASN1_TIME_set(NULL, signing_time)) == NULL ||
	    !CMS_signed_add1_attr_by_NID(si, NID_pkcs9_signingTime, t->type,
	    t, -1)) {
		cm_err_ssl(err, who, "cannot set signing-time");
		goto out;
	}
	if ((bio = BIO_new_mem_buf(xml, (int)xml_len)) == NULL ||
	    !CMS_final(cms, bio, NULL, CMS_BINARY) ||
	    (n = i2d_CMS_ContentInfo(cms, &out)) <= 0) {
		cm_err_ssl(err, who, "cannot sign CMS message");
		goto out;
	}
	if ((*der = malloc((size_t)n)) == NULL) {
		cm_err_set(err, CM_ENOMEM, who, "out of memory");
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

/* content-type, message-digest, signing-time; binary-signing-time may be. */
static int
check_attrs(const char *who, CMS_SignerInfo *si, time_t *st,
    struct cm_err *err)
{
	int		 i, n = CMS_signed_get_attr_count(si), nid, seen = 0;
	X509_ATTRIBUTE	*a;
	ASN1_TYPE	*v;

	if (CMS_unsigned_get_attr_count(si) > 0)
		return cm_err_set(err, CM_EINVAL, who,
		    "unsigned attributes are not allowed");
	for (i = 0; i < n; i++) {
		a = CMS_signed_get_attr(si, i);
		nid = OBJ_obj2nid(X509_ATTRIBUTE_get0_object(a));
		if (X509_ATTRIBUTE_count(a) != 1)
			return cm_err_set(err, CM_EINVAL, who,
			    "signed attribute needs exactly one value");
		v = X509_ATTRIBUTE_get0_type(a, 0);
		if (nid == NID_pkcs9_contentType) {
			if (v->type != V_ASN1_OBJECT || !ca_asn1_oid_is(
			    v->value.object, CA_OID_CT_XML))
				return cm_err_set(err, CM_EINVAL, who,
				    "content-type attribute is not id-ct-xml");
			seen |= 1;
		} else if (nid == NID_pkcs9_messageDigest) {
			seen |= 2;
		} else if (nid == NID_pkcs9_signingTime) {
			if (ca_asn1_time_get(v->value.asn1_string, st) ||
			    (v->type != V_ASN1_UTCTIME &&
			    v->type != V_ASN1_GENERALIZEDTIME))
				return cm_err_set(err, CM_EINVAL, who,
				    "bad signing-time");
			seen |= 4;
		} else if (!ca_asn1_oid_is(X509_ATTRIBUTE_get0_object(a),
		    OID_BINARY_SIGNING_TIME))
			return cm_err_set(err, CM_EINVAL, who,
			    "unexpected signed attribute %s",
			    OBJ_nid2ln(nid));
	}
	if (seen != 7 || n > 4)
		return cm_err_set(err, CM_EINVAL, who, "signed attributes "
		    "need content-type, message-digest and signing-time once");
	return 0;
}

/* EE -> ta with the message's CRL, at time now. */
static int
check_chain(const char *who, X509 *ee, X509_CRL *crl, X509 *ta, time_t now,
    struct cm_err *err)
{
	X509_STORE	*store = NULL;
	X509_STORE_CTX	*ctx = NULL;
	STACK_OF(X509_CRL) *crls = NULL;
	EVP_PKEY	*tapub = X509_get0_pubkey(ta);
	int		 rc = -1;

	if (tapub == NULL || X509_CRL_verify(crl, tapub) != 1 ||
	    X509_NAME_cmp(X509_CRL_get_issuer(crl),
	    X509_get_subject_name(ta)) != 0) {
		cm_err_set(err, CM_EPERM, who,
		    "CRL is not issued by the peer's BPKI TA");
		goto out;
	}
	if ((store = X509_STORE_new()) == NULL ||
	    !X509_STORE_add_cert(store, ta) ||
	    (ctx = X509_STORE_CTX_new()) == NULL ||
	    (crls = sk_X509_CRL_new_null()) == NULL ||
	    !sk_X509_CRL_push(crls, crl) ||
	    !X509_STORE_CTX_init(ctx, store, ee, NULL)) {
		cm_err_ssl(err, who, "cannot set up BPKI validation");
		goto out;
	}
	X509_STORE_CTX_set0_crls(ctx, crls);
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_CRL_CHECK);
	X509_STORE_CTX_set_time(ctx, 0, now);
	if (X509_verify_cert(ctx) != 1) {
		cm_err_set(err, CM_EPERM, who, "BPKI EE cert: %s",
		    X509_verify_cert_error_string(
		    X509_STORE_CTX_get_error(ctx)));
		goto out;
	}
	rc = 0;
out:
	X509_STORE_CTX_free(ctx);
	sk_X509_CRL_free(crls);
	X509_STORE_free(store);
	return rc;
}

static int
verify_cms(const char *who, CMS_ContentInfo *cms, X509 *ta, time_t now,
    struct ca_cms_msg *out, struct cm_err *err)
{
	STACK_OF(X509)		*certs = CMS_get1_certs(cms);
	STACK_OF(X509_CRL)	*crls = CMS_get1_crls(cms);
	CMS_SignerInfo		*si;
	ASN1_OCTET_STRING	**c;
	int			 rc = -1;

	si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0);
	if (!ca_asn1_oid_is(CMS_get0_eContentType(cms), CA_OID_CT_XML) ||
	    (c = CMS_get0_content(cms)) == NULL || *c == NULL ||
	    (*c)->length <= 0) {
		cm_err_set(err, CM_EINVAL, who, "not an id-ct-xml message");
		goto out;
	}
	if (sk_X509_num(certs) != 1 || sk_X509_CRL_num(crls) != 1) {
		cm_err_set(err, CM_EINVAL, who,
		    "need exactly one certificate and one CRL");
		goto out;
	}
	if (check_attrs(who, si, &out->signing_time, err) ||
	    check_chain(who, sk_X509_value(certs, 0),
	    sk_X509_CRL_value(crls, 0), ta, now, err))
		goto out;
	if (CMS_SignerInfo_cert_cmp(si, sk_X509_value(certs, 0)) != 0 ||
	    CMS_verify(cms, NULL, NULL, NULL, NULL,
	    CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY) != 1) {
		cm_err_ssl(err, who, "bad CMS signature");
		err->code = CM_EPERM;
		goto out;
	}
	if ((out->xml = malloc((size_t)(*c)->length + 1)) == NULL) {
		cm_err_set(err, CM_ENOMEM, who, "out of memory");
		goto out;
	}
	memcpy(out->xml, (*c)->data, (size_t)(*c)->length);
	out->xml[(*c)->length] = '\0';
	out->xml_len = (size_t)(*c)->length;
	out->ee = sk_X509_value(certs, 0);
	X509_up_ref(out->ee);
	rc = 0;
out:
	sk_X509_pop_free(certs, X509_free);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	return rc;
}

int
ca_cms_msg_verify(const char *who, const uint8_t *der, size_t len, X509 *ta,
    time_t now, struct ca_cms_msg *out, struct cm_err *err)
{
	CMS_ContentInfo		*cms = NULL;
	const unsigned char	*p = der;
	int			 rc = -1;

	memset(out, 0, sizeof(*out));
	if (len > CA_CMS_MSG_MAX_SIZE)
		return cm_err_set(err, CM_ELIMIT, who, "message too large");
	if (ca_cms_check_shape(who, der, len, 1, err))
		return -1;
	if ((cms = d2i_CMS_ContentInfo(NULL, &p, (long)len)) == NULL ||
	    p != der + len) {
		cm_err_ssl(err, who, "failed to parse CMS message");
		goto out;
	}
	if (verify_cms(who, cms, ta, now, out, err))
		goto out;
	rc = 0;
out:
	if (rc != 0)
		ca_cms_msg_free(out);
	CMS_ContentInfo_free(cms);
	return rc;
}

void
ca_cms_msg_free(struct ca_cms_msg *m)
{
	if (m == NULL)
		return;
	free(m->xml);
	X509_free(m->ee);
	memset(m, 0, sizeof(*m));
}
