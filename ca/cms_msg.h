/*
 * ca_cms_msg: the CMS wrapper of RFC 6492 (up-down) and RFC 8181
 * (publication) protocol messages, RFC 6492 §3.1 profile.
 *
 * SignedData v3, digest SHA-256, eContentType id-ct-xml
 * (1.2.840.113549.1.9.16.1.28), certificates = exactly one BPKI EE cert,
 * crls = exactly one CRL issued by the BPKI CA that issued the EE cert, one
 * SignerInfo v3 with sid = SKI and signed attributes content-type,
 * message-digest and signing-time (binary-signing-time is tolerated on
 * input, never written).
 *
 * The receiver checks the EE cert against the peer's BPKI trust anchor (the
 * *_bpki_ta of RFC 8183) with the CRL, and the signature.  Replay protection
 * is the caller's: compare the returned signing time with the last one
 * accepted from that peer (RFC 8181 §2, RFC 6492 §3.1).
 */
#ifndef CA_CMS_MSG_H
#define CA_CMS_MSG_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/cm_err.h"

/* Largest message accepted (a publication query with many objects). */
#define CA_CMS_MSG_MAX_SIZE	(64u * 1024 * 1024)

/*
 * Signs the XML document xml as a protocol message with the BPKI EE cert ee,
 * its key eekey and the current CRL crl of the BPKI CA that issued ee (all
 * borrowed).  signing_time is written as given.  who names the sender in
 * errors.  *der is malloc'd, the caller frees it.  Returns 0 or -1.
 */
int	ca_cms_msg_sign(const char *who, const uint8_t *xml, size_t xml_len,
	    X509 *ee, EVP_PKEY *eekey, X509_CRL *crl, time_t signing_time,
	    uint8_t **der, size_t *len, struct cm_err *err);

/* A verified message; free the members with ca_cms_msg_free(). */
struct ca_cms_msg {
	uint8_t	*xml;		/* malloc'd, NUL-terminated (not counted) */
	size_t	 xml_len;
	time_t	 signing_time;
	X509	*ee;		/* the sender's EE cert, owned */
};

/*
 * Verifies the message der from the peer whose BPKI trust anchor is ta
 * (borrowed), at time now: profile, EE cert chain to ta (directly or through
 * no intermediate: RFC 8183 BPKI TAs issue the EE certs), the CRL issued by
 * ta, current at now and not revoking the EE cert, and the signature.  who
 * names the peer in errors.  On success fills *out.  Returns 0, or -1 with
 * err set (CM_EPERM for an authentication failure, CM_EINVAL for a
 * malformed message).
 */
int	ca_cms_msg_verify(const char *who, const uint8_t *der, size_t len,
	    X509 *ta, time_t now, struct ca_cms_msg *out, struct cm_err *err);

/* Frees the members of m (not m itself).  NULL is ok. */
void	ca_cms_msg_free(struct ca_cms_msg *m);

#endif
