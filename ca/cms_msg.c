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

int
ca_cms_msg_sign(const char *who, const uint8_t *xml, size_t xml_len, X509 *ee,
    EVP_PKEY *eekey, X509_CRL *crl, time_t signing_time, uint8_t **der,
    size_t *len, struct cm_err *err)
{
	if (xml_len == 0 || xml_len > CA_CMS_MSG_MAX_SIZE)
		return cm_err_set(err, CM_EINVAL, who, "bad message length");
	return ca_cms_sign_der(who, CA_OID_CT_XML, xml, xml_len, ee, eekey, crl,
	    signing_time, der, len, err);
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
	/* RFC 6492 §3.1.1.6.4: binary-signing-time may come too. */
	if (ca_cms_check_attrs(who, si, CMS_get0_eContentType(cms),
	    CA_CMS_ATTR_BST | CA_CMS_ATTR_ANY_TIME, &out->signing_time, err) ||
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
		cm_err_ssl_input(err, who, "failed to parse CMS message");
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
