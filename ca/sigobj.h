/*
 * ca_sigobj: issuing a complete RPKI signed object in one call: the
 * one-time EE certificate (RFC 6487 profile, signed by the issuing CA's key
 * through the signer interface) and the CMS signed by the EE key (RFC 6488).
 * The CA engine and the test repository builder use it for every ROA,
 * manifest and ASPA.
 *
 * The EE cert comes from ca_cert_issue() (kind CA_CERT_EE), so the issuer
 * must be a profile-conformant certificate (CN-only PrintableString
 * subject, SKI) whose notAfter is not before the EE's.
 * The EE cert gets: serial and validity as given, subject CN = hex SKI of
 * the EE key, issuer = the CA cert's subject, SKI, AKI (CA SKI), keyUsage
 * digitalSignature (critical), CRLDP = crl_uri, AIA caIssuers = issuer_uri,
 * SIA signedObject = object_uri, certificatePolicies id-cp-ipAddr-asNumber
 * (critical), and the resources each object type needs:
 *   ROA       IP resources = the ROA's prefixes, no AS extension
 *   manifest  IP and AS "inherit"; validity forced to thisUpdate..nextUpdate
 *   ASPA      AS resources = { customer }, no IP extension
 *   TAK       IP and AS "inherit" (RFC 9691); the issuer is a TA
 */
#ifndef CA_SIGOBJ_H
#define CA_SIGOBJ_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ca/aspa.h"
#include "ca/mft.h"
#include "ca/roa.h"
#include "ca/tak.h"
#include "common/cm_err.h"
#include "hsm/hsm.h"

#define CA_SERIAL_MAX	20	/* octets (RFC 5280) */

/* Everything but the payload.  All pointers are borrowed. */
struct ca_sigobj_spec {
	X509		*issuer;	/* the issuing CA's cert */
	struct hsm_key	*issuer_key;	/* its key, signs the EE cert */
	EVP_PKEY	*ee_key;	/* one-time RSA-2048 EE key pair */
	uint8_t		 serial[CA_SERIAL_MAX];	/* big-endian, positive */
	size_t		 serial_len;
	time_t		 not_before;	/* ignored for manifests */
	time_t		 not_after;	/* ignored for manifests */
	time_t		 signing_time;	/* CMS signing-time, <= notAfter */
	const char	*object_uri;	/* rsync URI of the object (SIA) */
	const char	*crl_uri;	/* rsync URI of the issuer's CRL */
	const char	*issuer_uri;	/* rsync URI of the issuer's cert */
};

/* Sets spec->serial from a 64-bit value (must not be 0). */
void	ca_sigobj_set_serial(struct ca_sigobj_spec *spec, uint64_t serial);

/*
 * Each returns the complete DER file in *der (malloc'd, the caller frees
 * it), and, if ee is not NULL, the EE cert in *ee (X509_free()).  The
 * object is parsed back with the strict parser before it is returned, so a
 * success means the file passes ca_*_parse().  Returns 0 or -1 with err
 * naming object_uri.
 */
int	ca_sigobj_roa(const struct ca_sigobj_spec *spec,
	    const struct ca_roa *roa, uint8_t **der, size_t *len, X509 **ee,
	    struct cm_err *err);
int	ca_sigobj_mft(const struct ca_sigobj_spec *spec,
	    const struct ca_mft *mft, uint8_t **der, size_t *len, X509 **ee,
	    struct cm_err *err);
int	ca_sigobj_aspa(const struct ca_sigobj_spec *spec,
	    const struct ca_aspa *aspa, uint8_t **der, size_t *len, X509 **ee,
	    struct cm_err *err);
int	ca_sigobj_tak(const struct ca_sigobj_spec *spec,
	    const struct ca_tak *tak, uint8_t **der, size_t *len, X509 **ee,
	    struct cm_err *err);

#endif
