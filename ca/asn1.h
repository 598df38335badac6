/*
 * ca_asn1: every RPKI-specific ASN.1 structure, declared once with OpenSSL's
 * template macros (the implementations are in asn1.c).  The object modules
 * (roa.c, mft.c, aspa.c, cms.c, cms_msg.c) do the meaning checks; this file
 * only describes syntax.  Type names carry the CA_ prefix so that they cannot
 * clash with OpenSSL's own.
 *
 * Also: the eContentType OIDs (looked up with OBJ_txt2obj(oid, 1), never by
 * NID) and helpers to decode with a trailing-bytes check.
 */
#ifndef CA_ASN1_H
#define CA_ASN1_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/asn1t.h>
#include <openssl/safestack.h>
#include <openssl/x509.h>

#include "common/cm_err.h"

#define CA_OID_CT_ROA		"1.2.840.113549.1.9.16.1.24"
#define CA_OID_CT_MFT		"1.2.840.113549.1.9.16.1.26"
#define CA_OID_CT_ASPA		"1.2.840.113549.1.9.16.1.49"
#define CA_OID_CT_TAK		"1.2.840.113549.1.9.16.1.50"
#define CA_OID_CT_XML		"1.2.840.113549.1.9.16.1.28"
#define CA_OID_SHA256		"2.16.840.1.101.3.4.2.1"

/* RFC 9582 RouteOriginAttestation. */
typedef struct {
	ASN1_BIT_STRING		*address;
	ASN1_INTEGER		*maxLength;	/* OPTIONAL */
} CA_ROAIPAddress;
DECLARE_ASN1_FUNCTIONS(CA_ROAIPAddress)
DEFINE_STACK_OF(CA_ROAIPAddress)

typedef struct {
	ASN1_OCTET_STRING		*addressFamily;
	STACK_OF(CA_ROAIPAddress)	*addresses;
} CA_ROAIPAddressFamily;
DECLARE_ASN1_FUNCTIONS(CA_ROAIPAddressFamily)
DEFINE_STACK_OF(CA_ROAIPAddressFamily)

typedef struct {
	ASN1_INTEGER			*version;	/* [0] EXPLICIT, DEFAULT 0 */
	ASN1_INTEGER			*asid;
	STACK_OF(CA_ROAIPAddressFamily)	*ipAddrBlocks;
} CA_RouteOriginAttestation;
DECLARE_ASN1_FUNCTIONS(CA_RouteOriginAttestation)

/* RFC 9286 Manifest. */
typedef struct {
	ASN1_IA5STRING		*file;
	ASN1_BIT_STRING		*hash;
} CA_FileAndHash;
DECLARE_ASN1_FUNCTIONS(CA_FileAndHash)
DEFINE_STACK_OF(CA_FileAndHash)

typedef struct {
	ASN1_INTEGER		*version;	/* [0] EXPLICIT, DEFAULT 0 */
	ASN1_INTEGER		*manifestNumber;
	ASN1_GENERALIZEDTIME	*thisUpdate;
	ASN1_GENERALIZEDTIME	*nextUpdate;
	ASN1_OBJECT		*fileHashAlg;
	STACK_OF(CA_FileAndHash) *fileList;
} CA_Manifest;
DECLARE_ASN1_FUNCTIONS(CA_Manifest)

/* draft-ietf-sidrops-aspa-profile ASProviderAttestation (version 1). */
typedef struct {
	ASN1_INTEGER		*version;	/* [0] EXPLICIT, MUST be 1 */
	ASN1_INTEGER		*customerASID;
	STACK_OF(ASN1_INTEGER)	*providers;
} CA_ASProviderAttestation;
DECLARE_ASN1_FUNCTIONS(CA_ASProviderAttestation)

/* RFC 9691 TAKey and TAK (signed TAL). */
DEFINE_STACK_OF(ASN1_IA5STRING)

typedef struct {
	STACK_OF(ASN1_UTF8STRING)	*comments;
	STACK_OF(ASN1_IA5STRING)	*certificateURIs;
	X509_PUBKEY			*subjectPublicKeyInfo;
} CA_TAKey;
DECLARE_ASN1_FUNCTIONS(CA_TAKey)

typedef struct {
	ASN1_INTEGER		*version;	/* [0] EXPLICIT, DEFAULT 0 */
	CA_TAKey		*current;
	CA_TAKey		*predecessor;	/* [0] EXPLICIT OPTIONAL */
	CA_TAKey		*successor;	/* [1] EXPLICIT OPTIONAL */
} CA_TAK;
DECLARE_ASN1_FUNCTIONS(CA_TAK)

/*
 * A shallow view of a CMS ContentInfo/SignedData (RFC 5652) that keeps the
 * fields OpenSSL's CMS API does not expose: the SignedData and SignerInfo
 * versions and the exact digest algorithm lists.  Used by the parsers only,
 * after OpenSSL's own CMS parser accepted the same bytes.
 */
typedef struct {
	ASN1_INTEGER		*version;
	ASN1_TYPE		*sid;
	X509_ALGOR		*digestAlgorithm;
	STACK_OF(ASN1_TYPE)	*signedAttrs;
	X509_ALGOR		*signatureAlgorithm;
	ASN1_OCTET_STRING	*signature;
	STACK_OF(ASN1_TYPE)	*unsignedAttrs;
} CA_SignerInfoView;
DECLARE_ASN1_FUNCTIONS(CA_SignerInfoView)
DEFINE_STACK_OF(CA_SignerInfoView)

typedef struct {
	ASN1_INTEGER			*version;
	STACK_OF(X509_ALGOR)		*digestAlgorithms;
	ASN1_TYPE			*encapContentInfo;
	STACK_OF(ASN1_TYPE)		*certificates;
	STACK_OF(ASN1_TYPE)		*crls;
	STACK_OF(CA_SignerInfoView)	*signerInfos;
} CA_SignedDataView;
DECLARE_ASN1_FUNCTIONS(CA_SignedDataView)

typedef struct {
	ASN1_OBJECT		*contentType;
	CA_SignedDataView	*content;
} CA_ContentInfoView;
DECLARE_ASN1_FUNCTIONS(CA_ContentInfoView)

/*
 * Returns a new ASN1_OBJECT for the dotted oid (caller frees with
 * ASN1_OBJECT_free()), or NULL.
 */
ASN1_OBJECT	*ca_asn1_oid(const char *oid);

/* 1 when obj is the dotted oid, else 0. */
int		 ca_asn1_oid_is(const ASN1_OBJECT *obj, const char *oid);

/*
 * Sets the BIT STRING bs to the first nbits bits of p, encoding exactly
 * ceil(nbits/8) octets with the right unused-bits count (OpenSSL would
 * otherwise strip trailing zero octets).  Bits past nbits are cleared.
 * Returns 0 or -1.
 */
int		 ca_asn1_bits_set(ASN1_BIT_STRING *bs, const uint8_t *p,
		    unsigned nbits);

/* Number of significant bits of a decoded BIT STRING. */
unsigned	 ca_asn1_bits_len(const ASN1_BIT_STRING *bs);

/*
 * Reads a non-negative INTEGER of at most 32 bits.  Returns 0, or -1 when it
 * is negative or too large.
 */
int		 ca_asn1_get_u32(const ASN1_INTEGER *ai, uint32_t *out);

/*
 * Converts an ASN1_TIME (UTCTime or GeneralizedTime) to time_t.  Returns 0
 * or -1.
 */
int		 ca_asn1_time_get(const ASN1_TIME *t, time_t *out);

/*
 * Fills a GeneralizedTime with exactly "YYYYMMDDHHMMSSZ" (no fraction), as
 * manifests need.  Returns a new object (ASN1_GENERALIZEDTIME_free()) or
 * NULL.
 */
ASN1_GENERALIZEDTIME *ca_asn1_gentime(time_t t);

/* 1 when gt is exactly "YYYYMMDDHHMMSSZ", else 0. */
int		 ca_asn1_gentime_strict(const ASN1_GENERALIZEDTIME *gt);

/*
 * Serialises obj (of ASN.1 item it) as DER into a malloc'd buffer that the
 * caller frees.  Use as ca_asn1_i2d(roa, ASN1_ITEM_rptr(CA_...), ...).
 * Returns 0 or -1 with err naming fn.
 */
int		 ca_asn1_i2d(const void *obj, const ASN1_ITEM *it, uint8_t **der,
		    size_t *len, const char *fn, struct cm_err *err);

/*
 * Decodes DER of item it, rejecting trailing bytes.  Returns the new object
 * (free with ASN1_item_free()) or NULL with err naming fn and what.
 */
void		*ca_asn1_d2i(const uint8_t *der, size_t len, const ASN1_ITEM *it,
		    const char *fn, const char *what, struct cm_err *err);

#endif
