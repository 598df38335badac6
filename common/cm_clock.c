#include "common/cm_clock.h"

#include <stdio.h>
#include <string.h>

int64_t
cm_clock_now(const struct cm_clock *c)
{
	int64_t	t;

	if (c != NULL && (t = atomic_load(&c->sim)) != 0)
		return t;
	return (int64_t)time(NULL);
}

void
cm_clock_set(struct cm_clock *c, int64_t t)
{
	atomic_store(&c->sim, t);
}

void
cm_clock_advance(struct cm_clock *c, int64_t secs)
{
	int64_t	cur = atomic_load(&c->sim);

	if (cur == 0)
		cur = (int64_t)time(NULL);
	atomic_store(&c->sim, cur + secs);
}

void
cm_time_gentime(int64_t t, char out[16])
{
	time_t		tt = (time_t)t;
	struct tm	tm;

	gmtime_r(&tt, &tm);
	strftime(out, 16, "%Y%m%d%H%M%SZ", &tm);
}

void
cm_time_iso8601(int64_t t, char out[21])
{
	time_t		tt = (time_t)t;
	struct tm	tm;

	gmtime_r(&tt, &tm);
	strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int
cm_time_parse_iso8601(const char *s, int64_t *t)
{
	struct tm	tm;
	int		n = 0;

	if (strlen(s) != 20)
		return -1;
	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 ||
	    n != 20)
		return -1;
	for (int i = 0; i < 20; i++) {
		static const char pat[] = "dddd-dd-ddTdd:dd:ddZ";

		if (pat[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != pat[i])
			return -1;
	}
	if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
	    tm.tm_sec > 60)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*t = (int64_t)timegm(&tm);
	return 0;
}
