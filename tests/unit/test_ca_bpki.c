/* Unit tests for ca/bpki: identities and RFC 6492 message signing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "ca/bpki.h"
#include "ca/cms_msg.h"

static void
test_sign_verify(void **state)
{
	struct hsm		*h = hsm_open_mem();
	struct hsm_key		*ck, *ok_;
	X509			*cta, *ota;
	EVP_PKEY		*ee = EVP_RSA_gen(2048);
	struct cm_err		 err;
	struct ca_cms_msg	 m;
	const char		*xml = "<message type=\"list\"/>";
	uint8_t			*der, *peek;
	size_t			 len, plen;
	time_t			 now = time(NULL);

	assert_non_null(ee);
	assert_int_equal(hsm_key_create(h, "child", &ck, &err), 0);
	assert_int_equal(hsm_key_create(h, "other", &ok_, &err), 0);
	assert_int_equal(ca_bpki_ta(ck, "child", now, 10, &cta, &err), 0);
	assert_int_equal(ca_bpki_ta(ok_, "other", now, 10, &ota, &err), 0);
	assert_int_equal(X509_check_ca(cta), 1);
	assert_int_equal(X509_verify(cta, hsm_key_pubkey(ck)), 1);

	if (ca_bpki_sign(cta, ck, ee, (const uint8_t *)xml, strlen(xml), now,
	    &der, &len, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(ca_bpki_peek(der, len, &peek, &plen, &err), 0);
	assert_int_equal(plen, strlen(xml));
	assert_string_equal((char *)peek, xml);
	free(peek);

	/* Verified with the sender's identity: the same XML comes out. */
	if (ca_cms_msg_verify("child", der, len, cta, now, &m, &err) != 0)
		fail_msg("%s", err.msg);
	assert_memory_equal(m.xml, xml, strlen(xml));
	assert_true(m.signing_time == now);
	ca_cms_msg_free(&m);
	/* Not with another identity. */
	assert_int_equal(ca_cms_msg_verify("child", der, len, ota, now, &m, &err),
	    -1);
	assert_int_equal(err.code, CM_EPERM);
	/* Garbage is not a message. */
	assert_int_equal(ca_bpki_peek((const uint8_t *)"xx", 2, &peek, &plen,
	    &err), -1);
	free(der);
	X509_free(cta);
	X509_free(ota);
	EVP_PKEY_free(ee);
	hsm_key_free(ck);
	hsm_key_free(ok_);
	hsm_close(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_verify),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
