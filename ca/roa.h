/*
 * ca_roa: Route Origin Authorizations (RFC 9582).
 *
 * The encoder writes the canonical form (prefixes sorted by family,
 * address, length, maxLength; duplicates removed; IPv4 first; maxLength
 * omitted when equal to the prefix length).  The decoder is strict: it
 * rejects everything the encoder would not write, including non-canonical
 * order and a maxLength equal to the prefix length (RFC 9582: SHOULD NOT),
 * so that a Cairn object read back is byte-identical when encoded again.
 */
#ifndef CA_ROA_H
#define CA_ROA_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "common/cm_err.h"

#define CA_AFI_IPV4	1
#define CA_AFI_IPV6	2

struct ca_roa_prefix {
	uint16_t	afi;		/* CA_AFI_IPV4 or CA_AFI_IPV6 */
	uint8_t		plen;		/* prefix length */
	uint8_t		maxlen;		/* >= plen; == plen means "none" */
	uint8_t		addr[16];	/* network order; bits past plen 0 */
};

struct ca_roa {
	uint32_t		 asid;		/* AS0 allowed (RFC 7607) */
	struct ca_roa_prefix	*prefixes;	/* malloc'd */
	size_t			 nprefixes;
};

/*
 * Parses "192.0.2.0/24", "192.0.2.0/24-26" or "2001:db8::/32-48" (the
 * suffix is maxLength).  Host bits must be zero.  Returns 0 or -1.
 */
int	ca_roa_prefix_parse(const char *s, struct ca_roa_prefix *p,
	    struct cm_err *err);

/* Writes the text form above into buf (at least 64 bytes). */
void	ca_roa_prefix_str(const struct ca_roa_prefix *p, char *buf,
	    size_t len);

/*
 * Sorts the prefixes into canonical order and removes duplicates, in place.
 * Returns 0, or -1 if a prefix is out of range (bad afi, plen, maxlen or
 * host bits set).
 */
int	ca_roa_canonicalize(struct ca_roa *roa, struct cm_err *err);

/*
 * Encodes roa as the DER eContent (a canonical copy is encoded; roa is not
 * changed).  *der is malloc'd, the caller frees it.  Returns 0 or -1.
 */
int	ca_roa_encode(const struct ca_roa *roa, uint8_t **der, size_t *len,
	    struct cm_err *err);

/*
 * Decodes the DER eContent strictly (fn names the object in errors): DER
 * only, version omitted (DEFAULT 0; an explicit 0 is not DER), asID 32-bit,
 * 1-2 families (0001 then 0002, no SAFI), canonical order, no duplicates,
 * maxLength in (plen, 32/128] when present.  On
 * success *out is the caller's, freed with ca_roa_free().  Returns 0 or -1.
 */
int	ca_roa_decode(const char *fn, const uint8_t *der, size_t len,
	    struct ca_roa **out, struct cm_err *err);

/*
 * The EE cert rules for ROAs: an IP resources extension without inherit
 * that covers every prefix, and no AS resources extension.  Returns 0 or -1.
 */
int	ca_roa_check_ee(const char *fn, const struct ca_roa *roa, X509 *ee,
	    struct cm_err *err);

/*
 * Parses a complete .roa file: CMS profile and signature (ca_cms_parse()),
 * eContent (ca_roa_decode()) and EE rules (ca_roa_check_ee()).  On success
 * *out is the caller's (ca_roa_free()), and if ee is not NULL *ee is the EE
 * cert (caller frees with X509_free()).  Chain validation is not done here.
 * Returns 0 or -1.
 */
int	ca_roa_parse(const char *fn, const uint8_t *der, size_t len,
	    struct ca_roa **out, X509 **ee, struct cm_err *err);

void	ca_roa_free(struct ca_roa *roa);	/* NULL is ok */

#endif
