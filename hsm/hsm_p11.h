/*
 * Module-private: the PKCS#11 backend, shared by hsm_p11.c (module, token,
 * login, session pool) and hsm_p11_key.c (key objects and signing).
 */
#ifndef HSM_P11_H
#define HSM_P11_H

#include <pthread.h>

#include <p11-kit/pkcs11.h>

#include "hsm/hsm_impl.h"

/*
 * Private key object handles by key id (hsm_p11_cache.c): a set-associative
 * table of P11_CACHE_WAYS entries per set, least recently used replaced,
 * under its own mutex (finds of many threads must not queue on the session
 * pool's).  An entry is only a hint: whoever uses it checks that the handle
 * still names that key, and drops it if not.
 */
#define P11_CACHE_WAYS		4
#define P11_CACHE_DEFAULT	4096

struct p11_cache_ent {
	char			id[HSM_KEY_ID_LEN + 1];	/* "": free */
	CK_OBJECT_HANDLE	h;
	unsigned		epoch;		/* of the session pool */
	uint64_t		used;		/* tick of the last use */
};

struct p11_cache {
	pthread_mutex_t		 mtx;
	struct p11_cache_ent	*ent;		/* nsets * P11_CACHE_WAYS; NULL: off */
	unsigned		 nsets;		/* a power of two */
	uint64_t		 tick;
	struct hsm_p11_cache_stats st;
};

/*
 * size entries at most, rounded up to whole sets (0: the default, -1:
 * none).  0 or -1.
 */
int	hsm__p11_cache_init(struct p11_cache *c, int size, struct cm_err *err);
void	hsm__p11_cache_free(struct p11_cache *c);
/* The handle cached for id in epoch: 1 (a hit) or 0 (a miss). */
int	hsm__p11_cache_get(struct p11_cache *c, const char *id, unsigned epoch,
	    CK_OBJECT_HANDLE *out);
/* Remembers h for id in epoch, replacing the set's least recent entry. */
void	hsm__p11_cache_put(struct p11_cache *c, const char *id, unsigned epoch,
	    CK_OBJECT_HANDLE h);
/* Forgets id (destroyed, or its handle was refused: stale counts that). */
void	hsm__p11_cache_drop(struct p11_cache *c, const char *id, int stale);
void	hsm__p11_cache_stats(struct p11_cache *c,
	    struct hsm_p11_cache_stats *out);

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

	struct p11_cache	 cache;
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
