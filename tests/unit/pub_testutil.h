/* Helpers shared by the publication tests (test_pub_*.c). */
#ifndef PUB_TESTUTIL_H
#define PUB_TESTUTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cm_err.h"
#include "common/cm_file.h"

/* Reads tests/data/pub/<name>; the caller frees. */
static inline uint8_t *
pubtest_read(const char *name, size_t *len)
{
	char		 path[512];
	uint8_t		*p = NULL;
	struct cm_err	 err;

	snprintf(path, sizeof(path), "%s/pub/%s", CAIRN_TEST_DATA, name);
	if (cm_file_read(path, 1 << 20, &p, len, &err) != 0) {
		fprintf(stderr, "%s\n", err.msg);
		return NULL;
	}
	return p;
}

/* True if the error message contains want (printed when it does not). */
static inline int
pubtest_err_has(const struct cm_err *err, const char *want)
{
	if (strstr(err->msg, want) != NULL)
		return 1;
	fprintf(stderr, "error \"%s\" lacks \"%s\"\n", err->msg, want);
	return 0;
}

/* A billion-laughs document with root element root. */
static inline char *
pubtest_laughs(const char *root)
{
	char *s = NULL;

	if (asprintf(&s, "<?xml version=\"1.0\"?>\n<!DOCTYPE %s [\n"
	    "<!ENTITY a \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\">\n"
	    "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">\n"
	    "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">\n"
	    "<!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">\n"
	    "<!ENTITY e \"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\">\n"
	    "<!ENTITY f \"&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;\">\n"
	    "<!ENTITY g \"&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;\">\n"
	    "<!ENTITY h \"&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;\">\n"
	    "<!ENTITY i \"&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;\">\n"
	    "]>\n<%s>&i;</%s>\n", root, root, root) == -1)
		return NULL;
	return s;
}

#endif
