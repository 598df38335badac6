/*
 * ca_bpki: BPKI identity certificates, one-time EE certificates and CRLs for
 * RFC 6492/8181 messages, signed through the signer interface.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "ca/bpki.h"
#include "ca/cert.h"
#include "ca/cms_msg.h"
#include "ca/sign.h"

static int
set_name(X509 *x, const char *cn, int issuer_too)
{
	X509_NAME	*n;
	int		 ok;

	if ((n = X509_NAME_new()) == NULL)
		return 0;
	ok = X509_NAME_add_entry_by_NID(n, NID_commonName, MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) &&
	    X509_set_subject_name(x, n) &&
	    (!issuer_too || X509_set_issuer_name(x, n));
	X509_NAME_free(n);
	return ok;
}

int
ca_bpki_add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX	 ctx;
	X509_EXTENSION	*e;
	int		 ok;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	if ((e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		return -1;
	ok = X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok ? 0 : -1;
}

int
ca_bpki_serial(X509 *x, struct cm_err *err)
{
	uint8_t		 s[20];
	size_t		 n;
	BIGNUM		*bn;
	int		 ok;

	if (ca_cert_serial_random(s, &n, err) == -1)
		return -1;
	if ((bn = BN_bin2bn(s, (int)n, NULL)) == NULL)
		return -1;
	ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok ? 0 : -1;
}

int
ca_bpki_ta(struct hsm_key *key, const char *cn, time_t now, int years,
    X509 **out, struct cm_err *err)
{
	X509	*x;

	*out = NULL;
	if ((x = X509_new()) == NULL ||
	    !X509_set_version(x, X509_VERSION_3) ||
	    ca_bpki_serial(x, err) == -1 ||
	    !set_name(x, cn, 1) ||
	    !X509_set_pubkey(x, hsm_key_pubkey(key)) ||
	    X509_time_adj_ex(X509_getm_notBefore(x), 0, -300, &now) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), 365 * years, 0, &now) ==
	    NULL ||
	    ca_bpki_add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE") ||
	    ca_bpki_add_ext(x, x, NID_key_usage,
	    "critical,keyCertSign,cRLSign") ||
	    ca_bpki_add_ext(x, x, NID_subject_key_identifier, "hash")) {
		X509_free(x);
		return cm_err_ssl(err, cn, "cannot build the BPKI certificate");
	}
	if (ca_sign_cert(x, key, err) == -1) {
		X509_free(x);
		return -1;
	}
	*out = x;
	return 0;
}

/* A one-time EE certificate for eekey under ta. */
static X509 *
ee_cert(X509 *ta, struct hsm_key *key, EVP_PKEY *eekey, time_t now,
    struct cm_err *err)
{
	X509	*x;

	if ((x = X509_new()) == NULL ||
	    !X509_set_version(x, X509_VERSION_3) ||
	    ca_bpki_serial(x, err) == -1 ||
	    !set_name(x, "cairn message signer", 0) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(ta)) ||
	    !X509_set_pubkey(x, eekey) ||
	    X509_time_adj_ex(X509_getm_notBefore(x), 0, -300, &now) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), 0, 3600, &now) == NULL ||
	    ca_bpki_add_ext(x, ta, NID_key_usage, "critical,digitalSignature") ||
	    ca_bpki_add_ext(x, ta, NID_subject_key_identifier, "hash") ||
	    ca_bpki_add_ext(x, ta, NID_authority_key_identifier,
	    "keyid:always")) {
		X509_free(x);
		cm_err_ssl(err, "BPKI", "cannot build the EE certificate");
		return NULL;
	}
	if (ca_sign_cert(x, key, err) == -1) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static X509_CRL *
crl(X509 *ta, struct hsm_key *key, time_t now, struct cm_err *err)
{
	X509_CRL	*c;
	ASN1_TIME	*t1 = NULL, *t2 = NULL;
	X509V3_CTX	 ctx;
	X509_EXTENSION	*e = NULL;
	int		 ok;

	if ((c = X509_CRL_new()) == NULL)
		goto fail;
	t1 = ASN1_TIME_adj(NULL, now, 0, -300);
	t2 = ASN1_TIME_adj(NULL, now, 1, 0);
	X509V3_set_ctx(&ctx, ta, NULL, NULL, c, 0);
	ok = t1 != NULL && t2 != NULL && X509_CRL_set_version(c, X509_CRL_VERSION_2) &&
	    X509_CRL_set_issuer_name(c, X509_get_subject_name(ta)) &&
	    X509_CRL_set1_lastUpdate(c, t1) && X509_CRL_set1_nextUpdate(c, t2) &&
	    (e = X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier,
	    "keyid:always")) != NULL && X509_CRL_add_ext(c, e, -1);
	X509_EXTENSION_free(e);
	ASN1_TIME_free(t1);
	ASN1_TIME_free(t2);
	if (!ok)
		goto fail;
	if (ca_sign_crl(c, key, err) == -1) {
		X509_CRL_free(c);
		return NULL;
	}
	return c;
fail:
	X509_CRL_free(c);
	cm_err_ssl(err, "BPKI", "cannot build the CRL");
	return NULL;
}

int
ca_bpki_sign(X509 *ta, struct hsm_key *key, EVP_PKEY *eekey,
    const uint8_t *xml, size_t len, time_t now, uint8_t **der,
    size_t *derlen, struct cm_err *err)
{
	X509		*ee;
	X509_CRL	*c;
	int		 rc = -1;

	if ((ee = ee_cert(ta, key, eekey, now, err)) == NULL)
		return -1;
	if ((c = crl(ta, key, now, err)) != NULL)
		rc = ca_cms_msg_sign("BPKI", xml, len, ee, eekey, c, now, der,
		    derlen, err);
	X509_free(ee);
	X509_CRL_free(c);
	return rc;
}

int
ca_bpki_peek(const uint8_t *der, size_t len, uint8_t **xml, size_t *xmllen,
    struct cm_err *err)
{
	const unsigned char	 *p = der;
	CMS_ContentInfo		 *cms;
	ASN1_OCTET_STRING	**c;
	int			  rc = -1;

	*xml = NULL;
	if (len > CA_CMS_MSG_MAX_SIZE)
		return cm_err_set(err, CM_ELIMIT, "message", "too large");
	if ((cms = d2i_CMS_ContentInfo(NULL, &p, (long)len)) == NULL) {
		ERR_clear_error();
		return cm_err_set(err, CM_EINVAL, "message", "not a CMS object");
	}
	if ((c = CMS_get0_content(cms)) == NULL || *c == NULL ||
	    (*c)->length <= 0) {
		cm_err_set(err, CM_EINVAL, "message", "no content");
		goto out;
	}
	if ((*xml = malloc((size_t)(*c)->length + 1)) == NULL) {
		cm_err_set(err, CM_ENOMEM, "message", "out of memory");
		goto out;
	}
	memcpy(*xml, (*c)->data, (size_t)(*c)->length);
	(*xml)[(*c)->length] = '\0';
	*xmllen = (size_t)(*c)->length;
	rc = 0;
out:
	CMS_ContentInfo_free(cms);
	return rc;
}
