/*
 * ca_aspa: AS Provider Attestations, current profile
 * (draft-ietf-sidrops-aspa-profile, version 1, AFI-agnostic).
 *
 * Validator support differs (see docs/objects.md): rpki-client >= 8.5 and
 * FORT >= 1.7 read this encoding; rpki-client 8.0-8.4 (Debian 12 ships 8.2)
 * only reads the older draft-10 encoding and rejects ours, and FORT <= 1.6
 * ignores .asa files.  Cairn emits only the current profile.
 */
#ifndef CA_ASPA_H
#define CA_ASPA_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "common/cm_err.h"

/* Cap on providers per ASPA, in line with RP limits. */
#define CA_ASPA_MAX_PROVIDERS	10000

struct ca_aspa {
	uint32_t	 customer;	/* 1..4294967295 */
	uint32_t	*providers;	/* malloc'd */
	size_t		 nproviders;
};

/*
 * Encodes a as the DER eContent: version 1 written explicitly, providers
 * sorted ascending and deduplicated (a is not changed).  Fails when the
 * customer is 0 or among the providers, when AS0 is not alone, or when the
 * list is empty.  *der is malloc'd, the caller frees it.  Returns 0 or -1.
 */
int	ca_aspa_encode(const struct ca_aspa *a, uint8_t **der, size_t *len,
	    struct cm_err *err);

/*
 * Decodes the DER eContent strictly: version present and 1, customer
 * 1..2^32-1, providers non-empty, strictly ascending, customer not among
 * them, AS0 only alone.  *out is the caller's (ca_aspa_free()).
 * Returns 0 or -1.
 */
int	ca_aspa_decode(const char *fn, const uint8_t *der, size_t len,
	    struct ca_aspa **out, struct cm_err *err);

/*
 * The EE cert rules for ASPAs: AS resources extension present, without
 * inherit and RDI, equal to exactly {customer}; no IP resources extension.
 * Returns 0 or -1.
 */
int	ca_aspa_check_ee(const char *fn, const struct ca_aspa *a, X509 *ee,
	    struct cm_err *err);

/*
 * Parses a complete .asa file (CMS, eContent, EE rules).  *out as for
 * ca_aspa_decode(); *ee (if ee is not NULL) is the EE cert, freed by the
 * caller.  Returns 0 or -1.
 */
int	ca_aspa_parse(const char *fn, const uint8_t *der, size_t len,
	    struct ca_aspa **out, X509 **ee, struct cm_err *err);

void	ca_aspa_free(struct ca_aspa *a);	/* NULL is ok */

#endif
