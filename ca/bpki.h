/*
 * ca_bpki: the business PKI of RFC 6492 / RFC 8183 (identity certificates,
 * not resource certificates).  A CA's identity is a self-signed BPKI trust
 * anchor whose key is in the signer; each protocol message is signed by a
 * one-time EE certificate that the identity issues, with a fresh CRL, as
 * the RFC 6492 §3.1 CMS profile wants (ca/cms_msg.h).
 */
#ifndef CA_BPKI_H
#define CA_BPKI_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/cm_err.h"
#include "hsm/hsm.h"

/*
 * Helpers for building BPKI certificates, shared with pub_bpki: adds the
 * extension nid with the OpenSSL configuration text value (e.g. "hash",
 * "keyid:always") to x, issued by issuer (x itself when self-signed); sets
 * a random positive serial (ca_cert_serial_random()).  Return 0 or -1.
 */
int	ca_bpki_add_ext(X509 *x, X509 *issuer, int nid, const char *value);
int	ca_bpki_serial(X509 *x, struct cm_err *err);

/*
 * A self-signed identity certificate for key (CN cn, basicConstraints cA
 * critical, keyUsage keyCertSign|cRLSign, SKI), valid from now for years.
 * *out is new.  Returns 0 or -1.
 */
int	ca_bpki_ta(struct hsm_key *key, const char *cn, time_t now, int years,
	    X509 **out, struct cm_err *err);

/*
 * Signs xml as an RFC 6492/8181 message from the identity (ta, key): a
 * one-time EE certificate for eekey valid now-5min..now+1h and a CRL valid
 * for a day are issued for it.  *der is malloc'd.  Returns 0 or -1.
 */
int	ca_bpki_sign(X509 *ta, struct hsm_key *key, EVP_PKEY *eekey,
	    const uint8_t *xml, size_t len, time_t now, uint8_t **der,
	    size_t *derlen, struct cm_err *err);

/*
 * The XML inside a CMS message, unverified: only to learn who claims to
 * have sent it, so that the right trust anchor can verify it.  *xml is
 * malloc'd (NUL-terminated).  Returns 0 or -1.
 */
int	ca_bpki_peek(const uint8_t *der, size_t len, uint8_t **xml,
	    size_t *xmllen, struct cm_err *err);

#endif
