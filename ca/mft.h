/*
 * ca_mft: manifests (RFC 9286).
 *
 * The encoder writes version omitted, manifestNumber, thisUpdate and
 * nextUpdate as GeneralizedTime without fractions, fileHashAlg id-sha256 and
 * the file list sorted by name.  The decoder is strict (see ca_mft_decode()).
 */
#ifndef CA_MFT_H
#define CA_MFT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "common/cm_err.h"

#define CA_MFT_NUM_MAX	20	/* octets of manifestNumber */
#define CA_MFT_NAME_MAX	255

struct ca_mft_file {
	char	name[CA_MFT_NAME_MAX + 1];	/* e.g. "1A2B.roa" */
	uint8_t	hash[32];			/* SHA-256 of the file */
};

struct ca_mft {
	/* manifestNumber, big-endian magnitude without leading zeros. */
	uint8_t			 number[CA_MFT_NUM_MAX];
	size_t			 numberlen;	/* 0 means the number 0 */
	time_t			 this_update;
	time_t			 next_update;
	struct ca_mft_file	*files;		/* malloc'd */
	size_t			 nfiles;
};

/* Sets the manifest number from a 64-bit counter. */
void	ca_mft_set_number(struct ca_mft *m, uint64_t n);

/*
 * Returns 1 when name is a valid manifest file name: [a-zA-Z0-9_-]+ then
 * '.' and an extension from the IANA "RPKI Repository Name Schemes"
 * registry (asa cer crl gbr mft roa sig spl tak), else 0.
 */
int	ca_mft_name_ok(const char *name);

/*
 * Encodes m as the DER eContent.  The files are written sorted by name (m is
 * not changed); names must be valid and unique, hashes unique, thisUpdate <
 * nextUpdate.  *der is malloc'd, the caller frees it.  Returns 0 or -1.
 */
int	ca_mft_encode(const struct ca_mft *m, uint8_t **der, size_t *len,
	    struct cm_err *err);

/*
 * Decodes the DER eContent strictly: version omitted, number of at most 20
 * octets and non-negative, times "YYYYMMDDHHMMSSZ" with thisUpdate <
 * nextUpdate, sha256, at least one file, names valid, sorted and unique,
 * 32-byte hashes with no unused bits, unique.  On success *out is the
 * caller's (ca_mft_free()).  Returns 0 or -1.
 */
int	ca_mft_decode(const char *fn, const uint8_t *der, size_t len,
	    struct ca_mft **out, struct cm_err *err);

/*
 * The EE cert rules for manifests: both resource extensions present and
 * inherit-only, and notBefore/notAfter equal to thisUpdate/nextUpdate.
 * Returns 0 or -1.
 */
int	ca_mft_check_ee(const char *fn, const struct ca_mft *m, X509 *ee,
	    struct cm_err *err);

/*
 * Parses a complete .mft file (CMS, eContent, EE rules; signing-time must
 * not be after nextUpdate).  *out as for ca_mft_decode(); *ee (if ee is not
 * NULL) is the EE cert, freed by the caller.  Returns 0 or -1.
 */
int	ca_mft_parse(const char *fn, const uint8_t *der, size_t len,
	    struct ca_mft **out, X509 **ee, struct cm_err *err);

void	ca_mft_free(struct ca_mft *m);	/* NULL is ok */

#endif
