/*
 * ca_cms: RPKI signed objects (RFC 6488, updated by RFC 9589; algorithms
 * RFC 7935).  The signer makes exactly the profile RPs check; the parser
 * re-checks all of it, and is what the fuzz targets exercise.
 *
 * Profile: ContentInfo/SignedData v3, digestAlgorithms = { id-sha256 with
 * parameters absent }, eContentType = the object OID with an eContent,
 * certificates = exactly the EE cert, no crls, one SignerInfo v3 with sid =
 * subjectKeyIdentifier, signed attributes exactly content-type,
 * message-digest and signing-time (each with one value), no unsigned
 * attributes, DER throughout.
 */
#ifndef CA_CMS_H
#define CA_CMS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/cm_err.h"

/* Largest signed object the parser accepts (RPs use similar caps). */
#define CA_CMS_MAX_SIZE		(8u * 1024 * 1024)

/*
 * Signs econtent (DER of the payload) as a signed object of type
 * econtent_oid (dotted, e.g. CA_OID_CT_ROA) with the EE cert ee and its key
 * eekey (borrowed).  signing_time is written as given (UTCTime before 2050),
 * so the same inputs always give the same bytes up to the RSA signature,
 * which is deterministic too (PKCS#1 v1.5).  fn names the object in errors.
 * On success *der is a malloc'd buffer the caller frees.  Returns 0 or -1.
 */
int	ca_cms_sign(const char *fn, const char *econtent_oid,
	    const uint8_t *econtent, size_t econtent_len, X509 *ee,
	    EVP_PKEY *eekey, time_t signing_time, uint8_t **der, size_t *len,
	    struct cm_err *err);

/* What ca_cms_parse() returns; free with ca_cms_parsed_free(). */
struct ca_cms_parsed {
	uint8_t	*econtent;	/* DER of the payload, malloc'd */
	size_t	 econtent_len;
	X509	*ee;		/* the embedded EE cert, owned */
	time_t	 signing_time;
};

/*
 * Parses and verifies the signed object der (fn names it in errors): checks
 * the whole profile above, that eContentType is econtent_oid, that the sid
 * is the EE cert's SKI, and the signature and message digest with the EE
 * cert's key.  It does not validate the EE cert itself (chain, validity,
 * resources): that is the caller's business.  On success fills *out.
 * Returns 0, or -1 with err set (CM_EINVAL for out-of-profile input).
 */
int	ca_cms_parse(const char *fn, const char *econtent_oid,
	    const uint8_t *der, size_t len, struct ca_cms_parsed *out,
	    struct cm_err *err);

/* Frees the members of p (not p itself).  NULL is ok. */
void	ca_cms_parsed_free(struct ca_cms_parsed *p);

/*
 * Shared by ca_cms and ca_cms_msg: checks the SignedData/SignerInfo fields
 * that OpenSSL's CMS API hides (versions, digest algorithm parameters,
 * counts) on the DER der.  ncrls is the exact number of CRLs required.
 * Returns 0 or -1.
 */
int	ca_cms_check_shape(const char *fn, const uint8_t *der, size_t len,
	    int ncrls, struct cm_err *err);

/*
 * Shared by ca_cms and ca_cms_msg: signs content (content_len bytes) as a
 * SignedData of type econtent_oid with ee and its key eekey (borrowed), the
 * signing-time signing_time and, if crl is not NULL, that CRL.  *der is
 * malloc'd (caller frees).  Returns 0 or -1.
 */
int	ca_cms_sign_der(const char *fn, const char *econtent_oid,
	    const uint8_t *content, size_t content_len, X509 *ee,
	    EVP_PKEY *eekey, X509_CRL *crl, time_t signing_time, uint8_t **der,
	    size_t *len, struct cm_err *err);

/* ca_cms_check_attrs() flags: what a protocol message may have besides. */
#define CA_CMS_ATTR_BST		0x1	/* a binary-signing-time attribute */
#define CA_CMS_ATTR_ANY_TIME	0x2	/* GeneralizedTime before 2050 */
/*
 * Shared by ca_cms and ca_cms_msg: the signed attributes of si are
 * content-type (equal to ctype), message-digest and signing-time, each
 * once with one value, nothing else (but what flags allow), and there are
 * no unsigned attributes.  Sets *signing_time.  Returns 0 or -1.
 */
int	ca_cms_check_attrs(const char *fn, CMS_SignerInfo *si,
	    const ASN1_OBJECT *ctype, int flags, time_t *signing_time,
	    struct cm_err *err);

#endif
