/*
 * ca_x509: field checks shared by the strict certificate and CRL parsers
 * (ca/cert.c, ca/crl.c).  Each returns 0, or -1 with err (CM_EINVAL) naming
 * fn, the field (what/where) and the rule.
 */
#ifndef CA_X509_H
#define CA_X509_H

#include <time.h>

#include <openssl/x509.h>

#include "common/cm_err.h"

/* sha256WithRSAEncryption with explicit NULL parameters (RFC 7935 §2). */
int	ca_x509_check_alg(const char *fn, const X509_ALGOR *a,
	    const char *where, struct cm_err *err);

/*
 * RFC 6487 §4.4/§4.5: exactly one commonName and at most one serialNumber,
 * one attribute per RDN, both PrintableString.
 */
int	ca_x509_check_name(const char *fn, const char *what,
	    const X509_NAME *n, struct cm_err *err);

/*
 * RFC 5280 §4.1.2.5: UTCTime "YYMMDDHHMMSSZ" for years before 2050,
 * GeneralizedTime "YYYYMMDDHHMMSSZ" from 2050.  *out gets the time.
 */
int	ca_x509_check_time(const char *fn, const char *what,
	    const ASN1_TIME *t, time_t *out, struct cm_err *err);

/*
 * An INTEGER that is non-negative (positive when positive is set) and at
 * most 20 octets in DER (RFC 5280 §4.1.2.2, RFC 9829).  Returns 0 or -1;
 * sets no error (the caller knows the field).
 */
int	ca_x509_check_int(const ASN1_INTEGER *ai, int positive);

/*
 * The value of a known extension decodes completely and is DER (re-encodes
 * to the same octets).  OpenSSL keeps extension values as raw octets, so the
 * DER check of the certificate or CRL does not reach inside them.
 */
int	ca_x509_check_ext_der(const char *fn, const X509_EXTENSION *e,
	    struct cm_err *err);

#endif
