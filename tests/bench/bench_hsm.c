/*
 * The PKCS#11 key handle cache (hsm/hsm_p11_cache.c) on SoftHSM2.
 *
 * What the CA engine does for each change of a CA: find the CA's key by id
 * (hsm_key_find) and sign with it.  Measured with few keys on the token
 * (100: the baseline) and with many (2,000 by default), each with the
 * cache (the default) and without it (key_cache = -1), all in one run, so
 * that the ratios compare like with like on a shared machine.
 *
 * The token is filled with key pairs imported with C_CreateObject: one
 * RSA-2048 key's material under distinct random ids (SoftHSM2 compares a
 * search template with every object, whatever its key; importing is much
 * faster than generating).  The key that is found and used is generated
 * in the token by hsm_key_create(), like a CA's; a few more are generated
 * to tell how long generating all of them would take.
 *
 * Usage: bench_hsm [many-keys [rounds]]   (defaults 2000 and 100; the
 * environment variables BENCH_HSM_KEYS and BENCH_HSM_ROUNDS also set them).
 * Filling a token with 20,000 keys takes minutes (docs/performance.md).
 */
#include <dlfcn.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "common/cm_log.h"
#include "hsm/hsm.h"

#define SOFTHSM	"/usr/lib/softhsm/libsofthsm2.so"
#define PIN	"bench-pin-1234"
#define FEW	100
#define NGEN	5		/* keys generated to time generation */
#define NFILL	4		/* threads importing filler keys */

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
die(const char *what, const char *why)
{
	fprintf(stderr, "bench_hsm: %s: %s\n", what, why);
	exit(1);
}

/*
 * The module, initialised and logged in by us, with one session kept open
 * (the login lasts while a session of the process is open).
 */
struct p11 {
	void			*dl;
	CK_FUNCTION_LIST	*f;
	CK_SLOT_ID		 slot;
	CK_SESSION_HANDLE	 s;
};

/* The material of one RSA key as PKCS#11 attribute values. */
struct material {
	uint8_t	*v[8];
	size_t	 len[8];
};

static const char *const rsa_params[8] = {
	OSSL_PKEY_PARAM_RSA_N, OSSL_PKEY_PARAM_RSA_E, OSSL_PKEY_PARAM_RSA_D,
	OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2,
	OSSL_PKEY_PARAM_RSA_EXPONENT1, OSSL_PKEY_PARAM_RSA_EXPONENT2,
	OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
};

static void
material_make(struct material *m)
{
	EVP_PKEY	*k = EVP_RSA_gen(2048);
	BIGNUM		*bn = NULL;

	if (k == NULL)
		die("filler key", "EVP_RSA_gen failed");
	for (int i = 0; i < 8; i++) {
		if (EVP_PKEY_get_bn_param(k, rsa_params[i], &bn) != 1 ||
		    (m->v[i] = malloc((size_t)BN_num_bytes(bn))) == NULL)
			die("filler key", rsa_params[i]);
		m->len[i] = (size_t)BN_bn2bin(bn, m->v[i]);
		BN_free(bn);
		bn = NULL;
	}
	EVP_PKEY_free(k);
}

static void
material_free(struct material *m)
{
	for (int i = 0; i < 8; i++)
		free(m->v[i]);
}

/* Loads SoftHSM2 and logs in to the token labelled "bench". */
static void
p11_open(struct p11 *p)
{
	CK_C_INITIALIZE_ARGS	 args = { .flags = CKF_OS_LOCKING_OK };
	CK_C_GetFunctionList	 gfl;
	CK_SLOT_ID		 slots[16];
	CK_ULONG		 n = 16;
	CK_TOKEN_INFO		 ti;
	CK_RV			 rv;
	CK_ULONG		 i;

	if ((p->dl = dlopen(SOFTHSM, RTLD_NOW | RTLD_LOCAL)) == NULL ||
	    (gfl = (CK_C_GetFunctionList)dlsym(p->dl,
	    "C_GetFunctionList")) == NULL || gfl(&p->f) != CKR_OK)
		die(SOFTHSM, "cannot load");
	if ((rv = p->f->C_Initialize(&args)) != CKR_OK)
		die("C_Initialize", "failed");
	if (p->f->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK)
		die("C_GetSlotList", "failed");
	for (i = 0; i < n; i++)
		if (p->f->C_GetTokenInfo(slots[i], &ti) == CKR_OK &&
		    memcmp(ti.label, "bench ", 6) == 0)
			break;
	if (i == n)
		die("token bench", "not found");
	p->slot = slots[i];
	if (p->f->C_OpenSession(slots[i], CKF_SERIAL_SESSION | CKF_RW_SESSION,
	    NULL, NULL, &p->s) != CKR_OK)
		die("C_OpenSession", "failed");
	rv = p->f->C_Login(p->s, CKU_USER, (CK_UTF8CHAR *)PIN, strlen(PIN));
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN)
		die("C_Login", "failed");
}

static void
p11_close(struct p11 *p)
{
	p->f->C_CloseSession(p->s);
	p->f->C_Finalize(NULL);
	dlclose(p->dl);
}

struct filler {
	struct p11		*p;
	const struct material	*m;
	int			 n;
	int			 progress;	/* prints how it goes */
	pthread_t		 t;
};

/* Imports f->n key pairs of material f->m under random ids, own session. */
static void *
fill_main(void *arg)
{
	struct filler		*f = arg;
	struct p11		*p = f->p;
	const struct material	*m = f->m;
	CK_SESSION_HANDLE	 s;
	CK_OBJECT_CLASS		 priv = CKO_PRIVATE_KEY, pub = CKO_PUBLIC_KEY;
	CK_KEY_TYPE		 rsa = CKK_RSA;
	CK_BBOOL		 yes = CK_TRUE, no = CK_FALSE;
	CK_OBJECT_HANDLE	 o;
	uint8_t			 id[20];
	CK_ATTRIBUTE		 pt[] = {
		{ CKA_CLASS, &priv, sizeof(priv) },
		{ CKA_KEY_TYPE, &rsa, sizeof(rsa) },
		{ CKA_TOKEN, &yes, sizeof(yes) },
		{ CKA_PRIVATE, &yes, sizeof(yes) },
		{ CKA_SENSITIVE, &yes, sizeof(yes) },
		{ CKA_EXTRACTABLE, &no, sizeof(no) },
		{ CKA_SIGN, &yes, sizeof(yes) },
		{ CKA_LABEL, "filler", 6 },
		{ CKA_ID, id, sizeof(id) },
		{ CKA_MODULUS, m->v[0], m->len[0] },
		{ CKA_PUBLIC_EXPONENT, m->v[1], m->len[1] },
		{ CKA_PRIVATE_EXPONENT, m->v[2], m->len[2] },
		{ CKA_PRIME_1, m->v[3], m->len[3] },
		{ CKA_PRIME_2, m->v[4], m->len[4] },
		{ CKA_EXPONENT_1, m->v[5], m->len[5] },
		{ CKA_EXPONENT_2, m->v[6], m->len[6] },
		{ CKA_COEFFICIENT, m->v[7], m->len[7] },
	}, ut[] = {
		{ CKA_CLASS, &pub, sizeof(pub) },
		{ CKA_KEY_TYPE, &rsa, sizeof(rsa) },
		{ CKA_TOKEN, &yes, sizeof(yes) },
		{ CKA_PRIVATE, &no, sizeof(no) },
		{ CKA_VERIFY, &yes, sizeof(yes) },
		{ CKA_LABEL, "filler", 6 },
		{ CKA_ID, id, sizeof(id) },
		{ CKA_MODULUS, m->v[0], m->len[0] },
		{ CKA_PUBLIC_EXPONENT, m->v[1], m->len[1] },
	};

	double	t = now();

	if (p->f->C_OpenSession(p->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
	    NULL, NULL, &s) != CKR_OK)
		die("C_OpenSession", "failed");
	for (int i = 0; i < f->n; i++) {
		/* Progress, and how the cost of an import grows with the token. */
		if (f->progress && i > 0 && i % 500 == 0) {
			fprintf(stderr, "  ... %d key pairs imported by one of %d "
			    "threads, the last 500 at %.1f ms each\n", i, NFILL,
			    (now() - t) * 2);
			t = now();
		}
		RAND_bytes(id, sizeof(id));
		if (p->f->C_CreateObject(s, pt, sizeof(pt) / sizeof(pt[0]),
		    &o) != CKR_OK ||
		    p->f->C_CreateObject(s, ut, sizeof(ut) / sizeof(ut[0]),
		    &o) != CKR_OK)
			die("C_CreateObject", "failed");
	}
	p->f->C_CloseSession(s);
	return NULL;
}

/*
 * Imports n key pairs on NFILL threads (SoftHSM2 rewrites an object's file
 * for each attribute: the time goes into system calls, which overlap).
 */
static void
fill(struct p11 *p, const struct material *m, int n)
{
	struct filler f[NFILL];

	for (int i = 0; i < NFILL; i++) {
		f[i] = (struct filler){ .p = p, .m = m, .n = n / NFILL +
		    (i < n % NFILL), .progress = i == 0 };
		if (pthread_create(&f[i].t, NULL, fill_main, &f[i]) != 0)
			die("pthread_create", "failed");
	}
	for (int i = 0; i < NFILL; i++)
		pthread_join(f[i].t, NULL);
}

static struct hsm *
open_token(int cache)
{
	struct hsm_p11_conf	 c = { .module = SOFTHSM, .token_label = "bench",
	    .pin_env = "CAIRN_BENCH_PIN", .sessions = 4,
	    .key_cache = cache ? 0 : -1 };
	struct cm_err		 err;
	struct hsm		*h;

	if ((h = hsm_open_pkcs11(&c, &err)) == NULL)
		die("hsm_open_pkcs11", err.msg);
	return h;
}

/*
 * Finds key id and signs with it, rounds times, on a freshly opened token
 * (cache on or off).  Returns the seconds per find + sign.
 */
static double
find_sign(const char *id, int cache, int rounds, int keys)
{
	struct hsm			*h = open_token(cache);
	struct hsm_p11_cache_stats	 cs;
	struct hsm_key			*k;
	struct cm_err			 err;
	uint8_t				 md[32], sig[HSM_SIG_MAX];
	size_t				 len;
	double				 t0, t;

	RAND_bytes(md, sizeof(md));
	t0 = now();
	for (int i = 0; i < rounds; i++) {
		md[0] = (uint8_t)i;
		if (hsm_key_find(h, id, &k, &err) == -1 ||
		    hsm_key_sign(k, md, sig, &len, &err) == -1)
			die("find + sign", err.msg);
		hsm_key_free(k);
	}
	t = (now() - t0) / rounds;
	memset(&cs, 0, sizeof(cs));
	hsm_p11_cache_stats(h, &cs);
	printf("  %6d keys, cache %-3s %5d rounds %9.3f ms/op %9.1f ops/s"
	    "  (hits %llu, misses %llu)\n", keys, cache ? "on" : "off", rounds,
	    1000 * t, 1 / t, (unsigned long long)cs.hits,
	    (unsigned long long)cs.misses);
	hsm_close(h);
	return t;
}

static int
rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

/* A SoftHSM2 configuration and token "bench" in dir. */
static void
token_init(const char *dir)
{
	char	 path[512], cmd[1024];
	FILE	*f;

	if (access(SOFTHSM, R_OK) != 0) {
		printf("PKCS#11 key handle cache: not measured: %s is not "
		    "installed\n", SOFTHSM);
		exit(0);
	}
	snprintf(path, sizeof(path), "%s/tokens", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/softhsm2.conf", dir);
	if ((f = fopen(path, "w")) == NULL)
		die(path, "cannot write");
	fprintf(f, "directories.tokendir = %s/tokens\n"
	    "objectstore.backend = file\nlog.level = ERROR\n", dir);
	fclose(f);
	setenv("SOFTHSM2_CONF", path, 1);
	setenv("CAIRN_BENCH_PIN", PIN, 1);
	snprintf(cmd, sizeof(cmd), "softhsm2-util --init-token --free --label "
	    "bench --pin " PIN " --so-pin 87654321 >/dev/null 2>&1");
	if (system(cmd) != 0)
		die("softhsm2-util --init-token", "failed");
}

static int
arg(int argc, char **argv, int i, const char *env, int def)
{
	const char *s = argc > i ? argv[i] : getenv(env);

	return s != NULL ? atoi(s) : def;
}

int
main(int argc, char *argv[])
{
	int		 many = arg(argc, argv, 1, "BENCH_HSM_KEYS", 2000);
	int		 rounds = arg(argc, argv, 2, "BENCH_HSM_ROUNDS", 100);
	char		 dir[] = "/tmp/cairn-bench-hsm-XXXXXX", id[HSM_KEY_ID_LEN + 1];
	struct material	 m;
	struct p11	 p;
	struct hsm	*h;
	struct hsm_key	*k;
	struct cm_err	 err;
	double		 t0, tgen, tfill, f_on, f_off, m_on, m_off;

	if (many <= FEW || rounds < 1) {
		fprintf(stderr, "usage: bench_hsm [many-keys (> %d) [rounds]]\n",
		    FEW);
		return 2;
	}
	cm_log_init("bench_hsm", CM_LOG_WARN);
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	token_init(dir);
	/* Ours to end: the backends opened below find it initialised. */
	p11_open(&p);

	/* The key to find, and a few more to time generation in the token. */
	h = open_token(1);
	t0 = now();
	for (int i = 0; i < NGEN; i++) {
		if (hsm_key_create(h, "bench", &k, &err) == -1)
			die("hsm_key_create", err.msg);
		if (i == 0)
			snprintf(id, sizeof(id), "%s", hsm_key_id(k));
		hsm_key_free(k);
	}
	tgen = (now() - t0) / NGEN;
	hsm_close(h);
	material_make(&m);
	t0 = now();
	fill(&p, &m, FEW - NGEN);
	tfill = now() - t0;

	printf("PKCS#11 key handle cache on SoftHSM2: hsm_key_find + "
	    "hsm_key_sign of one key\n");
	f_on = find_sign(id, 1, rounds, FEW);
	f_off = find_sign(id, 0, rounds, FEW);
	t0 = now();
	fill(&p, &m, many - FEW);
	tfill += now() - t0;
	m_on = find_sign(id, 1, rounds, many);
	m_off = find_sign(id, 0, rounds, many);

	printf("  ratio cache off / on:  %.2fx with %d keys, %.2fx with %d "
	    "keys\n", f_off / f_on, FEW, m_off / m_on, many);
	printf("  ratio %d / %d keys:  %.2fx with the cache, %.2fx without\n",
	    many, FEW, m_on / f_on, m_off / f_off);
	printf("Filling the token: %d key pairs imported in %.1f s (%.2f ms "
	    "each); generating them in the token at %.0f ms/key (%d measured) "
	    "would take %.0f s\n", many - NGEN, tfill, 1000 * tfill /
	    (many - NGEN), 1000 * tgen, NGEN, tgen * many);
	material_free(&m);
	p11_close(&p);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}
