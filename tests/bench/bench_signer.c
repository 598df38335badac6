/*
 * Signer throughput.
 *
 *  1. RSA-2048 key generation: the EE key pool's generator (two 1024-bit
 *     primes, hsm_pool_keygen(), checks included) against EVP_PKEY_keygen
 *     (the baseline), alternating one key of each so that both see the same
 *     load on a shared machine.
 *  2. The EE key pool's throughput: keys/s handed out by hsm_pool_get()
 *     with 1 and with 2 worker threads from an empty pool, against
 *     EVP_PKEY_keygen in the calling thread (the baseline), same run.
 *  3. Signatures per second through the signer interface: the in-memory
 *     backend (the baseline) against PKCS#11 on SoftHSM2, with a token made
 *     in a temporary directory, from 1 and from 4 threads.
 *
 * Usage: bench_signer [n-keys [n-signatures]]   (defaults 20 and 400)
 */
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "common/cm_log.h"
#include "hsm/hsm.h"
#include "hsm/hsm_pool.h"

#define SOFTHSM	"/usr/lib/softhsm/libsofthsm2.so"
#define PIN	"bench-pin-1234"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static EVP_PKEY *
keygen_default(void)
{
	EVP_PKEY_CTX	*ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY	*k = NULL;

	if (ctx == NULL || EVP_PKEY_keygen_init(ctx) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048) <= 0 ||
	    EVP_PKEY_keygen(ctx, &k) <= 0)
		k = NULL;
	EVP_PKEY_CTX_free(ctx);
	return k;
}

static void
bench_keygen(int n)
{
	struct cm_err	 err;
	BN_CTX		*bc = BN_CTX_new();
	double		 t, tdef = 0, tfast = 0;
	EVP_PKEY	*k;

	printf("RSA-2048 key generation, %d keys each (alternating)\n", n);
	for (int i = 0; i < n; i++) {
		t = now();
		k = keygen_default();
		tdef += now() - t;
		if (k == NULL || EVP_PKEY_get_bits(k) != 2048) {
			fprintf(stderr, "EVP_PKEY_keygen failed\n");
			exit(1);
		}
		EVP_PKEY_free(k);
		t = now();
		k = hsm_pool_keygen(bc, &err);
		tfast += now() - t;
		if (k == NULL) {
			fprintf(stderr, "%s\n", err.msg);
			exit(1);
		}
		EVP_PKEY_free(k);
	}
	BN_CTX_free(bc);
	printf("  %-40s %8.1f ms/key %7.2f keys/s\n",
	    "EVP_PKEY_keygen (baseline)", 1000 * tdef / n, n / tdef);
	printf("  %-40s %8.1f ms/key %7.2f keys/s\n",
	    "two primes + checks (hsm_pool_keygen)", 1000 * tfast / n, n / tfast);
	printf("  ratio two-primes / baseline: %.2fx keys/s\n\n", tdef / tfast);
}

struct job {
	struct hsm_key	*key;
	int		 n;
	int		 failed;
};

static void *
sign_loop(void *arg)
{
	struct job	*j = arg;
	uint8_t		 md[32], sig[HSM_SIG_MAX];
	size_t		 len;
	struct cm_err	 err;

	RAND_bytes(md, sizeof(md));
	for (int i = 0; i < j->n; i++) {
		md[0] = (uint8_t)i;
		if (hsm_key_sign(j->key, md, sig, &len, &err) != 0) {
			fprintf(stderr, "sign: %s\n", err.msg);
			j->failed = 1;
			return NULL;
		}
	}
	return NULL;
}

/* Keys per second out of a pool of threads workers, starting empty. */
static double
pool_rate(int n, unsigned threads)
{
	struct hsm_pool	*p;
	struct cm_err	 err;
	EVP_PKEY	*k;
	double		 t0;
	int		 i;

	if ((p = hsm_pool_new((size_t)n, threads, &err)) == NULL) {
		fprintf(stderr, "pool: %s\n", err.msg);
		return -1;
	}
	t0 = now();
	for (i = 0; i < n; i++) {
		if (hsm_pool_get(p, 600000, &k, &err) == -1) {
			fprintf(stderr, "pool: %s\n", err.msg);
			hsm_pool_free(p);
			return -1;
		}
		EVP_PKEY_free(k);
	}
	t0 = now() - t0;
	hsm_pool_free(p);
	return n / t0;
}

static void
bench_pool(int n)
{
	double	t0, base, p1, p2;
	int	i;

	t0 = now();
	for (i = 0; i < n; i++)
		EVP_PKEY_free(keygen_default());
	base = n / (now() - t0);
	p1 = pool_rate(n, 1);
	p2 = pool_rate(n, 2);
	printf("EE key pool, %d keys from an empty pool\n", n);
	printf("  EVP_PKEY_keygen in the caller (baseline) %8.2f keys/s\n", base);
	printf("  pool, 1 worker thread                    %8.2f keys/s  %.2fx\n",
	    p1, p1 / base);
	printf("  pool, 2 worker threads                   %8.2f keys/s  %.2fx\n",
	    p2, p2 / base);
}

/* Signatures per second with nthreads threads sharing one key. */
static double
bench_sign(struct hsm *h, int n, int nthreads)
{
	struct hsm_key	*k;
	struct cm_err	 err;
	struct job	 j[4];
	pthread_t	 t[4];
	double		 t0;
	int		 failed = 0;

	if (hsm_key_create(h, "bench", &k, &err) != 0) {
		fprintf(stderr, "%s: create: %s\n", hsm_name(h), err.msg);
		exit(1);
	}
	t0 = now();
	for (int i = 0; i < nthreads; i++) {
		j[i] = (struct job){ .key = k, .n = n / nthreads };
		pthread_create(&t[i], NULL, sign_loop, &j[i]);
	}
	for (int i = 0; i < nthreads; i++) {
		pthread_join(t[i], NULL);
		failed |= j[i].failed;
	}
	t0 = now() - t0;
	if (failed)
		exit(1);
	hsm_key_destroy(k, &err);
	n = n / nthreads * nthreads;
	printf("  %-28s %d thread%s %6d sigs %9.1f sigs/s %7.3f ms/sig\n",
	    hsm_name(h), nthreads, nthreads > 1 ? "s" : " ", n, n / t0,
	    1000 * t0 / n);
	return n / t0;
}

static int
rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(p);
}

/* A SoftHSM2 token in dir; NULL with the reason in why. */
static struct hsm *
softhsm_open(const char *dir, char *why, size_t whylen)
{
	char			 path[512], cmd[1024];
	struct hsm_p11_conf	 c = { .module = SOFTHSM, .token_label = "bench",
	    .pin_env = "CAIRN_BENCH_PIN", .sessions = 4 };
	struct cm_err		 err;
	struct hsm		*h;
	FILE			*f;

	if (access(SOFTHSM, R_OK) != 0) {
		snprintf(why, whylen, "%s is not installed", SOFTHSM);
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/tokens", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/softhsm2.conf", dir);
	if ((f = fopen(path, "w")) == NULL) {
		snprintf(why, whylen, "cannot write %s", path);
		return NULL;
	}
	fprintf(f, "directories.tokendir = %s/tokens\n"
	    "objectstore.backend = file\nlog.level = ERROR\n", dir);
	fclose(f);
	setenv("SOFTHSM2_CONF", path, 1);
	setenv("CAIRN_BENCH_PIN", PIN, 1);
	snprintf(cmd, sizeof(cmd), "softhsm2-util --init-token --free --label "
	    "bench --pin " PIN " --so-pin 87654321 >/dev/null 2>&1");
	if (system(cmd) != 0) {
		snprintf(why, whylen, "softhsm2-util --init-token failed (is "
		    "softhsm2 installed?)");
		return NULL;
	}
	if ((h = hsm_open_pkcs11(&c, &err)) == NULL)
		snprintf(why, whylen, "%s", err.msg);
	return h;
}

int
main(int argc, char *argv[])
{
	int		 nkeys = argc > 1 ? atoi(argv[1]) : 20;
	int		 nsigs = argc > 2 ? atoi(argv[2]) : 400;
	char		 dir[] = "/tmp/cairn-bench-signer-XXXXXX", why[1024];
	struct hsm	*mem, *p11;
	double		 m1, m4, s1, s4;

	if (nkeys < 1 || nsigs < 4) {
		fprintf(stderr, "usage: bench_signer [n-keys [n-signatures]]\n");
		return 2;
	}
	cm_log_init("bench_signer", CM_LOG_WARN);
	bench_keygen(nkeys);
	bench_pool(nkeys);

	printf("RSA-2048 PKCS#1 v1.5 signatures over a SHA-256 digest\n");
	if ((mem = hsm_open_mem()) == NULL)
		return 1;
	m1 = bench_sign(mem, nsigs, 1);
	m4 = bench_sign(mem, nsigs, 4);
	hsm_close(mem);
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	if ((p11 = softhsm_open(dir, why, sizeof(why))) == NULL)
		printf("  pkcs11 (SoftHSM2): not measured: %s\n", why);
	else {
		s1 = bench_sign(p11, nsigs, 1);
		s4 = bench_sign(p11, nsigs, 4);
		hsm_close(p11);
		printf("  ratio SoftHSM2 / mem: %.2fx (1 thread), %.2fx "
		    "(4 threads)\n", s1 / m1, s4 / m4);
	}
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}
