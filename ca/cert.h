/*
 * ca_cert: RFC 6487 / RFC 7935 resource certificates (TA, CA, EE; BGPsec
 * router certificates of RFC 8209 are reserved in enum ca_cert_kind).
 *
 * Status: only ca_cert_serial_random() is implemented; the rest is the
 * interface contract and does not link yet.
 */
#ifndef CA_CERT_H
#define CA_CERT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ca/resources.h"
#include "common/cm_err.h"
#include "hsm/hsm.h"

enum ca_cert_kind { CA_CERT_TA, CA_CERT_CA, CA_CERT_EE, CA_CERT_ROUTER };

/* What to issue.  Everything is borrowed for the duration of the call. */
struct ca_cert_spec {
	enum ca_cert_kind	 kind;
	EVP_PKEY		*subject_key;	/* RSA-2048, e = 65537 */
	X509			*issuer;	/* NULL for a TA */
	struct hsm_key		*issuer_key;	/* signs; the subject key for a TA */
	const char		*cn;		/* NULL: hex SKI */
	uint8_t			 serial[20];	/* unsigned big-endian magnitude */
	size_t			 serial_len;
	time_t			 not_before, not_after;
	const char		*crldp;		/* rsync; not for TA */
	const char		*aia;		/* rsync; not for TA */
	const char		*sia_repo;	/* CA/TA: caRepository */
	const char		*sia_mft;	/* CA/TA: rpkiManifest */
	const char		*sia_notify;	/* CA/TA: rpkiNotify, optional */
	const char		*sia_signed;	/* EE: signedObject */
	const struct ca_res	*res;		/* TA: no inherit */
};

/*
 * Random positive serial of 64..159 bits as an unsigned big-endian magnitude
 * (first octet non-zero) of *len (8..20) octets.  Returns 0 or -1.
 */
int	ca_cert_serial_random(uint8_t serial[20], size_t *len,
	    struct cm_err *err);

/* Issues and signs (ca_sign_cert); *out is a new X509 the caller frees. */
int	ca_cert_issue(const struct ca_cert_spec *spec, X509 **out,
	    struct cm_err *err);

/* A strictly parsed certificate; free with ca_cert_free(). */
struct ca_cert {
	X509			*x509;		/* owned */
	enum ca_cert_kind	 kind;
	uint8_t			 ski[20], aki[20];
	int			 has_aki;
	char			*crldp, *aia;	/* NULL when absent (TA) */
	char			*sia_repo, *sia_mft, *sia_notify, *sia_signed;
	struct ca_res		*res;		/* owned */
	time_t			 not_before, not_after;
};

/*
 * Parses DER strictly: no trailing bytes, v3, sha256WithRSAEncryption with
 * NULL parameters, RSA-2048 e=65537, CN-only PrintableString names, only the
 * profile's extensions (no unknown critical or duplicate ones), SKI equal to
 * the SHA-1 of the key, resources per ca_res_from_x509().  Syntax is checked
 * first, then semantics.  fn names the file in err.  *out is new; the caller
 * frees it.  Returns 0 or -1 (CM_EINVAL naming fn and the rule).
 */
int	ca_cert_parse(const char *fn, const uint8_t *der, size_t len,
	    struct ca_cert **out, struct cm_err *err);
void	ca_cert_free(struct ca_cert *c);	/* accepts NULL */

#endif
