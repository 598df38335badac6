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
#include "hsm/hsm_p11.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "common/cm_file.h"
#include "common/cm_log.h"

#define P11_DEFAULT_SESSIONS	4
#define P11_PIN_MAX		256

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
int
hsm__p11_rv_gone(CK_RV rv)
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

int
hsm__p11_fail(const struct p11_state *st, struct cm_err *err, const char *fn,
    CK_RV rv)
{
	if (hsm__p11_rv_gone(rv))
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
	return hsm__p11_fail(st, err, "C_Login", rv);
}

/* Opens one more session (called with mtx held). */
static int
sess_open(struct p11_state *st, struct p11_sess *s, struct cm_err *err)
{
	CK_RV	rv;

	rv = st->f->C_OpenSession(st->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
	    NULL, NULL, &s->h);
	if (rv != CKR_OK)
		return hsm__p11_fail(st, err, "C_OpenSession", rv);
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
int
hsm__p11_sess_get(struct p11_state *st, struct p11_sess *s, struct cm_err *err)
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
void
hsm__p11_sess_put(struct p11_state *st, struct p11_sess *s, CK_RV rv)
{
	pthread_mutex_lock(&st->mtx);
	if (hsm__p11_rv_gone(rv) && s->epoch == st->epoch) {
		cm_warn("%s: %s: closing its sessions, will log in again",
		    st->name, rv_str(rv));
		st->epoch++;
		st->need_login = 1;
		while (st->nidle > 0) {
			st->f->C_CloseSession(st->idle[--st->nidle]);
			st->nopen--;
		}
		/* Room for new sessions: wake every waiter. */
		pthread_cond_broadcast(&st->cv);
	}
	if (s->epoch != st->epoch) {
		st->f->C_CloseSession(s->h);
		st->nopen--;
	} else
		st->idle[st->nidle++] = s->h;
	pthread_cond_signal(&st->cv);
	pthread_mutex_unlock(&st->mtx);
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
	hsm__p11_cache_free(&st->cache);
	free(st->idle);
	free(st->pin_file);
	free(st->pin_env);
	free(st);
	free(h);
}

static const struct hsm_ops p11_ops = {
	.name = "pkcs11",
	.key_create = hsm__p11_key_create,
	.key_find = hsm__p11_key_find,
	.key_destroy = hsm__p11_key_destroy,
	.key_sign = hsm__p11_key_sign,
	.key_release = hsm__p11_key_release,
	.close = p11_close,
};

int
hsm_p11_cache_stats(struct hsm *h, struct hsm_p11_cache_stats *out)
{
	if (h == NULL || h->ops != &p11_ops)
		return -1;
	hsm__p11_cache_stats(&((struct p11_state *)h->impl)->cache, out);
	return 0;
}

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
		return hsm__p11_fail(st, err, "C_GetSlotList", rv);
	if ((slots = calloc(n + 1, sizeof(*slots))) == NULL)
		return cm_err_set(err, CM_ENOMEM, NULL, "out of memory");
	if ((rv = st->f->C_GetSlotList(CK_TRUE, slots, &n)) != CKR_OK) {
		hsm__p11_fail(st, err, "C_GetSlotList", rv);
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
	struct stat		 sb;

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
	if (hsm__p11_cache_init(&st->cache, conf->key_cache, err) == -1)
		goto fail;
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
	if (hsm__p11_sess_get(st, &s, err) == -1)
		goto fail;
	hsm__p11_sess_put(st, &s, CKR_OK);
	cm_info("%s: opened with module %s, slot %lu, up to %u sessions, "
	    "%u cached key handles", st->name, conf->module,
	    (unsigned long)st->slot, st->max, st->cache.st.capacity);
	if (st->pin_file != NULL && stat(st->pin_file, &sb) == 0 &&
	    (sb.st_mode & 077) != 0)
		cm_warn("%s: the PIN file may be read by group or others "
		    "(mode %04o); make it 0400 or 0600", st->pin_file,
		    (unsigned)(sb.st_mode & 07777));
	return h;
fail:
	hsm_close(h);
	return NULL;
}
