/*
 * PKCS#11 signer backend: CA and BPKI keys on a token (an HSM in
 * production, SoftHSM2 in tests), reached through a module loaded with
 * dlopen().
 *
 * Keys are RSA-2048 token objects; both halves carry CKA_ID = the 20 bytes
 * of the key id (SHA-1 of the public key), which is how they are found
 * again.  The private half is sensitive, not extractable and may only sign.
 *
 * Threads share a small pool of sessions.  When the token goes away (the
 * module reports a removed device or invalid session), the failing call
 * returns CM_ERETRY, the pool starts a new epoch, and the next call opens
 * fresh sessions, logs in again and looks its key objects up again.
 */
#include "hsm/hsm_impl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <p11-kit/pkcs11.h>

#include "common/cm_enc.h"
#include "common/cm_file.h"
#include "common/cm_log.h"

#define P11_DEFAULT_SESSIONS	4
#define P11_PIN_MAX		256

struct p11_state {
	void			*dl;		/* dlopen() handle */
	CK_FUNCTION_LIST	*f;
	int			 finalize;	/* we ran C_Initialize */
	CK_SLOT_ID		 slot;
	char			 name[48];	/* "token <label>", for messages */
	char			*pin_file;	/* where the PIN is read again */
	char			*pin_env;

	/* The session pool; everything below is under mtx. */
	pthread_mutex_t		 mtx;
	pthread_cond_t		 cv;
	CK_SESSION_HANDLE	*idle;		/* max entries */
	unsigned		 nidle, nopen, max;
	/*
	 * Bumped when the token went away: sessions and object handles of an
	 * older epoch are dropped, and the next session logs in again.
	 */
	unsigned		 epoch;
	int			 need_login;
};

/* A session borrowed from the pool. */
struct p11_sess {
	CK_SESSION_HANDLE	h;
	unsigned		epoch;
};

/* Per key handle: the private key object, looked up again in a new epoch. */
struct p11_key {
	CK_OBJECT_HANDLE	priv;
	unsigned		epoch;
};

static const char *
rv_str(CK_RV rv)
{
	static const struct { CK_RV rv; const char *s; } tab[] = {
#define RV(x)	{ x, #x }
		RV(CKR_OK), RV(CKR_HOST_MEMORY), RV(CKR_SLOT_ID_INVALID),
		RV(CKR_GENERAL_ERROR), RV(CKR_FUNCTION_FAILED),
		RV(CKR_ARGUMENTS_BAD), RV(CKR_ATTRIBUTE_READ_ONLY),
		RV(CKR_ATTRIBUTE_SENSITIVE), RV(CKR_ATTRIBUTE_TYPE_INVALID),
		RV(CKR_ATTRIBUTE_VALUE_INVALID), RV(CKR_DATA_LEN_RANGE),
		RV(CKR_DEVICE_ERROR), RV(CKR_DEVICE_MEMORY),
		RV(CKR_DEVICE_REMOVED), RV(CKR_FUNCTION_CANCELED),
		RV(CKR_KEY_HANDLE_INVALID), RV(CKR_KEY_SIZE_RANGE),
		RV(CKR_KEY_TYPE_INCONSISTENT), RV(CKR_KEY_FUNCTION_NOT_PERMITTED),
		RV(CKR_MECHANISM_INVALID), RV(CKR_MECHANISM_PARAM_INVALID),
		RV(CKR_OBJECT_HANDLE_INVALID), RV(CKR_OPERATION_ACTIVE),
		RV(CKR_OPERATION_NOT_INITIALIZED), RV(CKR_PIN_INCORRECT),
		RV(CKR_PIN_INVALID), RV(CKR_PIN_LEN_RANGE), RV(CKR_PIN_EXPIRED),
		RV(CKR_PIN_LOCKED), RV(CKR_SESSION_CLOSED),
		RV(CKR_SESSION_COUNT), RV(CKR_SESSION_HANDLE_INVALID),
		RV(CKR_SESSION_READ_ONLY), RV(CKR_TEMPLATE_INCOMPLETE),
		RV(CKR_TEMPLATE_INCONSISTENT), RV(CKR_TOKEN_NOT_PRESENT),
		RV(CKR_TOKEN_NOT_RECOGNIZED), RV(CKR_TOKEN_WRITE_PROTECTED),
		RV(CKR_USER_ALREADY_LOGGED_IN), RV(CKR_USER_NOT_LOGGED_IN),
		RV(CKR_USER_PIN_NOT_INITIALIZED), RV(CKR_USER_TYPE_INVALID),
		RV(CKR_BUFFER_TOO_SMALL), RV(CKR_CRYPTOKI_NOT_INITIALIZED),
		RV(CKR_CRYPTOKI_ALREADY_INITIALIZED),
#undef RV
	};

	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (tab[i].rv == rv)
			return tab[i].s;
	return "unknown PKCS#11 error";
}

/* Results meaning the token or our sessions are gone: worth a retry. */
static int
rv_gone(CK_RV rv)
{
	switch (rv) {
	case CKR_SESSION_HANDLE_INVALID:
	case CKR_SESSION_CLOSED:
	case CKR_DEVICE_REMOVED:
	case CKR_DEVICE_ERROR:
	case CKR_TOKEN_NOT_PRESENT:
	case CKR_TOKEN_NOT_RECOGNIZED:
	case CKR_USER_NOT_LOGGED_IN:
		return 1;
	}
	return 0;
}

static int
p11_fail(const struct p11_state *st, struct cm_err *err, const char *fn,
    CK_RV rv)
{
	if (rv_gone(rv))
		return cm_err_set(err, CM_ERETRY, st->name, "%s: %s (0x%lx): "
		    "the token or its session went away; sessions are "
		    "re-opened on the next call", fn, rv_str(rv),
		    (unsigned long)rv);
	return cm_err_set(err, CM_ECRYPTO, st->name, "%s failed: %s (0x%lx)",
	    fn, rv_str(rv), (unsigned long)rv);
}

/*
 * Reads the user PIN from the configured file (first line) or environment
 * variable into pin[P11_PIN_MAX].  The caller wipes it after use.
 */
static int
read_pin(const struct p11_state *st, char *pin, struct cm_err *err)
{
	const char	*src;
	uint8_t		*buf = NULL;
	size_t		 len = 0, n;

	if (st->pin_file != NULL) {
		if (cm_file_read(st->pin_file, P11_PIN_MAX, &buf, &len, err) == -1)
			return cm_err_wrap(err, "cannot read the user PIN");
		src = (const char *)buf;
	} else if ((src = getenv(st->pin_env)) == NULL)
		return cm_err_set(err, CM_EINVAL, st->name, "the PIN variable "
		    "%s is not set in the environment", st->pin_env);
	n = strcspn(src, "\r\n");
	if (n > 0 && n < P11_PIN_MAX)
		memcpy(pin, src, n);
	pin[n < P11_PIN_MAX ? n : 0] = '\0';
	if (buf != NULL) {
		OPENSSL_cleanse(buf, len);
		free(buf);
	}
	if (n == 0 || n >= P11_PIN_MAX)
		return cm_err_set(err, CM_EINVAL, st->name, "the user PIN from "
		    "%s %s is empty or too long", st->pin_file ? "file" :
		    "variable", st->pin_file ? st->pin_file : st->pin_env);
	return 0;
}

/* Logs the user in on session s (the login covers all our sessions). */
static int
login(struct p11_state *st, CK_SESSION_HANDLE s, struct cm_err *err)
{
	char	pin[P11_PIN_MAX];
	CK_RV	rv;

	if (read_pin(st, pin, err) == -1)
		return -1;
	rv = st->f->C_Login(s, CKU_USER, (CK_UTF8CHAR *)pin, strlen(pin));
	OPENSSL_cleanse(pin, sizeof(pin));
	if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN)
		return 0;
	if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_INVALID ||
	    rv == CKR_PIN_LEN_RANGE)
		return cm_err_set(err, CM_EPERM, st->name, "user login "
		    "failed: wrong PIN (%s)", rv_str(rv));
	if (rv == CKR_PIN_LOCKED || rv == CKR_PIN_EXPIRED)
		return cm_err_set(err, CM_EPERM, st->name, "user login "
		    "failed: the user PIN is locked or expired (%s)", rv_str(rv));
	return p11_fail(st, err, "C_Login", rv);
}

/* Opens one more session (called with mtx held). */
static int
sess_open(struct p11_state *st, struct p11_sess *s, struct cm_err *err)
{
	CK_RV	rv;

	rv = st->f->C_OpenSession(st->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
	    NULL, NULL, &s->h);
	if (rv != CKR_OK)
		return p11_fail(st, err, "C_OpenSession", rv);
	/* The login state ends with the application's last session. */
	if (st->need_login || st->nopen == 0) {
		if (login(st, s->h, err) == -1) {
			st->f->C_CloseSession(s->h);
			return -1;
		}
		st->need_login = 0;
	}
	s->epoch = st->epoch;
	st->nopen++;
	return 0;
}

/* Borrows a logged-in session, waiting while all are busy.  0 or -1. */
static int
sess_get(struct p11_state *st, struct p11_sess *s, struct cm_err *err)
{
	int	rc = 0;

	pthread_mutex_lock(&st->mtx);
	while (st->nidle == 0 && st->nopen >= st->max)
		pthread_cond_wait(&st->cv, &st->mtx);
	if (st->nidle > 0) {
		s->h = st->idle[--st->nidle];
		s->epoch = st->epoch;
	} else
		rc = sess_open(st, s, err);
	pthread_mutex_unlock(&st->mtx);
	return rc;
}

/*
 * Returns a session after an operation whose last result was rv.  A result
 * saying that the token went away closes it, drops the idle sessions (they
 * are dead too) and starts a new epoch.
 */
static void
sess_put(struct p11_state *st, struct p11_sess *s, CK_RV rv)
{
	pthread_mutex_lock(&st->mtx);
	if (rv_gone(rv) && s->epoch == st->epoch) {
		cm_warn("%s: %s: closing its sessions, will log in again",
		    st->name, rv_str(rv));
		st->epoch++;
		st->need_login = 1;
		while (st->nidle > 0) {
			st->f->C_CloseSession(st->idle[--st->nidle]);
			st->nopen--;
		}
	}
	if (s->epoch != st->epoch) {
		st->f->C_CloseSession(s->h);
		st->nopen--;
	} else
		st->idle[st->nidle++] = s->h;
	pthread_cond_signal(&st->cv);
	pthread_mutex_unlock(&st->mtx);
}

/*
 * Finds the one object of class cls with CKA_ID = the key id.  Returns 0,
 * or -1 with err (CM_ENOTFOUND if there is none).
 */
static int
find_obj(struct p11_state *st, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls,
    const char *id, CK_OBJECT_HANDLE *out, CK_RV *rvp, struct cm_err *err)
{
	uint8_t			raw[HSM_KEY_ID_LEN / 2];
	CK_KEY_TYPE		kt = CKK_RSA;
	CK_ATTRIBUTE		tmpl[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		{ CKA_ID, raw, sizeof(raw) },
	};
	CK_OBJECT_HANDLE	objs[2];
	CK_ULONG		n = 0;
	CK_RV			rv;

	if (cm_hex_decode(id, raw, sizeof(raw)) == -1)
		return cm_err_set(err, CM_EINVAL, id, "not a key id");
	if ((rv = st->f->C_FindObjectsInit(s, tmpl, 3)) != CKR_OK) {
		*rvp = rv;
		return p11_fail(st, err, "C_FindObjectsInit", rv);
	}
	rv = st->f->C_FindObjects(s, objs, 2, &n);
	st->f->C_FindObjectsFinal(s);
	if ((*rvp = rv) != CKR_OK)
		return p11_fail(st, err, "C_FindObjects", rv);
	if (n == 0)
		return cm_err_set(err, CM_ENOTFOUND, id, "%s: no %s key with "
		    "this CKA_ID", st->name, cls == CKO_PRIVATE_KEY ? "private" :
		    "public");
	if (n > 1)
		return cm_err_set(err, CM_EEXIST, id, "%s: several %s keys "
		    "have this CKA_ID", st->name, cls == CKO_PRIVATE_KEY ?
		    "private" : "public");
	*out = objs[0];
	return 0;
}

/* Reads one variable-length attribute into a malloc'd buffer. */
static int
get_attr(struct p11_state *st, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
    CK_ATTRIBUTE_TYPE type, uint8_t **out, CK_ULONG *len, CK_RV *rvp,
    struct cm_err *err)
{
	CK_ATTRIBUTE	a = { type, NULL, 0 };
	CK_RV		rv;

	if ((rv = st->f->C_GetAttributeValue(s, o, &a, 1)) == CKR_OK) {
		if (a.ulValueLen == 0 || a.ulValueLen > 1024)
			return cm_err_set(err, CM_ECRYPTO, st->name, "attribute "
			    "0x%lx has a bad length", (unsigned long)type);
		if ((a.pValue = malloc(a.ulValueLen)) == NULL)
			return cm_err_set(err, CM_ENOMEM, st->name, "out of memory");
		rv = st->f->C_GetAttributeValue(s, o, &a, 1);
	}
	if ((*rvp = rv) != CKR_OK) {
		free(a.pValue);
		return p11_fail(st, err, "C_GetAttributeValue", rv);
	}
	*out = a.pValue;
	*len = a.ulValueLen;
	return 0;
}

/*
 * Builds the public key of object o from CKA_MODULUS and CKA_PUBLIC_EXPONENT
 * (readable on both halves of an RSA key) and checks the RFC 7935 profile.
 */
static EVP_PKEY *
read_pub(struct p11_state *st, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
    CK_RV *rvp, struct cm_err *err)
{
	uint8_t		*mod = NULL, *exp = NULL;
	CK_ULONG	 nmod, nexp;
	BIGNUM		*n = NULL, *e = NULL;
	OSSL_PARAM_BLD	*b = NULL;
	OSSL_PARAM	*par = NULL;
	EVP_PKEY_CTX	*ctx = NULL;
	EVP_PKEY	*pk = NULL;

	if (get_attr(st, s, o, CKA_MODULUS, &mod, &nmod, rvp, err) == -1 ||
	    get_attr(st, s, o, CKA_PUBLIC_EXPONENT, &exp, &nexp, rvp, err) == -1)
		goto out;
	if ((n = BN_bin2bn(mod, (int)nmod, NULL)) == NULL ||
	    (e = BN_bin2bn(exp, (int)nexp, NULL)) == NULL) {
		cm_err_ssl(err, st->name, "cannot read the public key");
		goto out;
	}
	if (BN_num_bits(n) != 2048 || !BN_is_word(e, RSA_F4)) {
		cm_err_set(err, CM_EINVAL, st->name, "key is RSA-%d with "
		    "another exponent than 65537 or another size than 2048 "
		    "bits (RFC 7935 requires RSA-2048, e = 65537)", BN_num_bits(n));
		goto out;
	}
	if ((b = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, e) ||
	    (par = OSSL_PARAM_BLD_to_param(b)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, par) <= 0) {
		pk = NULL;
		cm_err_ssl(err, st->name, "cannot build the public key");
	}
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(par);
	OSSL_PARAM_BLD_free(b);
	BN_free(n);
	BN_free(e);
	free(mod);
	free(exp);
	return pk;
}

/* Attaches the backend data to a new handle for private key object priv. */
static int
key_attach(struct hsm_key *k, CK_OBJECT_HANDLE priv, unsigned epoch,
    struct cm_err *err)
{
	struct p11_key	*pk;

	if ((pk = calloc(1, sizeof(*pk))) == NULL)
		return cm_err_set(err, CM_ENOMEM, k->id, "out of memory");
	pk->priv = priv;
	pk->epoch = epoch;
	k->impl = pk;
	return 0;
}

static int
p11_key_create(struct hsm *h, const char *label, struct hsm_key **out,
    struct cm_err *err)
{
	struct p11_state	*st = h->impl;
	CK_BBOOL		 yes = CK_TRUE, no = CK_FALSE;
	CK_BYTE			 f4[] = { 0x01, 0x00, 0x01 };
	CK_ULONG		 bits = 2048;
	CK_MECHANISM		 mech = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
	CK_ULONG		 llen = label != NULL ? strlen(label) : 0;
	CK_ATTRIBUTE		 pubt[] = {
		{ CKA_TOKEN, &yes, sizeof(yes) },
		{ CKA_PRIVATE, &no, sizeof(no) },
		{ CKA_VERIFY, &yes, sizeof(yes) },
		{ CKA_ENCRYPT, &no, sizeof(no) },
		{ CKA_WRAP, &no, sizeof(no) },
		{ CKA_MODULUS_BITS, &bits, sizeof(bits) },
		{ CKA_PUBLIC_EXPONENT, f4, sizeof(f4) },
		{ CKA_LABEL, (void *)label, llen },
	}, privt[] = {
		{ CKA_TOKEN, &yes, sizeof(yes) },
		{ CKA_PRIVATE, &yes, sizeof(yes) },
		{ CKA_SENSITIVE, &yes, sizeof(yes) },
		{ CKA_EXTRACTABLE, &no, sizeof(no) },
		{ CKA_SIGN, &yes, sizeof(yes) },
		{ CKA_DECRYPT, &no, sizeof(no) },
		{ CKA_UNWRAP, &no, sizeof(no) },
		{ CKA_LABEL, (void *)label, llen },
	};
	CK_OBJECT_HANDLE	 pub = CK_INVALID_HANDLE, priv = CK_INVALID_HANDLE;
	CK_ATTRIBUTE		 ida = { CKA_ID, NULL, HSM_KEY_ID_LEN / 2 };
	uint8_t			 raw[HSM_KEY_ID_LEN / 2];
	struct p11_sess		 s;
	struct hsm_key		*k = NULL;
	EVP_PKEY		*pk = NULL;
	CK_RV			 rv = CKR_OK;

	if (sess_get(st, &s, err) == -1)
		return -1;
	rv = st->f->C_GenerateKeyPair(s.h, &mech, pubt, 8, privt, 8, &pub, &priv);
	if (rv != CKR_OK) {
		p11_fail(st, err, "C_GenerateKeyPair", rv);
		goto fail;
	}
	if ((pk = read_pub(st, s.h, pub, &rv, err)) == NULL ||
	    (k = hsm__key_new(h, pk, err)) == NULL)
		goto fail;
	/* The id is known only now: set it on both halves. */
	cm_hex_decode(k->id, raw, sizeof(raw));
	ida.pValue = raw;
	if ((rv = st->f->C_SetAttributeValue(s.h, pub, &ida, 1)) != CKR_OK ||
	    (rv = st->f->C_SetAttributeValue(s.h, priv, &ida, 1)) != CKR_OK) {
		p11_fail(st, err, "C_SetAttributeValue(CKA_ID)", rv);
		goto fail;
	}
	if (key_attach(k, priv, s.epoch, err) == -1)
		goto fail;
	sess_put(st, &s, CKR_OK);
	EVP_PKEY_free(pk);
	cm_info("%s: created key %s (%s)", st->name, k->id,
	    label != NULL ? label : "no label");
	*out = k;
	return 0;
fail:
	/* Leave no half-made key on the token. */
	if (priv != CK_INVALID_HANDLE)
		st->f->C_DestroyObject(s.h, priv);
	if (pub != CK_INVALID_HANDLE)
		st->f->C_DestroyObject(s.h, pub);
	sess_put(st, &s, rv);
	hsm_key_free(k);
	EVP_PKEY_free(pk);
	return cm_err_wrap(err, label != NULL ? label : "new key");
}

static int
p11_key_find(struct hsm *h, const char *id, struct hsm_key **out,
    struct cm_err *err)
{
	struct p11_state	*st = h->impl;
	struct p11_sess		 s;
	struct hsm_key		*k = NULL;
	CK_OBJECT_HANDLE	 priv;
	EVP_PKEY		*pk = NULL;
	CK_RV			 rv = CKR_OK;
	int			 rc = -1;

	if (sess_get(st, &s, err) == -1)
		return -1;
	if (find_obj(st, s.h, CKO_PRIVATE_KEY, id, &priv, &rv, err) == -1 ||
	    (pk = read_pub(st, s.h, priv, &rv, err)) == NULL ||
	    (k = hsm__key_new(h, pk, err)) == NULL)
		goto out;
	if (strcmp(k->id, id) != 0) {
		cm_err_set(err, CM_ECRYPTO, id, "%s: the key with this CKA_ID "
		    "has another public key (id %s)", st->name, k->id);
		goto out;
	}
	if (key_attach(k, priv, s.epoch, err) == -1)
		goto out;
	*out = k;
	k = NULL;
	rc = 0;
out:
	sess_put(st, &s, rv);
	hsm_key_free(k);
	EVP_PKEY_free(pk);
	return rc;
}

static int
p11_key_destroy(struct hsm_key *k, struct cm_err *err)
{
	struct p11_state	*st = k->hsm->impl;
	struct p11_sess		 s;
	CK_OBJECT_HANDLE	 priv, pub;
	CK_RV			 rv = CKR_OK;
	int			 rc = -1, havepub;

	if (sess_get(st, &s, err) == -1)
		return -1;
	if (find_obj(st, s.h, CKO_PRIVATE_KEY, k->id, &priv, &rv, err) == -1)
		goto out;
	/* A missing public half is not an error: the private one matters. */
	havepub = find_obj(st, s.h, CKO_PUBLIC_KEY, k->id, &pub, &rv, NULL) == 0;
	if (rv_gone(rv)) {
		p11_fail(st, err, "C_FindObjects", rv);
		goto out;
	}
	if ((rv = st->f->C_DestroyObject(s.h, priv)) != CKR_OK ||
	    (havepub && (rv = st->f->C_DestroyObject(s.h, pub)) != CKR_OK)) {
		p11_fail(st, err, "C_DestroyObject", rv);
		goto out;
	}
	cm_info("%s: destroyed key %s", st->name, k->id);
	rc = 0;
out:
	sess_put(st, &s, rv);
	return rc;
}

/* The private key object of k valid in session s, looked up again if stale. */
static int
key_object(struct p11_state *st, struct hsm_key *k, struct p11_sess *s,
    CK_OBJECT_HANDLE *out, CK_RV *rvp, struct cm_err *err)
{
	struct p11_key	*pk = k->impl;
	CK_OBJECT_HANDLE o;
	int			 fresh;

	pthread_mutex_lock(&st->mtx);
	fresh = pk->epoch == s->epoch;
	o = pk->priv;
	pthread_mutex_unlock(&st->mtx);
	if (!fresh) {
		if (find_obj(st, s->h, CKO_PRIVATE_KEY, k->id, &o, rvp, err) == -1)
			return -1;
		pthread_mutex_lock(&st->mtx);
		pk->priv = o;
		pk->epoch = s->epoch;
		pthread_mutex_unlock(&st->mtx);
	}
	*out = o;
	return 0;
}

/* DER DigestInfo { sha256, NULL, digest } (RFC 8017 §9.2) into di[51]. */
static int
digest_info(const uint8_t digest[32], uint8_t *di, size_t *dilen,
    struct cm_err *err)
{
	X509_SIG	*sig = X509_SIG_new();
	X509_ALGOR	*alg;
	ASN1_OCTET_STRING *os;
	unsigned char	*p = NULL;
	int		 n = -1;

	if (sig != NULL) {
		X509_SIG_getm(sig, &alg, &os);
		if (X509_ALGOR_set0(alg, OBJ_nid2obj(NID_sha256), V_ASN1_NULL,
		    NULL) && ASN1_OCTET_STRING_set(os, digest, 32))
			n = i2d_X509_SIG(sig, &p);
	}
	X509_SIG_free(sig);
	if (n != 51) {
		OPENSSL_free(p);
		return cm_err_ssl(err, NULL, "cannot encode DigestInfo");
	}
	memcpy(di, p, 51);
	*dilen = 51;
	OPENSSL_free(p);
	return 0;
}

static int
p11_key_sign(struct hsm_key *k, const uint8_t digest[32], uint8_t *sig,
    size_t *siglen, struct cm_err *err)
{
	struct p11_state	*st = k->hsm->impl;
	CK_MECHANISM		 mech = { CKM_RSA_PKCS, NULL, 0 };
	struct p11_sess		 s;
	CK_OBJECT_HANDLE	 o;
	uint8_t			 di[51];
	size_t			 dilen;
	CK_ULONG		 len = HSM_SIG_MAX;
	CK_RV			 rv = CKR_OK;
	int			 rc = -1;

	if (digest_info(digest, di, &dilen, err) == -1 ||
	    sess_get(st, &s, err) == -1)
		return -1;
	if (key_object(st, k, &s, &o, &rv, err) == -1)
		goto out;
	if ((rv = st->f->C_SignInit(s.h, &mech, o)) != CKR_OK) {
		p11_fail(st, err, "C_SignInit", rv);
		goto out;
	}
	if ((rv = st->f->C_Sign(s.h, di, dilen, sig, &len)) != CKR_OK) {
		p11_fail(st, err, "C_Sign", rv);
		goto out;
	}
	*siglen = len;
	rc = 0;
out:
	sess_put(st, &s, rv);
	if (rc == -1)
		cm_err_wrap(err, k->id);
	return rc;
}

static void
p11_key_release(struct hsm_key *k)
{
	free(k->impl);
	k->impl = NULL;
}

static void
p11_close(struct hsm *h)
{
	struct p11_state	*st = h->impl;

	if (st->f != NULL) {
		while (st->nidle > 0)
			st->f->C_CloseSession(st->idle[--st->nidle]);
		if (st->finalize)
			st->f->C_Finalize(NULL);
	}
	if (st->dl != NULL)
		dlclose(st->dl);
	pthread_cond_destroy(&st->cv);
	pthread_mutex_destroy(&st->mtx);
	free(st->idle);
	free(st->pin_file);
	free(st->pin_env);
	free(st);
	free(h);
}

static const struct hsm_ops p11_ops = {
	.name = "pkcs11",
	.key_create = p11_key_create,
	.key_find = p11_key_find,
	.key_destroy = p11_key_destroy,
	.key_sign = p11_key_sign,
	.key_release = p11_key_release,
	.close = p11_close,
};

/* Loads and initialises the module. */
static int
load_module(struct p11_state *st, const char *path, struct cm_err *err)
{
	CK_C_INITIALIZE_ARGS	 args = { .flags = CKF_OS_LOCKING_OK };
	CK_C_GetFunctionList	 gfl;
	CK_RV			 rv;

	if ((st->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL)
		return cm_err_set(err, CM_EIO, path, "cannot load PKCS#11 "
		    "module: %s", dlerror());
	if ((gfl = (CK_C_GetFunctionList)dlsym(st->dl,
	    "C_GetFunctionList")) == NULL)
		return cm_err_set(err, CM_EINVAL, path, "not a PKCS#11 module "
		    "(no C_GetFunctionList)");
	if ((rv = gfl(&st->f)) != CKR_OK || st->f == NULL) {
		st->f = NULL;
		return cm_err_set(err, CM_ECRYPTO, path, "C_GetFunctionList "
		    "failed: %s", rv_str(rv));
	}
	rv = st->f->C_Initialize(&args);
	/* Already initialised in this process: then it is not ours to end. */
	if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED)
		return cm_err_set(err, CM_ECRYPTO, path, "C_Initialize failed: "
		    "%s", rv_str(rv));
	st->finalize = rv == CKR_OK;
	return 0;
}

/* A token label is 32 bytes padded with blanks. */
static int
label_eq(const CK_UTF8CHAR lab[32], const char *want)
{
	size_t	n = 32;

	while (n > 0 && lab[n - 1] == ' ')
		n--;
	return strlen(want) == n && memcmp(lab, want, n) == 0;
}

static int
find_slot(struct p11_state *st, const struct hsm_p11_conf *conf,
    struct cm_err *err)
{
	CK_SLOT_ID	*slots = NULL;
	CK_ULONG	 n = 0, i;
	CK_TOKEN_INFO	 ti;
	CK_RV		 rv;
	int		 rc = -1;

	if ((rv = st->f->C_GetSlotList(CK_TRUE, NULL, &n)) != CKR_OK)
		return p11_fail(st, err, "C_GetSlotList", rv);
	if ((slots = calloc(n + 1, sizeof(*slots))) == NULL)
		return cm_err_set(err, CM_ENOMEM, NULL, "out of memory");
	if ((rv = st->f->C_GetSlotList(CK_TRUE, slots, &n)) != CKR_OK) {
		p11_fail(st, err, "C_GetSlotList", rv);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (st->f->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
			continue;
		if (conf->token_label != NULL ?
		    label_eq(ti.label, conf->token_label) :
		    (long)slots[i] == conf->slot)
			break;
	}
	if (i == n) {
		if (conf->token_label != NULL)
			cm_err_set(err, CM_ENOTFOUND, conf->module, "no token "
			    "labelled \"%s\" (%lu tokens present)",
			    conf->token_label, (unsigned long)n);
		else
			cm_err_set(err, CM_ENOTFOUND, conf->module, "no token "
			    "in slot %ld", conf->slot);
		goto out;
	}
	if (!(ti.flags & CKF_USER_PIN_INITIALIZED)) {
		cm_err_set(err, CM_ESTATE, st->name, "the token has no user PIN "
		    "(initialise it first)");
		goto out;
	}
	st->slot = slots[i];
	rc = 0;
out:
	free(slots);
	return rc;
}

static int
check_conf(const struct hsm_p11_conf *c, struct cm_err *err)
{
	if (c->module == NULL || *c->module == '\0')
		return cm_err_set(err, CM_EINVAL, "pkcs11", "no module path");
	if (c->token_label != NULL && strlen(c->token_label) > 32)
		return cm_err_set(err, CM_EINVAL, c->token_label, "a token "
		    "label has at most 32 bytes");
	if (c->token_label == NULL && c->slot < 0)
		return cm_err_set(err, CM_EINVAL, "pkcs11", "neither a token "
		    "label nor a slot is configured");
	if (c->pin_file == NULL && c->pin_env == NULL)
		return cm_err_set(err, CM_EINVAL, "pkcs11", "no PIN file nor "
		    "PIN environment variable configured");
	if (c->sessions > 64)
		return cm_err_set(err, CM_EINVAL, "pkcs11", "at most 64 "
		    "sessions");
	return 0;
}

struct hsm *
hsm_open_pkcs11(const struct hsm_p11_conf *conf, struct cm_err *err)
{
	struct hsm		*h = NULL;
	struct p11_state	*st;
	struct p11_sess		 s;

	if (check_conf(conf, err) == -1)
		return NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    (h = calloc(1, sizeof(*h))) == NULL) {
		free(st);
		cm_err_set(err, CM_ENOMEM, NULL, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&st->mtx, NULL);
	pthread_cond_init(&st->cv, NULL);
	h->ops = &p11_ops;
	h->impl = st;
	st->max = conf->sessions ? conf->sessions : P11_DEFAULT_SESSIONS;
	if (conf->token_label != NULL)
		snprintf(st->name, sizeof(st->name), "token %s",
		    conf->token_label);
	else
		snprintf(st->name, sizeof(st->name), "token in slot %ld",
		    conf->slot);
	if ((st->idle = calloc(st->max, sizeof(*st->idle))) == NULL ||
	    (conf->pin_file && (st->pin_file = strdup(conf->pin_file)) == NULL) ||
	    (!conf->pin_file && (st->pin_env = strdup(conf->pin_env)) == NULL)) {
		cm_err_set(err, CM_ENOMEM, NULL, "out of memory");
		goto fail;
	}
	if (load_module(st, conf->module, err) == -1 ||
	    find_slot(st, conf, err) == -1)
		goto fail;
	/* Log in now, so that a wrong PIN shows at start-up. */
	if (sess_get(st, &s, err) == -1)
		goto fail;
	sess_put(st, &s, CKR_OK);
	cm_info("%s: opened with module %s, slot %lu, up to %u sessions",
	    st->name, conf->module, (unsigned long)st->slot, st->max);
	return h;
fail:
	hsm_close(h);
	return NULL;
}
