/*
 * Module-private: the PKCS#11 backend, shared by hsm_p11.c (module, token,
 * login, session pool) and hsm_p11_key.c (key objects and signing).
 */
#ifndef HSM_P11_H
#define HSM_P11_H

#include <pthread.h>

#include <p11-kit/pkcs11.h>

#include "hsm/hsm_impl.h"

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
	unsigned		epoch;		/* of priv */
	int			stale;		/* priv was refused */
};

/* Borrows a logged-in session, waiting while all are busy.  0 or -1. */
int	hsm__p11_sess_get(struct p11_state *st, struct p11_sess *s,
	    struct cm_err *err);
/*
 * Returns a session after an operation whose last result was rv; a result
 * saying that the token went away starts a new epoch (see struct p11_state).
 */
void	hsm__p11_sess_put(struct p11_state *st, struct p11_sess *s, CK_RV rv);
/*
 * Fills err for a failed call fn: CM_ERETRY when rv says that the token or
 * the session went away, CM_ECRYPTO otherwise.  Returns -1.
 */
int	hsm__p11_fail(const struct p11_state *st, struct cm_err *err,
	    const char *fn, CK_RV rv);
/* Whether rv means that the token or our sessions are gone. */
int	hsm__p11_rv_gone(CK_RV rv);

/* The key operations of struct hsm_ops (hsm_p11_key.c). */
int	hsm__p11_key_create(struct hsm *h, const char *label,
	    struct hsm_key **out, struct cm_err *err);
int	hsm__p11_key_find(struct hsm *h, const char *id, struct hsm_key **out,
	    struct cm_err *err);
int	hsm__p11_key_destroy(struct hsm_key *k, struct cm_err *err);
int	hsm__p11_key_sign(struct hsm_key *k, const uint8_t digest[32],
	    uint8_t *sig, size_t *siglen, struct cm_err *err);
void	hsm__p11_key_release(struct hsm_key *k);

#endif
