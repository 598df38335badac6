/*
 * libFuzzer target: the signed-object parsers end to end (CMS profile,
 * signature, eContent, EE rules), for each object type, and the protocol
 * message shape check.  Seeds are complete signed objects.
 */
#include <stdint.h>
#include <stdlib.h>

#include "ca/aspa.h"
#include "ca/cms.h"
#include "ca/mft.h"
#include "ca/roa.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ca_roa	*roa = NULL;
	struct ca_mft	*mft = NULL;
	struct ca_aspa	*aspa = NULL;
	struct cm_err	 err;
	X509		*ee = NULL;

	if (ca_roa_parse("fuzz.roa", data, size, &roa, &ee, &err) == 0) {
		ca_roa_free(roa);
		X509_free(ee);
	}
	if (ca_mft_parse("fuzz.mft", data, size, &mft, NULL, &err) == 0)
		ca_mft_free(mft);
	if (ca_aspa_parse("fuzz.asa", data, size, &aspa, NULL, &err) == 0)
		ca_aspa_free(aspa);
	(void)ca_cms_check_shape("fuzz.msg", data, size, 1, &err);
	return 0;
}
