/* Unit tests for publish/pub_rsync (rsync tree writer). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/cm_enc.h"
#include "common/cm_file.h"
#include "publish/pub_rsync.h"

#include "pub_testutil.h"

#define BASE	"rsync://rsync.example/repo/"

struct fixture {
	char	root[64];
};

static int
rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(p);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	/* tmpfs when there is one: the tests measure logic, not the disk */
	snprintf(f->root, sizeof(f->root), "%s/cairn-rsync-XXXXXX",
	    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (mkdtemp(f->root) == NULL)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	nftw(f->root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static ino_t
inode(const char *root, const char *rel)
{
	char		path[PATH_MAX];
	struct stat	st;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	if (stat(path, &st) == -1)
		return 0;
	return st.st_ino;
}

static int
file_is(const char *root, const char *rel, const char *content)
{
	char		 path[PATH_MAX];
	uint8_t		*p;
	size_t		 len;
	int		 ok;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	if (cm_file_read(path, 1 << 20, &p, &len, NULL) != 0)
		return 0;
	ok = len == strlen(content) && memcmp(p, content, len) == 0;
	free(p);
	return ok;
}

static int
exists(const char *root, const char *rel)
{
	char		path[PATH_MAX];
	struct stat	st;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	return lstat(path, &st) == 0;
}

static uint64_t
current(const char *root)
{
	uint64_t	s = 0;
	struct cm_err	err;

	assert_int_equal(pub_rsync_current(root, &s, &err), 0);
	return s;
}

#define OBJ(u, s)	{ BASE u, (const uint8_t *)s, sizeof(s) - 1, NULL, 0, 0 }

static void
test_publish_and_reuse(void **state)
{
	struct fixture		*f = *state;
	struct pub_rsync_obj	 v1[] = {
		OBJ("ca1/a.roa", "roa a"), OBJ("ca1/b.roa", "roa b"),
		OBJ("ca2/sub/c.cer", "cert c"), OBJ("top.crl", "crl"),
	};
	struct pub_rsync_obj	 v2[] = {
		OBJ("ca1/a.roa", "roa a"),		/* unchanged */
		OBJ("ca1/b.roa", "roa b, new"),		/* changed */
		OBJ("ca3/d.mft", "mft d"),		/* new */
		OBJ("top.crl", "crl"),			/* unchanged */
	};						/* c.cer withdrawn */
	struct pub_rsync_stats	 st;
	struct cm_err		 err;
	char			 link[64], path[PATH_MAX];
	struct stat		 sb;
	ssize_t			 n;

	assert_int_equal(current(f->root), 0);
	v1[0].mtime = 1700000000;
	assert_int_equal(pub_rsync_publish(f->root, BASE, 1, v1, 4, 1000, &st,
	    &err), 0);
	assert_int_equal(st.written, 4);
	assert_int_equal(st.linked, 0);
	assert_int_equal(current(f->root), 1);
	snprintf(path, sizeof(path), "%s/current", f->root);
	assert_int_equal(lstat(path, &sb), 0);
	assert_true(S_ISLNK(sb.st_mode));
	assert_true((n = readlink(path, link, sizeof(link) - 1)) > 0);
	link[n] = '\0';
	assert_string_equal(link, "trees/1");
	assert_true(file_is(f->root, "current/ca1/a.roa", "roa a"));
	assert_true(file_is(f->root, "current/ca2/sub/c.cer", "cert c"));
	assert_true(file_is(f->root, "current/top.crl", "crl"));

	/* deterministic mtimes: given, derived (unparseable: fixed), dirs */
	snprintf(path, sizeof(path), "%s/current/ca1/a.roa", f->root);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mtime, 1700000000);
	assert_int_equal(sb.st_mode & 0777, 0444);
	snprintf(path, sizeof(path), "%s/current/ca1/b.roa", f->root);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mtime, PUB_RSYNC_FIXED_MTIME);
	snprintf(path, sizeof(path), "%s/current/ca2/sub", f->root);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mtime, PUB_RSYNC_FIXED_MTIME);
	snprintf(path, sizeof(path), "%s/current/ca2", f->root);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mtime, PUB_RSYNC_FIXED_MTIME);
	snprintf(path, sizeof(path), "%s/current/", f->root);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mtime, PUB_RSYNC_FIXED_MTIME);

	assert_int_equal(pub_rsync_publish(f->root, BASE, 2, v2, 4, 2000, &st,
	    &err), 0);
	assert_int_equal(st.written, 2);	/* only new content */
	assert_int_equal(st.linked, 2);
	assert_int_equal(current(f->root), 2);
	/* unchanged objects are the same inode in both trees */
	assert_int_not_equal(inode(f->root, "trees/1/ca1/a.roa"), 0);
	assert_int_equal(inode(f->root, "trees/1/ca1/a.roa"),
	    inode(f->root, "trees/2/ca1/a.roa"));
	assert_int_equal(inode(f->root, "trees/1/top.crl"),
	    inode(f->root, "trees/2/top.crl"));
	assert_int_not_equal(inode(f->root, "trees/1/ca1/b.roa"),
	    inode(f->root, "trees/2/ca1/b.roa"));
	assert_true(file_is(f->root, "current/ca1/b.roa", "roa b, new"));
	assert_true(file_is(f->root, "current/ca3/d.mft", "mft d"));
	assert_false(exists(f->root, "current/ca2/sub/c.cer"));
	assert_false(exists(f->root, "current/ca2"));
	/* the old tree is still intact for rsync sessions that use it */
	assert_true(file_is(f->root, "trees/1/ca1/b.roa", "roa b"));
	assert_true(file_is(f->root, "trees/1/ca2/sub/c.cer", "cert c"));

	/* serials only go up */
	assert_int_equal(pub_rsync_publish(f->root, BASE, 2, v2, 4, 3000, NULL,
	    &err), -1);
	assert_int_equal(err.code, CM_ESTATE);
	assert_int_equal(current(f->root), 2);
}

/*
 * Objects given by hash alone (the store holds them), and the store check
 * that drops an entry edited through a tree's file.
 */
static void
test_stored_and_verify(void **state)
{
	struct fixture		*f = *state;
	struct pub_rsync_obj	 v1[] = {
		OBJ("ca1/a.roa", "roa a"), OBJ("ca1/b.roa", "roa b"),
	};
	struct pub_rsync_obj	 v2[2];
	uint8_t			 ha[32], hb[32], hx[32];
	struct cm_err		 err;
	char			 path[PATH_MAX];
	size_t			 removed = 99;
	FILE			*fp;

	cm_sha256("roa a", 5, ha);
	cm_sha256("roa b", 5, hb);
	cm_sha256("not there", 9, hx);
	assert_false(pub_rsync_stored(f->root, ha));
	assert_int_equal(pub_rsync_publish(f->root, BASE, 1, v1, 2, 1000, NULL,
	    &err), 0);
	assert_true(pub_rsync_stored(f->root, ha));
	assert_true(pub_rsync_stored(f->root, hb));
	assert_false(pub_rsync_stored(f->root, hx));

	/* by hash alone: the same inodes in the next tree */
	memset(v2, 0, sizeof(v2));
	v2[0].uri = BASE "ca1/a.roa";
	v2[0].hash = ha;
	v2[0].stored = 1;
	v2[1].uri = BASE "ca1/b.roa";
	v2[1].hash = hb;
	v2[1].stored = 1;
	assert_int_equal(pub_rsync_publish(f->root, BASE, 2, v2, 2, 2000, NULL,
	    &err), 0);
	assert_true(file_is(f->root, "current/ca1/a.roa", "roa a"));
	assert_int_equal(inode(f->root, "trees/1/ca1/b.roa"),
	    inode(f->root, "trees/2/ca1/b.roa"));

	/* a hash the store lacks, without data: refused, current kept */
	v2[1].hash = hx;
	assert_int_equal(pub_rsync_publish(f->root, BASE, 3, v2, 2, 3000, NULL,
	    &err), -1);
	assert_int_equal(err.code, CM_ESTATE);
	assert_int_equal(current(f->root), 2);
	v2[1].hash = NULL;
	assert_int_equal(pub_rsync_publish(f->root, BASE, 3, v2, 2, 3000, NULL,
	    &err), -1);
	assert_int_equal(current(f->root), 2);

	/* an intact store: nothing removed */
	assert_int_equal(pub_rsync_verify_store(f->root, &removed, &err), 0);
	assert_int_equal(removed, 0);
	/* b.roa edited by hand through the current tree: its entry goes */
	snprintf(path, sizeof(path), "%s/current/ca1/b.roa", f->root);
	assert_int_equal(chmod(path, 0644), 0);
	assert_non_null(fp = fopen(path, "a"));
	fputs("garbage", fp);
	fclose(fp);
	assert_int_equal(pub_rsync_verify_store(f->root, &removed, &err), 0);
	assert_int_equal(removed, 1);
	assert_false(pub_rsync_stored(f->root, hb));
	assert_true(pub_rsync_stored(f->root, ha));
	/* the next tree writes it anew from the data given */
	assert_int_equal(pub_rsync_publish(f->root, BASE, 3, v1, 2, 3000, NULL,
	    &err), 0);
	assert_true(file_is(f->root, "current/ca1/b.roa", "roa b"));
	assert_true(pub_rsync_stored(f->root, hb));
}

static void
test_bad_input(void **state)
{
	struct fixture		*f = *state;
	struct pub_rsync_obj	 ok[] = { OBJ("a/x.roa", "x") };
	struct pub_rsync_obj	 dup[] = { OBJ("a/x.roa", "x"),
		OBJ("a/x.roa", "y") };
	struct pub_rsync_obj	 out[] = { { "rsync://other.example/repo/x.roa",
		(const uint8_t *)"x", 1, NULL, 0, 0 } };
	struct pub_rsync_obj	 dots[] = { OBJ("a/../../etc/x", "x") };
	struct pub_rsync_obj	 slash[] = { OBJ("a/", "x") };
	struct cm_err		 err;

	assert_int_equal(pub_rsync_publish(f->root, BASE, 1, ok, 1, 1, NULL,
	    &err), 0);
	assert_int_equal(pub_rsync_publish(f->root, BASE, 2, dup, 2, 2, NULL,
	    &err), -1);
	assert_true(pubtest_err_has(&err, "twice"));
	assert_int_equal(pub_rsync_publish(f->root, BASE, 2, out, 1, 2, NULL,
	    &err), -1);
	assert_int_equal(err.code, CM_EPERM);
	assert_int_equal(pub_rsync_publish(f->root, BASE, 2, dots, 1, 2, NULL,
	    &err), -1);
	assert_int_equal(pub_rsync_publish(f->root, BASE, 2, slash, 1, 2, NULL,
	    &err), -1);
	assert_int_equal(pub_rsync_publish(f->root, "rsync://rsync.example/repo",
	    2, ok, 1, 2, NULL, &err), -1);
	assert_int_equal(current(f->root), 1);
	assert_true(file_is(f->root, "current/a/x.roa", "x"));
}

static void
test_crash_before_swap(void **state)
{
	struct fixture		*f = *state;
	struct pub_rsync_obj	 v1[] = { OBJ("a/x.roa", "one") };
	struct pub_rsync_obj	 v2[] = { OBJ("a/x.roa", "two") };
	struct cm_err		 err;
	char			 path[PATH_MAX];

	assert_int_equal(pub_rsync_publish(f->root, BASE, 1, v1, 1, 1, NULL,
	    &err), 0);
	/* built but never activated: the process died before the swap */
	assert_int_equal(pub_rsync_build(f->root, BASE, 2, v2, 1, NULL, &err), 0);
	assert_int_equal(current(f->root), 1);
	assert_true(file_is(f->root, "current/a/x.roa", "one"));
	/* a half-written tree of the next serial is left over as well */
	snprintf(path, sizeof(path), "%s/trees/3.new/a", f->root);
	assert_int_equal(cm_mkdirs(path, 0755, &err), 0);
	snprintf(path, sizeof(path), "%s/trees/3.new/a/half", f->root);
	assert_int_equal(cm_file_write_atomic(path, "h", 1, 0644, &err), 0);
	assert_true(file_is(f->root, "current/a/x.roa", "one"));

	/* the restarted writer rebuilds serial 2 from scratch */
	assert_int_equal(pub_rsync_publish(f->root, BASE, 2, v2, 1, 2, NULL,
	    &err), 0);
	assert_true(file_is(f->root, "current/a/x.roa", "two"));
	/* and cleanup drops the stale build */
	assert_int_equal(pub_rsync_cleanup(f->root, 2, 3600, NULL, &err), 0);
	assert_false(exists(f->root, "trees/3.new"));
	assert_true(exists(f->root, "trees/1"));	/* within grace */
	/* activating a tree that does not exist fails, current stays */
	assert_int_equal(pub_rsync_activate(f->root, 9, 3, &err), -1);
	assert_int_equal(current(f->root), 2);
}

/* Checks that the tree current points to is complete for its serial. */
static void
check_complete(const char *root, size_t nobj)
{
	char		rel[64], want[64];
	uint64_t	s = current(root);

	for (size_t i = 0; i < nobj; i++) {
		snprintf(rel, sizeof(rel), "current/d%zu/o%zu.roa", i % 50, i);
		snprintf(want, sizeof(want), "object %zu serial %llu", i,
		    (unsigned long long)(i % 3 == 0 ? s : 1));
		assert_true(file_is(root, rel, want));
	}
}

static struct pub_rsync_obj *
many(size_t n, uint64_t serial, char ***bufs)
{
	struct pub_rsync_obj	*v = calloc(n, sizeof(*v));
	char			**b = calloc(2 * n, sizeof(*b));

	assert_non_null(v);
	assert_non_null(b);
	for (size_t i = 0; i < n; i++) {
		assert_true(asprintf(&b[2 * i], BASE "d%zu/o%zu.roa", i % 50,
		    i) > 0);
		/* one in three objects changes with every serial */
		assert_true(asprintf(&b[2 * i + 1], "object %zu serial %llu", i,
		    (unsigned long long)(i % 3 == 0 ? serial : 1)) > 0);
		v[i].uri = b[2 * i];
		v[i].data = (const uint8_t *)b[2 * i + 1];
		v[i].len = strlen(b[2 * i + 1]);
	}
	*bufs = b;
	return v;
}

static void
free_many(struct pub_rsync_obj *v, char **b, size_t n)
{
	for (size_t i = 0; i < 2 * n; i++)
		free(b[i]);
	free(b);
	free(v);
}

static void
test_crash_kill(void **state)
{
	struct fixture		*f = *state;
	const size_t		 n = 1500;
	struct pub_rsync_obj	*v;
	struct cm_err		 err;
	char			**bufs;
	pid_t			 pid;
	int			 status;

	v = many(n, 1, &bufs);
	assert_int_equal(pub_rsync_publish(f->root, BASE, 1, v, n, 1, NULL,
	    &err), 0);
	free_many(v, bufs, n);
	check_complete(f->root, n);

	/* kill writers at different points of their work */
	for (int round = 0; round < 3; round++) {
		uint64_t serial = current(f->root) + 1;

		v = many(n, serial, &bufs);
		if ((pid = fork()) == 0) {
			pub_rsync_publish(f->root, BASE, serial, v, n, 10, NULL,
			    &err);
			_exit(0);
		}
		assert_true(pid > 0);
		usleep((useconds_t)(round * 10000));
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		/* old or new, but always a complete tree */
		assert_true(current(f->root) == serial - 1 ||
		    current(f->root) == serial);
		/* the next writer finishes the job */
		if (current(f->root) != serial) {
			check_complete(f->root, n);
			assert_int_equal(pub_rsync_publish(f->root, BASE, serial,
			    v, n, 10, NULL, &err), 0);
		}
		check_complete(f->root, n);
		free_many(v, bufs, n);
	}
}

static void
test_cleanup(void **state)
{
	struct fixture		*f = *state;
	struct pub_rsync_obj	 v1[] = { OBJ("a/x.roa", "only in 1"),
		OBJ("a/y.roa", "shared") };
	struct pub_rsync_obj	 v2[] = { OBJ("a/y.roa", "shared") };
	struct pub_rsync_obj	 v3[] = { OBJ("a/y.roa", "shared"),
		OBJ("a/z.roa", "in 3") };
	struct cm_err		 err;
	size_t			 removed;
	ino_t			 shared;

	assert_int_equal(pub_rsync_publish(f->root, BASE, 1, v1, 2, 1000, NULL,
	    &err), 0);
	assert_int_equal(pub_rsync_publish(f->root, BASE, 2, v2, 1, 2000, NULL,
	    &err), 0);
	assert_int_equal(pub_rsync_publish(f->root, BASE, 3, v3, 2, 3000, NULL,
	    &err), 0);
	shared = inode(f->root, "trees/1/a/y.roa");

	/* tree 1 stopped being current at 2000: not yet 1000 s ago */
	assert_int_equal(pub_rsync_cleanup(f->root, 2999, 1000, &removed,
	    &err), 0);
	assert_int_equal(removed, 0);
	assert_true(exists(f->root, "trees/1/a/x.roa"));
	assert_int_equal(pub_rsync_cleanup(f->root, 3000, 1000, &removed,
	    &err), 0);
	assert_int_equal(removed, 1);
	assert_false(exists(f->root, "trees/1"));
	assert_false(exists(f->root, "trees/1.activated"));
	assert_true(exists(f->root, "trees/2/a/y.roa"));
	assert_true(file_is(f->root, "current/a/y.roa", "shared"));
	assert_int_equal(inode(f->root, "current/a/y.roa"), shared);
	/* "only in 1" left the content store, "shared" stayed */
	{
		struct stat	st;
		char		path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/current/a/y.roa", f->root);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_nlink, 3);	/* store, 2, 3 */
	}
	/* publishing the old content again writes it anew */
	{
		struct pub_rsync_obj	v4[] = { OBJ("a/x.roa", "only in 1") };
		struct pub_rsync_stats	st;

		assert_int_equal(pub_rsync_publish(f->root, BASE, 4, v4, 1, 4000,
		    &st, &err), 0);
		assert_int_equal(st.written, 1);
	}
	/* the current tree is never removed */
	assert_int_equal(pub_rsync_cleanup(f->root, 1000000, 0, &removed, &err),
	    0);
	assert_int_equal(removed, 2);
	assert_int_equal(current(f->root), 4);
	assert_true(file_is(f->root, "current/a/x.roa", "only in 1"));
	assert_false(exists(f->root, "current/a/y.roa"));
}

/* The BCP's deterministic times: notBefore, thisUpdate, signing-time. */
static void
test_mtime(void **state)
{
	EVP_PKEY		*k = EVP_EC_gen("P-256");
	X509			*x = X509_new();
	X509_CRL		*crl = X509_CRL_new();
	CMS_ContentInfo		*cms;
	CMS_SignerInfo		*si;
	ASN1_TIME		*t;
	BIO			*in;
	uint8_t			*der = NULL;
	int			 len;

	assert_non_null(k);
	assert_true(X509_set_version(x, 2) &&
	    ASN1_TIME_set(X509_getm_notBefore(x), 1600000000) &&
	    ASN1_TIME_set(X509_getm_notAfter(x), 1900000000) &&
	    X509_set_pubkey(x, k) && X509_sign(x, k, EVP_sha256()) > 0);
	assert_true((len = i2d_X509(x, &der)) > 0);
	assert_int_equal(pub_rsync_mtime("rsync://h/m/a.cer", der, (size_t)len),
	    1600000000);
	/* the same bytes under an unknown extension get the fixed time */
	assert_int_equal(pub_rsync_mtime("rsync://h/m/a.txt", der, (size_t)len),
	    PUB_RSYNC_FIXED_MTIME);
	assert_int_equal(pub_rsync_mtime("rsync://h/m/a.crl", der, (size_t)len),
	    PUB_RSYNC_FIXED_MTIME);
	OPENSSL_free(der);
	der = NULL;

	t = ASN1_TIME_set(NULL, 1650000000);
	assert_true(X509_CRL_set_version(crl, 1) &&
	    X509_CRL_set1_lastUpdate(crl, t) &&
	    X509_CRL_set1_nextUpdate(crl, t) &&
	    X509_CRL_sign(crl, k, EVP_sha256()) > 0);
	ASN1_TIME_free(t);
	assert_true((len = i2d_X509_CRL(crl, &der)) > 0);
	assert_int_equal(pub_rsync_mtime("rsync://h/m/a.crl", der, (size_t)len),
	    1650000000);
	OPENSSL_free(der);
	der = NULL;

	in = BIO_new_mem_buf("payload", 7);
	assert_non_null(cms = CMS_sign(NULL, NULL, NULL, in, CMS_PARTIAL |
	    CMS_BINARY));
	assert_non_null(si = CMS_add1_signer(cms, x, k, EVP_sha256(), 0));
	t = ASN1_TIME_set(NULL, 1680000000);
	assert_true(CMS_signed_add1_attr_by_NID(si, NID_pkcs9_signingTime,
	    t->type, t, -1) == 1);
	ASN1_TIME_free(t);
	BIO_free(in);
	in = BIO_new_mem_buf("payload", 7);
	assert_true(CMS_final(cms, in, NULL, CMS_BINARY) == 1);
	assert_true((len = i2d_CMS_ContentInfo(cms, &der)) > 0);
	assert_int_equal(pub_rsync_mtime("rsync://h/m/x.roa", der, (size_t)len),
	    1680000000);
	assert_int_equal(pub_rsync_mtime("rsync://h/m/x.mft", der, (size_t)len),
	    1680000000);
	/* garbage with a known extension: fixed time */
	assert_int_equal(pub_rsync_mtime("rsync://h/m/x.roa", der, 10),
	    PUB_RSYNC_FIXED_MTIME);
	OPENSSL_free(der);
	BIO_free(in);
	CMS_ContentInfo_free(cms);
	X509_CRL_free(crl);
	X509_free(x);
	EVP_PKEY_free(k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_publish_and_reuse, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_stored_and_verify, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_before_swap, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_crash_kill, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cleanup, setup, teardown),
		cmocka_unit_test(test_mtime),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
