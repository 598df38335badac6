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

struct hsm;		/* a backend instance; opaque */
struct hsm_key;		/* a handle on one key; opaque */

/*
 * Opens an in-memory backend: keys live only as long as the struct hsm.
 * Good for tests and for wrapping one-time EE keys.  Returns NULL on
 * allocation failure.  Free with hsm_close().
 */
struct hsm	*hsm_open_mem(void);

/* Name of the backend ("pkcs11", "file", "mem"). */
const char	*hsm_name(const struct hsm *h);

/* Closes the backend.  Every key handle must have been freed.  NULL is ok. */
void		 hsm_close(struct hsm *h);

/*
 * Generates a new RSA-2048 key pair in the backend; label is a readable name
 * stored with it where the backend can (it is not the id).  On success *out
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
