/*
 * Generic part of the signer: dispatch to the backend, key handles, key ids.
 */
#include "hsm/hsm_impl.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "common/cm_enc.h"

const char *
hsm_name(const struct hsm *h)
{
	return h->ops->name;
}

void
hsm_close(struct hsm *h)
{
	if (h == NULL)
		return;
	h->ops->close(h);
}

int
hsm_key_create(struct hsm *h, const char *label, struct hsm_key **out,
    struct cm_err *err)
{
	const char	*p;

	/* Labels end up in logs and token listings: printable and short. */
	for (p = label != NULL ? label : ""; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return cm_err_set(err, CM_EINVAL, "key label", "control "
			    "character at byte %zu", (size_t)(p - label));
	if (label != NULL && p - label > HSM_LABEL_MAX)
		return cm_err_set(err, CM_EINVAL, "key label", "longer than %d "
		    "bytes", HSM_LABEL_MAX);
	return h->ops->key_create(h, label, out, err);
}

int
hsm_key_find(struct hsm *h, const char *id, struct hsm_key **out,
    struct cm_err *err)
{
	uint8_t	raw[HSM_KEY_ID_LEN / 2];
	char	lower[HSM_KEY_ID_LEN + 1];

	if (id == NULL || cm_hex_decode(id, raw, sizeof(raw)) == -1)
		return cm_err_set(err, CM_EINVAL, id ? id : "(null)",
		    "key id must be %d hex digits", HSM_KEY_ID_LEN);
	/* Backends see the canonical (lowercase) form only. */
	cm_hex_encode(raw, sizeof(raw), lower);
	return h->ops->key_find(h, lower, out, err);
}

int
hsm_key_destroy(struct hsm_key *k, struct cm_err *err)
{
	int	rc = 0;

	if (k == NULL)
		return 0;
	if (k->hsm != NULL)
		rc = k->hsm->ops->key_destroy(k, err);
	hsm_key_free(k);
	return rc;
}

void
hsm_key_free(struct hsm_key *k)
{
	if (k == NULL)
		return;
	if (k->hsm != NULL && k->hsm->ops->key_release != NULL)
		k->hsm->ops->key_release(k);
	EVP_PKEY_free(k->pub);
	free(k);
}

const char *
hsm_key_id(const struct hsm_key *k)
{
	return k->id;
}

EVP_PKEY *
hsm_key_pubkey(const struct hsm_key *k)
{
	return k->pub;
}

int
hsm_key_sign(struct hsm_key *k, const uint8_t digest[32], uint8_t *sig,
    size_t *siglen, struct cm_err *err)
{
	if (k->hsm == NULL)
		return hsm__evp_sign(k->pub, digest, sig, siglen, err);
	return k->hsm->ops->key_sign(k, digest, sig, siglen, err);
}

struct hsm_key *
hsm_key_wrap(EVP_PKEY *pkey)
{
	return hsm__key_new(NULL, pkey, NULL);
}

int
hsm_pubkey_id(EVP_PKEY *pkey, char *id, struct cm_err *err)
{
	X509_PUBKEY		*xpk = NULL;
	const unsigned char	*pk;
	int			 pklen;
	uint8_t			 md[SHA_DIGEST_LENGTH];

	if (!X509_PUBKEY_set(&xpk, pkey) ||
	    !X509_PUBKEY_get0_param(NULL, &pk, &pklen, NULL, xpk)) {
		X509_PUBKEY_free(xpk);
		return cm_err_ssl(err, NULL, "cannot encode public key");
	}
	SHA1(pk, (size_t)pklen, md);
	X509_PUBKEY_free(xpk);
	cm_hex_encode(md, sizeof(md), id);
	return 0;
}

struct hsm_key *
hsm__key_new(struct hsm *h, EVP_PKEY *pub, struct cm_err *err)
{
	struct hsm_key	*k;

	if ((k = calloc(1, sizeof(*k))) == NULL) {
		cm_err_set(err, CM_ENOMEM, NULL, "out of memory");
		return NULL;
	}
	if (hsm_pubkey_id(pub, k->id, err) == -1) {
		free(k);
		return NULL;
	}
	EVP_PKEY_up_ref(pub);
	k->pub = pub;
	k->hsm = h;
	return k;
}

int
hsm__evp_sign(EVP_PKEY *pkey, const uint8_t digest[32], uint8_t *sig,
    size_t *siglen, struct cm_err *err)
{
	EVP_PKEY_CTX	*ctx;
	size_t		 len = HSM_SIG_MAX;
	int		 rc = -1;

	if ((ctx = EVP_PKEY_CTX_new(pkey, NULL)) == NULL ||
	    EVP_PKEY_sign_init(ctx) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) <= 0 ||
	    EVP_PKEY_sign(ctx, sig, &len, digest, 32) <= 0) {
		cm_err_ssl(err, NULL, "RSA signature failed");
		goto out;
	}
	*siglen = len;
	rc = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

EVP_PKEY *
hsm__rsa_generate(struct cm_err *err)
{
	EVP_PKEY	*pkey = EVP_RSA_gen(2048);

	if (pkey == NULL)
		cm_err_ssl(err, NULL, "RSA key generation failed");
	return pkey;
}
