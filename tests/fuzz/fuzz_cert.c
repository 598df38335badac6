/*
 * libFuzzer target: strict resource certificate parser.  Oracles: whatever
 * the parser accepts is DER (OpenSSL re-encodes it to the same bytes), has
 * the fields its kind requires and none it forbids, and its resources
 * convert back to RFC 3779 extensions.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ca/cert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
kind_ok(const struct ca_cert *c)
{
	switch (c->kind) {
	case CA_CERT_TA:
		return c->crldp == NULL && c->aia == NULL &&
		    c->sia_repo != NULL && c->sia_mft != NULL &&
		    c->sia_signed == NULL &&
		    (!c->has_aki || memcmp(c->aki, c->ski, 20) == 0);
	case CA_CERT_CA:
		return c->crldp != NULL && c->aia != NULL && c->has_aki &&
		    c->sia_repo != NULL && c->sia_mft != NULL &&
		    c->sia_signed == NULL;
	case CA_CERT_EE:
		return c->crldp != NULL && c->aia != NULL && c->has_aki &&
		    c->sia_repo == NULL && c->sia_mft == NULL &&
		    c->sia_notify == NULL && c->sia_signed != NULL;
	case CA_CERT_ROUTER:
		return c->crldp != NULL && c->aia != NULL && c->has_aki &&
		    c->sia_repo == NULL && c->sia_mft == NULL &&
		    c->sia_notify == NULL && c->sia_signed == NULL &&
		    ca_res_count(c->res, CA_RES_AS) > 0;
	default:
		return 0;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ca_cert	*c = NULL;
	struct cm_err	 err;
	IPAddrBlocks	*ip = NULL;
	ASIdentifiers	*as = NULL;
	uint8_t		*der = NULL;
	int		 len;

	if (ca_cert_parse("fuzz.cer", data, size, &c, &err) != 0)
		return 0;
	len = i2d_X509(c->x509, &der);
	if (len < 0 || (size_t)len != size || memcmp(der, data, size) != 0)
		abort();
	if (!kind_ok(c) || c->not_after <= c->not_before)
		abort();
	if (ca_res_to_x509(c->res, &ip, &as, &err) != 0 ||
	    (ip == NULL && as == NULL))
		abort();
	sk_IPAddressFamily_pop_free(ip, IPAddressFamily_free);
	ASIdentifiers_free(as);
	OPENSSL_free(der);
	ca_cert_free(c);
	return 0;
}
