/*
 * ca_sign: external signing of X509 and X509_CRL through hsm_key_sign(), so
 * that the private key may live in a PKCS#11 token.
 */
#include <stdlib.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "ca/sign.h"

/* sha256WithRSAEncryption with an explicit NULL parameter (RFC 7935 §2). */
static int
set_alg(X509_ALGOR *a)
{
	return X509_ALGOR_set0(a, OBJ_nid2obj(NID_sha256WithRSAEncryption),
	    V_ASN1_NULL, NULL);
}

/*
 * Signs the DER "tbs" (tbslen bytes, or <= 0 when encoding failed) with key
 * into sigbs.  Takes ownership of tbs and frees it.  what names the object
 * in errors.  Returns 0 or -1.
 */
static int
sign_tbs(uint8_t *tbs, int tbslen, struct hsm_key *key,
    ASN1_BIT_STRING *sigbs, const char *what, struct cm_err *err)
{
	uint8_t		 md[32], sig[HSM_SIG_MAX];
	size_t		 siglen = 0;
	int		 ok;

	ok = tbslen > 0 &&
	    EVP_Digest(tbs, (size_t)tbslen, md, NULL, EVP_sha256(), NULL);
	OPENSSL_free(tbs);
	if (tbslen <= 0)
		return cm_err_set(err, CM_ECRYPTO, what, "cannot encode TBS");
	if (!ok)
		return cm_err_set(err, CM_ECRYPTO, what, "SHA-256 failed");
	if (hsm_key_sign(key, md, sig, &siglen, err) == -1)
		return -1;
	if (!ASN1_BIT_STRING_set(sigbs, sig, (int)siglen))
		return cm_err_set(err, CM_ENOMEM, what, "out of memory");
	/* A signature BIT STRING has no unused bits. */
	sigbs->flags &= ~0x07;
	sigbs->flags |= ASN1_STRING_FLAG_BITS_LEFT;
	return 0;
}

/* verified: the result of an X509*_verify() call; 1 is success. */
static int
check_verified(int verified, const char *what, const char *keyname,
    struct cm_err *err)
{
	if (verified == 1)
		return 0;
	return cm_err_set(err, CM_ECRYPTO, what,
	    "signature does not verify with the %s", keyname);
}

int
ca_sign_cert(X509 *x, struct hsm_key *key, struct cm_err *err)
{
	X509_ALGOR	*outer = NULL;
	ASN1_BIT_STRING	*sigbs = NULL;
	uint8_t		*tbs = NULL;
	int		 tbslen;

	X509_get0_signature((const ASN1_BIT_STRING **)&sigbs,
	    (const X509_ALGOR **)&outer, x);
	if (!set_alg(outer) ||
	    !set_alg((X509_ALGOR *)X509_get0_tbs_sigalg(x)))
		return cm_err_set(err, CM_ENOMEM, "certificate", "out of memory");
	tbslen = i2d_re_X509_tbs(x, &tbs);
	if (sign_tbs(tbs, tbslen, key, sigbs, "certificate", err) == -1)
		return -1;
	return check_verified(X509_verify(x, hsm_key_pubkey(key)),
	    "certificate", "issuer key", err);
}

int
ca_sign_crl(X509_CRL *crl, struct hsm_key *key, struct cm_err *err)
{
	X509_ALGOR	*outer = NULL;
	ASN1_BIT_STRING	*sigbs = NULL;
	uint8_t		*tbs = NULL;
	int		 tbslen;

	/*
	 * OpenSSL has no setter for the CRL's inner AlgorithmIdentifier; a
	 * signing attempt with the public key fills both identifiers before
	 * it fails for want of the private half.  X509_CRL_verify() below
	 * rejects any mismatch between the two, so a change in that
	 * behaviour cannot go unnoticed.
	 */
	(void)X509_CRL_sign(crl, hsm_key_pubkey(key), EVP_sha256());
	ERR_clear_error();
	X509_CRL_get0_signature(crl, (const ASN1_BIT_STRING **)&sigbs,
	    (const X509_ALGOR **)&outer);
	if (!set_alg(outer))
		return cm_err_set(err, CM_ENOMEM, "CRL", "out of memory");
	tbslen = i2d_re_X509_CRL_tbs(crl, &tbs);
	if (sign_tbs(tbs, tbslen, key, sigbs, "CRL", err) == -1)
		return -1;
	return check_verified(X509_CRL_verify(crl, hsm_key_pubkey(key)),
	    "CRL", "issuer key", err);
}

int
ca_sign_req(X509_REQ *req, struct hsm_key *key, struct cm_err *err)
{
	X509_ALGOR	*alg = NULL;
	ASN1_BIT_STRING	*sigbs = NULL;
	uint8_t		*tbs = NULL;
	int		 tbslen;

	X509_REQ_get0_signature(req, (const ASN1_BIT_STRING **)&sigbs,
	    (const X509_ALGOR **)&alg);
	if (!set_alg(alg))
		return cm_err_set(err, CM_ENOMEM, "certificate request",
		    "out of memory");
	tbslen = i2d_re_X509_REQ_tbs(req, &tbs);
	if (sign_tbs(tbs, tbslen, key, sigbs, "certificate request", err) == -1)
		return -1;
	return check_verified(X509_REQ_verify(req, hsm_key_pubkey(key)),
	    "certificate request", "key", err);
}
