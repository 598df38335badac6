/* Unit tests for the file signer backend (development only). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "common/cm_file.h"
#include "hsm/hsm.h"

static char	tmpdir[] = "/tmp/cairn-hsm-file-XXXXXX";
static char	keydir[256];

static int
rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(p);
}

static int
setup(void **state)
{
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	/* Not there yet: the backend creates it. */
	snprintf(keydir, sizeof(keydir), "%s/dev/keys", tmpdir);
	return 0;
}

static int
teardown(void **state)
{
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static void
sign_verify(struct hsm_key *k)
{
	uint8_t		 md[32], sig[HSM_SIG_MAX];
	size_t		 len;
	struct cm_err	 err;
	EVP_PKEY_CTX	*c = EVP_PKEY_CTX_new(hsm_key_pubkey(k), NULL);

	RAND_bytes(md, sizeof(md));
	assert_int_equal(hsm_key_sign(k, md, sig, &len, &err), 0);
	assert_int_equal(len, 256);
	assert_int_equal(EVP_PKEY_verify_init(c), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING), 1);
	assert_int_equal(EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()), 1);
	assert_int_equal(EVP_PKEY_verify(c, sig, len, md, 32), 1);
	EVP_PKEY_CTX_free(c);
}

/* Opens the backend with stderr captured, and checks the warning. */
static struct hsm *
open_warned(void)
{
	char		 log[256];
	int		 saved, fd;
	uint8_t		*text;
	size_t		 len;
	struct cm_err	 err;
	struct hsm	*h;

	snprintf(log, sizeof(log), "%s/stderr.log", tmpdir);
	fflush(stderr);
	saved = dup(2);
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved != -1 && fd != -1);
	dup2(fd, 2);
	close(fd);
	h = hsm_open_file(keydir, &err);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	if (h == NULL)
		fail_msg("open: %s", err.msg);
	assert_int_equal(cm_file_read(log, 65536, &text, &len, &err), 0);
	assert_non_null(strstr((char *)text, "FOR DEVELOPMENT ONLY"));
	assert_non_null(strstr((char *)text, keydir));
	free(text);
	assert_string_equal(hsm_name(h), "file");
	return h;
}

static void
test_file_backend(void **state)
{
	struct hsm	*h = open_warned();
	struct hsm_key	*k, *k2;
	struct cm_err	 err;
	char		 id[HSM_KEY_ID_LEN + 1], path[512], upper[41];
	struct stat	 sb;

	assert_int_equal(stat(keydir, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	assert_int_equal(hsm_key_create(h, "dev CA\nkey", &k, &err), -1);
	assert_int_equal(err.code, CM_EINVAL);
	assert_non_null(strstr(err.msg, "control character at byte 6"));
	assert_int_equal(hsm_key_create(h, "dev CA key", &k, &err), 0);
	memcpy(id, hsm_key_id(k), sizeof(id));
	snprintf(path, sizeof(path), "%s/%s.pem", keydir, id);
	assert_int_equal(stat(path, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(EVP_PKEY_get_bits(hsm_key_pubkey(k)), 2048);
	sign_verify(k);
	hsm_key_free(k);
	hsm_close(h);

	/* Found again after a restart, also by an uppercase id. */
	h = open_warned();
	for (int i = 0; i < HSM_KEY_ID_LEN + 1; i++)
		upper[i] = (char)(id[i] >= 'a' ? id[i] - 32 : id[i]);
	if (hsm_key_find(h, upper, &k2, &err) != 0)
		fail_msg("find: %s", err.msg);
	assert_string_equal(hsm_key_id(k2), id);
	sign_verify(k2);
	hsm_key_free(k2);

	/* A key file others may read is refused. */
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(hsm_key_find(h, id, &k2, &err), -1);
	assert_int_equal(err.code, CM_EPERM);
	assert_non_null(strstr(err.msg, "mode 0644"));
	assert_int_equal(chmod(path, 0600), 0);

	assert_int_equal(hsm_key_find(h, id, &k2, &err), 0);
	assert_int_equal(hsm_key_destroy(k2, &err), 0);
	assert_int_equal(stat(path, &sb), -1);
	assert_int_equal(hsm_key_find(h, id, &k2, &err), -1);
	assert_int_equal(err.code, CM_ENOTFOUND);
	hsm_close(h);
}

static void
test_bad_files(void **state)
{
	struct hsm	*h = open_warned();
	struct hsm_key	*a, *b, *k;
	struct cm_err	 err;
	char		 pa[512], pb[512];
	uint8_t		*text;
	size_t		 len;

	assert_int_equal(hsm_key_create(h, "a", &a, &err), 0);
	assert_int_equal(hsm_key_create(h, "b", &b, &err), 0);
	snprintf(pa, sizeof(pa), "%s/%s.pem", keydir, hsm_key_id(a));
	snprintf(pb, sizeof(pb), "%s/%s.pem", keydir, hsm_key_id(b));

	/* b's file now holds a's key: the name no longer matches. */
	assert_int_equal(cm_file_read(pa, 65536, &text, &len, &err), 0);
	assert_int_equal(cm_file_write_atomic(pb, text, len, 0600, &err), 0);
	free(text);
	assert_int_equal(hsm_key_find(h, hsm_key_id(b), &k, &err), -1);
	assert_int_equal(err.code, CM_EINVAL);
	assert_non_null(strstr(err.msg, "file holds another key"));

	assert_int_equal(cm_file_write_atomic(pb, "garbage\n", 8, 0600, &err), 0);
	assert_int_equal(hsm_key_find(h, hsm_key_id(b), &k, &err), -1);
	assert_non_null(strstr(err.msg, "not a PEM private key"));

	assert_int_equal(hsm_key_find(h, "not-hex", &k, &err), -1);
	assert_int_equal(err.code, CM_EINVAL);
	assert_int_equal(hsm_key_destroy(a, &err), 0);
	assert_int_equal(hsm_key_destroy(b, &err), 0);
	hsm_close(h);

	/* The key directory must be a directory. */
	assert_int_equal(cm_file_write_atomic(pa, "x", 1, 0600, &err), 0);
	assert_null(hsm_open_file(pa, &err));
	assert_non_null(strstr(err.msg, "not a directory"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_backend),
		cmocka_unit_test(test_bad_files),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
