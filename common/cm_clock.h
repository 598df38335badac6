/*
 * cm_clock: the time source of the CA engine and the publication server.
 *
 * Everything that decides by the clock (re-issue, expiry, RRDP retention)
 * reads it through a struct cm_clock, so that tests can simulate days and
 * weeks in a second.  A NULL clock, or one never set, is the real clock.
 */
#ifndef CM_CLOCK_H
#define CM_CLOCK_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct cm_clock {
	_Atomic int64_t	sim;	/* 0: real time; otherwise the simulated now */
};

#define CM_CLOCK_REAL	{ 0 }

/* Seconds since the epoch: simulated when set, else the real time. */
int64_t	cm_clock_now(const struct cm_clock *c);
/* Switches c to simulated time t (t > 0). */
void	cm_clock_set(struct cm_clock *c, int64_t t);
/* Moves simulated time forward by secs (starting from real now if unset). */
void	cm_clock_advance(struct cm_clock *c, int64_t secs);

/* "YYYYMMDDHHMMSSZ" (ASN.1 GeneralizedTime, no fraction) into out[16]. */
void	cm_time_gentime(int64_t t, char out[16]);
/* "YYYY-MM-DDTHH:MM:SSZ" (xsd:dateTime in UTC) into out[21]. */
void	cm_time_iso8601(int64_t t, char out[21]);
/*
 * Parses "YYYY-MM-DDTHH:MM:SSZ" strictly.  Returns 0 with *t set, or -1.
 */
int	cm_time_parse_iso8601(const char *s, int64_t *t);

#endif
