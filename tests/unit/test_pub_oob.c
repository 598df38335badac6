/* Unit tests for publish/pub_oob (RFC 8183 setup messages). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/cm_buf.h"
#include "common/cm_enc.h"
#include "publish/pub_oob.h"

#include "pub_testutil.h"

#define NS	"xmlns=\"http://www.hactrn.net/uris/rpki/rpki-setup/\""

/* A self-signed certificate (or one signed by another key: other = 1). */
static uint8_t *
make_cert(int other, size_t *len)
{
	EVP_PKEY	*k = EVP_EC_gen("P-256"), *k2 = NULL;
	X509		*x = X509_new();
	X509_NAME	*n = X509_NAME_new();
	uint8_t		*der = NULL;
	int		 l;

	assert_non_null(k);
	assert_true(X509_set_version(x, 2) &&
	    ASN1_INTEGER_set(X509_get_serialNumber(x), 1) &&
	    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"test TA", -1, -1, 0) &&
	    X509_set_issuer_name(x, n) && X509_set_subject_name(x, n) &&
	    X509_gmtime_adj(X509_getm_notBefore(x), 0) &&
	    X509_gmtime_adj(X509_getm_notAfter(x), 86400) &&
	    X509_set_pubkey(x, k));
	if (other)
		assert_non_null(k2 = EVP_EC_gen("P-256"));
	assert_true(X509_sign(x, other ? k2 : k, EVP_sha256()) > 0);
	assert_true((l = i2d_X509(x, &der)) > 0);
	*len = (size_t)l;
	X509_NAME_free(n);
	X509_free(x);
	EVP_PKEY_free(k);
	EVP_PKEY_free(k2);
	return der;
}

static struct pub_oob *
roundtrip(const struct pub_oob *o, struct cm_buf *b)
{
	struct pub_oob	*p = NULL;
	struct cm_err	 err;

	cm_buf_reset(b);
	if (pub_oob_write(o, b, &err) != 0) {
		fprintf(stderr, "%s\n", err.msg);
		return NULL;
	}
	if (pub_oob_parse("rt", b->data, b->len, o->type, &p, &err) != 0)
		fprintf(stderr, "%s\n", err.msg);
	return p;
}

static void
test_roundtrip(void **state)
{
	struct pub_oob		 o, *p;
	struct pub_oob_referral	 ref;
	struct cm_buf		 b = CM_BUF_INIT;
	uint8_t			*ta, tok[3] = { 1, 2, 3 };
	size_t			 talen;

	ta = make_cert(0, &talen);
	memset(&o, 0, sizeof(o));
	o.type = PUB_OOB_CHILD_REQUEST;
	o.handle = "Bob/child-1_x";
	o.tag = "t&1";
	o.bpki_ta = ta;
	o.bpki_ta_len = talen;
	assert_non_null(p = roundtrip(&o, &b));
	assert_non_null(strstr(cm_buf_cstr(&b), "<child_request " NS
	    " version=\"1\""));
	assert_string_equal(p->handle, o.handle);
	assert_string_equal(p->tag, "t&1");
	assert_int_equal(p->bpki_ta_len, talen);
	assert_memory_equal(p->bpki_ta, ta, talen);
	pub_oob_free(p);

	o.type = PUB_OOB_PARENT_RESPONSE;
	o.tag = NULL;
	o.service_uri = "https://parent.example/up-down/Alice/Bob";
	o.parent_handle = "Alice";
	o.offer = 1;
	assert_non_null(p = roundtrip(&o, &b));
	assert_string_equal(p->parent_handle, "Alice");
	assert_string_equal(p->service_uri, o.service_uri);
	assert_true(p->offer);
	assert_int_equal(p->nreferrals, 0);
	pub_oob_free(p);

	o.offer = 0;
	ref.referrer = "Alice";
	ref.contact_uri = "https://alice.example/contact";
	ref.token = tok;
	ref.token_len = 3;
	o.referrals = &ref;
	o.nreferrals = 1;
	assert_non_null(p = roundtrip(&o, &b));
	assert_int_equal(p->nreferrals, 1);
	assert_string_equal(p->referrals[0].referrer, "Alice");
	assert_string_equal(p->referrals[0].contact_uri, ref.contact_uri);
	assert_memory_equal(p->referrals[0].token, tok, 3);
	pub_oob_free(p);

	o.type = PUB_OOB_PUBLISHER_REQUEST;
	o.service_uri = NULL;
	o.parent_handle = NULL;
	ref.contact_uri = NULL;
	assert_non_null(p = roundtrip(&o, &b));
	assert_int_equal(p->nreferrals, 1);
	assert_null(p->referrals[0].contact_uri);
	pub_oob_free(p);

	o.type = PUB_OOB_REPOSITORY_RESPONSE;
	o.referrals = NULL;
	o.nreferrals = 0;
	o.service_uri = "https://pub.example/rfc8181/Bob/";
	o.sia_base = "rsync://rsync.example/repo/Bob/";
	o.rrdp_notification_uri = "https://rrdp.example/notification.xml";
	assert_non_null(p = roundtrip(&o, &b));
	assert_string_equal(p->sia_base, o.sia_base);
	assert_string_equal(p->rrdp_notification_uri, o.rrdp_notification_uri);
	assert_string_equal(p->handle, o.handle);
	pub_oob_free(p);
	o.rrdp_notification_uri = NULL;		/* optional */
	assert_non_null(p = roundtrip(&o, &b));
	assert_null(p->rrdp_notification_uri);
	pub_oob_free(p);

	memset(&o, 0, sizeof(o));
	o.type = PUB_OOB_ERROR;
	o.reason = "refused";
	assert_non_null(p = roundtrip(&o, &b));
	assert_string_equal(p->reason, "refused");
	pub_oob_free(p);

	free(ta);
	cm_buf_free(&b);
}

static void
test_write_rules(void **state)
{
	struct pub_oob	 o;
	struct cm_buf	 b = CM_BUF_INIT;
	struct cm_err	 err;
	uint8_t		*ta, *other;
	size_t		 talen, olen;

	ta = make_cert(0, &talen);
	other = make_cert(1, &olen);
	memset(&o, 0, sizeof(o));
	o.type = PUB_OOB_CHILD_REQUEST;
	o.handle = "Bob\"><x";			/* injection via a handle */
	o.bpki_ta = ta;
	o.bpki_ta_len = talen;
	assert_int_equal(pub_oob_write(&o, &b, &err), -1);
	assert_true(pubtest_err_has(&err, "is not a handle"));
	o.handle = "Bob";
	o.bpki_ta = other;
	o.bpki_ta_len = olen;
	assert_int_equal(pub_oob_write(&o, &b, &err), -1);
	assert_true(pubtest_err_has(&err, "not self-signed"));
	o.bpki_ta = ta;
	o.bpki_ta_len = talen - 1;
	assert_int_equal(pub_oob_write(&o, &b, &err), -1);
	o.bpki_ta_len = talen;
	o.sia_base = "rsync://x/y/";		/* not a child_request field */
	assert_int_equal(pub_oob_write(&o, &b, &err), -1);
	o.sia_base = NULL;
	o.tag = "x\"/><evil/>";			/* escaped, not refused */
	assert_int_equal(pub_oob_write(&o, &b, &err), 0);
	assert_null(strstr(cm_buf_cstr(&b), "<evil"));

	o.tag = NULL;
	o.type = PUB_OOB_REPOSITORY_RESPONSE;
	o.service_uri = "https://pub.example/x";
	o.sia_base = "rsync://rsync.example/repo/Bob";	/* no trailing '/' */
	assert_int_equal(pub_oob_write(&o, &b, &err), -1);
	o.sia_base = "https://rsync.example/repo/Bob/";
	assert_int_equal(pub_oob_write(&o, &b, &err), -1);
	o.sia_base = "rsync://rsync.example/repo/Bob/";
	o.rrdp_notification_uri = "http://rrdp.example/n.xml";
	assert_int_equal(pub_oob_write(&o, &b, &err), -1);
	o.rrdp_notification_uri = NULL;
	o.service_uri = "ftp://pub.example/x";
	assert_int_equal(pub_oob_write(&o, &b, &err), -1);
	o.service_uri = "http://pub.example/x";
	assert_int_equal(pub_oob_write(&o, &b, &err), 0);

	memset(&o, 0, sizeof(o));
	o.type = PUB_OOB_ERROR;
	o.reason = "because";
	assert_int_equal(pub_oob_write(&o, &b, &err), -1);
	free(ta);
	free(other);
	cm_buf_free(&b);
}

static void
test_golden(void **state)
{
	static const struct {
		const char		*file;
		enum pub_oob_type	 type;
	} g[] = {
		{ "oob_child_request.xml", PUB_OOB_CHILD_REQUEST },
		{ "oob_parent_response.xml", PUB_OOB_PARENT_RESPONSE },
		{ "oob_parent_response_referral.xml", PUB_OOB_PARENT_RESPONSE },
		{ "oob_publisher_request.xml", PUB_OOB_PUBLISHER_REQUEST },
		{ "oob_repository_response.xml", PUB_OOB_REPOSITORY_RESPONSE },
	};
	struct pub_oob	*o[5];
	struct cm_err	 err;
	uint8_t		*x;
	size_t		 len;

	for (int i = 0; i < 5; i++) {
		assert_non_null(x = pubtest_read(g[i].file, &len));
		if (pub_oob_parse(g[i].file, x, len, 0, &o[i], &err) != 0)
			fprintf(stderr, "%s\n", err.msg);
		assert_non_null(o[i]);
		assert_int_equal(o[i]->type, g[i].type);
		/* the wrong expected type is refused */
		assert_int_equal(pub_oob_parse(g[i].file, x, len, g[i].type == 1 ?
		    2 : 1, &(struct pub_oob *){ NULL }, &err), -1);
		assert_true(pubtest_err_has(&err, "expected"));
		free(x);
	}
	assert_string_equal(o[0]->handle, "Bob");
	assert_true(o[0]->bpki_ta_len > 300);
	assert_string_equal(o[1]->parent_handle, "Alice");
	assert_string_equal(o[1]->handle, "Bob-42");
	assert_true(o[1]->offer);
	assert_int_equal(o[2]->nreferrals, 1);
	assert_string_equal(o[2]->referrals[0].referrer, "Alice/Bob-42");
	assert_string_equal(o[2]->tag, "A0001");
	assert_string_equal(o[3]->handle, "Bob");
	assert_string_equal(o[4]->sia_base, "rsync://a.example/rpki/Alice/Bob-42/");
	assert_string_equal(o[4]->rrdp_notification_uri,
	    "https://rrdp.a.example/rrdp/notify.xml");
	assert_string_equal(o[4]->service_uri,
	    "http://a.example/publication/Alice/Bob-42");
	for (int i = 0; i < 5; i++)
		pub_oob_free(o[i]);
}

/* Substitutes the golden child_request's TA into a template with "%s". */
static void
expect_bad(const char *tmpl, const char *why)
{
	struct pub_oob	*o = NULL;
	struct cm_err	 err;
	uint8_t		*ta;
	size_t		 talen;
	struct cm_buf	 b64 = CM_BUF_INIT;
	char		*x;

	ta = make_cert(0, &talen);
	assert_int_equal(cm_b64_encode(ta, talen, &b64), 0);
	assert_true(asprintf(&x, tmpl, cm_buf_cstr(&b64)) > 0);
	cm_err_clear(&err);
	if (pub_oob_parse("bad", (uint8_t *)x, strlen(x), 0, &o, &err) != -1) {
		fprintf(stderr, "accepted: %s\n", x);
		fail();
	}
	assert_null(o);
	if (!pubtest_err_has(&err, why)) {
		fprintf(stderr, "for: %s\n", tmpl);
		fail();
	}
	free(x);
	free(ta);
	cm_buf_free(&b64);
}

static void
test_strict(void **state)
{
#define CR(attrs, body) "<child_request " attrs ">" body "</child_request>"
#define CRA NS " version=\"1\" child_handle=\"Bob\""
#define TA "<child_bpki_ta>%s</child_bpki_ta>"
	char	*x;

	expect_bad(CR("xmlns=\"http://www.hactrn.net/uris/rpki/rpki-setup\" "
	    "version=\"1\" child_handle=\"Bob\"", TA), "namespace must be");
	expect_bad(CR(NS " version=\"2\" child_handle=\"Bob\"", TA), "version");
	expect_bad(CR(NS " child_handle=\"Bob\"", TA), "missing attribute version");
	expect_bad(CR(NS " version=\"1\"", TA), "missing attribute child_handle");
	expect_bad(CR(NS " version=\"1\" child_handle=\"Bob Smith\"", TA),
	    "is not a handle");
	expect_bad(CR(NS " version=\"1\" child_handle=\"Bob&lt;x\"", TA),
	    "is not a handle");
	expect_bad(CR(CRA " parent_handle=\"x\"", TA), "unknown attribute");
	expect_bad(CR(CRA, ""), "missing <child_bpki_ta>");
	expect_bad(CR(CRA, "<parent_bpki_ta>%s</parent_bpki_ta>"),
	    "unexpected element <parent_bpki_ta>");
	expect_bad(CR(CRA, "<child_bpki_ta>%1$s</child_bpki_ta><child_bpki_ta>"
	    "%1$s</child_bpki_ta>"), "unexpected element <child_bpki_ta>");
	expect_bad(CR(CRA, TA "<offer/>"), "unexpected element <offer>");
	expect_bad(CR(CRA, "<child_bpki_ta x=\"1\">%s</child_bpki_ta>"),
	    "unknown attribute");
	expect_bad(CR(CRA, "<child_bpki_ta>%s!</child_bpki_ta>"), "base64");
	expect_bad(CR(CRA, "<child_bpki_ta>%.21s</child_bpki_ta>"), "base64");
	expect_bad(CR(CRA, "<child_bpki_ta>%.0sTUlJ</child_bpki_ta>"),
	    "not a DER certificate");
	expect_bad(CR(CRA, "<child_bpki_ta>%.0s</child_bpki_ta>"), "is empty");
	expect_bad("<parent_response " NS " version=\"1\" service_uri=\"https://"
	    "p.example/x\" child_handle=\"Bob\" parent_handle=\"Alice\">"
	    "<parent_bpki_ta>%s</parent_bpki_ta><offer/><referral referrer=\""
	    "Alice\">AAAA</referral></parent_response>", "exclude each other");
	expect_bad("<parent_response " NS " version=\"1\" service_uri=\"https://"
	    "p.example/x\" child_handle=\"Bob\" parent_handle=\"Alice\">"
	    "<parent_bpki_ta>%s</parent_bpki_ta><offer>x</offer>"
	    "</parent_response>", "<offer>");
	expect_bad("<parent_response " NS " version=\"1\" service_uri=\"https://"
	    "p.example/x\" child_handle=\"Bob\">"
	    "<parent_bpki_ta>%s</parent_bpki_ta></parent_response>",
	    "missing parent_handle");
	expect_bad("<parent_response " NS " version=\"1\" service_uri=\"file:///"
	    "etc/passwd\" child_handle=\"Bob\" parent_handle=\"Alice\">"
	    "<parent_bpki_ta>%s</parent_bpki_ta></parent_response>",
	    "service_uri");
	expect_bad("<publisher_request " NS " version=\"1\" publisher_handle=\""
	    "Bob\"><publisher_bpki_ta>%s</publisher_bpki_ta><referral referrer="
	    "\"Alice\" contact_uri=\"https://x/\">AAAA</referral>"
	    "</publisher_request>", "unknown attribute \"contact_uri\"");
	expect_bad("<publisher_request " NS " version=\"1\" publisher_handle=\""
	    "Bob\"><publisher_bpki_ta>%s</publisher_bpki_ta><referral>AAAA"
	    "</referral></publisher_request>", "missing attribute referrer");
	expect_bad("<repository_response " NS " version=\"1\" service_uri=\""
	    "https://p.example/x\" publisher_handle=\"Bob\" sia_base=\"rsync://"
	    "r.example/repo/../Bob/\"><repository_bpki_ta>%s"
	    "</repository_bpki_ta></repository_response>", "\"..\"");
	expect_bad("<repository_response " NS " version=\"1\" service_uri=\""
	    "https://p.example/x\" publisher_handle=\"Bob\">"
	    "<repository_bpki_ta>%s</repository_bpki_ta></repository_response>",
	    "missing sia_base");
	expect_bad("<error " NS " version=\"1\" reason=\"sorry\"/>%.0s",
	    "reason must be");
	expect_bad("<unknown_request " NS " version=\"1\"/>%.0s",
	    "unexpected root element");
	expect_bad("<!DOCTYPE child_request [<!ENTITY e SYSTEM \"file:///etc/"
	    "passwd\">]>" CR(CRA, TA "&e;"), "DOCTYPE");
	assert_non_null(x = pubtest_laughs("child_request"));
	expect_bad(x, "DOCTYPE");
	free(x);
	/* a handle of 256 bytes */
	assert_true(asprintf(&x, CR(NS " version=\"1\" child_handle=\"%0256d\"",
	    "<child_bpki_ta>%%s</child_bpki_ta>"), 0) > 0);
	expect_bad(x, "longer than 255");
	free(x);
	assert_true(pub_oob_handle_ok(""));
	assert_true(pub_oob_handle_ok("a-b_c/D9"));
	assert_false(pub_oob_handle_ok("a.b"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_write_rules),
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_strict),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
