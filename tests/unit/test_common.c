/* Unit tests for common/: errors, buffers, hex/base64, files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cm_buf.h"
#include "common/cm_enc.h"
#include "common/cm_err.h"
#include "common/cm_file.h"

static void
test_err(void **state)
{
	struct cm_err	err;

	cm_err_clear(&err);
	assert_int_equal(err.code, CM_OK);
	assert_int_equal(cm_err_set(&err, CM_EINVAL, "x.roa", "bad %s", "asn"), -1);
	assert_int_equal(err.code, CM_EINVAL);
	assert_string_equal(err.msg, "x.roa: bad asn");
	cm_err_wrap(&err, "ca1");
	assert_string_equal(err.msg, "ca1: x.roa: bad asn");
	assert_int_equal(cm_err_set(NULL, CM_EIO, NULL, "dropped"), -1);
}

static void
test_buf(void **state)
{
	struct cm_buf	b = CM_BUF_INIT;
	uint8_t		*p;
	size_t		 n;

	for (int i = 0; i < 1000; i++)
		assert_int_equal(cm_buf_printf(&b, "%d,", i), 0);
	assert_int_equal(strncmp(cm_buf_cstr(&b), "0,1,2,", 6), 0);
	assert_int_equal(b.len, strlen(cm_buf_cstr(&b)));
	p = cm_buf_steal(&b, &n);
	assert_non_null(p);
	assert_null(b.data);
	assert_int_equal(n, 3890);
	free(p);
	cm_buf_free(&b);
}

static void
test_hex(void **state)
{
	uint8_t	in[] = { 0x00, 0xab, 0xff, 0x10 }, out[4];
	char	hex[9];

	cm_hex_encode(in, 4, hex);
	assert_string_equal(hex, "00abff10");
	assert_int_equal(cm_hex_decode("00ABff10", out, 4), 0);
	assert_memory_equal(in, out, 4);
	assert_int_equal(cm_hex_decode("00abff1", out, 4), -1);
	assert_int_equal(cm_hex_decode("00abfg10", out, 4), -1);
}

static void
test_b64(void **state)
{
	static const char *const vec[][2] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" },
	};
	static const char *const bad[] = { "Zg=", "Z===", "Zm9v!", "Zg==Zg==",
	    "Zm9", "=Zm9" };
	struct cm_buf	b = CM_BUF_INIT;
	struct cm_err	err;

	for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		cm_buf_reset(&b);
		assert_int_equal(cm_b64_encode((const uint8_t *)vec[i][0],
		    strlen(vec[i][0]), &b), 0);
		assert_string_equal(cm_buf_cstr(&b), vec[i][1]);
		cm_buf_reset(&b);
		assert_int_equal(cm_b64_decode(vec[i][1], strlen(vec[i][1]), &b,
		    &err), 0);
		assert_string_equal(cm_buf_cstr(&b), vec[i][0]);
	}
	cm_buf_reset(&b);
	assert_int_equal(cm_b64_decode("Zm9v\nYmFy\n", 10, &b, &err), 0);
	assert_string_equal(cm_buf_cstr(&b), "foobar");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cm_buf_reset(&b);
		assert_int_equal(cm_b64_decode(bad[i], strlen(bad[i]), &b, &err), -1);
		assert_int_equal(err.code, CM_EINVAL);
	}
	cm_buf_free(&b);
}

static void
test_file(void **state)
{
	char		 dir[] = "/tmp/cairn-test-XXXXXX", path[128];
	struct cm_err	 err;
	uint8_t		*data;
	size_t		 len;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/a/b/c", dir);
	assert_int_equal(cm_mkdirs(path, 0700, &err), 0);
	snprintf(path, sizeof(path), "%s/a/b/c/f", dir);
	assert_int_equal(cm_file_write_atomic(path, "hello", 5, 0600, &err), 0);
	assert_int_equal(cm_file_read(path, 100, &data, &len, &err), 0);
	assert_int_equal(len, 5);
	assert_string_equal((char *)data, "hello");
	free(data);
	assert_int_equal(cm_file_read(path, 4, &data, &len, &err), -1);
	assert_int_equal(err.code, CM_ELIMIT);
	unlink(path);
	assert_int_equal(cm_file_read(path, 4, &data, &len, &err), -1);
	assert_int_equal(err.code, CM_ENOTFOUND);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	assert_int_equal(system(path), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_err),
		cmocka_unit_test(test_buf),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_b64),
		cmocka_unit_test(test_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
