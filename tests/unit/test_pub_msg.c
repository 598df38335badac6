/* Unit tests for publish/pub_msg (RFC 8181 messages, both sides). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cm_buf.h"
#include "common/cm_enc.h"
#include "publish/pub_msg.h"

#include "pub_testutil.h"

#define NS	"xmlns=\"http://www.hactrn.net/uris/rpki/publication-spec/\""
#define H64	"5fb1679e08674059b72e271d8902c11a127bb5301b055dc77fa03932ada56a56"
#define BASE	"rsync://wombat.example/Alice/"

static struct pub_msg *
parse_ok(const char *xml, int reply)
{
	struct pub_msg	*m = NULL;
	struct cm_err	 err;

	if (pub_msg_parse("t", (const uint8_t *)xml, strlen(xml), reply, &m,
	    &err) != 0)
		fprintf(stderr, "%s\n", err.msg);
	return m;
}

static void
test_query_roundtrip(void **state)
{
	struct pub_msg	*q, *p;
	struct cm_buf	 b = CM_BUF_INIT;
	struct cm_err	 err;
	uint8_t		 obj[300], h[32];

	for (size_t i = 0; i < sizeof(obj); i++)
		obj[i] = (uint8_t)i;
	cm_sha256("cur", 3, h);
	assert_non_null(q = pub_msg_new(0));
	assert_int_equal(pub_msg_add(q, PUB_PDU_PUBLISH, "t1", BASE "a.roa",
	    NULL, obj, sizeof(obj), &err), 0);
	assert_int_equal(pub_msg_add(q, PUB_PDU_PUBLISH, "t&2", BASE "b.mft",
	    h, obj, 10, &err), 0);
	assert_int_equal(pub_msg_add(q, PUB_PDU_WITHDRAW, NULL, BASE "c&d.roa",
	    h, NULL, 0, &err), 0);
	/* wrong shapes for a query */
	assert_int_equal(pub_msg_add(q, PUB_PDU_WITHDRAW, NULL, BASE "x", NULL,
	    NULL, 0, &err), -1);
	assert_int_equal(pub_msg_add(q, PUB_PDU_PUBLISH, NULL, BASE "x", NULL,
	    NULL, 0, &err), -1);
	assert_int_equal(pub_msg_add(q, PUB_PDU_LIST, NULL, BASE "x", NULL,
	    NULL, 0, &err), -1);
	assert_int_equal(pub_msg_add(q, PUB_PDU_LIST, "bad\ttag", NULL, NULL,
	    NULL, 0, &err), -1);
	assert_int_equal(pub_msg_add_error(q, PUB_ERR_OTHER_ERROR, NULL, NULL,
	    &err), -1);
	assert_int_equal(pub_msg_write(q, &b, &err), 0);
	assert_int_equal(strncmp((char *)b.data, "<msg " NS
	    " type=\"query\" version=\"4\">", strlen("<msg " NS
	    " type=\"query\" version=\"4\">")), 0);
	assert_non_null(strstr(cm_buf_cstr(&b), "tag=\"t&amp;2\""));

	assert_non_null(p = parse_ok(cm_buf_cstr(&b), 0));
	assert_int_equal(p->npdus, 3);
	assert_int_equal(p->pdus[0].type, PUB_PDU_PUBLISH);
	assert_string_equal(p->pdus[0].tag, "t1");
	assert_false(p->pdus[0].has_hash);		/* create */
	assert_int_equal(p->pdus[0].len, sizeof(obj));
	assert_memory_equal(p->pdus[0].data, obj, sizeof(obj));
	assert_string_equal(p->pdus[1].tag, "t&2");
	assert_true(p->pdus[1].has_hash);		/* replace */
	assert_memory_equal(p->pdus[1].hash, h, 32);
	assert_int_equal(p->pdus[2].type, PUB_PDU_WITHDRAW);
	assert_null(p->pdus[2].tag);
	assert_string_equal(p->pdus[2].uri, BASE "c&d.roa");
	/* a query is not a reply */
	pub_msg_free(p);
	assert_int_equal(pub_msg_parse("t", b.data, b.len, 1, &p, &err), -1);
	assert_null(p);
	assert_true(pubtest_err_has(&err, "expected reply"));
	pub_msg_free(q);
	cm_buf_free(&b);
}

static void
test_reply_roundtrip(void **state)
{
	struct pub_msg	*q, *r, *p;
	struct cm_buf	 b = CM_BUF_INIT;
	struct cm_err	 err;
	uint8_t		 h[32], obj[4] = { 1, 2, 3, 4 };

	cm_sha256("x", 1, h);
	assert_non_null(q = pub_msg_new(0));
	assert_int_equal(pub_msg_add(q, PUB_PDU_PUBLISH, "a", BASE "a.roa",
	    NULL, obj, 4, &err), 0);
	assert_int_equal(pub_msg_add(q, PUB_PDU_WITHDRAW, "b", BASE "b.roa",
	    h, NULL, 0, &err), 0);

	/* success reply echoes tag and uri */
	assert_non_null(r = pub_msg_new(1));
	assert_int_equal(pub_msg_add(r, PUB_PDU_WITHDRAW, "b", BASE "b.roa",
	    NULL, NULL, 0, &err), 0);
	assert_int_equal(pub_msg_add(r, PUB_PDU_PUBLISH, "a", BASE "a.roa",
	    NULL, NULL, 0, &err), 0);
	assert_int_equal(pub_msg_add(r, PUB_PDU_PUBLISH, "a", BASE "a.roa",
	    NULL, obj, 4, &err), -1);		/* no content in replies */
	assert_int_equal(pub_msg_write(r, &b, &err), 0);
	assert_non_null(p = parse_ok(cm_buf_cstr(&b), 1));
	assert_int_equal(p->npdus, 2);
	assert_int_equal(pub_msg_reply_check(q, p, &err), 0);
	pub_msg_free(p);
	/* a reply that misses one PDU */
	r->npdus = 1;
	assert_int_equal(pub_msg_reply_check(q, r, &err), -1);
	assert_true(pubtest_err_has(&err, "acknowledges 1 of 2"));
	r->npdus = 2;
	pub_msg_free(r);

	/* list reply */
	cm_buf_reset(&b);
	assert_non_null(r = pub_msg_new(1));
	assert_int_equal(pub_msg_add(r, PUB_PDU_LIST, NULL, BASE "a.roa", h,
	    NULL, 0, &err), 0);
	assert_int_equal(pub_msg_add(r, PUB_PDU_LIST, NULL, BASE "b.roa", NULL,
	    NULL, 0, &err), -1);		/* list reply needs the hash */
	assert_int_equal(pub_msg_write(r, &b, &err), 0);
	assert_non_null(p = parse_ok(cm_buf_cstr(&b), 1));
	assert_int_equal(p->pdus[0].type, PUB_PDU_LIST);
	assert_memory_equal(p->pdus[0].hash, h, 32);
	pub_msg_free(p);
	pub_msg_free(r);
	pub_msg_free(q);
	cm_buf_free(&b);
}

static void
test_report_error(void **state)
{
	struct pub_msg	*q, *r, *p;
	struct cm_buf	 b = CM_BUF_INIT;
	struct cm_err	 err;
	uint8_t		 h[32], obj[4] = { 1, 2, 3, 4 };

	cm_sha256("x", 1, h);
	assert_non_null(q = pub_msg_new(0));
	assert_int_equal(pub_msg_add(q, PUB_PDU_PUBLISH, "tag-7", BASE "a.roa",
	    h, obj, 4, &err), 0);
	for (int c = PUB_ERR_XML_ERROR; c <= PUB_ERR_OTHER_ERROR; c++) {
		enum pub_errcode back;

		assert_int_equal(pub_errcode_parse(pub_errcode_name(c), &back), 0);
		assert_int_equal(back, c);
		cm_buf_reset(&b);
		assert_non_null(r = pub_msg_new(1));
		assert_int_equal(pub_msg_add_error(r, (enum pub_errcode)c,
		    "it <failed> & \"why\"", &q->pdus[0], &err), 0);
		assert_int_equal(pub_msg_write(r, &b, &err), 0);
		assert_non_null(strstr(cm_buf_cstr(&b), pub_errcode_name(c)));
		assert_non_null(p = parse_ok(cm_buf_cstr(&b), 1));
		assert_int_equal(p->npdus, 1);
		assert_int_equal(p->pdus[0].type, PUB_PDU_ERROR);
		assert_int_equal(p->pdus[0].error, c);
		assert_string_equal(p->pdus[0].tag, "tag-7");
		assert_string_equal(p->pdus[0].error_text,
		    "it <failed> & \"why\"");
		assert_non_null(p->pdus[0].failed);
		assert_int_equal(p->pdus[0].failed->type, PUB_PDU_PUBLISH);
		assert_string_equal(p->pdus[0].failed->uri, BASE "a.roa");
		assert_memory_equal(p->pdus[0].failed->hash, h, 32);
		assert_int_equal(p->pdus[0].failed->len, 4);
		assert_int_equal(pub_msg_reply_check(q, p, &err), -1);
		assert_true(pubtest_err_has(&err, pub_errcode_name(c)));
		assert_true(pubtest_err_has(&err, "it <failed>"));
		pub_msg_free(p);
		pub_msg_free(r);
	}
	assert_int_equal(pub_errcode_parse("no_such_error", &(enum pub_errcode){
	    0 }), -1);
	/* error without text or failed PDU */
	cm_buf_reset(&b);
	assert_non_null(r = pub_msg_new(1));
	assert_int_equal(pub_msg_add_error(r, PUB_ERR_XML_ERROR, NULL, NULL,
	    &err), 0);
	assert_int_equal(pub_msg_write(r, &b, &err), 0);
	assert_non_null(p = parse_ok(cm_buf_cstr(&b), 1));
	assert_null(p->pdus[0].error_text);
	assert_null(p->pdus[0].failed);
	pub_msg_free(p);
	pub_msg_free(r);
	pub_msg_free(q);
	cm_buf_free(&b);
}

static void
test_golden(void **state)
{
	static const char *const files[] = { "pubmsg_query.xml",
		"pubmsg_list_query.xml", "pubmsg_reply.xml",
		"pubmsg_list_reply.xml", "pubmsg_error_reply.xml" };
	static const size_t npdus[] = { 3, 1, 3, 2, 1 };
	struct pub_msg	*m[5];
	struct cm_err	 err;
	uint8_t		*x;
	size_t		 len, bad;
	enum pub_errcode code;

	for (int i = 0; i < 5; i++) {
		assert_non_null(x = pubtest_read(files[i], &len));
		if (pub_msg_parse(files[i], x, len, i >= 2, &m[i], &err) != 0)
			fprintf(stderr, "%s\n", err.msg);
		assert_non_null(m[i]);
		assert_int_equal(m[i]->npdus, npdus[i]);
		free(x);
	}
	assert_true(m[0]->pdus[0].len == 512);
	assert_false(m[0]->pdus[0].has_hash);
	assert_true(m[0]->pdus[1].has_hash);
	assert_string_equal(m[0]->pdus[2].tag, "baz");
	assert_int_equal(m[1]->pdus[0].type, PUB_PDU_LIST);
	assert_int_equal(pub_msg_check_query(m[0], BASE, &bad, &code, &err), 0);
	assert_int_equal(pub_msg_reply_check(m[0], m[2], &err), 0);
	assert_int_equal(m[4]->pdus[0].error, PUB_ERR_NO_OBJECT_MATCHING_HASH);
	assert_string_equal(m[4]->pdus[0].error_text,
	    "Can't update object: hash does not match");
	assert_string_equal(m[4]->pdus[0].failed->tag, "bar");
	for (int i = 0; i < 5; i++)
		pub_msg_free(m[i]);
}

static void
test_check_query(void **state)
{
	struct pub_msg	*q;
	struct cm_err	 err;
	uint8_t		 h[32] = { 0 }, obj[1] = { 0 };
	size_t		 bad;
	enum pub_errcode code;

	assert_non_null(q = pub_msg_new(0));
	assert_int_equal(pub_msg_add(q, PUB_PDU_PUBLISH, NULL, BASE "a.roa",
	    NULL, obj, 1, &err), 0);
	assert_int_equal(pub_msg_add(q, PUB_PDU_WITHDRAW, NULL, BASE "b.roa",
	    h, NULL, 0, &err), 0);
	assert_int_equal(pub_msg_check_query(q, BASE, &bad, &code, &err), 0);
	/* outside the sia_base */
	assert_int_equal(pub_msg_check_query(q, "rsync://wombat.example/Bob/",
	    &bad, &code, &err), -1);
	assert_int_equal(code, PUB_ERR_PERMISSION_FAILURE);
	assert_int_equal(bad, 0);
	/* the same URI twice */
	assert_int_equal(pub_msg_add(q, PUB_PDU_WITHDRAW, NULL, BASE "a.roa",
	    h, NULL, 0, &err), 0);
	assert_int_equal(pub_msg_check_query(q, BASE, &bad, &code, &err), -1);
	assert_int_equal(code, PUB_ERR_CONSISTENCY_PROBLEM);
	assert_true(bad == 0 || bad == 2);
	/* escaping through ".." or with control characters */
	q->npdus = 2;
	free(q->pdus[1].uri);
	q->pdus[1].uri = strdup(BASE "../Bob/x.roa");
	assert_int_equal(pub_msg_check_query(q, BASE, &bad, &code, &err), -1);
	assert_int_equal(bad, 1);
	assert_int_equal(code, PUB_ERR_PERMISSION_FAILURE);
	free(q->pdus[1].uri);
	q->pdus[1].uri = strdup(BASE "x\x01.roa");
	assert_int_equal(pub_msg_check_query(q, BASE, &bad, &code, &err), -1);
	assert_int_equal(code, PUB_ERR_PERMISSION_FAILURE);
	q->npdus = 3;
	pub_msg_free(q);
}

static const struct bad {
	int		 reply;
	const char	*xml;
	const char	*why;
} bad[] = {
#define Q(body) "<msg " NS " type=\"query\" version=\"4\">" body "</msg>"
#define R(body) "<msg " NS " type=\"reply\" version=\"4\">" body "</msg>"
#define OBJ "MIIE+jCCA+KgAwIBAgIBDQ=="
	{ 0, "<msg xmlns=\"http://www.hactrn.net/uris/rpki/publication-spec\" "
	    "type=\"query\" version=\"4\"/>", "namespace must be" },
	{ 0, "<p:msg xmlns:p=\"http://www.hactrn.net/uris/rpki/publication-"
	    "spec/\" type=\"query\" version=\"4\"/>", "prefix" },
	{ 0, "<msg " NS " type=\"query\" version=\"3\"/>", "version" },
	{ 0, "<msg " NS " version=\"4\"/>", "missing attribute type" },
	{ 0, "<msg " NS " type=\"reply\" version=\"4\"/>", "expected query" },
	{ 0, "<msg " NS " type=\"query\" version=\"4\" x=\"1\"/>",
	    "unknown attribute" },
	{ 0, "<query " NS " type=\"query\" version=\"4\"/>", "unexpected element" },
	{ 0, Q("<list uri=\"rsync://a/b/c\"/>"), "unknown attribute \"uri\"" },
	{ 0, Q("<list>text</list>"), "unexpected content" },
	{ 0, Q("<publish uri=\"rsync://a/b/c\"/>"), "without content" },
	{ 0, Q("<publish uri=\"rsync://a/b/c\">" "MIIE+jCC!" "</publish>"),
	    "base64" },
	{ 0, Q("<publish>" OBJ "</publish>"), "missing attribute uri" },
	{ 0, Q("<publish uri=\"http://a/b/c\">" OBJ "</publish>"), "rsync://" },
	{ 0, Q("<publish uri=\"rsync://a/b/c\" hash=\"deadf00d\">" OBJ
	    "</publish>"), "64 hex" },
	{ 0, Q("<withdraw uri=\"rsync://a/b/c\"/>"), "missing attribute hash" },
	{ 0, Q("<withdraw uri=\"rsync://a/b/c\" hash=\"" H64 "\">x</withdraw>"),
	    "unexpected content" },
	{ 0, Q("<report_error error_code=\"xml_error\"/>"), "unknown element" },
	{ 0, Q("<publish tag=\" lead\" uri=\"rsync://a/b/c\">" OBJ "</publish>"),
	    "xsd:token" },
	{ 0, Q("<publish tag=\"a&#10;b\" uri=\"rsync://a/b/c\">" OBJ
	    "</publish>"), "xsd:token" },
	{ 0, Q("<publish uri=\"rsync://a/b/c\" x:y=\"1\" xmlns:x=\"urn:x\">" OBJ
	    "</publish>"), "namespaced attribute" },
	{ 0, Q("<publish uri=\"rsync://a/b/c\" xmlns=\"urn:other\">" OBJ
	    "</publish>"), "namespace must be" },
	{ 0, Q("junk"), "unexpected text" },
	{ 1, R("<publish uri=\"rsync://a/b/c\">" OBJ "</publish>"),
	    "unexpected content" },
	{ 1, R("<list uri=\"rsync://a/b/c\"/>"), "missing attribute hash" },
	{ 1, R("<withdraw uri=\"rsync://a/b/c\" hash=\"" H64 "\"/>"),
	    "unknown attribute \"hash\"" },
	{ 1, R("<report_error error_code=\"bad_luck\"/>"), "unknown error_code" },
	{ 1, R("<report_error/>"), "missing attribute error_code" },
	{ 1, R("<report_error error_code=\"xml_error\"><oops/></report_error>"),
	    "unexpected element <oops>" },
	{ 1, R("<report_error error_code=\"xml_error\"><failed_pdu/>"
	    "<failed_pdu/></report_error>"), "unexpected <failed_pdu>" },
	{ 1, R("<report_error error_code=\"xml_error\"><error_text><b/>"
	    "</error_text></report_error>"), "only text" },
	{ 0, "<!DOCTYPE msg [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>"
	    Q("<list tag=\"&e;\"/>"), "DOCTYPE" },
	{ 0, Q("<list tag=\"&e;\"/>"), "malformed XML" },
};

static void
test_strict(void **state)
{
	struct pub_msg	*m = NULL;
	struct cm_err	 err;
	char		*x;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cm_err_clear(&err);
		if (pub_msg_parse("bad", (const uint8_t *)bad[i].xml,
		    strlen(bad[i].xml), bad[i].reply, &m, &err) != -1) {
			fprintf(stderr, "accepted bad[%zu]: %s\n", i, bad[i].xml);
			fail();
		}
		assert_null(m);
		if (!pubtest_err_has(&err, bad[i].why)) {
			fprintf(stderr, "bad[%zu]\n", i);
			fail();
		}
	}
	assert_non_null(x = pubtest_laughs("msg"));
	assert_int_equal(pub_msg_parse("laughs", (uint8_t *)x, strlen(x), 0,
	    &m, &err), -1);
	assert_true(pubtest_err_has(&err, "DOCTYPE"));
	free(x);
	/* a tag of 1025 bytes */
	assert_true(asprintf(&x, Q("<list tag=\"%01025d\"/>"), 0) > 0);
	assert_int_equal(pub_msg_parse("tag", (uint8_t *)x, strlen(x), 0, &m,
	    &err), -1);
	assert_true(pubtest_err_has(&err, "longer than 1024"));
	free(x);
	/* empty query is fine (schema: zero or more PDUs) */
	assert_non_null(m = parse_ok(Q(""), 0));
	assert_int_equal(m->npdus, 0);
	pub_msg_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_roundtrip),
		cmocka_unit_test(test_reply_roundtrip),
		cmocka_unit_test(test_report_error),
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_check_query),
		cmocka_unit_test(test_strict),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
