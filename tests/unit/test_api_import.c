/* Unit tests for api/api_import: member files in CSV and JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_import.h"

static struct api_import *
parse_ok(const char *text)
{
	struct api_import	*im = NULL;
	struct cm_err		 err;

	if (api_import_parse("m.txt", text, strlen(text), &im, &err) == -1)
		fail_msg("%s", err.msg);
	return im;
}

/* Parsing fails with a message containing want. */
static void
parse_bad(const char *text, const char *want)
{
	struct api_import	*im = NULL;
	struct cm_err		 err;

	assert_int_equal(api_import_parse("m.txt", text, strlen(text), &im,
	    &err), -1);
	assert_null(im);
	if (strstr(err.msg, want) == NULL)
		fail_msg("\"%s\" does not say \"%s\"", err.msg, want);
}

static void
test_csv(void **state)
{
	struct api_import *im;

	(void)state;
	im = parse_ok("# members of the registry\r\n"
	    "handle,parent,asn,ipv4,ipv6\r\n"
	    "\r\n"
	    "m1,rir,\"AS64497, AS64496\",\"10.1.0.0/16;10.0.0.0/16\","
	    "2001:db8::/32\r\n"
	    "m2,rir,AS64500-AS64501,10.2.0.0/24 10.2.1.0/24,\r\n"
	    "m3,rir,,,2001:db8:1::/48");
	assert_int_equal(im->n, 3);
	assert_string_equal(im->recs[0].handle, "m1");
	assert_string_equal(im->recs[0].parent, "rir");
	assert_int_equal(im->recs[0].line, 4);
	/* Canonical: sorted, adjacent ranges merged, as prefixes. */
	assert_string_equal(im->recs[0].res[0], "64496-64497");
	assert_string_equal(im->recs[0].res[1], "10.0.0.0/15");
	assert_string_equal(im->recs[0].res[2], "2001:db8::/32");
	assert_string_equal(im->recs[1].res[0], "64500-64501");
	assert_string_equal(im->recs[1].res[1], "10.2.0.0/23");
	assert_string_equal(im->recs[1].res[2], "");
	assert_int_equal(im->recs[2].line, 6);
	assert_string_equal(im->recs[2].res[0], "");
	api_import_free(im);
	/* Columns in any order, quoting, missing trailing fields. */
	im = parse_ok("ipv4,Parent,HANDLE,asn\n10.9.0.0/16,\"rir\",m9\n");
	assert_int_equal(im->n, 1);
	assert_string_equal(im->recs[0].handle, "m9");
	assert_string_equal(im->recs[0].parent, "rir");
	assert_string_equal(im->recs[0].res[0], "");
	api_import_free(im);
}

static void
test_csv_errors(void **state)
{
	(void)state;
	parse_bad("asn,ipv4\nm1,10.0.0.0/8\n", "line 1: the header must name "
	    "handle and parent");
	parse_bad("handle,parent,colour\n", "line 1: column \"colour\"");
	parse_bad("handle,parent,asn\nm1,rir,64496\nm2,rir,bogus\n",
	    "m.txt: line 3: m2: asn");
	parse_bad("handle,parent,ipv4\nm1,rir,10.0.0.1/8\n", "line 2: m1: ipv4");
	parse_bad("handle,parent,asn\nm1,rir,\n", "line 2: m1: no resources");
	parse_bad("handle,parent,asn\n-m1,rir,1\n", "line 2: -m1: a handle is");
	parse_bad("handle,parent,asn\nm1,\"r\"\"x\",1\n", "parent r\"x is not");
	parse_bad("handle,parent,asn\nm1,,1\n", "line 2: m1: parent is missing");
	parse_bad("handle,parent,asn\nm1,rir,\"1\n", "line 2: a quoted field is "
	    "not closed");
	parse_bad("handle,parent,asn\nm1,rir,\"1\"x\n", "line 2: text after a "
	    "quoted field");
	parse_bad("handle,parent,asn\nm1,rir,1\n\nm1,rir,2\n", "line 4: m1 is "
	    "also on line 2");
	parse_bad("handle,parent,asn\na,b,1\nb,c,2\nc,a,3\n", "its parents form "
	    "a cycle");
	parse_bad("handle,parent,asn\nm1,rir,inherit\n", "not inherit");
	parse_bad("", "no header line");
}

static void
test_json(void **state)
{
	struct api_import *im;

	(void)state;
	im = parse_ok("{\"members\": [\n"
	    "  {\"handle\": \"c\", \"parent\": \"b\", \"asn\": [64498]},\n"
	    "  {\"handle\": \"a\", \"parent\": \"rir\",\n"
	    "   \"asn\": \"AS64496\", \"ipv4\": [\"10.0.0.0/16\", "
	    "\"10.1.0.0/16\"]},\n"
	    "  {\"handle\": \"b\", \"parent\": \"a\", \"asn\": 64497}\n"
	    "]}\n");
	assert_int_equal(im->n, 3);
	/* Parents first, otherwise the order of the file. */
	assert_string_equal(im->recs[0].handle, "a");
	assert_int_equal(im->recs[0].line, 3);
	assert_string_equal(im->recs[0].res[1], "10.0.0.0/15");
	assert_string_equal(im->recs[1].handle, "b");
	assert_string_equal(im->recs[2].handle, "c");
	assert_int_equal(im->recs[2].line, 2);
	assert_string_equal(im->recs[2].res[0], "64498");
	api_import_free(im);
	im = parse_ok("[{\"handle\":\"x\",\"parent\":\"rir\",\"ipv6\":"
	    "\"2001:db8::/32\"}]");
	assert_int_equal(im->n, 1);
	api_import_free(im);
}

static void
test_json_errors(void **state)
{
	(void)state;
	parse_bad("[{\"handle\": \"x\",", "line 1 column");
	parse_bad("{\"cas\": []}", "an array of members");
	parse_bad("[\n{\"handle\": \"x\", \"parent\": \"r\",\n\"asn\": {}}]",
	    "line 2: x: asn must be a string or an array");
	parse_bad("[{\"parent\": \"r\"}]", "members[0]");
	parse_bad("[\n{\"handle\": \"x\", \"parent\": \"r\", \"asn\": \"1\"},\n"
	    "{\"handle\": \"y\", \"parent\": \"r\", \"asn\": \"99999999999\"}]",
	    "line 3: y: asn");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csv),
		cmocka_unit_test(test_csv_errors),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_json_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
