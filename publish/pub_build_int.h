/*
 * pub_build_int: what the files of the serial builder share (pub_build.c:
 * one step; pub_build_load.c: leadership, loading, sessions;
 * pub_build_snap.c: snapshots, notifications, retention, the worker;
 * pub_guard.c: the mass-withdrawal guard).  Not part of the module's
 * interface.
 */
#ifndef PUB_BUILD_INT_H
#define PUB_BUILD_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cm_buf.h"
#include "common/cm_err.h"
#include "db/db.h"
#include "publish/pub_build.h"
#include "publish/pub_index.h"

/* The snapshot to write next: the newest serial without one. */
struct snap_job {
	struct pub_index	*ix;		/* NULL: no job */
	char			 session[37];
	uint64_t		 serial;
};

struct pub_build {
	/* Set by pub_build_new(), read-only afterwards (both threads). */
	struct pub_build_conf	 conf;
	char			*base;
	char			*notify_uri;
	/* The leader thread's (pub_build_step(), pub_build_load()). */
	char			 session[37];
	uint64_t		 serial;
	struct pub_index	*ix;
	int			 loaded;
	/* The snapshot writer's: kept, no page faults for a fresh 100 MB. */
	struct cm_buf		 snapbuf;
	/* Shared, under mu. */
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	struct snap_job		 job;
	int			 stop;
	int			 has_worker;
	pthread_t		 worker;
	char			*dsn;
};

/* One net change of a batch, against the image before it. */
struct net {
	const char	*uri;
	int64_t		 publisher;
	int		 has_old;
	uint8_t		 old[32];
	const uint8_t	*data;		/* NULL: gone after the batch */
	size_t		 len;
};

/* A pending pub_change row, borrowed from the query result. */
struct chg {
	int64_t		 id;
	int64_t		 publisher;
	const char	*uri;
	const uint8_t	*data;		/* NULL: withdraw */
	size_t		 len;
};

/* The state of one step (one transaction attempt). */
struct step_arg {
	struct pub_build	*b;
	struct db_res		*pending;
	struct chg		*chg;
	size_t			 nchg;
	struct net		*net;
	size_t			 nnet;
	struct pub_index	*ix;
	struct cm_buf		 delta;
	char			 delta_uri[512];
	uint64_t		 serial;
	size_t			 held;
	int64_t			 release;	/* pub_hold id used, or 0 */
	struct cm_buf		 idlist;	/* "{1,2,...}" */
};


/*
 * Queues the snapshot of serial of session from ix (a reference is taken),
 * replacing an older job.
 */
void	pub_build_queue(struct pub_build *b, const struct pub_index *ix,
	    const char *session, uint64_t serial);

/* Monotonic time in milliseconds, for the timings of pub_build_result. */
double	pub_build_now_ms(void);
/* Sets err to "part: out of memory" (CM_ENOMEM); returns -1. */
int	pub_build_nomem(struct cm_err *err, const char *part);

/* 1 if b's session is still the current one (not reset), 0, or -1. */
int	pub_build_session_current(const struct pub_build *b, struct db *db,
	    struct cm_err *err);

/* The guard's verdict on the batch of a: 1 with reason when it must hold. */
int	pub_guard_trips(const struct pub_build *b, const struct step_arg *a,
	    char *reason, size_t rlen);

/* Records (or extends) the held batch of a and logs it loudly.  0 or -1. */
int	pub_guard_hold(struct db *db, struct step_arg *a, const char *reason,
	    struct cm_err *err);

#endif
