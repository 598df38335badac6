/*
 * ca_sign: signs certificates and CRLs through the signer interface
 * (hsm/hsm.h), so PKCS#11 keys never expose their private half.
 *
 * Both functions set sha256WithRSAEncryption with explicit NULL parameters
 * in the TBS and the outer AlgorithmIdentifier, re-encode the TBS, hash it
 * with SHA-256, call hsm_key_sign(), install the signature and verify it
 * with hsm_key_pubkey(key).  Return 0, or -1 with err (CM_ECRYPTO, or the
 * signer's code such as CM_ERETRY).  x / crl stay owned by the caller.
 */
#ifndef CA_SIGN_H
#define CA_SIGN_H

#include <openssl/x509.h>

#include "common/cm_err.h"
#include "hsm/hsm.h"

int	ca_sign_cert(X509 *x, struct hsm_key *key, struct cm_err *err);
int	ca_sign_crl(X509_CRL *crl, struct hsm_key *key, struct cm_err *err);
/* PKCS#10 requests (one AlgorithmIdentifier); same contract. */
int	ca_sign_req(X509_REQ *req, struct hsm_key *key, struct cm_err *err);

#endif
