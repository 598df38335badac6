/*
 * ca_tak: Trust Anchor Key objects, the signed TAL of RFC 9691
 * (eContentType id-ct-SignedTAL 1.2.840.113549.1.9.16.1.50, ".tak").
 *
 * A trust anchor publishes one in its publication point, signed (through
 * a one-time EE certificate) by its current key.  It names the current key
 * with the TAL's URIs and, during a key roll, its successor (in the old
 * key's publication point) or its predecessor (in the new one's), so that
 * relying parties can follow the roll to the new TAL.
 *
 * Rules, both in the encoder and the strict decoder: version omitted
 * (DEFAULT 0: an encoded version is not DER); each TAKey has 1..16
 * certificateURIs that pass the TAL rules (ca_tal_uri_check(): https or
 * rsync, a host, a .cer file, printable), 0..32 comments of valid UTF-8
 * without control characters, at most 1024 octets each, and an RSA-2048
 * key with exponent 65537 in its canonical SubjectPublicKeyInfo encoding;
 * current, predecessor and successor are three different keys.  The EE
 * certificate inherits IP and AS resources (RFC 9691 §4, as manifests) and
 * its AKI is the SKI of the current key (the TAK is signed by it).
 */
#ifndef CA_TAK_H
#define CA_TAK_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/cm_err.h"

#define CA_TAK_MAX_URIS		16
#define CA_TAK_MAX_COMMENTS	32
#define CA_TAK_MAX_COMMENT	1024	/* octets */

struct ca_takey {
	char		**comments;	/* NUL-terminated UTF-8 */
	size_t		  ncomments;
	char		**uris;		/* NUL-terminated */
	size_t		  nuris;
	EVP_PKEY	 *key;
};

/*
 * For the encoder everything is the caller's (borrowed); what
 * ca_tak_decode() returns is owned by the struct (ca_tak_free()).
 */
struct ca_tak {
	struct ca_takey	*current;	/* required */
	struct ca_takey	*predecessor;	/* NULL: none */
	struct ca_takey	*successor;	/* NULL: none */
};

/*
 * Encodes t as the DER eContent after checking the rules above.  *der is
 * malloc'd, the caller frees it.  Returns 0 or -1.
 */
int	ca_tak_encode(const struct ca_tak *t, uint8_t **der, size_t *len,
	    struct cm_err *err);

/*
 * Decodes the DER eContent strictly (the rules above, DER only).  *out is
 * the caller's (ca_tak_free()).  Errors name fn and the TAKey and field
 * at fault.  Returns 0 or -1.
 */
int	ca_tak_decode(const char *fn, const uint8_t *der, size_t len,
	    struct ca_tak **out, struct cm_err *err);

/*
 * The EE cert rules: IP and AS resources both present and "inherit"; AKI
 * present and equal to the SKI (SHA-1 of the public key) of t->current's
 * key.  Returns 0 or -1.
 */
int	ca_tak_check_ee(const char *fn, const struct ca_tak *t, X509 *ee,
	    struct cm_err *err);

/*
 * Parses a complete .tak file (CMS profile, eContent, EE rules).  *out as
 * for ca_tak_decode(); *ee (if ee is not NULL) is the EE cert, freed by
 * the caller.  Returns 0 or -1.
 */
int	ca_tak_parse(const char *fn, const uint8_t *der, size_t len,
	    struct ca_tak **out, X509 **ee, struct cm_err *err);

void	ca_tak_free(struct ca_tak *t);		/* NULL is ok */

#endif
