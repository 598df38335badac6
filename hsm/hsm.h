/*
 * hsm: the signer.  Every signature Cairn makes goes through this interface,
 * whatever holds the private key: a PKCS#11 token (CA and BPKI keys in
 * production), key files (development only), or an in-memory OpenSSL key
 * (one-time EE keys from the key pool, tests).
 *
 * All keys are RSA-2048, e = 65537 (RFC 7935).  A key is named by a stable
 * id: 40 lowercase hex digits (the SHA-1 of the public key, i.e. the SKI),
 * which the CA engine stores in PostgreSQL and passes to hsm_key_find().
 */
#ifndef HSM_H
#define HSM_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "common/cm_err.h"

#define HSM_KEY_ID_LEN		40	/* hex digits, without NUL */
#define HSM_SIG_MAX		512	/* bytes; RSA-2048 signatures are 256 */
#define HSM_LABEL_MAX		128	/* bytes of a key label */

struct hsm;		/* a backend instance; opaque */
struct hsm_key;		/* a handle on one key; opaque */

/*
 * Opens an in-memory backend: keys live only as long as the struct hsm.
 * Good for tests and for wrapping one-time EE keys.  Returns NULL on
 * allocation failure.  Free with hsm_close().
 */
struct hsm	*hsm_open_mem(void);

/*
 * PKCS#11 backend configuration (CA and BPKI keys in production).  The
 * strings are borrowed for the duration of hsm_open_pkcs11() only.
 */
struct hsm_p11_conf {
	const char	*module;	/* path of the PKCS#11 module (.so) */
	const char	*token_label;	/* token to use, by label; or NULL: */
	long		 slot;		/* ... by slot id (used if no label) */
	const char	*pin_file;	/* file holding the user PIN, or NULL */
	const char	*pin_env;	/* else: environment variable with it */
	unsigned	 sessions;	/* session pool size; 0 means 4 */
	/*
	 * Private key object handles kept by key id, so that hsm_key_find()
	 * does not search the token each time: 0 means 4096, -1 none
	 * (rounded up to a power of two times 4).
	 */
	int		 key_cache;
};

/* What the PKCS#11 backend's key handle cache did since it was opened. */
struct hsm_p11_cache_stats {
	uint64_t	hits;		/* finds that had a cached handle */
	uint64_t	misses;		/* finds that searched the token */
	uint64_t	stale;		/* cached handles refused (then searched) */
	uint64_t	evictions;	/* entries replaced to make room */
	unsigned	capacity;	/* entries it holds at most (0: off) */
	unsigned	used;		/* entries it holds now */
};

/* The cache figures of a PKCS#11 backend h.  0, or -1 if h is another. */
int		 hsm_p11_cache_stats(struct hsm *h,
		    struct hsm_p11_cache_stats *out);

/*
 * Opens a PKCS#11 token: loads conf->module, initialises it (OS locking),
 * finds the token and logs in as the user with the PIN read from
 * conf->pin_file (first line) or the environment variable conf->pin_env.
 * The PIN is never logged nor kept: it is read again when sessions must be
 * re-opened after the token went away.  One backend per module and process.
 * Returns the backend (free with hsm_close()), or NULL with err set:
 * CM_EIO (module cannot be loaded), CM_ENOTFOUND (no such token),
 * CM_EPERM (wrong or locked PIN), CM_EINVAL (bad configuration).
 */
struct hsm	*hsm_open_pkcs11(const struct hsm_p11_conf *conf,
		    struct cm_err *err);

/*
 * Opens the file backend: private keys as unencrypted PEM files (mode 0600)
 * named <id>.pem in dir, which is created (mode 0700) if missing.  For
 * development only; a warning is logged at every open.  Returns the backend
 * (free with hsm_close()), or NULL with err set.
 */
struct hsm	*hsm_open_file(const char *dir, struct cm_err *err);

/*
 * Opens a backend in a separate signer process (privilege separation):
 * forks a child that calls open(arg, err) to open the real backend (so the
 * module, the PIN and any key material live only in the child), and serves
 * channels requests over socketpairs, one thread per channel.  The returned
 * backend ("separate") forwards every call; threads share the channels
 * (channels 0 means 4).  Fork before starting threads and before loading
 * any PKCS#11 module in this process.  The child exits when the backend is
 * closed (or this process dies).  Returns NULL with err set, including the
 * child's error when open() failed there.
 */
struct hsm	*hsm_open_separate(struct hsm *(*open)(void *arg,
		    struct cm_err *err), void *arg, unsigned channels,
		    struct cm_err *err);

/* Name of the backend ("pkcs11", "file", "mem", "separate"). */
const char	*hsm_name(const struct hsm *h);

/* Closes the backend.  Every key handle must have been freed.  NULL is ok. */
void		 hsm_close(struct hsm *h);

/*
 * Generates a new RSA-2048 key pair in the backend; label is a readable name
 * stored with it where the backend can (it is not the id): at most
 * HSM_LABEL_MAX bytes, no control characters (else CM_EINVAL), or NULL.  On success *out
 * is a handle the caller frees with hsm_key_free().  Returns 0 or -1.
 */
int		 hsm_key_create(struct hsm *h, const char *label,
		    struct hsm_key **out, struct cm_err *err);

/*
 * Finds the key with this id (HSM_KEY_ID_LEN hex digits).  Returns 0 with
 * *out set (free with hsm_key_free()), or -1 with err set (CM_ENOTFOUND when
 * the backend has no such key).
 */
int		 hsm_key_find(struct hsm *h, const char *id,
		    struct hsm_key **out, struct cm_err *err);

/*
 * Deletes the key from the backend for good (retired keys) and frees the
 * handle, whatever the result.  Returns 0 or -1.
 */
int		 hsm_key_destroy(struct hsm_key *k, struct cm_err *err);

/* Frees the handle only; the key stays in the backend.  NULL is ok. */
void		 hsm_key_free(struct hsm_key *k);

/* The key id: HSM_KEY_ID_LEN hex digits, NUL-terminated.  Borrowed. */
const char	*hsm_key_id(const struct hsm_key *k);

/*
 * The public key as an EVP_PKEY (for "mem" and wrapped keys it is the full
 * key; never serialise its private part).  Borrowed: valid until
 * hsm_key_free(); use EVP_PKEY_up_ref() to keep it longer.
 */
EVP_PKEY	*hsm_key_pubkey(const struct hsm_key *k);

/*
 * Signs a SHA-256 digest with RSASSA-PKCS1-v1_5 (the DigestInfo is added by
 * the backend).  sig must hold HSM_SIG_MAX bytes; *siglen gets the length.
 * Thread-safe.  Returns 0, or -1 with err set (CM_ERETRY when the token went
 * away and the caller may try again).
 */
int		 hsm_key_sign(struct hsm_key *k, const uint8_t digest[32],
		    uint8_t *sig, size_t *siglen, struct cm_err *err);

/*
 * Wraps an OpenSSL private key (for example a one-time EE key from the key
 * pool) as a key handle outside any backend.  Takes a reference on pkey (the
 * caller keeps its own).  Returns NULL on failure.  hsm_key_destroy() on
 * such a handle is the same as hsm_key_free().
 */
struct hsm_key	*hsm_key_wrap(EVP_PKEY *pkey);

/*
 * Computes the key id (hex SHA-1 of the subjectPublicKey BIT STRING contents,
 * the RFC 5280 method-1 key identifier) of pkey into id[HSM_KEY_ID_LEN + 1].
 * Returns 0 or -1.
 */
int		 hsm_pubkey_id(EVP_PKEY *pkey, char *id, struct cm_err *err);

#endif
