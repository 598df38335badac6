/*
 * ca_crl: RFC 6487 §5 / RFC 9829 CRLs: v2, AKI and CRLNumber only (both
 * non-critical), no revokedCertificates when empty.
 */
#ifndef CA_CRL_H
#define CA_CRL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "common/cm_err.h"
#include "hsm/hsm.h"

struct ca_crl_entry {
	uint8_t	serial[20];
	size_t	serial_len;
	time_t	revoked;
};

/* Everything borrowed for the call. */
struct ca_crl_spec {
	X509			*issuer;
	struct hsm_key		*issuer_key;
	uint64_t		 number;
	time_t			 this_update, next_update;
	const struct ca_crl_entry *entries;
	size_t			 nentries;
};

/*
 * Issues and signs (ca_sign_crl): issuer = the issuer cert's subject, times
 * as UTCTime through 2049 and GeneralizedTime after, entries sorted by
 * serial without entry extensions.  Entry serials are unsigned big-endian
 * magnitudes of at most 20 DER octets.  The result is re-parsed with
 * ca_crl_parse() before it is returned.  *out is new, the caller frees it.
 * Returns 0 or -1 (CM_EINVAL for a bad spec, e.g. nextUpdate <= thisUpdate
 * or an issuer_key that is not the issuer cert's key).
 */
int	ca_crl_issue(const struct ca_crl_spec *spec, X509_CRL **out,
	    struct cm_err *err);

struct ca_crl {
	X509_CRL	*crl;		/* owned */
	uint8_t		 aki[20];
	uint64_t	 number;
	time_t		 this_update, next_update;
};

/*
 * Strict DER parse (syntax only: no issuer, so no signature check; use
 * X509_CRL_verify() on crl): no trailing bytes, DER, v2,
 * sha256WithRSAEncryption with NULL parameters inside and outside, issuer
 * CN (+ serialNumber) PrintableString, thisUpdate/nextUpdate present with
 * the RFC 5280 time types and nextUpdate > thisUpdate, revokedCertificates
 * absent or non-empty, entries with positive serials of at most 20 octets
 * and no extensions, exactly the AKI (keyIdentifier only, 20 octets) and
 * CRLNumber (non-negative, at most 20 octets; numbers above 2^64 - 1 are
 * reported as UINT64_MAX) extensions, both non-critical.  fn names the
 * file in err.  *out is new; free with ca_crl_free().  Returns 0 or -1
 * (CM_EINVAL naming fn and the rule).
 */
int	ca_crl_parse(const char *fn, const uint8_t *der, size_t len,
	    struct ca_crl **out, struct cm_err *err);
void	ca_crl_free(struct ca_crl *c);		/* accepts NULL */

#endif
