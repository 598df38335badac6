/* Unit tests for ca/updown: RFC 6492 messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/updown.h"

#define HDR "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" \
	"<message xmlns=\"http://www.apnic.net/specs/rescerts/up-down/\" " \
	"version=\"1\" sender=\"child\" recipient=\"parent\" "

static struct ca_ud_msg *
parse_ok(const char *xml)
{
	struct ca_ud_msg	*m = NULL;
	struct ca_ud_error	 e;

	if (ca_ud_parse("peer", (const uint8_t *)xml, strlen(xml), &m, &e) != 0)
		fail_msg("parse failed: %s", e.err.msg);
	return m;
}

static void
parse_bad(const char *xml, int status, const char *want)
{
	struct ca_ud_msg	*m = NULL;
	struct ca_ud_error	 e;

	assert_int_equal(ca_ud_parse("peer", (const uint8_t *)xml, strlen(xml),
	    &m, &e), -1);
	assert_null(m);
	assert_int_equal(e.err.code, CM_EINVAL);
	assert_int_equal(e.status, status);
	if (strstr(e.err.msg, want) == NULL)
		fail_msg("\"%s\" lacks \"%s\"", e.err.msg, want);
	assert_true(strncmp(e.err.msg, "peer: ", 6) == 0);
}

static void
roundtrip(const struct ca_ud_msg *m, struct ca_ud_msg **back)
{
	struct cm_buf		b = CM_BUF_INIT;
	struct cm_err		err;
	struct ca_ud_error	e;

	if (ca_ud_write(m, &b, &err) != 0)
		fail_msg("write: %s", err.msg);
	if (ca_ud_parse("self", b.data, b.len, back, &e) != 0)
		fail_msg("reparse: %s", e.err.msg);
	cm_buf_free(&b);
}

static void
test_list(void **state)
{
	struct ca_ud_msg *m = parse_ok(HDR "type=\"list\"/>");

	assert_int_equal(m->type, CA_UD_LIST);
	assert_string_equal(m->sender, "child");
	assert_string_equal(m->recipient, "parent");
	ca_ud_free(m);
}

static void
test_list_response(void **state)
{
	struct ca_ud_msg *m, *b;

	m = parse_ok(HDR "type=\"list_response\">\n"
	    "<class class_name=\"0\" cert_url=\"rsync://p.example/repo/parent.cer\" "
	    "resource_set_as=\"65000,64496-64511\" "
	    "resource_set_ipv4=\"198.51.100.0-198.51.100.20,192.0.2.0/24\" "
	    "resource_set_ipv6=\"2001:db8::/32\" "
	    "resource_set_notafter=\"2027-06-30T00:00:00Z\">\n"
	    "<certificate cert_url=\"rsync://p.example/repo/c.cer\" "
	    "req_resource_set_ipv4=\"\">AQID</certificate>\n"
	    "<issuer>BAUG</issuer>\n</class></message>");
	assert_int_equal(m->type, CA_UD_LIST_RESPONSE);
	assert_int_equal(m->nclasses, 1);
	assert_string_equal(m->classes[0].class_name, "0");
	/* Stored canonically: sorted, AS without the prefix. */
	assert_string_equal(m->classes[0].res_as, "64496-64511,65000");
	assert_string_equal(m->classes[0].res_v4,
	    "192.0.2.0/24,198.51.100.0-198.51.100.20");
	assert_int_equal(m->classes[0].notafter, 1814313600);
	assert_int_equal(m->classes[0].ncerts, 1);
	assert_int_equal(m->classes[0].certs[0].der_len, 3);
	assert_string_equal(m->classes[0].certs[0].req_v4, "");
	assert_null(m->classes[0].certs[0].req_as);
	assert_int_equal(m->classes[0].issuer_len, 3);
	assert_int_equal(m->classes[0].issuer[2], 6);

	roundtrip(m, &b);
	assert_int_equal(b->type, CA_UD_LIST_RESPONSE);
	assert_string_equal(b->classes[0].res_v6, "2001:db8::/32");
	assert_int_equal(b->classes[0].notafter, m->classes[0].notafter);
	assert_memory_equal(b->classes[0].certs[0].der, "\1\2\3", 3);
	assert_null(b->classes[0].certs[0].req_v6);
	ca_ud_free(b);
	ca_ud_free(m);
}

/*
 * Several classes (RFC 6492 §3.3.2), each with its own issuer and
 * entitlement, one without a certificate for the child yet; a class named
 * twice is refused.
 */
static void
test_list_two_classes(void **state)
{
	struct ca_ud_msg *m, *b;

	m = parse_ok(HDR "type=\"list_response\">"
	    "<class class_name=\"v4\" cert_url=\"rsync://p.example/a.cer\" "
	    "resource_set_as=\"64496\" resource_set_ipv4=\"192.0.2.0/24\" "
	    "resource_set_ipv6=\"\" "
	    "resource_set_notafter=\"2027-06-30T00:00:00Z\">"
	    "<certificate cert_url=\"rsync://p.example/a/c.cer\">AQID"
	    "</certificate><issuer>BAUG</issuer></class>"
	    "<class class_name=\"v6\" cert_url=\"rsync://p.example/b.cer\" "
	    "resource_set_as=\"\" resource_set_ipv4=\"\" "
	    "resource_set_ipv6=\"2001:db8::/32\" "
	    "resource_set_notafter=\"2027-03-31T00:00:00Z\">"
	    "<issuer>BwgJ</issuer></class></message>");
	assert_int_equal(m->nclasses, 2);
	assert_string_equal(m->classes[1].class_name, "v6");
	assert_int_equal(m->classes[1].ncerts, 0);
	assert_string_equal(m->classes[1].res_v4, "");
	assert_string_equal(m->classes[1].res_v6, "2001:db8::/32");
	assert_int_equal(m->classes[1].issuer[0], 7);
	assert_true(m->classes[1].notafter < m->classes[0].notafter);
	roundtrip(m, &b);
	assert_int_equal(b->nclasses, 2);
	assert_string_equal(b->classes[0].class_name, "v4");
	assert_int_equal(b->classes[0].ncerts, 1);
	assert_string_equal(b->classes[1].res_v6, "2001:db8::/32");
	ca_ud_free(b);
	ca_ud_free(m);
	parse_bad(HDR "type=\"list_response\">"
	    "<class class_name=\"v4\" cert_url=\"rsync://p.example/a.cer\" "
	    "resource_set_as=\"64496\" resource_set_ipv4=\"\" "
	    "resource_set_ipv6=\"\" "
	    "resource_set_notafter=\"2027-06-30T00:00:00Z\">"
	    "<issuer>BAUG</issuer></class>"
	    "<class class_name=\"v4\" cert_url=\"rsync://p.example/b.cer\" "
	    "resource_set_as=\"64497\" resource_set_ipv4=\"\" "
	    "resource_set_ipv6=\"\" "
	    "resource_set_notafter=\"2027-06-30T00:00:00Z\">"
	    "<issuer>BAUG</issuer></class></message>", 0, "listed twice");
}

static void
test_issue_revoke_error(void **state)
{
	struct ca_ud_msg	 m, *b;
	uint8_t			 csr[300];
	size_t			 i;

	memset(&m, 0, sizeof(m));
	for (i = 0; i < sizeof(csr); i++)
		csr[i] = (uint8_t)i;
	m.type = CA_UD_ISSUE;
	m.sender = "child <&\"x\">";	/* escaped by the writer */
	m.recipient = "parent";
	m.class_name = "1";
	m.req_v4 = "10.0.0.0/8";
	m.pkcs10 = csr;
	m.pkcs10_len = sizeof(csr);
	roundtrip(&m, &b);
	assert_int_equal(b->type, CA_UD_ISSUE);
	assert_string_equal(b->sender, "child <&\"x\">");
	assert_string_equal(b->class_name, "1");
	assert_string_equal(b->req_v4, "10.0.0.0/8");
	assert_null(b->req_as);
	assert_int_equal(b->pkcs10_len, sizeof(csr));
	assert_memory_equal(b->pkcs10, csr, sizeof(csr));
	ca_ud_free(b);

	memset(&m, 0, sizeof(m));
	m.type = CA_UD_REVOKE;
	m.sender = "c";
	m.recipient = "p";
	m.class_name = "0";
	for (i = 0; i < 20; i++)
		m.ski[i] = (uint8_t)(0xf8 + i);	/* base64 of these uses - and _ */
	roundtrip(&m, &b);
	assert_int_equal(b->type, CA_UD_REVOKE);
	assert_memory_equal(b->ski, m.ski, 20);
	ca_ud_free(b);

	memset(&m, 0, sizeof(m));
	m.type = CA_UD_ERROR_RESPONSE;
	m.sender = "p";
	m.recipient = "c";
	m.status = CA_UD_E_NO_RESOURCES;
	m.description = "no resources";
	roundtrip(&m, &b);
	assert_int_equal(b->status, 1202);
	assert_string_equal(b->description, "no resources");
	ca_ud_free(b);

	m.status = 1999;
	{
		struct cm_buf	out = CM_BUF_INIT;
		struct cm_err	err;

		assert_int_equal(ca_ud_write(&m, &out, &err), -1);
		assert_int_equal(out.len, 0);
		cm_buf_free(&out);
	}
	assert_string_equal(ca_ud_status_text(1302), "revoke - no such key");
}

static void
test_revoke_ski_text(void **state)
{
	/* g(SKI): URL-safe base64 of 20 octets, no padding (27 chars). */
	struct ca_ud_msg *m = parse_ok(HDR "type=\"revoke\">"
	    "<key class_name=\"0\" ski=\"-_-_AAAAAAAAAAAAAAAAAAAAAAA\"/></message>");

	assert_int_equal(m->ski[0], 0xfb);
	assert_int_equal(m->ski[1], 0xff);
	ca_ud_free(m);
	parse_bad(HDR "type=\"revoke\"><key class_name=\"0\" "
	    "ski=\"+/+/AAAAAAAAAAAAAAAAAAAAAAA\"/></message>", 0, "not base64url");
	parse_bad(HDR "type=\"revoke\"><key class_name=\"0\" "
	    "ski=\"-_-_AAAAAAAAAAAAAAAAAAAAAAA=\"/></message>", 0, "20 octets");
}

static void
test_strict(void **state)
{
	parse_bad("<message/>", 0, "root is not <message>");
	parse_bad("not xml", 0, "not well-formed");
	parse_bad("<?xml version=\"1.0\"?>\n<!DOCTYPE message [<!ENTITY a "
	    "\"aaaaaaaa\">]>\n<message xmlns=\"http://www.apnic.net/specs/"
	    "rescerts/up-down/\" version=\"1\" sender=\"&a;\" recipient=\"p\" "
	    "type=\"list\"/>", 0, "DTD");
	parse_bad("<message xmlns=\"http://example.com/\" version=\"1\" "
	    "sender=\"c\" recipient=\"p\" type=\"list\"/>", 0, "namespace");
	parse_bad("<message xmlns=\"http://www.apnic.net/specs/rescerts/up-down/\""
	    " version=\"2\" sender=\"c\" recipient=\"p\" type=\"list\"/>",
	    CA_UD_E_VERSION, "version \"2\"");
	parse_bad(HDR "type=\"gimme\"/>", CA_UD_E_TYPE, "unrecognised");
	parse_bad(HDR "type=\"list\" extra=\"1\"/>", 0, "unexpected attribute extra");
	parse_bad(HDR "type=\"list\"><x/></message>", 0, "must be empty");
	parse_bad(HDR "type=\"list\">text</message>", 0, "unexpected text");
	parse_bad(HDR "type=\"issue\"><request class_name=\"0\">!!!</request>"
	    "</message>", CA_UD_E_BAD_CSR, "bad base64");
	parse_bad(HDR "type=\"issue\"><request class_name=\"0\" "
	    "req_resource_set_ipv4=\"10.0.0.1/8\">AQID</request></message>", 0,
	    "req_resource_set_ipv4");
	parse_bad(HDR "type=\"issue\"><request class_name=\"0\">AQID</request>"
	    "<request class_name=\"0\">AQID</request></message>", 0,
	    "expected one <request>");
	parse_bad(HDR "type=\"issue\"/>", 0, "exactly one child");
	parse_bad(HDR "type=\"issue_response\"><class class_name=\"0\" "
	    "cert_url=\"rsync://a/b.cer\" resource_set_as=\"\" "
	    "resource_set_ipv4=\"\" resource_set_ipv6=\"\" "
	    "resource_set_notafter=\"2027-06-30T00:00:00Z\">"
	    "<issuer>AQID</issuer></class></message>", 0, "exactly one class");
	parse_bad(HDR "type=\"list_response\"><class class_name=\"0\" "
	    "cert_url=\"rsync://a/b.cer\" resource_set_as=\"\" "
	    "resource_set_ipv4=\"\" resource_set_ipv6=\"\" "
	    "resource_set_notafter=\"2027-06-30\">"
	    "<issuer>AQID</issuer></class></message>", 0, "resource_set_notafter");
	parse_bad(HDR "type=\"list_response\"><class class_name=\"0\" "
	    "cert_url=\"rsync://a/b.cer\" resource_set_as=\"\" "
	    "resource_set_ipv6=\"\" "
	    "resource_set_notafter=\"2027-06-30T00:00:00Z\">"
	    "<issuer>AQID</issuer></class></message>", 0,
	    "missing attribute resource_set_ipv4");
	parse_bad(HDR "type=\"list_response\"><class class_name=\"0\" "
	    "cert_url=\"rsync://a/b.cer\" resource_set_as=\"\" "
	    "resource_set_ipv4=\"\" resource_set_ipv6=\"\" "
	    "resource_set_notafter=\"2027-06-30T00:00:00Z\"/></message>", 0,
	    "no <issuer>");
	parse_bad(HDR "type=\"error_response\"><status>42</status></message>", 0,
	    "unknown status");
	parse_bad(HDR "type=\"error_response\"><description>x</description>"
	    "</message>", 0, "unexpected or repeated");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_list_response),
		cmocka_unit_test(test_list_two_classes),
		cmocka_unit_test(test_issue_revoke_error),
		cmocka_unit_test(test_revoke_ski_text),
		cmocka_unit_test(test_strict),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
