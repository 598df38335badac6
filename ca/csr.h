/*
 * ca_csr: PKCS#10 certificate requests of RFC 6487 §6 (a child CA asking its
 * parent for a certificate over RFC 6492) and RFC 8209 §3.2 (a BGPsec
 * router key).
 *
 * The parent only takes the public key and the SIA from a CA request; it
 * sets everything else itself.  The parser is still strict, because a
 * request the child did not mean to send is better refused (RFC 6492 error
 * 1203) than certified.
 */
#ifndef CA_CSR_H
#define CA_CSR_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "common/cm_err.h"
#include "hsm/hsm.h"

enum ca_csr_kind {
	CA_CSR_CA,	/* RSA-2048 e=65537, SHA-256; SIA caRepository + rpkiManifest */
	CA_CSR_ROUTER,	/* ECDSA P-256 with SHA-256 (RFC 8208); no SIA */
};

/* A parsed request; every member is owned. */
struct ca_csr {
	enum ca_csr_kind	 kind;
	EVP_PKEY		*key;
	char			*sia_repo;	/* CA: rsync dir URI ending in '/' */
	char			*sia_mft;	/* CA: rsync URI under sia_repo */
	char			*sia_notify;	/* CA: https URI or NULL */
	uint8_t			 ski[20];	/* SHA-1 of the subject key */
};

/*
 * Parses and verifies (self-signature) a DER request of the given kind.
 * Rules: no trailing bytes; version 0; the kind's key and signature
 * algorithm; only the extensionRequest attribute; in it only basic
 * constraints (CA: cA true, critical, no path length), key usage (CA:
 * keyCertSign|cRLSign; router: digitalSignature), extended key usage
 * (router: id-kp-bgpsec-router only), subject key identifier (must match
 * the key) and SIA (CA only: caRepository rsync ending in '/', rpkiManifest
 * rsync inside it, ending in .mft, at most one rpkiNotify https).  who names
 * the requester in errors.  *out is new; free with ca_csr_free().  Returns 0
 * or -1 (CM_EINVAL).
 */
int	ca_csr_parse(const char *who, enum ca_csr_kind kind, const uint8_t *der,
	    size_t len, struct ca_csr **out, struct cm_err *err);
void	ca_csr_free(struct ca_csr *c);	/* accepts NULL */

/*
 * Child side: builds a CA request for key (signed through the signer, so the
 * key may live in the HSM) with the given SIA (notify may be NULL).  *der is
 * malloc'd; the caller frees it.  Returns 0 or -1.
 */
int	ca_csr_make(struct hsm_key *key, const char *sia_repo,
	    const char *sia_mft, const char *sia_notify, uint8_t **der,
	    size_t *len, struct cm_err *err);

#endif
