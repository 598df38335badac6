/*
 * ca_cert: RFC 6487 / RFC 7935 resource certificates: trust anchors, CA
 * certificates, the EE certificates of signed objects, and BGPsec router
 * certificates (RFC 8209).
 *
 * Profile issued (and required by the parser), extensions in this order:
 *   basicConstraints   critical, cA TRUE, no pathLen       CA, TA
 *   subjectKeyId       SHA-1 of the subjectPublicKey       all
 *   authorityKeyId     keyIdentifier only = issuer SKI     CA, EE (not TA)
 *   keyUsage           critical; keyCertSign|cRLSign (CA, TA),
 *                      digitalSignature (EE)
 *   cRLDistPoints      one DistributionPoint, one rsync fullName  CA, EE
 *   authorityInfoAcc   one caIssuers rsync URI              CA, EE
 *   subjectInfoAcc     CA, TA: caRepository (rsync, ends in /),
 *                      rpkiManifest (rsync, in caRepository), optional
 *                      rpkiNotify (https); EE: signedObject (rsync)
 *   certPolicies       critical, id-cp-ipAddr-asNumber, no qualifier
 *                      (the parser accepts one id-qt-cps, RFC 7318)
 *   sbgp-ipAddrBlock / sbgp-autonomousSysNum: critical, per
 *                      ca_res_to_x509(); a TA has no inherit
 * Router certificates (CA_CERT_ROUTER, RFC 8209): an ECDSA P-256 subject
 * key (RFC 8208), the EE set above without SIA, plus extendedKeyUsage
 * (non-critical, exactly id-kp-bgpsec-router), and explicit AS resources
 * only (no IP extension, no inherit).
 * Subject: CN only (PrintableString), default the hex SKI (for routers RFC
 * 8209 suggests "ROUTER-" and the hex AS number: pass it as cn); issuer = the
 * issuer's subject (the TA's own subject).  A TA has no AKI; the parser
 * accepts a TA AKI equal to its SKI, as rpki-client and FORT do.
 */
#ifndef CA_CERT_H
#define CA_CERT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ca/resources.h"
#include "common/cm_err.h"
#include "hsm/hsm.h"

enum ca_cert_kind { CA_CERT_TA, CA_CERT_CA, CA_CERT_EE, CA_CERT_ROUTER };

#define CA_OID_AD_CA_ISSUERS		"1.3.6.1.5.5.7.48.2"
#define CA_OID_AD_CA_REPOSITORY		"1.3.6.1.5.5.7.48.5"
#define CA_OID_AD_RPKI_MANIFEST		"1.3.6.1.5.5.7.48.10"
#define CA_OID_AD_SIGNED_OBJECT		"1.3.6.1.5.5.7.48.11"
#define CA_OID_AD_RPKI_NOTIFY		"1.3.6.1.5.5.7.48.13"
#define CA_OID_CP_IPADDR_ASNUMBER	"1.3.6.1.5.5.7.14.2"
#define CA_OID_QT_CPS			"1.3.6.1.5.5.7.2.1"
#define CA_OID_KP_BGPSEC_ROUTER		"1.3.6.1.5.5.7.3.30"

/* What to issue.  Everything is borrowed for the duration of the call. */
struct ca_cert_spec {
	enum ca_cert_kind	 kind;
	EVP_PKEY		*subject_key;	/* RSA-2048, e = 65537; router:
						   ECDSA P-256 */
	X509			*issuer;	/* NULL for a TA */
	struct hsm_key		*issuer_key;	/* signs; the subject key for a TA */
	const char		*cn;		/* NULL: hex SKI */
	uint8_t			 serial[20];	/* unsigned big-endian magnitude */
	size_t			 serial_len;
	time_t			 not_before, not_after;
	const char		*crldp;		/* rsync; not for TA */
	const char		*aia;		/* rsync; not for TA */
	const char		*sia_repo;	/* CA/TA: caRepository */
	const char		*sia_mft;	/* CA/TA: rpkiManifest */
	const char		*sia_notify;	/* CA/TA: rpkiNotify, optional */
	const char		*sia_signed;	/* EE: signedObject */
	const struct ca_res	*res;		/* TA: no inherit */
};

/*
 * Random positive serial of 64..159 bits as an unsigned big-endian magnitude
 * (first octet non-zero) of *len (8..20) octets.  Returns 0 or -1.
 */
int	ca_cert_serial_random(uint8_t serial[20], size_t *len,
	    struct cm_err *err);

/* 1 when k is an RSA key with a 2048-bit modulus and e = 65537. */
int	ca_cert_key_ok(EVP_PKEY *k);
/* 1 when k is an ECDSA P-256 key (BGPsec router keys, RFC 8208). */
int	ca_cert_router_key_ok(EVP_PKEY *k);

/*
 * Issues and signs (ca_sign_cert) a certificate of spec->kind with the
 * profile above.  Refused (CM_EINVAL) when the spec does not fit the kind:
 * URIs missing or present where the profile forbids them, an issuer_key
 * that is not the issuer cert's key (for a TA: not the subject key), a
 * notAfter after the issuer's, empty resources, inherit in a TA, a CN that
 * is not PrintableString.  The result is re-parsed with ca_cert_parse().
 * *out is a new X509 the caller frees.  Returns 0 or -1.
 */
int	ca_cert_issue(const struct ca_cert_spec *spec, X509 **out,
	    struct cm_err *err);

/* A strictly parsed certificate; free with ca_cert_free(). */
struct ca_cert {
	X509			*x509;		/* owned */
	enum ca_cert_kind	 kind;
	uint8_t			 ski[20], aki[20];
	int			 has_aki;
	char			*crldp, *aia;	/* NULL when absent (TA) */
	char			*sia_repo, *sia_mft, *sia_notify, *sia_signed;
	struct ca_res		*res;		/* owned */
	time_t			 not_before, not_after;
};

/*
 * Parses DER strictly: no trailing bytes, DER, v3, no unique IDs, a
 * positive serial of at most 20 octets, sha256WithRSAEncryption with NULL
 * parameters (inner and outer), RSA-2048 e=65537 with NULL parameters (or
 * for routers id-ecPublicKey on the named curve P-256),
 * CN-only PrintableString names, RFC 5280 time types, only the profile's
 * extensions with the profile's criticality (no unknown or duplicate ones),
 * SKI equal to the SHA-1 of the key, resources per ca_res_from_x509().
 * The kind comes from the certificate: no basicConstraints = EE, or ROUTER
 * with an extendedKeyUsage (then the key must be P-256); cA and an
 * AKI that differs from the SKI = CA; cA and no AKI or AKI = SKI = TA, whose
 * self-signature must verify.  Each kind must then have exactly its
 * extensions and URIs as listed above.  The signature of a CA or EE cert is
 * not checked here (no issuer).  Syntax is checked first, then semantics.
 * fn names the file in err.  *out is new; the caller frees it.  Returns 0
 * or -1 (CM_EINVAL naming fn and the rule).
 */
int	ca_cert_parse(const char *fn, const uint8_t *der, size_t len,
	    struct ca_cert **out, struct cm_err *err);
void	ca_cert_free(struct ca_cert *c);	/* accepts NULL */

#endif
