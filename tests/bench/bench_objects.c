/*
 * Signed-object throughput and RSA key generation.
 *
 *  1. ROAs and manifests encoded and signed per second with one-time EE keys
 *     generated beforehand (so only encoding + signing is timed), then the
 *     same including the EE key generation.
 *  2. RSA-2048 key generation: EVP_PKEY_keygen (OpenSSL's default, the
 *     SP 800-56B method) against building the key from two 1024-bit primes
 *     (BN_generate_prime_ex2 + EVP_PKEY_fromdata, checked with
 *     EVP_PKEY_pairwise_check), with the ratio, in one run.
 *
 * Usage: bench_objects [n-objects [n-keys]]   (defaults 200 and 20)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca/asn1.h"
#include "ca/cms.h"
#include "ca/mft.h"
#include "ca/roa.h"
#include "ca/sigobj.h"
#include "common/cm_enc.h"
#include "hsm/hsm.h"

#define T0	1795000000

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

/* A 1024-bit prime p with gcd(p - 1, 65537) = 1 (65537 is prime). */
static int
prime(BIGNUM *p, const BIGNUM *e, BN_CTX *bc)
{
	BIGNUM	*r = BN_new();
	int	 ok = 0;

	while (r != NULL && !ok) {
		if (!BN_generate_prime_ex2(p, 1024, 0, NULL, NULL, NULL, bc) ||
		    !BN_sub_word(p, 1) || !BN_mod(r, p, e, bc) ||
		    !BN_add_word(p, 1))
			break;
		ok = !BN_is_zero(r);
	}
	BN_free(r);
	return ok;
}

/* The key pool's fast path: n = pq from two generated primes. */
static EVP_PKEY *
keygen_primes(void)
{
	BN_CTX		*bc = BN_CTX_new();
	BIGNUM		*p = BN_new(), *q = BN_new(), *n = BN_new(),
			*e = BN_new(), *d = BN_new(), *p1 = BN_new(),
			*q1 = BN_new(), *phi = BN_new(), *dp = BN_new(),
			*dq = BN_new(), *qi = BN_new();
	OSSL_PARAM_BLD	*b = OSSL_PARAM_BLD_new();
	OSSL_PARAM	*par = NULL;
	EVP_PKEY_CTX	*ctx = NULL, *chk = NULL;
	EVP_PKEY	*k = NULL;

	if (bc == NULL || qi == NULL || b == NULL || !BN_set_word(e, 65537) ||
	    !prime(p, e, bc))
		goto out;
	do {
		if (!prime(q, e, bc))
			goto out;
	} while (BN_cmp(p, q) == 0);
	if (BN_cmp(p, q) < 0)
		BN_swap(p, q);
	if (!BN_mul(n, p, q, bc) || BN_num_bits(n) != 2048 ||
	    !BN_sub(p1, p, BN_value_one()) || !BN_sub(q1, q, BN_value_one()) ||
	    !BN_mul(phi, p1, q1, bc) || !BN_mod_inverse(d, e, phi, bc) ||
	    !BN_mod(dp, d, p1, bc) || !BN_mod(dq, d, q1, bc) ||
	    !BN_mod_inverse(qi, q, p, bc))
		goto out;
	if (!OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, e) ||
	    !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_D, d) ||
	    !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_FACTOR1, p) ||
	    !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_FACTOR2, q) ||
	    !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_EXPONENT1, dp) ||
	    !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_EXPONENT2, dq) ||
	    !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, qi) ||
	    (par = OSSL_PARAM_BLD_to_param(b)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_KEYPAIR, par) <= 0)
		goto out;
	if ((chk = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL)) == NULL ||
	    EVP_PKEY_pairwise_check(chk) != 1) {
		EVP_PKEY_free(k);
		k = NULL;
	}
out:
	EVP_PKEY_CTX_free(chk);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(par);
	OSSL_PARAM_BLD_free(b);
	BN_free(p); BN_free(q); BN_free(n); BN_free(e); BN_clear_free(d);
	BN_clear_free(p1); BN_clear_free(q1); BN_clear_free(phi);
	BN_clear_free(dp); BN_clear_free(dq); BN_clear_free(qi);
	BN_CTX_free(bc);
	return k;
}

static double
bench_keygen(const char *name, EVP_PKEY *(*gen)(void), int n)
{
	double	t = now();

	for (int i = 0; i < n; i++) {
		EVP_PKEY *k = gen();

		if (k == NULL || EVP_PKEY_get_bits(k) != 2048) {
			fprintf(stderr, "%s: key generation failed\n", name);
			exit(1);
		}
		EVP_PKEY_free(k);
	}
	t = now() - t;
	printf("  %-34s %6d keys  %8.1f ms/key  %7.2f keys/s\n", name, n,
	    1000 * t / n, n / t);
	return t / n;
}

struct ca {
	struct hsm	*hsm;
	struct hsm_key	*key;
	X509		*cert;
};

/* A minimal CA cert for the issuer: subject, SKI, its key. */
static int
ca_init(struct ca *c)
{
	X509_NAME	*n = X509_NAME_new();
	X509V3_CTX	 v3;
	X509_EXTENSION	*e;
	EVP_PKEY	*k;
	struct cm_err	 err;
	int		 ok;

	if ((c->hsm = hsm_open_mem()) == NULL ||
	    hsm_key_create(c->hsm, "bench-ca", &c->key, &err) != 0)
		return -1;
	k = hsm_key_pubkey(c->key);
	c->cert = X509_new();
	/* RFC 6487 §4.5: the EE issuer name is this, a PrintableString CN. */
	X509_NAME_add_entry_by_txt(n, "CN", V_ASN1_PRINTABLESTRING,
	    (const unsigned char *)"bench-ca", -1, -1, 0);
	X509V3_set_ctx(&v3, c->cert, c->cert, NULL, NULL, 0);
	e = X509V3_EXT_nconf_nid(NULL, &v3, NID_subject_key_identifier, "hash");
	ok = X509_set_version(c->cert, 2) && X509_set_subject_name(c->cert, n) &&
	    X509_set_issuer_name(c->cert, n) && X509_set_pubkey(c->cert, k) &&
	    ASN1_TIME_set(X509_getm_notBefore(c->cert), T0) &&
	    ASN1_TIME_set(X509_getm_notAfter(c->cert), T0 + 86400 * 365) &&
	    e != NULL && X509_add_ext(c->cert, e, -1) &&
	    X509_sign(c->cert, k, EVP_sha256()) > 0;
	X509_EXTENSION_free(e);
	X509_NAME_free(n);
	return ok ? 0 : -1;
}

static void
spec_init(struct ca *c, struct ca_sigobj_spec *s, EVP_PKEY *ee, uint64_t serial,
    const char *uri)
{
	memset(s, 0, sizeof(*s));
	s->issuer = c->cert;
	s->issuer_key = c->key;
	s->ee_key = ee;
	ca_sigobj_set_serial(s, serial);
	s->not_before = T0;
	s->not_after = T0 + 365 * 86400;
	s->signing_time = T0;
	s->object_uri = uri;
	s->crl_uri = "rsync://rpki.test/repo/ca/ca.crl";
	s->issuer_uri = "rsync://rpki.test/repo/ta.cer";
}

/* One ROA (or manifest with nfiles entries) per call; keys[i] or fresh. */
static double
bench_objects(struct ca *c, int mft, EVP_PKEY **keys, int n,
    EVP_PKEY *(*gen)(void))
{
	struct ca_mft_file	*files = calloc(1000, sizeof(*files));
	struct ca_roa_prefix	 p;
	struct cm_err		 err;
	double			 t;

	ca_roa_prefix_parse("192.0.2.0/24", &p, &err);
	for (int i = 0; i < 1000; i++) {
		snprintf(files[i].name, sizeof(files[i].name), "%04d.roa", i);
		cm_sha256(files[i].name, strlen(files[i].name), files[i].hash);
	}
	t = now();
	for (int i = 0; i < n; i++) {
		struct ca_roa		 roa = { 64496 + (uint32_t)i, &p, 1 };
		struct ca_mft		 m = { { 0 }, 0, T0, T0 + 172800, files,
		    100 };
		struct ca_sigobj_spec	 s;
		EVP_PKEY		*k = gen != NULL ? gen() : keys[i];
		uint8_t			*der;
		size_t			 len;
		int			 rc;

		ca_mft_set_number(&m, (uint64_t)i + 1);
		spec_init(c, &s, k, (uint64_t)i + 1, mft ?
		    "rsync://rpki.test/repo/ca/ca.mft" :
		    "rsync://rpki.test/repo/ca/x.roa");
		rc = mft ? ca_sigobj_mft(&s, &m, &der, &len, NULL, &err) :
		    ca_sigobj_roa(&s, &roa, &der, &len, NULL, &err);
		if (rc != 0) {
			fprintf(stderr, "%s\n", err.msg);
			exit(1);
		}
		free(der);
		if (gen != NULL)
			EVP_PKEY_free(k);
	}
	t = now() - t;
	free(files);
	return n / t;
}

int
main(int argc, char **argv)
{
	int		 nobj = argc > 1 ? atoi(argv[1]) : 200;
	int		 nkey = argc > 2 ? atoi(argv[2]) : 20;
	EVP_PKEY	**keys;
	struct ca	 c;
	double		 roa, mft, roa_kg, roa_fast, mft_kg, t_def, t_fast;

	if (nobj <= 0 || nkey <= 0 || ca_init(&c) != 0)
		return 1;
	keys = calloc((size_t)nobj, sizeof(*keys));
	printf("bench_objects: %d objects, %d keys per method\n", nobj, nkey);
	printf("pre-generating %d EE keys (primes method)...\n", nobj);
	for (int i = 0; i < nobj; i++)
		if ((keys[i] = keygen_primes()) == NULL)
			return 1;

	printf("\nsigned objects (EE cert signed by the CA key through the "
	    "signer + CMS + strict re-parse):\n");
	roa = bench_objects(&c, 0, keys, nobj, NULL);
	printf("  ROA (1 prefix), keys ready        %8.1f objects/s\n", roa);
	mft = bench_objects(&c, 1, keys, nobj, NULL);
	printf("  manifest (100 files), keys ready  %8.1f objects/s\n", mft);
	roa_kg = bench_objects(&c, 0, NULL, nkey, keygen_default);
	printf("  ROA + EVP_PKEY_keygen             %8.1f objects/s  "
	    "(%.1fx slower than keys ready)\n", roa_kg, roa / roa_kg);
	roa_fast = bench_objects(&c, 0, NULL, nkey, keygen_primes);
	printf("  ROA + primes keygen               %8.1f objects/s  "
	    "(%.1fx slower than keys ready)\n", roa_fast, roa / roa_fast);
	mft_kg = bench_objects(&c, 1, NULL, nkey, keygen_primes);
	printf("  manifest + primes keygen          %8.1f objects/s  "
	    "(%.1fx slower than keys ready)\n", mft_kg, mft / mft_kg);

	printf("\nRSA-2048 key generation:\n");
	t_def = bench_keygen("EVP_PKEY_keygen (baseline)", keygen_default,
	    nkey);
	t_fast = bench_keygen("two primes + EVP_PKEY_fromdata", keygen_primes,
	    nkey);
	printf("  ratio baseline/primes: %.2fx\n", t_def / t_fast);

	for (int i = 0; i < nobj; i++)
		EVP_PKEY_free(keys[i]);
	free(keys);
	X509_free(c.cert);
	hsm_key_free(c.key);
	hsm_close(c.hsm);
	return 0;
}
