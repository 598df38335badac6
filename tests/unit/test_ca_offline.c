/* Unit tests for ca/offline (the files of an offline parent). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/offline.h"

static uint8_t m1[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
static uint8_t m2[] = { 0x30, 0x00 };
static uint8_t o1[] = { 1, 2, 3, 4, 5, 6, 7 };

static char *
write_ok(const struct ca_off *f)
{
	struct cm_err	 err;
	char		*out = NULL;
	size_t		 len;

	if (ca_off_write(f, &out, &len, &err) == -1)
		fail_msg("write: %s", err.msg);
	assert_int_equal(strlen(out), len);
	return out;
}

static void
test_roundtrip(void **state)
{
	struct ca_off_blob	 msgs[2] = { { m1, sizeof(m1) }, { m2, sizeof(m2) } };
	struct ca_off_obj	 objs[2] = {
		{ (char *)"rsync://h/repo/ta/k.mft", o1, sizeof(o1) },
		{ (char *)"rsync://h/repo/ta-ta/ta.cer", m2, sizeof(m2) } };
	struct ca_off		 f, *g = NULL;
	struct cm_err		 err;
	char			*text;

	(void)state;
	memset(&f, 0, sizeof(f));
	f.kind = CA_OFF_REQUEST;
	f.parent = (char *)"ta";
	f.child = (char *)"rir-1/a_b";
	f.created = 1795000000;
	f.msgs = msgs;
	f.nmsgs = 2;
	text = write_ok(&f);
	if (ca_off_parse("req", (uint8_t *)text, strlen(text), CA_OFF_REQUEST,
	    &g, &err) == -1)
		fail_msg("parse: %s", err.msg);
	assert_string_equal(g->parent, "ta");
	assert_string_equal(g->child, "rir-1/a_b");
	assert_int_equal(g->created, 1795000000);
	assert_int_equal(g->nmsgs, 2);
	assert_int_equal(g->msgs[0].len, sizeof(m1));
	assert_memory_equal(g->msgs[0].der, m1, sizeof(m1));
	assert_memory_equal(g->msgs[1].der, m2, sizeof(m2));
	assert_int_equal(g->nobjs, 0);
	ca_off_free(g);
	/* A request is not a response. */
	assert_int_equal(ca_off_parse("req", (uint8_t *)text, strlen(text),
	    CA_OFF_RESPONSE, &g, &err), -1);
	assert_non_null(strstr(err.msg, "type"));
	free(text);

	f.kind = CA_OFF_RESPONSE;
	f.objs = objs;
	f.nobjs = 2;
	text = write_ok(&f);
	if (ca_off_parse("resp", (uint8_t *)text, strlen(text),
	    CA_OFF_RESPONSE, &g, &err) == -1)
		fail_msg("parse: %s", err.msg);
	assert_int_equal(g->nobjs, 2);
	assert_string_equal(g->objs[0].uri, "rsync://h/repo/ta/k.mft");
	assert_memory_equal(g->objs[0].der, o1, sizeof(o1));
	assert_string_equal(g->objs[1].uri, "rsync://h/repo/ta-ta/ta.cer");
	ca_off_free(g);
	free(text);

	/* A refresh: no child, no replies. */
	f.child = NULL;
	f.nmsgs = 0;
	text = write_ok(&f);
	if (ca_off_parse("refresh", (uint8_t *)text, strlen(text),
	    CA_OFF_RESPONSE, &g, &err) == -1)
		fail_msg("parse: %s", err.msg);
	assert_null(g->child);
	assert_int_equal(g->nmsgs, 0);
	ca_off_free(g);
	free(text);
}

/* text must be refused as kind, with want in the message. */
static void
expect_bad(const char *text, enum ca_off_kind kind, const char *want)
{
	struct ca_off	*g = NULL;
	struct cm_err	 err;

	if (ca_off_parse("f.json", (const uint8_t *)text, strlen(text), kind,
	    &g, &err) == 0)
		fail_msg("accepted: %s", text);
	assert_null(g);
	if (strstr(err.msg, want) == NULL)
		fail_msg("\"%s\" lacks \"%s\" for %s", err.msg, want, text);
	assert_int_equal(err.code, CM_EINVAL);
}

#define REQ(body)	"{\"type\": \"cairn-offline-request\", \"version\": 1, " \
			"\"parent\": \"ta\", \"child\": \"rir\", " \
			"\"created\": \"2026-11-23T10:00:00Z\", " body "}"
#define RESP(body)	"{\"type\": \"cairn-offline-response\", \"version\": 1, " \
			"\"parent\": \"ta\", \"child\": \"rir\", " \
			"\"created\": \"2026-11-23T10:00:00Z\", " body "}"
#define MSG		"\"messages\": [\"MAMCAQE=\"]"
#define OBJ(uri)	"\"objects\": [{\"uri\": \"" uri "\", \"der\": \"AQID\"}]"

static void
test_strict(void **state)
{
	(void)state;
	/* The good ones, so that each bad one differs in one thing. */
	{
		struct ca_off	*g;
		struct cm_err	 err;
		const char	*t = REQ(MSG), *r = RESP(MSG ", "
				    OBJ("rsync://h/m/ta/a.cer"));

		assert_int_equal(ca_off_parse("ok", (const uint8_t *)t,
		    strlen(t), CA_OFF_REQUEST, &g, &err), 0);
		ca_off_free(g);
		assert_int_equal(ca_off_parse("ok", (const uint8_t *)r,
		    strlen(r), CA_OFF_RESPONSE, &g, &err), 0);
		ca_off_free(g);
	}
	expect_bad("", CA_OFF_REQUEST, "not JSON");
	expect_bad("[1]", CA_OFF_REQUEST, "not a JSON object");
	expect_bad(REQ(MSG ", \"extra\": 1"), CA_OFF_REQUEST, "unknown key");
	expect_bad("{\"type\": \"x\", \"type\": \"y\"}", CA_OFF_REQUEST,
	    "not JSON");
	expect_bad("{\"type\": \"cairn-offline-request\", \"version\": 2, "
	    "\"parent\": \"ta\", \"child\": \"rir\", \"created\": "
	    "\"2026-11-23T10:00:00Z\", " MSG "}", CA_OFF_REQUEST, "version");
	expect_bad("{\"type\": \"cairn-offline-request\", \"version\": 1, "
	    "\"parent\": \"t a\", \"child\": \"rir\", \"created\": "
	    "\"2026-11-23T10:00:00Z\", " MSG "}", CA_OFF_REQUEST, "parent");
	expect_bad("{\"type\": \"cairn-offline-request\", \"version\": 1, "
	    "\"parent\": \"ta\", \"child\": null, \"created\": "
	    "\"2026-11-23T10:00:00Z\", " MSG "}", CA_OFF_REQUEST, "child");
	expect_bad("{\"type\": \"cairn-offline-request\", \"version\": 1, "
	    "\"parent\": \"ta\", \"child\": \"rir\", \"created\": "
	    "\"2026-11-23 10:00:00\", " MSG "}", CA_OFF_REQUEST, "created");
	expect_bad("{\"type\": \"cairn-offline-request\", \"version\": 1, "
	    "\"parent\": \"ta\", \"child\": \"rir\", \"created\": "
	    "\"2026-02-30T10:00:00Z\", " MSG "}", CA_OFF_REQUEST, "valid time");
	expect_bad(REQ("\"messages\": []"), CA_OFF_REQUEST, "asks nothing");
	expect_bad(REQ("\"messages\": \"MAMCAQE=\""), CA_OFF_REQUEST,
	    "not an array");
	expect_bad(REQ("\"messages\": [\"M\"]"), CA_OFF_REQUEST, "base64");
	expect_bad(REQ("\"messages\": [\"\"]"), CA_OFF_REQUEST, "empty");
	expect_bad(REQ("\"messages\": [1]"), CA_OFF_REQUEST, "not a string");
	expect_bad(REQ("\"messages\": [\"AA==\",\"AA==\",\"AA==\",\"AA==\","
	    "\"AA==\",\"AA==\",\"AA==\",\"AA==\",\"AA==\",\"AA==\",\"AA==\","
	    "\"AA==\",\"AA==\",\"AA==\",\"AA==\",\"AA==\",\"AA==\"]"),
	    CA_OFF_REQUEST, "too many");
	expect_bad(REQ(MSG ", " OBJ("rsync://h/m/a.cer")), CA_OFF_REQUEST,
	    "not in a request");
	expect_bad("{\"type\": \"cairn-offline-request\", \"version\": 1, "
	    "\"parent\": \"ta\", \"child\": \"rir\", \"created\": "
	    "\"2026-11-23T10:00:00Z\"}", CA_OFF_REQUEST, "messages");
	expect_bad(RESP(MSG), CA_OFF_RESPONSE, "objects: missing");
	expect_bad(RESP(MSG ", \"objects\": []"), CA_OFF_RESPONSE, "empty");
	expect_bad(RESP(MSG ", " OBJ("https://h/m/a.cer")), CA_OFF_RESPONSE,
	    "not an rsync URI");
	expect_bad(RESP(MSG ", " OBJ("rsync://h/m/../a.cer")),
	    CA_OFF_RESPONSE, "not an rsync URI");
	expect_bad(RESP(MSG ", " OBJ("rsync://h/m//a.cer")), CA_OFF_RESPONSE,
	    "not an rsync URI");
	expect_bad(RESP(MSG ", " OBJ("rsync:///m/a.cer")), CA_OFF_RESPONSE,
	    "not an rsync URI");
	expect_bad(RESP(MSG ", " OBJ("rsync://h/m/")), CA_OFF_RESPONSE,
	    "file name");
	expect_bad(RESP(MSG ", " OBJ("rsync://h/m/a.exe")), CA_OFF_RESPONSE,
	    "file name");
	expect_bad(RESP(MSG ", \"objects\": [{\"uri\": \"rsync://h/m/a.cer\", "
	    "\"der\": \"AQID\"}, {\"uri\": \"rsync://h/m/a.cer\", \"der\": "
	    "\"AQID\"}]"), CA_OFF_RESPONSE, "appears twice");
	expect_bad(RESP(MSG ", \"objects\": [{\"uri\": \"rsync://h/m/a.cer\"}]"),
	    CA_OFF_RESPONSE, "lacks uri or der");
	expect_bad(RESP(MSG ", \"objects\": [{\"uri\": \"rsync://h/m/a.cer\", "
	    "\"der\": \"AQID\", \"x\": 1}]"), CA_OFF_RESPONSE, "unknown key");
	expect_bad("{\"type\": \"cairn-offline-response\", \"version\": 1, "
	    "\"parent\": \"ta\", \"child\": null, \"created\": "
	    "\"2026-11-23T10:00:00Z\", " MSG ", " OBJ("rsync://h/m/a.cer") "}",
	    CA_OFF_RESPONSE, "replies without a child");
	assert_true(ca_off_handle_ok("a-b_c/D9"));
	assert_false(ca_off_handle_ok(""));
	assert_false(ca_off_handle_ok("a.b"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_strict),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
