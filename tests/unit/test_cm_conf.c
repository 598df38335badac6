/* Unit tests for common/cm_conf: strict configuration files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cm_conf.h"

struct conf {
	char		*dsn, *data_dir;
	long long	 workers, interval, limit;
	int		 tls;
};

#define NKEYS 6

static void
keys_for(struct conf *c, struct cm_conf_key k[NKEYS])
{
	const struct cm_conf_key t[NKEYS] = {
		{ "", "data-dir", CM_CONF_STR, &c->data_dir, 0, 0, 1, "data" },
		{ "db", "dsn", CM_CONF_STR, &c->dsn, 0, 0, 0, "dsn" },
		{ "ca", "workers", CM_CONF_INT, &c->workers, 1, 64, 0, "n" },
		{ "rrdp", "interval", CM_CONF_DURATION, &c->interval, 1, 86400, 0, "" },
		{ "rrdp", "max-message", CM_CONF_SIZE, &c->limit, 0, 0, 0, "" },
		{ "http", "tls", CM_CONF_BOOL, &c->tls, 0, 0, 0, "" },
	};

	memcpy(k, t, sizeof(t));
}

static int
load(const char *text, struct conf *c, struct cm_err *err)
{
	struct cm_conf_key	k[NKEYS];
	int			rc;

	memset(c, 0, sizeof(*c));
	c->workers = 4;
	keys_for(c, k);
	rc = cm_conf_load_string("test.conf", text, k, NKEYS, err);
	cm_conf_free_strings(k, NKEYS);
	return rc;
}

static void
test_conf_ok(void **state)
{
	struct conf		c;
	struct cm_conf_key	k[NKEYS];
	struct cm_err		err;
	const char		*text =
	    "; comment\n"
	    "data-dir = /var/lib/cairn\n"
	    "[db]\n"
	    "dsn = host=/tmp dbname=cairn\n"
	    "[rrdp]\n"
	    "interval = 15m\n"
	    "max-message = 32M\n"
	    "[http]\n"
	    "tls = yes\n";

	memset(&c, 0, sizeof(c));
	c.workers = 4;
	keys_for(&c, k);
	assert_int_equal(cm_conf_load_string("t", text, k, NKEYS, &err), 0);
	assert_string_equal(c.data_dir, "/var/lib/cairn");
	assert_string_equal(c.dsn, "host=/tmp dbname=cairn");
	assert_int_equal(c.workers, 4);		/* default kept */
	assert_int_equal(c.interval, 900);
	assert_int_equal(c.limit, 32LL * 1024 * 1024);
	assert_int_equal(c.tls, 1);
	cm_conf_free_strings(k, NKEYS);
	assert_null(c.data_dir);
}

static void
test_conf_errors(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "data-dir=/x\n[db]\nport = 5\n", "line 3: unknown key \"port\" in [db]" },
		{ "data-dir=/x\n[nope]\na = 1\n", "line 3: unknown section [nope]" },
		{ "data-dir=/x\n[ca]\nworkers = 0\n", "line 3: ca.workers: 0 is outside 1..64" },
		{ "data-dir=/x\n[ca]\nworkers = 4x\n", "is not an integer" },
		{ "data-dir=/x\n[rrdp]\ninterval = 5y\n", "is not a duration" },
		{ "data-dir=/x\n[rrdp]\nmax-message = -1\n", "is not a size" },
		{ "data-dir=/x\n[http]\ntls = maybe\n", "is not yes/no" },
		{ "data-dir=/x\n[ca]\nworkers = 2\nworkers = 3\n", "line 4: ca.workers given twice" },
		{ "[ca]\nworkers = 2\n", "missing required key .data-dir" },
		{ "data-dir=/x\n[ca\n", "syntax error" },
		{ "data-dir=/x\njunk line\n", "line 2: syntax error" },
	};
	struct conf	c;
	struct cm_err	err;
	size_t		i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cm_err_clear(&err);
		assert_int_equal(load(cases[i].text, &c, &err), -1);
		assert_int_equal(err.code, CM_EINVAL);
		if (strstr(err.msg, cases[i].want) == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err.msg,
			    cases[i].want);
		assert_non_null(strstr(err.msg, "test.conf"));
	}
}

static void
test_conf_file(void **state)
{
	char			 path[] = "/tmp/cairn-conf-XXXXXX";
	struct conf		 c;
	struct cm_conf_key	 k[NKEYS];
	struct cm_err		 err;
	FILE			*f;
	int			 fd;

	assert_true((fd = mkstemp(path)) >= 0);
	assert_non_null(f = fdopen(fd, "w"));
	fputs("data-dir = /d\n[ca]\nworkers = 8\n", f);
	fclose(f);
	memset(&c, 0, sizeof(c));
	keys_for(&c, k);
	assert_int_equal(cm_conf_load(path, k, NKEYS, &err), 0);
	assert_int_equal(c.workers, 8);
	assert_string_equal(c.data_dir, "/d");
	cm_conf_free_strings(k, NKEYS);
	unlink(path);
	assert_int_equal(cm_conf_load(path, k, NKEYS, &err), -1);
	assert_int_equal(err.code, CM_EIO);
}

static void
test_conf_units(void **state)
{
	long long	v;
	int		b;

	assert_int_equal(cm_conf_parse_duration("48h", &v), 0);
	assert_int_equal(v, 172800);
	assert_int_equal(cm_conf_parse_duration("7d", &v), 0);
	assert_int_equal(v, 604800);
	assert_int_equal(cm_conf_parse_duration("", &v), -1);
	assert_int_equal(cm_conf_parse_duration("1hh", &v), -1);
	assert_int_equal(cm_conf_parse_size("99999999999999999G", &v), -1);
	assert_int_equal(cm_conf_parse_size("64k", &v), 0);
	assert_int_equal(v, 65536);
	assert_int_equal(cm_conf_parse_bool("Off", &b), 0);
	assert_int_equal(b, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conf_ok),
		cmocka_unit_test(test_conf_errors),
		cmocka_unit_test(test_conf_file),
		cmocka_unit_test(test_conf_units),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
