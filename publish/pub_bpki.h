/*
 * pub_bpki: the publication server's BPKI identity (RFC 8183
 * repository_bpki_ta) and the signing of its RFC 8181 replies.
 *
 * The identity is a self-signed RSA-2048 certificate and its key, in two
 * PEM files (the key mode 0600).  Replies are signed (ca/cms_msg.h) with a
 * one-day EE certificate and a CRL that the identity issues in memory and
 * renews twice a day, so no file ever expires.  The publication server sits
 * in the DMZ and holds no CA keys; its identity key is its own.
 */
#ifndef PUB_BPKI_H
#define PUB_BPKI_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "common/cm_err.h"

struct pub_bpki;

/*
 * Creates a new identity named cn: writes key_path (0600) and cert_path
 * (a 10-year self-signed CA certificate).  Refuses to overwrite (CM_EEXIST).
 * Returns 0 or -1.
 */
int	pub_bpki_create(const char *key_path, const char *cert_path,
	    const char *cn, struct cm_err *err);

/* Loads an identity.  Returns it (free with pub_bpki_free()) or NULL. */
struct pub_bpki *pub_bpki_load(const char *key_path, const char *cert_path,
	    struct cm_err *err);
void	pub_bpki_free(struct pub_bpki *b);		/* NULL is ok */

/* The identity certificate (borrowed) and its DER (malloc'd, caller frees). */
X509	*pub_bpki_cert(const struct pub_bpki *b);
int	pub_bpki_cert_der(const struct pub_bpki *b, uint8_t **der, size_t *len,
	    struct cm_err *err);

/*
 * Signs xml as an RFC 8181 message at time now (thread-safe).  *der is
 * malloc'd.  Returns 0 or -1.
 */
int	pub_bpki_sign(struct pub_bpki *b, const uint8_t *xml, size_t len,
	    time_t now, uint8_t **der, size_t *derlen, struct cm_err *err);

/*
 * For clients and tests: issues an EE certificate for eekey under the
 * identity (valid now-5min..now+1d) and a current CRL.  Both returned
 * objects are owned by the caller.  Returns 0 or -1.
 */
int	pub_bpki_issue(const struct pub_bpki *b, EVP_PKEY *eekey, time_t now,
	    X509 **ee, X509_CRL **crl, struct cm_err *err);

#endif
