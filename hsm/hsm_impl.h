/*
 * Module-private: the backend vtable behind struct hsm and struct hsm_key.
 * Backends (hsm_mem.c, hsm_p11.c, hsm_file.c, hsm_sep.c) fill a struct hsm_ops and
 * allocate struct hsm / struct hsm_key with these layouts.
 */
#ifndef HSM_IMPL_H
#define HSM_IMPL_H

#include "hsm/hsm.h"

struct hsm_ops {
	const char	*name;
	int	(*key_create)(struct hsm *, const char *label, struct hsm_key **,
		    struct cm_err *);
	int	(*key_find)(struct hsm *, const char *id, struct hsm_key **,
		    struct cm_err *);
	/* Deletes from the backend; the generic code frees the handle after. */
	int	(*key_destroy)(struct hsm_key *, struct cm_err *);
	int	(*key_sign)(struct hsm_key *, const uint8_t digest[32],
		    uint8_t *sig, size_t *siglen, struct cm_err *);
	/* Frees backend data of a handle (not the handle itself). */
	void	(*key_release)(struct hsm_key *);
	void	(*close)(struct hsm *);
};

struct hsm {
	const struct hsm_ops	*ops;
	void			*impl;		/* the backend's state */
};

struct hsm_key {
	struct hsm	*hsm;			/* NULL for hsm_key_wrap() keys */
	char		 id[HSM_KEY_ID_LEN + 1];
	EVP_PKEY	*pub;			/* public (or full, for mem) key */
	void		*impl;			/* the backend's per-key data */
};

/* Allocates a handle with id taken from pub (reference taken).  NULL on failure. */
struct hsm_key	*hsm__key_new(struct hsm *h, EVP_PKEY *pub, struct cm_err *err);

/* RSASSA-PKCS1-v1_5 over a SHA-256 digest with an OpenSSL private key. */
int		 hsm__evp_sign(EVP_PKEY *pkey, const uint8_t digest[32],
		    uint8_t *sig, size_t *siglen, struct cm_err *err);

/* Generates an RSA-2048 e=65537 key in software.  NULL with err set on failure. */
EVP_PKEY	*hsm__rsa_generate(struct cm_err *err);

#endif
