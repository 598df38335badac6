/*
 * ca_crl: RFC 6487 §5 / RFC 9829 CRLs: v2, AKI and CRLNumber only (both
 * non-critical), no revokedCertificates when empty.
 *
 * Status: interface contract; ca/crl.c is not in the tree yet.
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

/* Issues and signs (ca_sign_crl); *out is new, the caller frees it. */
int	ca_crl_issue(const struct ca_crl_spec *spec, X509_CRL **out,
	    struct cm_err *err);

struct ca_crl {
	X509_CRL	*crl;		/* owned */
	uint8_t		 aki[20];
	uint64_t	 number;
	time_t		 this_update, next_update;
};

/* Strict DER parse; fn names the file in err.  Free with ca_crl_free(). */
int	ca_crl_parse(const char *fn, const uint8_t *der, size_t len,
	    struct ca_crl **out, struct cm_err *err);
void	ca_crl_free(struct ca_crl *c);		/* accepts NULL */

#endif
