/*
 * libFuzzer target: strict CRL parser.  Oracles: whatever the parser
 * accepts is DER (OpenSSL re-encodes it to the same bytes), has nextUpdate
 * after thisUpdate, exactly two extensions and entries without extensions.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ca/crl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ca_crl		*c = NULL;
	struct cm_err		 err;
	STACK_OF(X509_REVOKED)	*rv;
	uint8_t			*der = NULL;
	int			 len;

	if (ca_crl_parse("fuzz.crl", data, size, &c, &err) != 0)
		return 0;
	len = i2d_X509_CRL(c->crl, &der);
	if (len < 0 || (size_t)len != size || memcmp(der, data, size) != 0)
		abort();
	if (c->next_update <= c->this_update ||
	    X509_CRL_get_ext_count(c->crl) != 2)
		abort();
	rv = X509_CRL_get_REVOKED(c->crl);
	if (rv != NULL && sk_X509_REVOKED_num(rv) == 0)
		abort();
	for (int i = 0; i < sk_X509_REVOKED_num(rv); i++)
		if (X509_REVOKED_get_ext_count(sk_X509_REVOKED_value(rv, i)))
			abort();
	OPENSSL_free(der);
	ca_crl_free(c);
	return 0;
}
